'use strict';
// The post-login trigger: the `api` object, and one action's execution
// (docs/reference/actions-runtime.md §1). The host runs the pipeline: each
// action in binding order, in its own worker, carrying the transaction
// (metadata, transaction metadata, cache) from one to the next.

const { loadAction } = require('./loader');
const tokens = require('./tokens');

const MFA_PROVIDERS = ['any', 'none', 'guardian', 'google-authenticator', 'duo'];
const NO_REDIRECT_PROTOCOLS = [
  'oauth2-resource-owner',
  'oauth2-refresh-token',
  'oauth2-password',
  'oauth2-webauthn',
];
const CACHE_KEY_BYTES = 64;
const CACHE_VALUE_BYTES = 4096;
const CACHE_ENTRIES = 20;
const CACHE_MAX_TTL_MS = 24 * 60 * 60 * 1000;
const CACHE_DEFAULT_TTL_MS = 15 * 60 * 1000;
const TX_KEY_CHARS = 64;
const TX_VALUE_BYTES = 8 * 1024;
const TX_TOTAL_BYTES = 16 * 1024;

const clone = (value) => (value === undefined ? undefined : JSON.parse(JSON.stringify(value)));
const isObject = (value) => value !== null && typeof value === 'object' && !Array.isArray(value);

class ApiClosed {}

/**
 * The api for one action's handler. Every call is recorded as a command;
 * the effects go into `tx`, the transaction shared by the pipeline.
 */
function makeApi(tx, unit, event, handler, now) {
  const state = { closed: false, redirected: false, rendered: false, primaryUserSet: false };
  const record = (type, fields) => {
    if (state.closed) {
      tx.logs.push({ action: unit.name, level: 'warn', message: `${type} called after the action finished; ignored` });
      throw new ApiClosed();
    }
    tx.commands.push({ action: unit.name, type, ...fields });
  };
  const guard = (fn) => (...args) => {
    try {
      return fn(...args);
    } catch (err) {
      if (err instanceof ApiClosed) return api;
      throw err;
    }
  };
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
    cache: makeCache(tx, unit, now),
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
  return { api, state, close: () => { state.closed = true; } };
}

/** api members this runtime records without modelling their effect. */
function recorded(record, guard, group, names) {
  const out = {};
  for (const name of names) {
    out[name] = guard((...args) => {
      record(`${group}.${name}`, { args: clone(args) });
    });
  }
  return out;
}

function makeCache(tx, unit, now) {
  const entries = tx.cache; // key -> {value, expires_at}
  const live = () => {
    const t = now();
    for (const [key, item] of Object.entries(entries)) if (item.expires_at <= t) delete entries[key];
  };
  return {
    get: (key) => {
      live();
      const item = entries[key];
      return item ? { value: item.value, expires_at: item.expires_at } : undefined;
    },
    set: (key, value, options = {}) => {
      live();
      if (Buffer.byteLength(String(key)) > CACHE_KEY_BYTES) return { type: 'error', code: 'CacheKeySizeExceeded' };
      if (Buffer.byteLength(String(value)) > CACHE_VALUE_BYTES) return { type: 'error', code: 'CacheValueSizeExceeded' };
      if (!(key in entries) && Object.keys(entries).length >= CACHE_ENTRIES) return { type: 'error', code: 'CacheSizeExceeded' };
      const t = now();
      let expiresAt = t + CACHE_DEFAULT_TTL_MS;
      if (options.ttl !== undefined || options.expires_at !== undefined) {
        const candidates = [];
        if (options.ttl !== undefined) {
          if (typeof options.ttl !== 'number' || options.ttl <= 0) return { type: 'error', code: 'InvalidExpiry' };
          candidates.push(t + options.ttl);
        }
        if (options.expires_at !== undefined) {
          if (typeof options.expires_at !== 'number') return { type: 'error', code: 'InvalidExpiry' };
          if (options.expires_at <= t) return { type: 'error', code: 'ItemAlreadyExpired' };
          candidates.push(options.expires_at);
        }
        expiresAt = Math.min(...candidates); // the earlier expiry wins
      }
      if (expiresAt - t > CACHE_MAX_TTL_MS) return { type: 'error', code: 'InvalidExpiry' };
      entries[key] = { value: String(value), expires_at: expiresAt };
      tx.commands.push({ action: unit.name, type: 'cache.set', key: String(key) });
      return { type: 'success', record: { value: String(value), expires_at: expiresAt } };
    },
    delete: (key) => {
      live();
      if (!(key in entries)) return { type: 'error', code: 'CacheKeyDoesNotExist' };
      const item = entries[key];
      delete entries[key];
      return { type: 'success', record: { value: item.value, expires_at: item.expires_at } };
    },
  };
}

