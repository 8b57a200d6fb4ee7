'use strict';
// The api of the provider triggers (custom-email-provider, custom-phone-provider):
// api.cache and api.notification.drop/retry
// (https://auth0.com/docs/actions/reference/custom-email-provider/custom-email-provider-api-object).
// The host decides the outcome from the recorded commands
// (deploy/auth0_actions/triggers/_notification.py): the last drop or retry wins.

// "this field is limited to 1024 characters and will be truncated if larger"
const REASON_CHARS = 1024;

function makeApi(harness, { tx, unit, now, record, guard, holder }) {
  const { makeCache } = harness.action;
  const mark = (type) => guard((reason) => {
    const text = reason === undefined || reason === null ? '' : String(reason);
    record(type, { reason: text.slice(0, REASON_CHARS) });
    return holder.api;
  });
  const api = {
    cache: makeCache(tx, unit.name, now),
    notification: {
      drop: mark('notification.drop'),
      retry: mark('notification.retry'),
    },
  };
  holder.api = api;
  return { api };
}

/** One provider action's runner (sandbox/js/action.js runs the handler). */
function makeRunner(unit, harness) {
  return harness.action.makeRunner(unit, {
    newTx: () => ({}),
    makeApi: (ctx) => makeApi(harness, ctx),
    result: () => ({}),
  });
}

module.exports = Object.freeze({ makeRunner });
