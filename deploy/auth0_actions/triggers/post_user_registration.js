'use strict';
// post-user-registration's api: api.cache only
// (https://auth0.com/docs/customize/actions/explore-triggers/signup-and-login-triggers/post-user-registration-trigger/post-user-registration-api-object).
// The trigger is non-blocking: its actions cannot change or stop the signup
// (deploy/auth0_actions/triggers/post_user_registration.py).

function makeRunner(unit, harness) {
  return harness.action.makeRunner(unit, {
    newTx: () => ({}),
    makeApi: ({ tx, now, holder }) => {
      const api = { cache: harness.action.makeCache(tx, unit.name, now) };
      holder.api = api;
      return { api };
    },
    result: () => ({}),
  });
}

// Frozen: action code can require() this file; its exports must not change
// for later executions.
module.exports = Object.freeze({ makeRunner });
