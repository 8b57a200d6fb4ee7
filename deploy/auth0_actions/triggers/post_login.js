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
// limitations.mdx, "User metadata and app metadata": 32 kB of each persisted per session.
const METADATA_BYTES = 32 * 1024;
const COOKIE_MODES = ['persistent', 'non-persistent'];

// The api.samlResponse setters (post-login-api-object.mdx) and what each accepts:
// a type, the allowed values where the page lists them, and the sizes of
// limitations.mdx, "SAML configuration".
const KB = 1024;
const SAML_SETTERS = {
  setAudience: { type: 'string', bytes: 2 * KB },
  setRecipient: { type: 'string', bytes: 2 * KB },
  setCreateUpnClaim: { type: 'boolean' },
  setPassthroughClaimsWithNoMapping: { type: 'boolean' },
  setMapUnknownClaimsAsIs: { type: 'boolean' },
  setMapIdentities: { type: 'boolean' },
  setSignatureAlgorithm: { type: 'string', values: ['rsa-sha256', 'rsa-sha1'] },
  setDigestAlgorithm: { type: 'string', values: ['sha256', 'sha1'] },
  setDestination: { type: 'string', bytes: 2 * KB },
  setLifetimeInSeconds: { type: 'number' },
  setSignResponse: { type: 'boolean' },
  setNameIdentifierFormat: { type: 'string', bytes: KB / 2 },
  setNameIdentifierProbes: { type: 'strings', bytes: KB / 2, items: 10 },
  setAuthnContextClassRef: { type: 'string', bytes: KB / 2 },
  setSigningCert: { type: 'string', bytes: 4 * KB },
  setIncludeAttributeNameFormat: { type: 'boolean' },
  setTypedAttributes: { type: 'boolean' },
  setEncryptionCert: { type: 'string', bytes: 4 * KB },
  setEncryptionPublicKey: { type: 'string', bytes: 4 * KB },
  setCert: { type: 'string', bytes: 4 * KB },
  setKey: { type: 'string', bytes: 4 * KB },
  setRelayState: { type: 'string' },
  setIssuer: { type: 'string' },
  setEncryptionAlgorithm: { type: 'string', values: ['aes256-gcm', 'aes256-cbc'] },
};
// limitations.mdx, "SAML attributes".
const SAML_ATTRIBUTES = 100;
const SAML_ATTRIBUTE_NAME_BYTES = KB;
const SAML_ATTRIBUTE_VALUE_BYTES = 2 * KB;
// post-login-api-object.mdx, api.roles: page sizes and filter lengths.
const ROLES_TAKE = 100;
const ROLES_BY_IDS = 100;
const ROLES_BY_NAMES = 50;

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
    const next = { ...tx[field] };
    if (value === null || value === undefined) delete next[key];
    else next[key] = clone(value);
    if (Buffer.byteLength(JSON.stringify(next)) > METADATA_BYTES) {
      throw new Error(`The user's ${kind} is limited to ${METADATA_BYTES} bytes per session; setting "${key}" would exceed it.`);
    }
    record(`user.set${kind === 'user_metadata' ? 'User' : 'App'}Metadata`, { key, value: clone(value) ?? null });
    tx[field] = next;
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
      ...tokens.redirectTokens(event, now),
    },
    cache: makeCache(tx, unit.name, now),
    transaction: {
      setMetadata: guard((key, value) => {
        if (typeof key !== 'string' || key.length === 0 || key.length > TX_KEY_CHARS) {
          throw new Error(`Transaction metadata keys must be strings of 1 to ${TX_KEY_CHARS} characters`);
        }
        // transaction-metadata.mdx: null removes the key.
        if (value === null || value === undefined) {
          record('transaction.setMetadata', { key, value: null });
          delete tx.transactionMetadata[key];
          if (event.transaction) event.transaction.metadata = { ...tx.transactionMetadata };
          return api;
        }
        if (!['string', 'number', 'boolean'].includes(typeof value)) {
          throw new Error('Transaction metadata values must be a string, number or boolean');
        }
        // limitations.mdx, "Transaction metadata": numbers must pass Number.isSafeInteger
        // when they are integers (and be finite).
        if (typeof value === 'number' && (!Number.isFinite(value) || (Number.isInteger(value) && !Number.isSafeInteger(value)))) {
          throw new Error(
            `Transaction metadata value for "${key}" is not a safe number (${value}); serialize it, e.g. as a string`,
          );
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
    session: {
      ...recorded(record, guard, 'session', ['setExpiresAt', 'setIdleExpiresAt', 'setMetadata', 'deleteMetadata', 'evictMetadata']),
      // Ends the login as failed after this action (post-login-api-object.mdx).
      revoke: guard((reason, options) => {
        record('session.revoke', { reason: String(reason), options: clone(options) ?? null });
        return api;
      }),
      setCookieMode: guard((mode) => {
        if (!COOKIE_MODES.includes(mode)) {
          throw new Error(`Invalid cookie mode "${mode}". Expected one of: ${COOKIE_MODES.join(', ')}`);
        }
        record('session.setCookieMode', { mode });
        return api;
      }),
    },
    refreshToken: {
      ...recorded(record, guard, 'refreshToken', ['setExpiresAt', 'setIdleExpiresAt', 'setMetadata', 'deleteMetadata', 'evictMetadata']),
      revoke: guard((reason) => {
        record('refreshToken.revoke', { reason: String(reason) });
        return api;
      }),
    },
    samlResponse: makeSamlResponse(record, guard, holder),
    validation: {
      // The app gets errorCode and errorMessage (customize-signup-and-login-prompts.mdx).
      error: guard((code, message) => {
        record('validation.error', { code: String(code), reason: String(message) });
        return api;
      }),
    },
    groups: makeGroups(record, event),
    roles: makeRoles(record, event),
    rules: { wasExecuted: () => false },
  };
  holder.api = api;
  return { api, state };
}

function checkSaml(name, rule, value) {
  const where = `api.samlResponse.${name}`;
  if (rule.type === 'strings') {
    if (!Array.isArray(value) || value.some((v) => typeof v !== 'string')) throw new TypeError(`${where} expects an array of strings`);
    if (value.length > rule.items) throw new Error(`${where} accepts at most ${rule.items} probes`);
    if (value.some((v) => Buffer.byteLength(v) > rule.bytes)) throw new Error(`${where}: each probe is limited to ${rule.bytes} bytes`);
    return;
  }
  if (typeof value !== rule.type) throw new TypeError(`${where} expects a ${rule.type}`);
  if (rule.values && !rule.values.includes(value)) {
    throw new Error(`${where}: invalid value "${value}". Allowed values: ${rule.values.join(', ')}`);
  }
  if (rule.bytes && Buffer.byteLength(value) > rule.bytes) throw new Error(`${where} is limited to ${rule.bytes} bytes`);
}

/** api.samlResponse: every documented setter, recorded with its validated value. */
function makeSamlResponse(record, guard, holder) {
  const attributes = new Set();
  const out = {
    setAttribute: guard((attribute, value) => {
      if (typeof attribute !== 'string' || attribute === '') throw new TypeError('api.samlResponse.setAttribute expects an attribute name');
      if (Buffer.byteLength(attribute) > SAML_ATTRIBUTE_NAME_BYTES) {
        throw new Error(`SAML attribute names are limited to ${SAML_ATTRIBUTE_NAME_BYTES} bytes`);
      }
      const copy = value === undefined ? null : JSON.parse(JSON.stringify(value));
      if (copy !== null && Buffer.byteLength(JSON.stringify(copy)) > SAML_ATTRIBUTE_VALUE_BYTES) {
        throw new Error(`SAML attribute values are limited to ${SAML_ATTRIBUTE_VALUE_BYTES} bytes`);
      }
      if (!attributes.has(attribute) && attributes.size >= SAML_ATTRIBUTES) {
        throw new Error(`At most ${SAML_ATTRIBUTES} SAML attributes can be changed or added by Actions`);
      }
      attributes.add(attribute);
      record('samlResponse.setAttribute', { attribute, value: copy });
      return holder.api;
    }),
  };
  for (const [name, rule] of Object.entries(SAML_SETTERS)) {
    out[name] = guard((value) => {
      checkSaml(name, rule, value);
      record(`samlResponse.${name}`, { value: JSON.parse(JSON.stringify(value)) });
      return holder.api;
    });
  }
  return out;
}

/** The user's roles, as event.authorization.roles names them (post-login-event-object.mdx). */
function roleList(event) {
  const roles = (event.authorization && event.authorization.roles) || [];
  return roles.map((role) => (typeof role === 'string' ? { name: role } : role));
}

const stringArray = (value, max, what) => {
  if (!Array.isArray(value) || value.some((v) => typeof v !== 'string')) throw new TypeError(`${what} expects an array of strings`);
  if (value.length > max) throw new Error(`${what} accepts at most ${max} values`);
};

/**
 * api.roles (post-login-api-object.mdx): async lookups with checkpoint paging.
 * The roles come from the event (a scenario sets event.authorization.roles).
 */
function makeRoles(record, event) {
  const page = (list, params) => {
    const take = params.take === undefined ? ROLES_TAKE : params.take;
    if (!Number.isInteger(take) || take < 1 || take > ROLES_TAKE) throw new Error(`take must be an integer from 1 to ${ROLES_TAKE}`);
    const start = params.from === undefined ? 0 : Number.parseInt(String(params.from), 10) || 0;
    const roles = list.slice(start, start + take);
    return start + take < list.length ? { roles, next: String(start + take) } : { roles };
  };
  return {
    getUserEffectiveRoles: async (params = {}) => {
      record('roles.getUserEffectiveRoles', { params: JSON.parse(JSON.stringify(params)) });
      return page(roleList(event), params);
    },
    getUserEffectiveRolesByIds: async (ids) => {
      stringArray(ids, ROLES_BY_IDS, 'api.roles.getUserEffectiveRolesByIds');
      record('roles.getUserEffectiveRolesByIds', { ids: [...ids] });
      return { roles: roleList(event).filter((role) => ids.includes(role.id)) };
    },
    getUserEffectiveRolesByNames: async (names) => {
      stringArray(names, ROLES_BY_NAMES, 'api.roles.getUserEffectiveRolesByNames');
      record('roles.getUserEffectiveRolesByNames', { names: [...names] });
      return { roles: roleList(event).filter((role) => names.includes(role.name)) };
    },
  };
}

/**
 * api.groups (post-login-api-object.mdx). The event documents no groups, so
 * a scenario's event.user.groups (ids or {id, name}) stands in for the tenant's.
 */
function makeGroups(record, event) {
  const groups = () => ((event.user && event.user.groups) || []).map((g) => (typeof g === 'string' ? { id: g, name: g } : g));
  return {
    getUserGroups: async (params = {}) => {
      record('groups.getUserGroups', { params: JSON.parse(JSON.stringify(params)) });
      const take = params.take === undefined ? 50 : params.take;
      const start = params.from === undefined ? 0 : Number.parseInt(String(params.from), 10) || 0;
      const list = groups();
      const slice = list.slice(start, start + take);
      return start + take < list.length ? { groups: slice, next: String(start + take) } : { groups: slice };
    },
    hasGroupMembership: async (wanted) => {
      stringArray(wanted, Infinity, 'api.groups.hasGroupMembership');
      record('groups.hasGroupMembership', { groups: [...wanted] });
      const matches = groups().filter((g) => wanted.includes(g.id) || wanted.includes(g.name));
      return { isMember: matches.length > 0, groups: matches };
    },
  };
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
