'use strict';
// A long-lived sandbox worker. The host starts it under Node's permission
// model (read-only harness and dependencies; no writes, child processes,
// workers or addons), with an empty environment, a heap cap and, where the OS
// allows, in its own network namespace.
//
// Protocol: the first stdin line is a nonce; then one JSON request per line.
// Each response is one line "<nonce> <json>" on stdout. Action code cannot
// learn the nonce (it is read before any action code runs and kept in this
// closure), so nothing it prints can pass for a result.
//
// Everything the harness relies on after action code has run is captured
// here first, and the built-in prototypes are fingerprinted: an action that
// tampers with them fails its scenario and the worker is replaced.

const fs = require('fs');

const writeSync = fs.writeSync;
const readSync = fs.readSync;
const jsonParse = JSON.parse;
const stringifyPrimitive = JSON.stringify;
const ownKeys = Reflect.ownKeys;
const getOwnPropertyDescriptor = Reflect.getOwnPropertyDescriptor;
const isArray = Array.isArray;
const objectKeys = Object.keys;
const createNull = () => Object.create(null);
const numberIsFinite = Number.isFinite;
const setTimeoutSafe = setTimeout;
const clearTimeoutSafe = clearTimeout;
const PromiseSafe = Promise;
const promiseThen = Promise.prototype.then;
const BufferSafe = Buffer;
const bufferConcat = Buffer.concat;
const bufferIndexOf = Buffer.prototype.indexOf;
const bufferSubarray = Buffer.prototype.subarray;
const bufferToString = Buffer.prototype.toString;
const exit = process.exit.bind(process);
const reallyExit = process.reallyExit ? process.reallyExit.bind(process) : exit;

// --- network: blocked in the worker whether or not a namespace also cuts it
function networkDisabled() {
  const err = new Error('Network access is disabled in the auth0-actions sandbox.');
  err.code = 'ERR_SANDBOX_NETWORK';
  return err;
}
function blockNetwork() {
  const refuse = () => {
    throw networkDisabled();
  };
  const net = require('net');
  const http = require('http');
  const https = require('https');
  const tls = require('tls');
  const dgram = require('dgram');
  const dns = require('dns');
  const http2 = require('http2');
  const patch = (obj, names) => {
    for (const name of names) {
      Object.defineProperty(obj, name, { value: refuse, writable: false, configurable: false });
    }
  };
  patch(net, ['connect', 'createConnection', 'createServer']);
  patch(net.Socket.prototype, ['connect']);
  patch(http, ['request', 'get', 'createServer']);
  patch(https, ['request', 'get', 'createServer']);
  patch(tls, ['connect', 'createServer']);
  patch(dgram, ['createSocket']);
  patch(http2, ['connect', 'createServer', 'createSecureServer']);
  patch(dns, ['lookup', 'resolve', 'resolve4', 'resolve6', 'resolveAny']);
  patch(dns.promises, ['lookup', 'resolve', 'resolve4', 'resolve6', 'resolveAny']);
  const refuseAsync = () => PromiseSafe.reject(networkDisabled());
  for (const name of ['fetch', 'WebSocket', 'EventSource']) {
    Object.defineProperty(globalThis, name, {
      value: name === 'fetch' ? refuseAsync : refuse,
      writable: false,
      configurable: false,
    });
  }
}
blockNetwork();

const { runPostLogin } = require('./postlogin');
const { runRules } = require('./rules');

// --- integrity of the built-ins the harness (and JSON) depend on
const GUARDED = {
  'Object.prototype': Object.prototype,
  'Array.prototype': Array.prototype,
  'Function.prototype': Function.prototype,
  'String.prototype': String.prototype,
  'Number.prototype': Number.prototype,
  'Boolean.prototype': Boolean.prototype,
  'Promise.prototype': Promise.prototype,
  'Error.prototype': Error.prototype,
  'Map.prototype': Map.prototype,
  'Set.prototype': Set.prototype,
  'RegExp.prototype': RegExp.prototype,
  'Date.prototype': Date.prototype,
  JSON,
  Object,
  Array,
  Promise,
  Reflect,
};
const GLOBALS = ['JSON', 'Object', 'Array', 'Promise', 'Reflect', 'Buffer', 'Error'];

function fingerprint() {
  const marks = new Map();
  for (const name of objectKeys(GUARDED)) {
    const target = GUARDED[name];
    const props = new Map();
    for (const key of ownKeys(target)) {
      const d = getOwnPropertyDescriptor(target, key);
      props.set(key, [d.value, d.get, d.set, d.writable, d.enumerable, d.configurable]);
    }
    marks.set(name, props);
  }
  const globals = new Map();
  for (const name of GLOBALS) globals.set(name, globalThis[name]);
  return { marks, globals };
}
const BASELINE = fingerprint();

