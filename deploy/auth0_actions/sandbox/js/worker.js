'use strict';
// Before anything else: only the built-ins Auth0 actions can use are loadable,
// Buffers have no shared pool, and process internals are refused
// (lockdown.js; docs/sandbox-builtins.md).
require('./lockdown').lockdown();
// http and https Agents reach the stubs (or refuse) from the moment anything
// loads them (outbound.js); registered before any action code runs.
require('./lockdown').whenHttpModuleLoads(() => require('./outbound').useStubbedAgents());
// bubblewrap sets PWD whatever the host passes, and glibc read
// MALLOC_ARENA_MAX at start (sandbox/isolation.py WORKER_ENV); action code
// sees TZ alone.
delete process.env.PWD;
delete process.env.MALLOC_ARENA_MAX;

// A long-lived sandbox worker. The host starts it inside the OS sandbox
// (deploy/auth0_actions/sandbox/isolation.py) and under Node's permission
// model (read-only harness and dependencies; no writes, child processes,
// workers or addons), with an empty environment and a heap cap.
//
// A worker serves one isolation domain: one action (or rule), its secret
// values and its dependency set, sent once at start. It never runs anything
// else, so nothing in its memory belongs to another action.
//
// Protocol: the first stdin line is a nonce; the second the domain (JSON);
// then one JSON request per line.
// Each response is one line "<nonce> <json>" on stdout. Action code cannot
// learn the nonce (it is read before any action code runs and kept in this
// closure), so nothing it prints can pass for a result.
//
// Everything the harness relies on after action code has run is captured
// here first, and the built-in prototypes are fingerprinted: an action that
// tampers with them fails its scenario and the worker is replaced.

const fs = require('fs');

// Called through `apply` (never `.call`, a property action code can replace)
// and never through anything looked up at call time: the reply to a request
// whose action tampered with the built-ins is still written with these.
const apply = Reflect.apply;
const writeSync = fs.writeSync;
const readSync = fs.readSync;
const fstatSync = fs.fstatSync;
const jsonParse = JSON.parse;
const stringifyPrimitive = JSON.stringify;
const ownKeys = Reflect.ownKeys;
const getOwnPropertyDescriptor = Reflect.getOwnPropertyDescriptor;
const getPrototypeOf = Reflect.getPrototypeOf;
const setPrototypeOf = Reflect.setPrototypeOf;
const defineProperty = Reflect.defineProperty;
const isArray = Array.isArray;
const objectKeys = Object.keys;
const objectCreate = Object.create;
const objectIs = Object.is;
const ObjectPrototype = Object.prototype;
// Fix: was `() => Object.create(null)`, looked up when the tampering report
// is built, so a replaced Object.create could turn that report into ok:true.
const createNull = () => objectCreate(null);
// A property descriptor read without reaching Object.prototype (`d.get` of a
// data property would otherwise find an Object.prototype.get).
const ownDescriptor = (target, key) => {
  const d = getOwnPropertyDescriptor(target, key);
  if (d) setPrototypeOf(d, null);
  return d;
};
const numberIsFinite = Number.isFinite;
const numberToString = Number.prototype.toString;
const StringSafe = String;
const stringCharCodeAt = String.prototype.charCodeAt;
const stringSlice = String.prototype.slice;
const stringIncludes = String.prototype.includes;
const setTimeoutSafe = setTimeout;
const clearTimeoutSafe = clearTimeout;
const PromiseSafe = Promise;
const promiseThen = Promise.prototype.then;
const BufferSafe = Buffer;
const bufferAlloc = Buffer.alloc;
const bufferIndexOf = Buffer.prototype.indexOf;
const bufferSubarray = Buffer.prototype.subarray;
const bufferToString = Buffer.prototype.toString;
const uint8Set = Uint8Array.prototype.set;
const atomicsWait = Atomics.wait;
const sleepCell = new Int32Array(new SharedArrayBuffer(4));
const sleep = (ms) => atomicsWait(sleepCell, 0, 0, ms);
const activeResources = process.getActiveResourcesInfo.bind(process);
const memoryUsage = process.memoryUsage.bind(process);
const processEventNames = process.eventNames.bind(process);
const processListenerCount = process.listenerCount.bind(process);
const exit = process.exit.bind(process);
const reallyExit = process.reallyExit ? process.reallyExit.bind(process) : exit;

