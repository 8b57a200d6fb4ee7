'use strict';
// The JS half of every trigger whose api is api.cache alone (post-user-registration,
// post-change-password, send-phone-message): nothing an action does there can
// change or stop the flow; a thrown error is the run's error. The triggers'
// modules name this file as their script.

function makeRunner(unit, harness) {
  const { makeCache } = harness.action;
  return harness.action.makeRunner(unit, {
    newTx: () => ({}),
    makeApi: ({ tx, now, holder }) => {
      const api = { cache: makeCache(tx, unit.name, now) };
      holder.api = api;
      return { api };
    },
    result: () => ({}),
  });
}

// Frozen: action code can require() this file; its exports must not change
// for later executions.
module.exports = Object.freeze({ makeRunner });
