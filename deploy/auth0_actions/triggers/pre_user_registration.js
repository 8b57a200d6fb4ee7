'use strict';
// pre-user-registration's api
// (https://auth0.com/docs/customize/actions/explore-triggers/signup-and-login-triggers/pre-user-registration-trigger/pre-user-registration-api-object).
// The host runs the actions in binding order, each in its own worker,
// carrying the metadata the user will be created with and the cache
// (deploy/auth0_actions/triggers/pre_user_registration.py decides the
// outcome). Harness helpers come in `harness` (sandbox/js/action.js).

// "You cannot currently use pre-user-registration Actions to add metadata to
// passwordless users" (the trigger's overview page): the call is accepted and
// the metadata is not stored.
const PASSWORDLESS_STRATEGIES = ['email', 'sms'];

function makeApi(harness, { tx, unit, event, now, record, guard, holder }) {
  const { clone, isObject, makeCache } = harness.action;
  const strategy = event.connection && event.connection.strategy;
  const passwordless = PASSWORDLESS_STRATEGIES.includes(strategy);
  const setMetadata = (kind, field) => guard((key, value) => {
    if (typeof key !== 'string') throw new TypeError(`${kind} key must be a string`);
    if (!isObject(tx[field])) throw new Error(`The user's ${kind} is not an object`);
    record(`user.set${kind === 'user_metadata' ? 'User' : 'App'}Metadata`, { key, value: clone(value) ?? null });
    if (passwordless) {
      tx.logs.push({
        action: unit.name,
        level: 'warn',
        message: `${kind}.${key} not stored: pre-user-registration cannot add metadata to passwordless users (${strategy} connection)`,
      });
    } else if (value === null || value === undefined) {
      delete tx[field][key];
    } else {
      tx[field][key] = clone(value);
    }
    return api;
  });
  const refuse = (fields) => {
    // The first refusal is the one the signup page shows.
    if (!tx.deny) tx.deny = { action: unit.name, ...fields };
  };

  const api = {
    access: {
      deny: guard((reason, userMessage) => {
        const fields = {
          reason: String(reason),
          user_message: userMessage === undefined || userMessage === null ? null : String(userMessage),
        };
        record('access.deny', fields);
        refuse(fields);
        return api;
      }),
    },
    validation: {
      error: guard((errorCode, errorMessage) => {
        const fields = { code: String(errorCode), message: String(errorMessage ?? '') };
        record('validation.error', fields);
        refuse(fields);
        return api;
      }),
    },
    user: {
      setUserMetadata: setMetadata('user_metadata', 'userMetadata'),
      setAppMetadata: setMetadata('app_metadata', 'appMetadata'),
    },
    cache: makeCache(tx, unit.name, now),
  };
  holder.api = api;
  return { api };
}

/** One action's runner (sandbox/js/action.js runs the handler; this is the trigger's part). */
function makeRunner(unit, harness) {
  const { clone } = harness.action;
  return harness.action.makeRunner(unit, {
    newTx: (state) => ({
      userMetadata: state.user_metadata ?? {},
      appMetadata: state.app_metadata ?? {},
    }),
    prepare: (event, tx) => {
      // Earlier actions' metadata writes are visible to later ones.
      if (event.user) {
        event.user.user_metadata = clone(tx.userMetadata);
        event.user.app_metadata = clone(tx.appMetadata);
      }
    },
    makeApi: (ctx) => makeApi(harness, ctx),
    result: (tx) => ({ user_metadata: tx.userMetadata, app_metadata: tx.appMetadata }),
  });
}

// Frozen: action code can require() this file; its exports must not change
// for later executions.
module.exports = Object.freeze({ makeRunner });
