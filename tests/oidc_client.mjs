// An OIDC relying party built on openid-client (v6, panva), used as it comes:
// no insecure-request option, no custom fetch, no relaxed checks. The local
// tenant is reached over TLS; its CA reaches Node through NODE_EXTRA_CA_CERTS.
//
//   node oidc_client.mjs authorize '{"issuer", "client_id", "redirect_uri",
//                                    "client_secret"?, "auth"?, "max_age"?}'
//     -> {"url", "code_verifier", "state", "nonce"}
//   node oidc_client.mjs callback '{...the same, "callback_url", "code_verifier",
//                                   "state", "nonce"}'
//     -> {"id_token_claims", "userinfo"}  (else {"error", "code", "message"}, exit 1)
//
// "auth" is "basic" (client_secret_basic) or, by default, the library's choice
// (client_secret_post with a secret, none without). The directory holding
// openid-client's node_modules is OIDC_CLIENT_MODULES.
import { createRequire } from "node:module";
import path from "node:path";
import { pathToFileURL } from "node:url";

const require = createRequire(path.join(process.env.OIDC_CLIENT_MODULES, "noop.js"));
const client = await import(pathToFileURL(require.resolve("openid-client")).href);

const [command, json] = process.argv.slice(2);
const p = JSON.parse(json);

function print(value) {
  process.stdout.write(JSON.stringify(value) + "\n");
}

async function configure() {
  const auth = p.auth === "basic" ? client.ClientSecretBasic(p.client_secret) : undefined;
  return client.discovery(new URL(p.issuer), p.client_id, p.client_secret, auth);
}

try {
  const config = await configure();
  if (command === "authorize") {
    const codeVerifier = client.randomPKCECodeVerifier();
    const state = client.randomState();
    const nonce = client.randomNonce();
    const parameters = {
      redirect_uri: p.redirect_uri,
      scope: "openid email profile",
      code_challenge: await client.calculatePKCECodeChallenge(codeVerifier),
      code_challenge_method: "S256",
      state,
      nonce,
    };
    if (p.max_age !== undefined) parameters.max_age = String(p.max_age);
    const url = client.buildAuthorizationUrl(config, parameters);
    print({ url: url.href, code_verifier: codeVerifier, state, nonce });
  } else if (command === "callback") {
    const tokens = await client.authorizationCodeGrant(config, new URL(p.callback_url), {
      pkceCodeVerifier: p.code_verifier,
      expectedState: p.state,
      expectedNonce: p.nonce,
      idTokenExpected: true,
      maxAge: p.max_age,
    });
    const claims = tokens.claims();
    const userinfo = await client.fetchUserInfo(config, tokens.access_token, claims.sub);
    print({ id_token_claims: claims, userinfo });
  } else {
    throw new Error(`unknown command: ${command}`);
  }
} catch (error) {
  print({
    error: error.error ?? null,
    code: error.code ?? null,
    message: String(error.message),
    cause: error.cause?.message ?? null,
  });
  process.exitCode = 1;
}
