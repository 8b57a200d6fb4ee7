'use strict';
// post-login's api (docs/reference/actions-runtime.md §1;
// https://auth0.com/docs/customize/actions/explore-triggers/signup-and-login-triggers/login-trigger/post-login-api-object).
// The host runs the pipeline: each action in binding order, in its own
// worker, carrying the transaction (metadata, transaction metadata, cache)
// from one to the next (deploy/auth0_actions/triggers/post_login.py decides
// the outcome). Harness helpers come in `harness` (sandbox/js/action.js,
// tokens.js): this file is not in the harness directory.

const MFA_PROVIDERS = ['any', 'none', 'guardian', 'google-authenticator', 'duo'];
const NO_REDIRECT_PROTOCOLS = [
  'oauth2-resource-owner',
  'oauth2-refresh-token',
  'oauth2-password',
  'oauth2-webauthn',
];
const TX_KEY_CHARS = 64;
const TX_VALUE_BYTES = 8 * 1024;
const TX_TOTAL_BYTES = 16 * 1024;

/**
 * The api for one action's handler. Every call is recorded as a command;
 * the effects go into `tx`, the transaction shared by the pipeline.
 */
function makeApi(harness, { tx, unit, event, handler, now, record, guard, holder }) {
  const { clone, isObject, recorded, makeCache } = harness.action;
  const tokens = harness.tokens;
  const state = { redirected: false, rendered: false, primaryUserSet: false };
  const setMetadata = (kind, field) => guard((key, value) => {
    if (typeof key !== 'string') throw new TypeError(`${kind} key must be a string`);
    if (!isObject(tx[field])) throw new Error(`The user's ${kind} is not an object`);
    record(`user.set${kind === 'user_metadata' ? 'User' : 'App'}Metadata`, { key, value: clone(value) ?? null });
    if (value === null || value === undefined) delete tx[field][key];
    else tx[field][key] = clone(value);
    return api;
  });
  const setClaim = (which, store) => guard((name, value) => {
    if (name === 'scope') throw new Error('The "scope" claim cannot be set.');
    record(`${which}.setCustomClaim`, { name, value: clone(value) ?? null });
    tx[store][name] = clone(value) ?? null;
    return api;
  });

  const api = {
    access: {
      deny: guard((reason) => {
        record('access.deny', { reason: String(reason) });
        if (!tx.deny) tx.deny = { action: unit.name, reason: String(reason) };
        return api;
      }),
    },
    user: {
      setUserMetadata: setMetadata('user_metadata', 'userMetadata'),
      setAppMetadata: setMetadata('app_metadata', 'appMetadata'),
    },
    idToken: { setCustomClaim: setClaim('idToken', 'idTokenClaims') },
    accessToken: {
      setCustomClaim: setClaim('accessToken', 'accessTokenClaims'),
      addScope: guard((scope) => {
        record('accessToken.addScope', { scope: String(scope) });
        tx.scopes.added.push(String(scope));
        return api;
      }),
      removeScope: guard((scope) => {
        record('accessToken.removeScope', { scope: String(scope) });
        tx.scopes.removed.push(String(scope));
        return api;
      }),
    },
    multifactor: {
      enable: guard((provider, options) => {
        if (!MFA_PROVIDERS.includes(provider)) {
          throw new Error(`Invalid multifactor provider "${provider}". Expected one of: ${MFA_PROVIDERS.join(', ')}`);
        }
        record('multifactor.enable', { provider, options: clone(options) ?? null });
        tx.multifactor = { provider, options: clone(options) ?? null };
        return api;
      }),
    },
    redirect: {
      canRedirect: () => canRedirect(event),
      sendUserTo: guard((url, options) => {
        if (state.rendered) throw new Error('Redirect and render commands cannot be used in the same action.');
        const target = new URL(url);
        const query = (options && options.query) || {};
        for (const [key, value] of Object.entries(query)) target.searchParams.set(key, String(value));
        record('redirect.sendUserTo', { url: target.toString() });
        state.redirected = true;
        tx.redirect = { action: unit.name, url: target.toString() };
        return api;
      }),
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
        return tokens.sign(claims, secret);
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
          return tokens.verify(token, secret, {
            now: Math.floor(now() / 1000),
            sub: event.user.user_id,
            issuer: event.request.hostname,
            state: params.state,
          });
        } catch (err) {
          throw new Error(`The session token is invalid: ${err.message}`);
        }
      },
    },
    cache: makeCache(tx, unit.name, now),
    transaction: {
      setMetadata: guard((key, value) => {
        if (typeof key !== 'string' || key.length === 0 || key.length > TX_KEY_CHARS) {
          throw new Error(`Transaction metadata keys must be strings of 1 to ${TX_KEY_CHARS} characters`);
        }
        if (!['string', 'number', 'boolean'].includes(typeof value)) {
          throw new Error('Transaction metadata values must be a string, number or boolean');
        }
        if (Buffer.byteLength(String(value)) > TX_VALUE_BYTES) {
          throw new Error(`Transaction metadata values are limited to ${TX_VALUE_BYTES} bytes`);
        }
        const next = { ...tx.transactionMetadata, [key]: value };
        if (Buffer.byteLength(JSON.stringify(next)) > TX_TOTAL_BYTES) {
          throw new Error(`Transaction metadata is limited to ${TX_TOTAL_BYTES} bytes in total`);
        }
        record('transaction.setMetadata', { key, value });
        tx.transactionMetadata[key] = value;
        // Visible at once, in this action and the later ones.
        if (event.transaction) event.transaction.metadata = { ...tx.transactionMetadata };
        return api;
      }),
    },
    authentication: {
      challengeWith: guard((factor, options) => {
        record('authentication.challengeWith', { factor: clone(factor), options: clone(options) ?? null });
        return api;
      }),
      challengeWithAny: guard((factors) => {
        record('authentication.challengeWithAny', { factors: clone(factors) });
        return api;
      }),
      enrollWith: guard((factor, options) => {
        record('authentication.enrollWith', { factor: clone(factor), options: clone(options) ?? null });
        return api;
      }),
      enrollWithAny: guard((factors) => {
        record('authentication.enrollWithAny', { factors: clone(factors) });
        return api;
      }),
      recordMethod: guard((url) => {
        if (handler !== 'onContinuePostLogin') {
          throw new Error('api.authentication.recordMethod() can only be used in onContinuePostLogin.');
        }
        record('authentication.recordMethod', { url: String(url) });
        return api;
      }),
      setPrimaryUser: guard((userId) => {
        if (state.primaryUserSet || tx.primaryUser) throw new Error('The primary user can only be set once.');
        if (typeof userId !== 'string' || userId.length > 128) {
          throw new Error('The primary user id must be a string of at most 128 characters.');
        }
        record('authentication.setPrimaryUser', { user_id: userId });
        state.primaryUserSet = true;
        tx.primaryUser = userId;
        return api;
      }),
    },
    prompt: {
      render: guard((formId, options) => {
        if (state.redirected) throw new Error('Redirect and render commands cannot be used in the same action.');
        if (state.rendered) throw new Error('A prompt can only be rendered once per action.');
        record('prompt.render', { form_id: String(formId), options: clone(options) ?? null });
        state.rendered = true;
        tx.redirect = { action: unit.name, prompt: String(formId) };
        return api;
      }),
    },
    session: recorded(record, guard, 'session', ['revoke', 'setExpiresAt', 'setIdleExpiresAt', 'setMetadata', 'deleteMetadata', 'evictMetadata']),
    refreshToken: recorded(record, guard, 'refreshToken', ['revoke', 'setExpiresAt', 'setIdleExpiresAt', 'setMetadata', 'deleteMetadata']),
    samlResponse: recorded(record, guard, 'samlResponse', ['setAttribute']),
    validation: recorded(record, guard, 'validation', ['error']),
    rules: { wasExecuted: () => false },
  };
  holder.api = api;
  return { api, state };
}