// --- network: blocked in the worker whether or not a namespace also cuts it
function networkDisabled() {
  const err = new Error('Network access is disabled in the auth0-actions sandbox.');
  err.code = 'ERR_SANDBOX_NETWORK';
  return err;
}
function blockNetwork() {
  // A plain function, so `new dns.Resolver()` is refused with this error too.
  const refuse = function refuse() {
    throw networkDisabled();
  };
  // Blocked where every client and server ends up: net, dgram and dns.
  // http, https, tls and http2 open their sockets through net (tls.connect's
  // TLSSocket is a net.Socket; servers listen through net.Server), so they are
  // refused too without being loaded here: loading them would add ~20 ms to
  // every worker's start.
  const net = require('net');
  const dgram = require('dgram');
  const dns = require('dns');
  const patch = (obj, names) => {
    for (const name of names) {
      Object.defineProperty(obj, name, { value: refuse, writable: false, configurable: false });
    }
  };
  patch(net, ['connect', 'createConnection', 'createServer']);
  patch(net.Socket.prototype, ['connect']);
  patch(dgram, ['createSocket']);
  // Fix: net.Server/http.Server constructors skip createServer; listening is
  // network access too.
  patch(net.Server.prototype, ['listen']);
  patch(dgram.Socket.prototype, ['bind', 'connect', 'send']);
  // Fix: only a few resolve* were blocked; resolveTxt & co. and a
  // `new dns.Resolver()` with setServers() still sent DNS queries (to the
  // system resolver, or to any host:port) without a network namespace.
  const resolving = (name) => name === 'lookup' || name === 'lookupService' || name === 'reverse'
    || name === 'setServers' || name === 'Resolver' || apply(stringSlice, name, [0, 7]) === 'resolve';
  for (const module of [dns, dns.promises]) {
    const names = objectKeys(module).filter(resolving);
    for (const proto of [module.Resolver.prototype, getPrototypeOf(module.Resolver.prototype)]) {
      if (proto && proto !== Object.prototype) {
        patch(proto, ownKeys(proto).filter((k) => typeof k === 'string' && k !== 'constructor' && resolving(k)));
      }
    }
    patch(module, names);
  }
  for (const name of ['fetch', 'WebSocket', 'EventSource']) {
    // Deleted first: redefining Node's lazy WebSocket global loads undici
    // (~7 ms of every worker's start) only to throw it away.
    delete globalThis[name];
    Object.defineProperty(globalThis, name, {
      // fetch reaches the host's stubs when the execution has some, and
      // throws this error otherwise (outbound.js).
      value: name === 'fetch' ? outbound.fetch : refuse,
      writable: false,
      configurable: false,
    });
  }
}
// Outbound HTTP: fetch, http and https answered by the host's stubs over the
// channel below, only while an execution that has stubs runs (outbound.js).
const outbound = require('./outbound');
let exchangeId = null;
blockNetwork();
outbound.install(
  (message) => {
    const envelope = createNull();
    envelope.id = exchangeId;
    envelope.http = message;
    respond(envelope);
    // The host answers with exactly one line before it reads anything else.
    const line = readLine();
    if (line === null) reallyExit(0);
    return jsonParse(line);
  },
  () => exchangeId !== null,
  networkDisabled,
);