function tampering() {
  const found = [];
  for (const name of objectKeys(GUARDED)) {
    const before = BASELINE.marks.get(name);
    const target = GUARDED[name];
    const keys = ownKeys(target);
    if (keys.length !== before.size) found.push(`${name}: properties added or removed`);
    for (const key of keys) {
      const old = before.get(key);
      const d = getOwnPropertyDescriptor(target, key);
      const now = [d.value, d.get, d.set, d.writable, d.enumerable, d.configurable];
      if (!old || now.some((v, i) => v !== old[i])) {
        found.push(`${name}.${String(key)} was modified`);
      }
    }
  }
  for (const name of GLOBALS) {
    if (globalThis[name] !== BASELINE.globals.get(name)) found.push(`global ${name} was replaced`);
  }
  return found;
}

// --- output: a serializer that reads own properties only, with captured functions
function serialize(value, depth = 0) {
  if (depth > 64) return 'null';
  if (value === null || value === undefined) return 'null';
  const type = typeof value;
  if (type === 'string') return stringifyPrimitive(value);
  if (type === 'boolean') return value ? 'true' : 'false';
  if (type === 'number') return numberIsFinite(value) ? stringifyPrimitive(value) : 'null';
  if (type === 'bigint') return stringifyPrimitive(String(value));
  if (type !== 'object') return 'null';
  if (isArray(value)) {
    let out = '[';
    const length = getOwnPropertyDescriptor(value, 'length').value;
    for (let i = 0; i < length; i += 1) {
      const d = getOwnPropertyDescriptor(value, String(i));
      out += (i ? ',' : '') + serialize(d ? d.value : null, depth + 1);
    }
    return out + ']';
  }
  let out = '{';
  let first = true;
  for (const key of objectKeys(value)) {
    const d = getOwnPropertyDescriptor(value, key);
    if (!d || !('value' in d) || d.value === undefined || typeof d.value === 'function') continue;
    out += (first ? '' : ',') + stringifyPrimitive(key) + ':' + serialize(d.value, depth + 1);
    first = false;
  }
  return out + '}';
}

// --- channel
let pending = BufferSafe.alloc(0);
const chunk = BufferSafe.alloc(1 << 16);

function readLine() {
  for (;;) {
    const newline = bufferIndexOf.call(pending, 10);
    if (newline >= 0) {
      const line = bufferToString.call(bufferSubarray.call(pending, 0, newline), 'utf8');
      pending = bufferSubarray.call(pending, newline + 1);
      return line;
    }
    let count;
    try {
      count = readSync(0, chunk, 0, chunk.length, null);
    } catch (err) {
      if (err.code === 'EAGAIN') {
        // Action code touched process.stdin and made it non-blocking; wait a little.
        Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 5);
        continue;
      }
      if (err.code === 'EOF') return null;
      throw err;
    }
    if (count === 0) return null;
    pending = bufferConcat([pending, bufferSubarray.call(chunk, 0, count)]);
  }
}

const NONCE = readLine();
if (!NONCE) exit(2);

function respond(payload) {
  const line = `${NONCE} ${serialize(payload)}\n`;
  const bytes = BufferSafe.from(line, 'utf8');
  let offset = 0;
  while (offset < bytes.length) offset += writeSync(1, bytes, offset, bytes.length - offset);
}

function withTimeout(promise, ms) {
  return new PromiseSafe((resolve) => {
    const timer = setTimeoutSafe(
      () => resolve({ status: 'error', error: { message: 'Request to Webtask exceeded allowed execution time', timeout: true } }),
      ms,
    );
    promiseThen.call(
      promise,
      (result) => {
        clearTimeoutSafe(timer);
        resolve(result);
      },
      (err) => {
        clearTimeoutSafe(timer);
        resolve({ status: 'error', error: { message: String(err && err.message), stack: String(err && err.stack) } });
      },
    );
  });
}

async function handle(request) {
  if (request.op === 'ping') return { pong: true };
  if (request.op === 'post-login') return withTimeout(runPostLogin(request), request.timeout_ms ?? 20000);
  if (request.op === 'rules') return withTimeout(runRules(request), request.timeout_ms ?? 20000);
  return { status: 'error', error: { message: `unknown op ${request.op}` } };
}

async function main() {
  for (;;) {
    const line = readLine();
    if (line === null) reallyExit(0);
    let request;
    try {
      request = jsonParse(line);
    } catch (err) {
      respond({ id: null, ok: false, error: 'malformed request' });
      continue;
    }
    const result = await handle(request);
    const tampered = tampering();
    if (tampered.length) {
      const report = createNull();
      report.id = request.id;
      report.ok = false;
      report.tampered = tampered;
      respond(report);
      // A worker whose built-ins were changed is never reused.
      reallyExit(3);
    }
    respond({ id: request.id, ok: true, result });
  }
}

main();
