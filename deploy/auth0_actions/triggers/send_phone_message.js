'use strict';
// send-phone-message's api: api.cache only
// (https://auth0.com/docs/actions/reference/send-phone-message/send-phone-message-api-object).
// The action delivers the MFA message itself; a thrown error fails the
// delivery (the host reports it as the run's error).

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

module.exports = Object.freeze({ makeRunner });