// Fix: the permission model does not restrict signals, so action code could
// kill or stop any process of the same user (the host among them:
// process.kill(process.ppid)); nor os.setPriority.
function blockProcessControl() {
  const refuse = () => {
    const err = new Error('Signalling processes is disabled in the auth0-actions sandbox.');
    err.code = 'ERR_SANDBOX_PROCESS';
    throw err;
  };
  for (const name of ['kill', '_kill']) {
    if (name in process) Object.defineProperty(process, name, { value: refuse, writable: false, configurable: false });
  }
  Object.defineProperty(require('os'), 'setPriority', { value: refuse, writable: false, configurable: false });
}
blockProcessControl();


// --- integrity of the built-ins the harness (and JSON) depend on
const TypedArray = getPrototypeOf(Uint8Array);
const ArrayIteratorPrototype = getPrototypeOf([][Symbol.iterator]());
const Module = require('module');
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
  // Fix: also what the harness (action.js, the triggers' JS halves, rules.js, tokens.js, this
  // file) uses after action code ran. Buffer.from and for-of's array
  // iterator were unguarded, so an action could rewrite its own result (and
  // every later request's on that worker) without being reported.
  String,
  Number,
  Math,
  Date,
  Symbol,
  Buffer,
  'Buffer.prototype': Buffer.prototype,
  'Uint8Array.prototype': Uint8Array.prototype,
  TypedArray,
  'TypedArray.prototype': TypedArray.prototype,
  ArrayIteratorPrototype,
  IteratorPrototype: getPrototypeOf(ArrayIteratorPrototype),
  'URL.prototype': URL.prototype,
  'URLSearchParams.prototype': URLSearchParams.prototype,
  'Hmac.prototype': getPrototypeOf(require('crypto').createHmac('sha256', 'fingerprint')),
};
// The module loader does not shape a result, and dependencies (APM agents,
// require hooks) legitimately patch it; but a patched loader would hook the
// `require` of every later request, so the worker is retired, not failed.
const LOADER = {
  Module,
  'Module.prototype': Module.prototype,
  'Module._extensions': Module._extensions,
};
const LOADER_NAMES = objectKeys(LOADER);
const GLOBALS = [
  'JSON', 'Object', 'Array', 'Promise', 'Reflect', 'Buffer', 'Error',
  'String', 'Number', 'Math', 'Date', 'Symbol', 'Map', 'Set', 'URL', 'URLSearchParams',
  'TypeError', 'RangeError', 'Uint8Array', 'setTimeout', 'clearTimeout', 'setImmediate',
];
const GUARDED_NAMES = objectKeys(GUARDED);

// Fix: fingerprint() and tampering() used Map#get, Array#push, Array#some,
// for-of and template literals with String(): an action that replaced
// Array.prototype.push made tampering() report nothing. They now use only
// captured functions, indexed loops and null-prototype records.
function describe(target) {
  const props = createNull();
  const keys = ownKeys(target);
  for (let i = 0; i < keys.length; i += 1) {
    const d = ownDescriptor(target, keys[i]);
    props[keys[i]] = [d.value, d.get, d.set, d.writable, d.enumerable, d.configurable];
  }
  return { props, count: keys.length };
}

function fingerprint() {
  const marks = createNull();
  for (let i = 0; i < GUARDED_NAMES.length; i += 1) marks[GUARDED_NAMES[i]] = describe(GUARDED[GUARDED_NAMES[i]]);
  for (let i = 0; i < LOADER_NAMES.length; i += 1) marks[LOADER_NAMES[i]] = describe(LOADER[LOADER_NAMES[i]]);
  const globals = createNull();
  for (let i = 0; i < GLOBALS.length; i += 1) globals[GLOBALS[i]] = globalThis[GLOBALS[i]];
  return { marks, globals };
}
const BASELINE = fingerprint();

function keyName(key) {
  return typeof key === 'symbol' ? 'a symbol' : key;
}

