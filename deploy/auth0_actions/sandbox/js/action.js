'use strict';
// What every trigger's action shares (docs/reference/actions-runtime.md §1, §3):
// the module loaded once per worker (a top-level throw thrown again on every
// later call), the handler chosen by the host among the trigger's handlers,
// the async-signature check, every api call recorded as a command (calls
// after the handler finished are ignored), and api.cache. A trigger's JS half
// (deploy/auth0_actions/triggers/<trigger>.js) supplies its own `api` and the
// fields of its result.

const { loadAction } = require('./loader');

const clone = (value) => (value === undefined ? undefined : JSON.parse(JSON.stringify(value)));
const isObject = (value) => value !== null && typeof value === 'object' && !Array.isArray(value);

const CACHE_KEY_BYTES = 64;
const CACHE_VALUE_BYTES = 4096;
const CACHE_ENTRIES = 20;
// limitations.mdx, "Cached data": keys and values together at most 8 kB per trigger.
const CACHE_TOTAL_BYTES = 8 * 1024;
const CACHE_MAX_TTL_MS = 24 * 60 * 60 * 1000;
const CACHE_DEFAULT_TTL_MS = 15 * 60 * 1000;

class ApiClosed {}

/**
 * record(type, fields) appends a command; guard(fn) wraps an api method so a
 * call after the action finished is ignored (with a warning) and returns the api.
 */
function recorder(tx, unitName) {
  const holder = { api: null, closed: false };
  const record = (type, fields) => {
    if (holder.closed) {
      tx.logs.push({ action: unitName, level: 'warn', message: `${type} called after the action finished; ignored` });
      throw new ApiClosed();
    }
    tx.commands.push({ action: unitName, type, ...fields });
  };
  const guard = (fn) => (...args) => {
    try {
      return fn(...args);
    } catch (err) {
      if (err instanceof ApiClosed) return holder.api;
      throw err;
    }
  };
  return { record, guard, holder };
}

/** api members recorded as commands with their arguments, without an effect of their own. */
function recorded(record, guard, group, names) {
  const out = {};
  for (const name of names) {
    out[name] = guard((...args) => {
      record(`${group}.${name}`, { args: clone(args) });
    });
  }
  return out;
}

/** api.cache (same on every trigger): limits and result shapes as @auth0/actions. */
function makeCache(tx, unitName, now) {
  const entries = tx.cache; // key -> {value, expires_at}
  const live = () => {
    const t = now();
    for (const [key, item] of Object.entries(entries)) if (item.expires_at <= t) delete entries[key];
  };
  return {
    get: (key) => {
      live();
      const item = entries[key];
      return item ? { value: item.value, expires_at: item.expires_at } : undefined;
    },
    set: (key, value, options = {}) => {
      live();
      if (Buffer.byteLength(String(key)) > CACHE_KEY_BYTES) return { type: 'error', code: 'CacheKeySizeExceeded' };
      if (Buffer.byteLength(String(value)) > CACHE_VALUE_BYTES) return { type: 'error', code: 'CacheValueSizeExceeded' };
      if (!(key in entries) && Object.keys(entries).length >= CACHE_ENTRIES) return { type: 'error', code: 'CacheSizeExceeded' };
      let total = Buffer.byteLength(String(key)) + Buffer.byteLength(String(value));
      for (const [other, item] of Object.entries(entries)) {
        if (other !== String(key)) total += Buffer.byteLength(other) + Buffer.byteLength(item.value);
      }
      if (total > CACHE_TOTAL_BYTES) return { type: 'error', code: 'CacheSizeExceeded' };
      const t = now();
      let expiresAt = t + CACHE_DEFAULT_TTL_MS;
      if (options.ttl !== undefined || options.expires_at !== undefined) {
        const candidates = [];
        if (options.ttl !== undefined) {
          if (typeof options.ttl !== 'number' || options.ttl <= 0) return { type: 'error', code: 'InvalidExpiry' };
          candidates.push(t + options.ttl);
        }
        if (options.expires_at !== undefined) {
          if (typeof options.expires_at !== 'number') return { type: 'error', code: 'InvalidExpiry' };
          if (options.expires_at <= t) return { type: 'error', code: 'ItemAlreadyExpired' };
          candidates.push(options.expires_at);
        }
        expiresAt = Math.min(...candidates); // the earlier expiry wins
      }
      if (expiresAt - t > CACHE_MAX_TTL_MS) return { type: 'error', code: 'InvalidExpiry' };
      entries[key] = { value: String(value), expires_at: expiresAt };
      tx.commands.push({ action: unitName, type: 'cache.set', key: String(key) });
      return { type: 'success', record: { value: String(value), expires_at: expiresAt } };
    },
    delete: (key) => {
      live();
      if (!(key in entries)) return { type: 'error', code: 'CacheKeyDoesNotExist' };
      const item = entries[key];
      delete entries[key];
      return { type: 'success', record: { value: item.value, expires_at: item.expires_at } };
    },
  };
}

