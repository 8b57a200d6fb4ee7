'use strict';
// HS256 session tokens as Auth0's api.redirect.encodeToken / validateToken
// make and check them (docs/reference/actions-runtime.md §2).

// Fix: captured, not looked up per call: action code can assign to the
// (shared, unfrozen) crypto module, e.g. createHmac, and so fake the
// signature check of every later request on the worker.
const { createHmac, timingSafeEqual } = require('crypto');

function base64url(text) {
  return Buffer.from(text).toString('base64url');
}

function sign(claims, secret) {
  const head = base64url(JSON.stringify({ alg: 'HS256', typ: 'JWT' }));
  const body = base64url(JSON.stringify(claims));
  const signature = createHmac('sha256', secret).update(`${head}.${body}`).digest('base64url');
  return `${head}.${body}.${signature}`;
}

/** Claims of a valid token, or throws an Error whose message is the reason. */
function verify(token, secret, expected) {
  const parts = typeof token === 'string' ? token.split('.') : [];
  if (parts.length !== 3) throw new Error('Malformed token');
  let header;
  let claims;
  try {
    header = JSON.parse(Buffer.from(parts[0], 'base64url').toString('utf8'));
    claims = JSON.parse(Buffer.from(parts[1], 'base64url').toString('utf8'));
  } catch (err) {
    throw new Error('Malformed token');
  }
  if (!header || header.alg !== 'HS256') throw new Error('Unsupported algorithm (HS256 expected)');
  const wanted = createHmac('sha256', secret).update(`${parts[0]}.${parts[1]}`).digest();
  const given = Buffer.from(parts[2], 'base64url');
  if (given.length !== wanted.length || !timingSafeEqual(given, wanted)) {
    throw new Error('Invalid signature');
  }
  if (!claims || typeof claims !== 'object') throw new Error('Missing or invalid standard claims');
  for (const name of ['iat', 'exp']) {
    if (typeof claims[name] !== 'number') throw new Error('Missing or invalid standard claims');
  }
  for (const name of ['sub', 'iss', 'state']) {
    if (typeof claims[name] !== 'string') throw new Error('Missing or invalid standard claims');
  }
  if (claims.exp <= expected.now) throw new Error('The token has expired');
  if (claims.sub !== expected.sub) throw new Error('The subject does not match the current user');
  if (claims.iss !== expected.issuer) throw new Error('The issuer does not match');
  if (claims.state !== expected.state) {
    throw new Error('State in the token does not match the /continue state.');
  }
  return claims;
}

/**
 * api.redirect.encodeToken and validateToken as @auth0/actions builds them
 * (RedirectAPIImpl; docs/reference/actions-runtime.md §2), for any trigger
 * that redirects: the claims come from the event's request and user.
 */
function redirectTokens(event, now) {
  return {
    encodeToken: ({ secret, payload, expiresInSeconds } = {}) => {
      if (typeof secret !== 'string' || secret === '') throw new Error('A secret is required to encode a token.');
      const iat = Math.floor(now() / 1000);
      const claims = {
        iat,
        iss: event.request.hostname,
        sub: event.user.user_id,
        exp: iat + (expiresInSeconds ?? 900),
        ip: event.request.ip,
        ...(payload || {}),
      };
      return sign(claims, secret);
    },
    validateToken: ({ secret, tokenParameterName = 'session_token' } = {}) => {
      const params = { ...(event.request.query || {}), ...(event.request.body || {}) };
      const token = params[tokenParameterName];
      if (token === undefined) {
        throw new Error(
          `There is no parameter called '${tokenParameterName}' available in either the POST body or query string.`,
        );
      }
      try {
        return verify(token, secret, {
          now: Math.floor(now() / 1000),
          sub: event.user.user_id,
          issuer: event.request.hostname,
          state: params.state,
        });
      } catch (err) {
        throw new Error(`The session token is invalid: ${err.message}`);
      }
    },
  };
}

// Fix: frozen. Action code can require() harness modules (its require
// resolves from here when it has no dependencies); assigning e.g.
// require('./tokens').verify changed every later validateToken on the worker.
module.exports = Object.freeze({ sign, verify, redirectTokens });