function tampering(names = GUARDED_NAMES, targets = GUARDED, withGlobals = true) {
  const found = [];
  const note = (text) => {
    // Not `found[i] = text`: that would run a setter defined on Array.prototype.
    const d = createNull();
    d.value = text;
    d.writable = true;
    d.enumerable = true;
    d.configurable = true;
    defineProperty(found, found.length, d);
  };
  // Descriptors are read with a null prototype (slow) until Object.prototype
  // is known to be intact; after that, reading `d.get` cannot run action code.
  let read = ownDescriptor;
  for (let n = 0; n < names.length; n += 1) {
    const name = names[n];
    const before = BASELINE.marks[name];
    const target = targets[name];
    const keys = ownKeys(target);
    const clean = found.length;
    if (keys.length !== before.count) note(name + ': properties added or removed');
    for (let k = 0; k < keys.length; k += 1) {
      const old = before.props[keys[k]];
      const d = read(target, keys[k]);
      const changed = !old || !objectIs(d.value, old[0]) || d.get !== old[1] || d.set !== old[2]
        || d.writable !== old[3] || d.enumerable !== old[4] || d.configurable !== old[5];
      if (changed) note(name + '.' + keyName(keys[k]) + ' was modified');
    }
    if (target === ObjectPrototype && found.length === clean) read = getOwnPropertyDescriptor;
  }
  for (let i = 0; withGlobals && i < GLOBALS.length; i += 1) {
    if (globalThis[GLOBALS[i]] !== BASELINE.globals[GLOBALS[i]]) note('global ' + GLOBALS[i] + ' was replaced');
  }
  return found;
}

// --- output: a serializer that reads own properties only, with captured functions.
// Fix: the output is ASCII (non-ASCII escaped as JSON \u sequences), so a
// partial write can be resumed by slicing the string, without a Buffer.
function ascii(text) {
  let out = '';
  let from = 0;
  for (let i = 0; i < text.length; i += 1) {
    const code = apply(stringCharCodeAt, text, [i]);
    if (code < 128) continue;
    const hex = apply(numberToString, code, [16]);
    out += apply(stringSlice, text, [from, i]) + '\\u' + apply(stringSlice, '000' + hex, [hex.length - 1]);
    from = i + 1;
  }
  return from === 0 ? text : out + apply(stringSlice, text, [from]);
}

// Results and the tampering report hold data properties only, so `'value' in
// d` and `d.value` are own reads and never reach Object.prototype.
function serialize(value, depth = 0) {
  if (depth > 64) return 'null';
  if (value === null || value === undefined) return 'null';
  const type = typeof value;
  if (type === 'string') return ascii(stringifyPrimitive(value));
  if (type === 'boolean') return value ? 'true' : 'false';
  if (type === 'number') return numberIsFinite(value) ? stringifyPrimitive(value) : 'null';
  if (type === 'bigint') return stringifyPrimitive(StringSafe(value));
  if (type !== 'object') return 'null';
  if (isArray(value)) {
    let out = '[';
    const length = getOwnPropertyDescriptor(value, 'length').value;
    for (let i = 0; i < length; i += 1) {
      const d = getOwnPropertyDescriptor(value, StringSafe(i));
      out += (i ? ',' : '') + serialize(d ? d.value : null, depth + 1);
    }
    return out + ']';
  }
  let out = '{';
  let first = true;
  const keys = objectKeys(value);
  for (let i = 0; i < keys.length; i += 1) {
    const d = getOwnPropertyDescriptor(value, keys[i]);
    if (!d || !('value' in d) || d.value === undefined || typeof d.value === 'function') continue;
    out += (first ? '' : ',') + ascii(stringifyPrimitive(keys[i])) + ':' + serialize(d.value, depth + 1);
    first = false;
  }
  return out + '}';
}

