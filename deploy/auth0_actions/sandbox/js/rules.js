'use strict';
// Legacy Rules (docs/reference/actions-runtime.md §4): `function (user,
// context, callback)`, run in order; the first callback wins; an
// UnauthorizedError ends the login with error=unauthorized, any other error
// with access_denied; context.redirect suspends after the remaining rules ran,
// and on /continue every rule runs again with protocol "redirect-callback".
// This file runs one rule; the host runs them in order
// (deploy/auth0_actions/sandbox/pipeline.py).

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
 * One rule's runner. A worker serves one rule (its isolation domain); the host
 * runs the rules in order, one request each, carrying user and context
 * (deploy/auth0_actions/sandbox/pipeline.py).
 *
 * unit: {name, code, filename, deps_dir, configuration}
 * request: {user, context, state: {user_metadata, app_metadata}, timeout_ms}
 */
function ruleRunner(unit) {
  // `global` persists across this rule's executions in its worker, as in
  // Auth0's rule containers; no other rule shares it.
  const shared = {};
  let logs = [];
  const sink = () => logs;
  return async function run(request) {
    const state = request.state || {};
    logs = [];
    const run = {
      commands: [],
      logs,
      userMetadata: clone(state.user_metadata ?? {}),
      appMetadata: clone(state.app_metadata ?? {}),
    };
    let user = clone(request.user);
    let context = clone(request.context);
    let status = 'completed';
    let error = null;
    const executed = [];
    let fn;
    try {
      fn = loadRule(
        unit,
        {
          configuration: clone(unit.configuration || {}),
          auth0: makeAuth0(run, unit.name, context),
          UnauthorizedError,
          global: shared,
        },
        sink,
      );
    } catch (err) {
      status = 'error';
      error = { rule: unit.name, name: String(err && err.name), message: String(err && err.message) };
    }
    if (status === 'completed' && typeof fn !== 'function') {
      status = 'error';
      error = { rule: unit.name, name: 'TypeError', message: 'A rule must be a function (user, context, callback).' };
    }
    if (status === 'completed') {
      executed.push(unit.name);
      const outcome = await invokeRule(fn, user, context, request.timeout_ms ?? 20000);
      // Let promises the rule started before calling back settle (Auth0 keeps
      // the sandbox alive for them).
      await new Promise((resolve) => setImmediate(resolve));
      if (outcome.timeout) {
        status = 'error';
        error = { rule: unit.name, name: 'Error', message: 'Request to Webtask exceeded allowed execution time' };
      } else if (outcome.err) {
        const err = outcome.err;
        const unauthorized = err instanceof UnauthorizedError || (err && err.name === 'UnauthorizedError');
        status = unauthorized ? 'unauthorized' : 'denied';
        error = {
          rule: unit.name,
          name: unauthorized ? 'UnauthorizedError' : String((err && err.name) || 'Error'),
          message: typeof err === 'string' ? err : String(err && err.message),
        };
      } else {
        if (outcome.user) user = outcome.user;
        if (outcome.context) context = outcome.context;
      }
    }
    return {
      status,
      error,
      commands: run.commands,
      logs: run.logs,
      user_metadata: run.userMetadata,
      app_metadata: run.appMetadata,
      user: clone(user),
      context: clone(context),
      executed,
    };
  };
}

// Fix: frozen. Action code can require() harness modules (its require
// resolves from here when it has no dependencies); assigning e.g.
// require('./tokens').verify changed every later validateToken on the worker.
module.exports = Object.freeze({ ruleRunner, UnauthorizedError });
