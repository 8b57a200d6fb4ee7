'use strict';
// credentials-exchange's api
// (https://auth0.com/docs/customize/actions/explore-triggers/machine-to-machine-trigger/credentials-exchange-api-object):
// api.access.deny(code, reason), api.accessToken.setCustomClaim(key, value)
// and api.cache. The host carries the claims set so far from one action to
// the next (deploy/auth0_actions/triggers/credentials_exchange.py).

// api.access.deny's documented codes: the OAuth2 error the client receives.
const DENY_CODES = ['invalid_scope', 'invalid_request', 'server_error'];

// Claims "subject to Auth0's restrictions", and the Auth0 domains that cannot
// be a namespace
// (https://auth0.com/docs/secure/tokens/json-web-tokens/create-custom-claims).
const RESTRICTED_CLAIMS = new Set([
  'acr', 'act', 'active', 'amr', 'at_hash', 'ath', 'attest', 'aud', 'auth_time',
  'authorization_details', 'azp', 'c_hash', 'client_id', 'cnf', 'cty', 'dest',
  'entitlements', 'events', 'exp', 'groups', 'gty', 'htm', 'htu', 'iat',
  'internalService', 'iss', 'jcard', 'jku', 'jti', 'jwe', 'jwk', 'kid', 'may_act',
  'mky', 'nbf', 'nonce', 'object_id', 'org_id', 'org_name', 'orig', 'origid',
  'permissions', 'roles', 'rph', 's_hash', 'sid', 'sip_callid', 'sip_cseq_num',
  'sip_date', 'sip_from_tag', 'sip_via_branch', 'sub', 'sub_jwk', 'toe', 'txn', 'typ',
  'uuid', 'vot', 'vtm', 'x5t#S256',
]);
const AUTH0_DOMAINS = ['auth0.com', 'webtask.io', 'webtask.run'];
const CLAIMS_PAYLOAD_BYTES = 100 * 1024; // "Custom claims payload is set to a maximum of 100KB"

const namespaced = (name) => /^(https?:\/\/|urn:)/i.test(name);

function auth0Domain(name) {
  let host;
  try {
    host = new URL(name).hostname.toLowerCase();
  } catch (err) {
    return false;
  }
  return AUTH0_DOMAINS.some((domain) => host === domain || host.endsWith(`.${domain}`));
}

// The Management API (https://{tenant}/api/v2/) is the Auth0 API an M2M
// client asks tokens for.
function auth0Api(audience) {
  return typeof audience === 'string' && /^https:\/\/[^/]+\/api\/v2\/?$/.test(audience);
}

/** Why Auth0 leaves the claim out of the token, or null when it keeps it. */
function dropReason(name, audience) {
  if (RESTRICTED_CLAIMS.has(name)) return `"${name}" is a restricted claim`;
  if (/^urn:auth0(:|$)/i.test(name)) return 'the urn:auth0 namespace is reserved by Auth0';
  if (/^https?:\/\//i.test(name) && auth0Domain(name)) {
    return 'Auth0 domains cannot be used as namespace identifiers';
  }
  if (!namespaced(name) && auth0Api(audience)) {
    return 'access tokens for an Auth0 API cannot have non-namespaced custom claims';
  }
  return null;
}

function makeApi(harness, { tx, unit, event, now, record, guard, holder }) {
  const { clone } = harness.action;
  const audience = event.resource_server && event.resource_server.identifier;
  const api = {
    access: {
      deny: guard((code, reason) => {
        if (!DENY_CODES.includes(code)) {
          // Auth0 documents the allowed values only; refusing others here
          // makes a typo fail the test rather than the client's token request.
          throw new Error(`Invalid deny code "${code}". Expected one of: ${DENY_CODES.join(', ')}`);
        }
        const text = reason === undefined || reason === null ? '' : String(reason);
        record('access.deny', { code, reason: text });
        if (!tx.deny) tx.deny = { action: unit.name, code, reason: text };
        return api;
      }),
    },
    accessToken: {
      setCustomClaim: guard((name, value) => {
        if (typeof name !== 'string' || name === '') throw new TypeError('The claim name must be a non-empty string');
        // As post-login's api: the token's scope is Auth0's to set.
        if (name === 'scope') throw new Error('The "scope" claim cannot be set.');
        const stored = clone(value) ?? null;
        const reason = dropReason(name, audience);
        if (reason !== null) {
          // "In case of collisions, the transaction won't fail, but your
          // custom claim won't be added to your tokens."
          record('accessToken.setCustomClaim', { name, value: stored, dropped: reason });
          tx.dropped.push({ action: unit.name, name, reason });
          return api;
        }
        const next = { ...tx.claims, [name]: stored };
        if (Buffer.byteLength(JSON.stringify(next)) > CLAIMS_PAYLOAD_BYTES) {
          // Undocumented how Auth0 fails past the cap: the action fails here.
          throw new Error(`Custom claims are limited to ${CLAIMS_PAYLOAD_BYTES / 1024} KB in total`);
        }
        record('accessToken.setCustomClaim', { name, value: stored });
        tx.claims[name] = stored;
        if (event.accessToken) event.accessToken.customClaims = clone(tx.claims);
        return api;
      }),
    },
    cache: harness.action.makeCache(tx, unit.name, now),
  };
  holder.api = api;
  return { api };
}

/** One action's runner (sandbox/js/action.js runs the handler). */
function makeRunner(unit, harness) {
  const { clone } = harness.action;
  return harness.action.makeRunner(unit, {
    newTx: (state) => ({ claims: state.access_token_claims ?? {}, dropped: [] }),
    prepare: (event, tx) => {
      // Claims set by earlier actions are on the token to be issued.
      if (event.accessToken) event.accessToken.customClaims = clone(tx.claims);
    },
    makeApi: (ctx) => makeApi(harness, ctx),
    result: (tx) => ({ access_token_claims: tx.claims, dropped_claims: tx.dropped }),
  });
}

// Frozen: action code can require() this file.
module.exports = Object.freeze({ makeRunner });
