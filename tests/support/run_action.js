// A small, honest stand-in for Auth0's post-login runtime, used only by
// tests/test_consent_templates.py. It is NOT a sandbox (a full runtime comes
// later): it runs one rendered Action handler or legacy Rule and prints, as
// JSON on stdout, the commands the code issued. Semantics follow
// /work/shared/reference/actions-runtime.md (cited as §N below).
//
// stdin:  {file, kind: "action"|"rule", handler, event, user, context,
//          configuration, secrets}
// stdout: actions: {user_metadata: [[key, value], ...], deny, redirect, logs, error}
//         rules:   {callback: {error: {name, message}|null, redirect, user_metadata}|null,
//                   callback_count, update_user_metadata: [[id, md], ...], logs, error}
"use strict";

const crypto = require("crypto");
const fs = require("fs");
const { createRequire } = require("module");

const clone = (value) => (value === undefined ? null : JSON.parse(JSON.stringify(value)));
const b64url = (data) => Buffer.from(data).toString("base64url");
const b64json = (part) => JSON.parse(Buffer.from(part, "base64url").toString("utf8"));
const hmac = (secret, data) => crypto.createHmac("sha256", secret).update(data).digest();

// Every console line the code writes is recorded (§3: console is per execution).
const logs = [];
for (const level of ["log", "info", "warn", "error"]) {
  console[level] = (...args) => logs.push(args.map(String).join(" "));
}

/** §2 encodeToken: {iat, iss, sub, exp: iat + (ttl ?? 900), ip, ...payload}, HS256. */
function encodeToken(event, { secret, payload, expiresInSeconds }) {
  const iat = Math.floor(Date.now() / 1000);
  const claims = {
    iat,
    iss: event.request.hostname,
    sub: event.user.user_id,
    exp: iat + (expiresInSeconds ?? 900),
    ip: event.request.ip,
    ...payload,
  };
  const signed = `${b64url(JSON.stringify({ alg: "HS256", typ: "JWT" }))}.${b64url(JSON.stringify(claims))}`;
  return `${signed}.${b64url(hmac(secret, signed))}`;
}

/** §2 validateToken: token from {...query, ...body}; HS256, signature, exp, sub, state. */
function validateToken(event, { secret, tokenParameterName = "session_token" }) {
  const params = { ...(event.request.query || {}), ...(event.request.body || {}) };
  const token = params[tokenParameterName];
  if (token === undefined) {
    throw new Error(
      `There is no parameter called '${tokenParameterName}' available in either the POST body or query string.`,
    );
  }
  const invalid = (reason) => new Error(`The session token is invalid: ${reason}`);
  const parts = String(token).split(".");
  if (parts.length !== 3) throw invalid("malformed token");
  let header, claims;
  try {
    [header, claims] = [b64json(parts[0]), b64json(parts[1])];
  } catch {
    throw invalid("malformed token");
  }
  if (header.alg !== "HS256") throw invalid("unsupported algorithm"); // rejects "none"
  const given = Buffer.from(parts[2], "base64url");
  const wanted = hmac(secret, `${parts[0]}.${parts[1]}`);
  if (given.length !== wanted.length || !crypto.timingSafeEqual(given, wanted)) {
    throw invalid("invalid signature");
  }
  const now = Math.floor(Date.now() / 1000);
  if (typeof claims.exp !== "number" || claims.exp <= now) throw invalid("jwt expired");
  if (claims.iat === undefined || claims.iss === undefined || claims.sub !== event.user.user_id) {
    throw invalid("Missing or invalid standard claims");
  }
  if (claims.state === undefined || claims.state !== (event.request.query || {}).state) {
    throw invalid("State in the token does not match the /continue state.");
  }
  return claims;
}

const NO_REDIRECT_PROTOCOLS = [
  "oauth2-resource-owner",
  "oauth2-refresh-token",
  "oauth2-password",
  "oauth2-webauthn",
];

async function runAction(req) {
  const out = { user_metadata: [], deny: null, redirect: null, logs, error: null };
  const { event } = req;
  event.secrets = req.secrets || {};
  const api = {
    access: { deny: (reason) => ((out.deny ??= reason), api) }, // first reason wins
    user: {
      setUserMetadata: (key, value) => (out.user_metadata.push([key, clone(value)]), api),
    },
    redirect: {
      encodeToken: (opts) => encodeToken(event, opts),
      validateToken: (opts) => validateToken(event, opts),
      canRedirect: () =>
        !((event.request.query || {}).prompt === "none" ||
          NO_REDIRECT_PROTOCOLS.includes((event.transaction || {}).protocol)),
      sendUserTo: (url, options = {}) => {
        out.redirect = { url, query: clone(options.query || {}) };
        return api;
      },
    },
  };
  const mod = require(req.file);
  const handler = mod[req.handler];
  // §1 "Handler check": the loader insists on an async function.
  if (typeof handler !== "function" || handler.constructor.name !== "AsyncFunction") {
    throw new Error(
      `Invalid function signature for the "${req.handler}" handler. Use "exports.${req.handler} = async function(event, api) { }" as the signature.`,
    );
  }
  await handler(event, api);
  return out;
}

/** §4: Rules run with globals configuration, auth0, UnauthorizedError, require. */
async function runRule(req) {
  const out = { callback: null, callback_count: 0, update_user_metadata: [], logs, error: null };
  class UnauthorizedError extends Error {
    constructor(message) {
      super(message);
      this.name = "UnauthorizedError";
    }
  }
  const auth0 = {
    users: {
      updateUserMetadata: (id, md) => {
        out.update_user_metadata.push([id, clone(md)]);
        return Promise.resolve();
      },
    },
  };
  const source = fs.readFileSync(req.file, "utf8");
  // The Rule is a function expression; evaluated in this realm so Node globals
  // such as URL exist, as in the Webtask sandbox.
  const factory = new Function(
    "configuration", "auth0", "UnauthorizedError", "require", "Buffer", "console",
    `return (${source}\n);`,
  );
  const rule = factory(req.configuration || {}, auth0, UnauthorizedError,
    createRequire(req.file), Buffer, console);
  const { user, context } = req;
  await new Promise((resolve) => {
    // §5: the first callback wins; later calls are counted and ignored.
    const callback = (err, nextUser, ctx) => {
      out.callback_count += 1;
      if (out.callback) return;
      out.callback = {
        error: err ? { name: err.name || null, message: err.message ?? String(err) } : null,
        redirect: clone((ctx || context).redirect),
        // What the next rule would receive as user.user_metadata.
        user_metadata: clone((nextUser || user).user_metadata),
      };
      setTimeout(resolve, 20); // let stray second calls show up in callback_count
    };
    rule(user, context, callback);
    setTimeout(resolve, 2000); // a rule that never calls back is reported below
  });
  if (!out.callback) out.error = "the rule never called its callback";
  return out;
}

async function main() {
  const req = JSON.parse(fs.readFileSync(0, "utf8"));
  let out;
  try {
    out = req.kind === "rule" ? await runRule(req) : await runAction(req);
  } catch (err) {
    out = { logs, error: `${err && err.name}: ${err && err.message}` };
  }
  process.stdout.write(JSON.stringify(out));
  process.exit(0); // do not wait for the 2 s rule timer
}

main();