// --- channel
// Fix: Buffer.concat and Buffer.from take small buffers from Node's shared
// pool, which action code can read (Buffer.allocUnsafe(1).buffer): the nonce
// of every earlier response leaked, and with it the power to forge results.
// Buffers holding channel data are now allocated (zero-filled) outside the pool.
let pending = bufferAlloc(0);
let pendingLength = 0;
const CHUNK = 1 << 16;
const chunk = bufferAlloc(CHUNK);

function readLine() {
  for (;;) {
    const newline = apply(bufferIndexOf, pending, [10]);
    if (newline >= 0) {
      const line = apply(bufferToString, apply(bufferSubarray, pending, [0, newline]), ['utf8']);
      pending = apply(bufferSubarray, pending, [newline + 1]);
      pendingLength -= newline + 1;
      return line;
    }
    let count;
    try {
      count = readSync(0, chunk, 0, CHUNK, null);
    } catch (err) {
      if (err.code === 'EAGAIN') {
        // Action code touched process.stdin and made it non-blocking; wait a little.
        sleep(5);
        continue;
      }
      if (err.code === 'EOF') return null;
      throw err;
    }
    if (count === 0) return null;
    const next = bufferAlloc(pendingLength + count);
    apply(uint8Set, next, [pending, 0]);
    apply(uint8Set, next, [apply(bufferSubarray, chunk, [0, count]), pendingLength]);
    pending = next;
    pendingLength += count;
  }
}

const NONCE = readLine();
if (!NONCE) exit(2);
const DOMAIN = (() => {
  const line = readLine();
  if (!line) exit(2);
  return jsonParse(line);
})();
// Only this domain's kind of runner is loaded (harness code, before any
// action code runs): a rule's worker never loads the Actions api, and an
// action's loads only its own trigger's JS half (DOMAIN.runner, a path the
// host chose under the read-only triggers directory).
const runDomain = DOMAIN.kind === 'rule'
  ? require('./rules').ruleRunner(DOMAIN)
  : require(DOMAIN.runner).makeRunner(DOMAIN, Object.freeze({ action: require('./action'), tokens: require('./tokens') }));
const DOMAIN_OP = DOMAIN.kind === 'rule' ? 'rules' : DOMAIN.trigger.id;

function respond(payload) {
  // Fix: the leading newline ends any partial line action code left on
  // stdout, which used to swallow the response (the host then timed out).
  // Written as a string: no Buffer from the shared pool, no getter on the way.
  let rest = '\n' + NONCE + ' ' + serialize(payload) + '\n';
  while (rest.length) {
    let written;
    try {
      written = writeSync(1, rest);
    } catch (err) {
      if (err.code !== 'EAGAIN') throw err;
      sleep(5); // stdout made non-blocking by action code, and the pipe is full
      continue;
    }
    rest = apply(stringSlice, rest, [written]);
  }
}

function withTimeout(promise, ms) {
  return new PromiseSafe((resolve) => {
    const timer = setTimeoutSafe(
      () => resolve({ status: 'error', error: { message: 'Request to Webtask exceeded allowed execution time', timeout: true } }),
      ms,
    );
    apply(promiseThen, promise, [
      (result) => {
        clearTimeoutSafe(timer);
        resolve(result);
      },
      (err) => {
        clearTimeoutSafe(timer);
        resolve({ status: 'error', error: { message: String(err && err.message), stack: String(err && err.stack) } });
      },
    ]);
  });
}

async function handle(request) {
  if (request.op === 'ping') return { pong: true };
  if (request.op === DOMAIN_OP) {
    if (request.http === true) {
      prepareStubs();
      exchangeId = request.id;
    }
    // Most executions stub nothing: no await and no finally on their path
    // (measured: a tenth of a warm execution).
    if (request.http !== true) return withTimeout(runDomain(request), request.timeout_ms ?? 20000);
    try {
      return await withTimeout(runDomain(request), request.timeout_ms ?? 20000);
    } finally {
      // Requests made after the reply (by timers the action left) are refused.
      exchangeId = null;
    }
  }
  return { status: 'error', error: { message: `this worker serves ${DOMAIN_OP} only, not ${request.op}` } };
}