function canRedirect(event) {
  const query = (event.request && event.request.query) || {};
  if (query.prompt === 'none') return false;
  const protocol = event.transaction && event.transaction.protocol;
  return !NO_REDIRECT_PROTOCOLS.includes(protocol);
}

function signatureError(name) {
  return new Error(
    `Invalid function signature for the "${name}" handler. Use "exports.${name} = async function(event, api) { }" as the signature.`,
  );
}

/**
 * One action's runner. A worker serves one action (its isolation domain), so
 * the runner holds that action alone: its code, its secrets, its module. The
 * pipeline (binding order, stopping on deny/redirect/error, carrying state
 * from one action to the next) is run by the host, one request per action
 * (deploy/auth0_actions/sandbox/pipeline.py).
 *
 * request: {event, handler, state: {user_metadata, app_metadata,
 *           transaction_metadata, cache, primary_user}, now_ms}
 */
function actionRunner(unit) {
  // Module init is lazy (first execution) and runs once per instance; a
  // top-level throw is thrown again on every later call, as Auth0's loader does.
  let exported = null;
  let loadError = null;
  let logs = [];
  const sink = () => logs;
  return async function run(request) {
    const state = request.state || {};
    const handler = request.handler === 'onContinuePostLogin' ? 'onContinuePostLogin' : 'onExecutePostLogin';
    const offset = (request.now_ms ?? Date.now()) - Date.now();
    const now = () => Date.now() + offset;
    logs = [];
    const tx = {
      commands: [],
      logs,
      // The request was parsed for this execution alone: its objects are
      // this execution's own, no copy needed.
      userMetadata: state.user_metadata ?? {},
      appMetadata: state.app_metadata ?? {},
      idTokenClaims: {},
      accessTokenClaims: {},
      scopes: { added: [], removed: [] },
      multifactor: null,
      transactionMetadata: state.transaction_metadata ?? {},
      cache: state.cache ?? {},
      primaryUser: state.primary_user ?? null,
      deny: null,
      redirect: null,
      executed: [],
    };
    const event = request.event;
    // Earlier actions' metadata writes are visible to later ones.
    event.user.user_metadata = clone(tx.userMetadata);
    event.user.app_metadata = clone(tx.appMetadata);
    event.secrets = clone(unit.secrets || {});
    if (event.transaction) event.transaction.metadata = clone(tx.transactionMetadata);
    let status = 'completed';
    let error = null;
    const fail = (err, extra) => {
      status = 'error';
      error = { action: unit.name, handler, message: String(err && err.message), ...extra };
    };
    try {
      if (loadError !== null) throw loadError;
      if (exported === null) exported = loadAction(unit, sink);
    } catch (err) {
      loadError = err;
      fail(err, { stack: String(err && err.stack) });
    }
    const fn = exported && exported[handler];
    if (status === 'error') {
      // reported below
    } else if (fn === undefined) {
      if (handler === 'onContinuePostLogin') {
        fail({ message: 'The action redirected but exports no onContinuePostLogin handler.' });
      } else {
        status = 'skipped';
      }
    } else if (typeof fn !== 'function' || fn.constructor.name !== 'AsyncFunction') {
      fail(signatureError(handler));
    } else {
      const { api, state: apiState, close } = makeApi(tx, unit, event, handler, now);
      tx.executed.push({ action: unit.name, handler });
      try {
        await fn(event, api);
      } catch (err) {
        fail(err, { stack: String(err && err.stack) });
      } finally {
        close();
      }
      if (status !== 'error') {
        if (tx.deny) status = 'denied';
        else if (apiState.redirected || apiState.rendered) status = 'redirected';
      }
    }
    return {
      status,
      error,
      deny: tx.deny,
      redirect: tx.redirect,
      commands: tx.commands,
      logs: tx.logs,
      user_metadata: tx.userMetadata,
      app_metadata: tx.appMetadata,
      id_token_claims: tx.idTokenClaims,
      access_token_claims: tx.accessTokenClaims,
      access_token_scopes: tx.scopes,
      multifactor: tx.multifactor,
      transaction_metadata: tx.transactionMetadata,
      primary_user: tx.primaryUser,
      cache: tx.cache,
      executed: tx.executed,
    };
  };
}

// Fix: frozen. Action code can require() harness modules (its require
// resolves from here when it has no dependencies); assigning e.g.
// require('./tokens').verify changed every later validateToken on the worker.
module.exports = Object.freeze({ actionRunner, canRedirect });
