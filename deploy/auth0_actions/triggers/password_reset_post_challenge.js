'use strict';
// password-reset-post-challenge's api
// (https://auth0.com/docs/customize/actions/explore-triggers/password-reset-triggers/post-challenge-trigger/post-challenge-api-object):
// access.deny, authentication.challengeWith/challengeWithAny, redirect
// (sendUserTo, encodeToken, validateToken), prompt.render,
// transaction.setResultUrl and cache. A redirect or a prompt suspends the
// flow; it resumes in the same action's onContinuePostChallenge
// (deploy/auth0_actions/triggers/password_reset_post_challenge.py decides).

// challengeWith's factor.type: "Allowed values: otp, email, webauthn-platform,
// webauthn-roaming, recovery-code".
const FACTOR_TYPES = ['otp', 'email', 'webauthn-platform', 'webauthn-roaming', 'recovery-code'];

function checkFactor(factor, where) {
  if (factor === null || typeof factor !== 'object' || Array.isArray(factor)) {
    throw new TypeError(`${where} must be an object like { type: 'otp' }`);
  }
  if (!FACTOR_TYPES.includes(factor.type)) {
    throw new Error(`Invalid factor type "${factor.type}". Expected one of: ${FACTOR_TYPES.join(', ')}`);
  }
}

/** The URL with the options' query parameters appended (sendUserTo, setResultUrl). */
function withQuery(url, options) {
  const target = new URL(url); // throws TypeError: Invalid URL
  const query = (options && options.query) || {};
  for (const [key, value] of Object.entries(query)) target.searchParams.set(key, String(value));
  return target.toString();
}

function makeApi(harness, { tx, unit, event, now, record, guard, holder }) {
  const { clone, makeCache, denyWithReason } = harness.action;
  const tokens = harness.tokens;
  const state = { redirected: false, rendered: false };
  const challenge = (type, fields, factors) => {
    record(type, fields);
    tx.challenges.push({ action: unit.name, factors: clone(factors) });
  };
  const api = {
    access: { deny: denyWithReason(tx, unit.name, record, guard, holder) },
    authentication: {
      challengeWith: guard((factor, options) => {
        checkFactor(factor, 'The factor');
        const additional = (options && options.additionalFactors) || [];
        if (!Array.isArray(additional)) throw new TypeError('options.additionalFactors must be an array');
        additional.forEach((f) => checkFactor(f, 'Each additional factor'));
        challenge(
          'authentication.challengeWith',
          { factor: clone(factor), options: clone(options) ?? null },
          [factor, ...additional],
        );
        return api;
      }),
      challengeWithAny: guard((factors) => {
        if (!Array.isArray(factors) || factors.length === 0) {
          throw new TypeError('challengeWithAny expects a non-empty array of factors');
        }
        factors.forEach((f) => checkFactor(f, 'Each factor'));
        challenge('authentication.challengeWithAny', { factors: clone(factors) }, factors);
        return api;
      }),
    },
    redirect: {
      sendUserTo: guard((url, options) => {
        if (state.rendered) throw new Error('Redirect and render commands cannot be used in the same action.');
        const target = withQuery(url, options);
        record('redirect.sendUserTo', { url: target });
        state.redirected = true;
        tx.redirect = { action: unit.name, url: target };
        return api;
      }),
      ...tokens.redirectTokens(event, now),
    },
    prompt: {
      render: guard((promptId, promptOptions) => {
        if (state.redirected) throw new Error('Redirect and render commands cannot be used in the same action.');
        if (state.rendered) throw new Error('A prompt can only be rendered once per action.');
        record('prompt.render', { prompt_id: String(promptId), options: clone(promptOptions) ?? null });
        state.rendered = true;
        tx.redirect = { action: unit.name, prompt: String(promptId) };
        return api;
      }),
    },
    transaction: {
      setResultUrl: guard((url, options) => {
        const target = withQuery(url, options);
        record('transaction.setResultUrl', { url: target });
        tx.resultUrl = target;
        return api;
      }),
    },
    cache: makeCache(tx, unit.name, now),
  };
  holder.api = api;
  return { api, state };
}

/** One action's runner (sandbox/js/action.js runs the handler; this is the trigger's part). */
function makeRunner(unit, harness) {
  return harness.action.makeRunner(unit, {
    newTx: () => ({ challenges: [], resultUrl: null, redirect: null }),
    makeApi: (ctx) => makeApi(harness, ctx),
    status: (tx, apiState) => (apiState.redirected || apiState.rendered ? 'redirected' : null),
    result: (tx) => ({ redirect: tx.redirect, challenges: tx.challenges, result_url: tx.resultUrl }),
  });
}

// Frozen: action code can require() this file.
module.exports = Object.freeze({ makeRunner });