/** api.access.deny for triggers whose deny takes only a reason. */
function denyWithReason(tx, unitName, record, guard, holder) {
  return guard((reason) => {
    record('access.deny', { reason: String(reason) });
    if (!tx.deny) tx.deny = { action: unitName, reason: String(reason) };
    return holder.api;
  });
}

function signatureError(name) {
  return new Error(
    `Invalid function signature for the "${name}" handler. Use "exports.${name} = async function(event, api) { }" as the signature.`,
  );
}

/**
 * One action's runner for a trigger. `unit.trigger` is the trigger as the
 * host declares it ({id, version, handlers, resume_handler}); `spec` is the
 * trigger's JS half:
 *   newTx(state, request)   fields of the execution's transaction beyond the shared ones
 *   prepare(event, tx)      what the handler sees of the carried state (optional)
 *   makeApi(ctx)            the api; ctx = {tx, unit, event, handler, now, record, guard, holder}
 *                           returns {api, state?}
 *   status(tx, apiState)    'denied' | 'redirected' | null, after a clean run (optional)
 *   result(tx)              the trigger's own result fields
 */
function makeRunner(unit, spec) {
  const trigger = unit.trigger;
  let exported = null;
  let loadError = null;
  let logs = [];
  const sink = () => logs;
  return async function run(request) {
    const state = request.state || {};
    const handler = trigger.handlers.includes(request.handler) ? request.handler : trigger.handlers[0];
    const offset = (request.now_ms ?? Date.now()) - Date.now();
    const now = () => Date.now() + offset;
    logs = [];
    const tx = {
      commands: [],
      logs,
      executed: [],
      deny: null,
      // The request was parsed for this execution alone: its objects are
      // this execution's own, no copy needed.
      cache: state.cache ?? {},
      ...spec.newTx(state, request),
    };
    const event = request.event;
    event.secrets = clone(unit.secrets || {});
    if (spec.prepare) spec.prepare(event, tx);
    let status = 'completed';
    let error = null;
    const fail = (err, extra) => {
      status = 'error';
      error = { action: unit.name, handler, message: String(err && err.message), ...extra };
    };
    try {
      if (loadError !== null) throw loadError;
      if (exported === null) exported = loadAction(unit, sink);
    } catch (err) {
      loadError = err;
      fail(err, { stack: String(err && err.stack) });
    }
    const fn = exported && exported[handler];
    if (status === 'error') {
      // reported below
    } else if (!trigger.handlers.some((name) => exported != null && exported[name] !== undefined)) {
      // A misspelt handler would otherwise run as "completed" and do nothing.
      fail({
        message: `The action exports none of the ${trigger.id} trigger's handlers (expected ${trigger.handlers.join(' or ')}).`,
      });
    } else if (fn === undefined) {
      if (handler === trigger.resume_handler) {
        fail({ message: `The action redirected but exports no ${handler} handler.` });
      } else {
        status = 'skipped';
      }
    } else if (typeof fn !== 'function' || fn.constructor.name !== 'AsyncFunction') {
      fail(signatureError(handler));
    } else {
      const { record, guard, holder } = recorder(tx, unit.name);
      const made = spec.makeApi({ tx, unit, event, handler, now, record, guard, holder });
      holder.api = made.api;
      tx.executed.push({ action: unit.name, handler });
      try {
        await fn(event, made.api);
      } catch (err) {
        fail(err, { stack: String(err && err.stack) });
      } finally {
        holder.closed = true;
      }
      if (status !== 'error') {
        if (tx.deny) status = 'denied';
        else if (spec.status) status = spec.status(tx, made.state || {}) || status;
      }
    }
    return {
      status,
      error,
      deny: tx.deny,
      commands: tx.commands,
      logs: tx.logs,
      executed: tx.executed,
      cache: tx.cache,
      ...spec.result(tx),
    };
  };
}

module.exports = Object.freeze({ makeRunner, recorded, makeCache, denyWithReason, clone, isObject });