// --- reuse: a worker is only reused when the last request left nothing behind
// Fix: timers, sockets or stdin listeners left by action code ran during the
// *next* request on the worker (an infinite loop there timed out an innocent
// scenario, a throw crashed it); a closed stdin crashed the next request;
// memory held in globals starved it. Such a worker is now retired after its
// reply (the host replaces it). Unref'd timers are not visible here.
function countResources() {
  const counts = createNull();
  const names = activeResources();
  for (let i = 0; i < names.length; i += 1) counts[names[i]] = (counts[names[i]] || 0) + 1;
  return counts;
}
function fdIdentity(fd) {
  try {
    const stat = fstatSync(fd);
    return stat.dev + ':' + stat.ino;
  } catch (err) {
    return null;
  }
}
function processListeners() {
  const names = processEventNames();
  let count = 0;
  for (let i = 0; i < names.length; i += 1) count += processListenerCount(names[i]);
  return count;
}
const RESOURCES = countResources();
// Once, on a worker's first execution with http stubs, before its action
// code runs: Node's Request/Response (undici) open process.stderr when they
// load, a pipe that is the harness's, not something the action left behind.
let stubsPrepared = false;
function prepareStubs() {
  if (stubsPrepared) return;
  stubsPrepared = true;
  const before = countResources();
  // eslint-disable-next-line no-unused-expressions
  process.stderr;
  const after = countResources();
  const names = objectKeys(after);
  for (let i = 0; i < names.length; i += 1) {
    RESOURCES[names[i]] = (RESOURCES[names[i]] || 0) + after[names[i]] - (before[names[i]] || 0);
  }
}
const LISTENERS = processListeners();
const STDIN = fdIdentity(0);
const STDOUT = fdIdentity(1);
// The memory cap is the address-space limit the host sets (RLIMIT_AS): a V8
// heap flag would make Node reject its built-in code cache and double a
// worker's cold start. The cap is sent with the domain.
const MEMORY_MB = Number(DOMAIN.memory_mb) || 256;

function errorMessages(result) {
  const messages = [];
  if (result && result.error && typeof result.error.message === 'string') messages.push(result.error.message);
  return messages;
}

function retireReason(result) {
  const messages = errorMessages(result);
  for (let i = 0; i < messages.length; i += 1) {
    if (apply(stringIncludes, messages[i], ['allocation failed'])) return 'an allocation failed';
    if (messages[i] === 'Request to Webtask exceeded allowed execution time') return 'the action timed out';
  }
  if (tampering(LOADER_NAMES, LOADER, false).length) return 'action code changed the module loader';
  const now = countResources();
  const names = objectKeys(now);
  for (let i = 0; i < names.length; i += 1) {
    if (now[names[i]] > (RESOURCES[names[i]] || 0)) return `action code left a ${names[i]} pending`;
  }
  // e.g. an uncaughtException handler, which would swallow later requests' crashes
  if (processListeners() !== LISTENERS) return 'action code changed the process event listeners';
  if (fdIdentity(0) !== STDIN || fdIdentity(1) !== STDOUT) return 'action code closed or replaced stdin/stdout';
  const memory = memoryUsage();
  if (memory.heapUsed > (MEMORY_MB / 2) * 1024 * 1024) return 'the heap is more than half full';
  if (memory.arrayBuffers + memory.external > MEMORY_MB * 1024 * 1024) return 'action code holds large buffers';
  return null;
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
      report.id = typeof request.id === 'number' ? request.id : null;
      report.ok = false;
      report.tampered = tampered;
      respond(report);
      // A worker whose built-ins were changed is never reused.
      reallyExit(3);
    }
    const retire = retireReason(result);
    respond({ id: request.id, ok: true, result, retire });
    if (retire) reallyExit(0);
  }
}

main();
