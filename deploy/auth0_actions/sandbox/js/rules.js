'use strict';
// Legacy Rules (docs/reference/actions-runtime.md §4): `function (user,
// context, callback)`, run in order; the first callback wins; an
// UnauthorizedError ends the login with error=unauthorized, any other error
// with access_denied; context.redirect suspends after the remaining rules ran,
// and on /continue every rule runs again with protocol "redirect-callback".

const { loadRule } = require('./loader');

const clone = (value) => (value === undefined ? undefined : JSON.parse(JSON.stringify(value)));
const isObject = (value) => value !== null && typeof value === 'object' && !Array.isArray(value);

class UnauthorizedError extends Error {
  constructor(message) {
    super(message);
    this.name = 'UnauthorizedError';
  }
}

/** Merge a metadata update the way the Management API does: top level, null deletes. */
function mergeTopLevel(target, update) {
  for (const [key, value] of Object.entries(update || {})) {
    if (value === null || value === undefined) delete target[key];
    else target[key] = clone(value);
  }
}

function makeAuth0(run, unitName, context) {
  const hostname = (context.request && context.request.hostname) || 'tenant.auth0.com';
  const update = (kind, field) => (userId, metadata) => {
    run.commands.push({ action: unitName, type: `auth0.users.update${kind}Metadata`, user_id: userId, metadata: clone(metadata) ?? null });
    if (!isObject(metadata)) return Promise.reject(new Error(`${field} must be an object`));
    mergeTopLevel(run[field], metadata);
    return Promise.resolve();
  };
  return {
    users: {
      updateUserMetadata: update('User', 'userMetadata'),
      updateAppMetadata: update('App', 'appMetadata'),
    },
    accessToken: 'sandbox-management-token',
    domain: hostname,
    baseUrl: `https://${hostname}/api/v2`,
  };
}

function invokeRule(fn, user, context, timeoutMs) {
  return new Promise((resolve) => {
    let done = false;
    const finish = (outcome) => {
      if (!done) {
        done = true;
        resolve(outcome);
      }
    };
    // A rule that never calls back hangs the login; the trigger limit ends it.
    const timer = setTimeout(() => finish({ timeout: true }), timeoutMs);
    const callback = (err, nextUser, nextContext) => {
      clearTimeout(timer);
      finish({ err, user: nextUser, context: nextContext, calls: 1 });
    };
    try {
      fn(user, context, callback);
    } catch (err) {
      clearTimeout(timer);
      finish({ err, thrown: true });
    }
  });
}

/**
 * request: {units: [{name, code, filename, deps_dir}], user, context, configuration, timeout_ms}
 */
async function runRules(request) {
  const run = {
    commands: [],
    logs: [],
    userMetadata: clone(request.user.user_metadata ?? {}),
    appMetadata: clone(request.user.app_metadata ?? {}),
  };
  let user = clone(request.user);
  let context = clone(request.context);
  const shared = {}; // `global`: shared by the rules of one login
  let status = 'completed';
  let error = null;
  const executed = [];
  for (const unit of request.units) {
    let fn;
    try {
      fn = loadRule(
        unit,
        {
          configuration: clone(request.configuration || {}),
          auth0: makeAuth0(run, unit.name, context),
          UnauthorizedError,
          global: shared,
        },
        run.logs,
      );
    } catch (err) {
      status = 'error';
      error = { rule: unit.name, name: String(err && err.name), message: String(err && err.message) };
      break;
    }
    if (typeof fn !== 'function') {
      status = 'error';
      error = { rule: unit.name, name: 'TypeError', message: 'A rule must be a function (user, context, callback).' };
      break;
    }
    executed.push(unit.name);
    const outcome = await invokeRule(fn, user, context, request.timeout_ms ?? 20000);
    // Let promises the rule started before calling back settle (Auth0 keeps
    // the sandbox alive for them).
    await new Promise((resolve) => setImmediate(resolve));
    if (outcome.timeout) {
      status = 'error';
      error = { rule: unit.name, name: 'Error', message: 'Request to Webtask exceeded allowed execution time' };
      break;
    }
    if (outcome.err) {
      const err = outcome.err;
      const unauthorized = err instanceof UnauthorizedError || (err && err.name === 'UnauthorizedError');
      status = unauthorized ? 'unauthorized' : 'denied';
      error = {
        rule: unit.name,
        name: unauthorized ? 'UnauthorizedError' : String((err && err.name) || 'Error'),
        message: typeof err === 'string' ? err : String(err && err.message),
      };
      break;
    }
    if (outcome.user) user = outcome.user;
    if (outcome.context) context = outcome.context;
  }
  let redirect = null;
  if (status === 'completed' && context.redirect && context.protocol !== 'redirect-callback') {
    const url = String(context.redirect.url);
    const state = request.state || 'sandbox-state';
    redirect = { url: `${url}${url.includes('?') ? '&' : '?'}state=${encodeURIComponent(state)}`, state };
    status = 'redirected';
  }
  return {
    status,
    error,
    redirect,
    commands: run.commands,
    logs: run.logs,
    user_metadata: run.userMetadata,
    app_metadata: run.appMetadata,
    id_token_claims: clone(context.idToken || {}),
    access_token_claims: clone(context.accessToken || {}),
    executed,
  };
}

// Fix: frozen. Action code can require() harness modules (its require
// resolves from here when it has no dependencies); assigning e.g.
// require('./tokens').verify changed every later validateToken on the worker.
module.exports = Object.freeze({ runRules, UnauthorizedError });
