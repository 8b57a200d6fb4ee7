'use strict';
// post-change-password's api: api.cache only
// (https://auth0.com/docs/customize/actions/explore-triggers/password-reset-triggers/post-change-password-trigger/post-change-password-api-object).
// The trigger is non-blocking: its actions cannot change or stop the password change
// (deploy/auth0_actions/triggers/post_change_password.py).

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
