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

// Fix: frozen. Action code can require() harness modules (its require
// resolves from here when it has no dependencies); assigning e.g.
// require('./tokens').verify changed every later validateToken on the worker.
module.exports = Object.freeze({ sign, verify });