function canRedirect(event) {
  const query = (event.request && event.request.query) || {};
  if (query.prompt === 'none') return false;
  const protocol = event.transaction && event.transaction.protocol;
  return !NO_REDIRECT_PROTOCOLS.includes(protocol);
}

/** One action's runner (sandbox/js/action.js runs the handler; this is post-login's part). */
function makeRunner(unit, harness) {
  const { clone } = harness.action;
  return harness.action.makeRunner(unit, {
    newTx: (state) => ({
      userMetadata: state.user_metadata ?? {},
      appMetadata: state.app_metadata ?? {},
      idTokenClaims: {},
      accessTokenClaims: {},
      scopes: { added: [], removed: [] },
      multifactor: null,
      transactionMetadata: state.transaction_metadata ?? {},
      primaryUser: state.primary_user ?? null,
      redirect: null,
    }),
    prepare: (event, tx) => {
      // Earlier actions' metadata writes are visible to later ones.
      event.user.user_metadata = clone(tx.userMetadata);
      event.user.app_metadata = clone(tx.appMetadata);
      if (event.transaction) event.transaction.metadata = clone(tx.transactionMetadata);
    },
    makeApi: (ctx) => makeApi(harness, ctx),
    status: (tx, apiState) => (apiState.redirected || apiState.rendered ? 'redirected' : null),
    result: (tx) => ({
      redirect: tx.redirect,
      user_metadata: tx.userMetadata,
      app_metadata: tx.appMetadata,
      id_token_claims: tx.idTokenClaims,
      access_token_claims: tx.accessTokenClaims,
      access_token_scopes: tx.scopes,
      multifactor: tx.multifactor,
      transaction_metadata: tx.transactionMetadata,
      primary_user: tx.primaryUser,
    }),
  });
}

// Frozen: action code can require() this file; its exports must not change
// for later executions.
module.exports = Object.freeze({ makeRunner, canRedirect });
