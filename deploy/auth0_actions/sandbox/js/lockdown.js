'use strict';
// The worker's in-process lockdown: which Node built-ins action code (and its
// npm dependencies) can load, and which process-wide switches it cannot
// touch. worker.js calls lockdown() as its very first line, before the harness
// captures anything and long before any action code runs.
//
// This is the inner layer only. Node documents its permission model as no
// protection against malicious code, and nothing in one V8 heap is a
// security boundary; the OS sandbox around the worker is. What this layer
// does is close the routes through which code inside the worker reaches past
// the permission model (node:sqlite, v8 heap snapshots, trace files), reads
// memory it was not given (Buffer's shared pool) or changes the harness
// (module hooks, async hooks, the working directory).
//
// Every check is done with functions captured here, in closures, before any
// other code runs: action code can replace String.prototype.startsWith or
// Module._load, but not what these closures hold.
//
// docs/sandbox-builtins.md lists every built-in with the reason it is allowed
// or refused; tests/test_sandbox_builtins.py keeps that table and these
// constants in step.

const Module = require('module');

const apply = Reflect.apply;
const defineProperty = Object.defineProperty;
const getOwnPropertyDescriptor = Reflect.getOwnPropertyDescriptor;
const freeze = Object.freeze;
const ErrorCtor = Error;
const isBuiltin = Module.isBuiltin;
const startsWith = String.prototype.startsWith;
const slice = String.prototype.slice;

// The built-ins an Auth0 Action can require. Auth0 runs actions on plain
// Node 22 with a real `require` and publishes no list of core modules (see
// docs/sandbox-builtins.md); these are the ones actions and the npm packages
// they use load, and that stay inside the permission model and the OS
// sandbox. Network modules stay: worker.js disables their network functions
// and the OS sandbox has no network.
const ALLOWED_BUILTINS = freeze([
  '_http_agent', '_http_client', '_http_common', '_http_incoming', '_http_outgoing', '_http_server',
  '_stream_duplex', '_stream_passthrough', '_stream_readable', '_stream_transform', '_stream_wrap',
  '_stream_writable', '_tls_common', '_tls_wrap',
  'assert', 'assert/strict', 'async_hooks', 'buffer', 'console', 'constants', 'crypto', 'dgram',
  'diagnostics_channel', 'dns', 'dns/promises', 'events', 'fs', 'fs/promises', 'http', 'http2',
  'https', 'module', 'net', 'os', 'path', 'path/posix', 'path/win32', 'perf_hooks', 'process',
  'punycode', 'querystring', 'stream', 'stream/consumers', 'stream/promises', 'stream/web',
  'string_decoder', 'sys', 'timers', 'timers/promises', 'tls', 'tty', 'url', 'util', 'util/types',
  'vm', 'zlib',
]);

// One reason per refused built-in, shown in the error. A built-in in neither
// list (one a newer Node adds) is refused with UNLISTED_REASON: fail closed.
const REFUSAL_REASONS = freeze({
  __proto__: null,
  child_process: 'it starts other programs',
  cluster: 'it starts worker processes',
  domain: "it routes errors thrown in the harness's own callbacks to action code (it is deprecated)",
  inspector: 'it opens a debugger session on the worker, which reads any value in its memory and runs code past every check',
  'inspector/promises': 'it opens a debugger session on the worker, which reads any value in its memory and runs code past every check',
  readline: "it reads the worker's standard input, which carries the harness's requests",
  'readline/promises': "it reads the worker's standard input, which carries the harness's requests",
  repl: "it evaluates input read from the worker's standard input, which carries the harness's requests",
  sea: 'it reads the assets of a single-executable application, which the worker is not',
  sqlite: "it ignores Node's permission model (it can open files outside the allowed paths)",
  test: "it is Node's test runner, which starts processes and writes reports",
  'test/reporters': "it is Node's test runner, which starts processes and writes reports",
  trace_events: "it makes the worker write trace files, which Node's permission model does not stop",
  v8: 'it writes heap snapshots of every value in memory (secrets included) and changes V8 flags at run time',
  wasi: 'it gives WebAssembly its own access to files, clocks and arguments',
  worker_threads: "it starts threads with a fresh module loader that this sandbox's checks do not cover",
});
const UNLISTED_REASON = "it is not on the sandbox's list of built-ins Auth0 Actions can use";

// Looked up without touching Object.prototype (action code may add to it).
const ALLOWED = { __proto__: null };
for (let i = 0; i < ALLOWED_BUILTINS.length; i += 1) ALLOWED[ALLOWED_BUILTINS[i]] = true;
freeze(ALLOWED);

function sandboxError(code, message) {
  const err = new ErrorCtor(message);
  // defineProperty, not `err.code =`: a setter on Error.prototype or
  // Object.prototype must not see (or swallow) the refusal.
  defineProperty(err, 'code', { value: code, writable: true, enumerable: true, configurable: true });
  return err;
}

/** The built-in id a specifier or URL names ("v8" for "v8" and "node:v8"), or null. */
function builtinId(specifier) {
  if (typeof specifier !== 'string' || !isBuiltin(specifier)) return null;
  return apply(startsWith, specifier, ['node:']) ? apply(slice, specifier, [5]) : specifier;
}

/** Throws ERR_SANDBOX_MODULE when `specifier` names a built-in that is not allowed. */
function checkBuiltin(specifier) {
  const id = builtinId(specifier);
  if (id === null || ALLOWED[id] === true) return;
  const reason = REFUSAL_REASONS[id] === undefined ? UNLISTED_REASON : REFUSAL_REASONS[id];
  throw sandboxError(
    'ERR_SANDBOX_MODULE',
    'The Node built-in module "node:' + id + '" is not available in the auth0-actions sandbox: ' + reason + '.',
  );
}

/** A function that always throws ERR_SANDBOX_API naming `what` and why. */
function refusing(what, reason) {
  const message = what + ' is not available in the auth0-actions sandbox: ' + reason + '.';
  return function refused() {
    throw sandboxError('ERR_SANDBOX_API', message);
  };
}

/** Replaces target[name] for good: action code can neither reassign nor redefine it. */
function lock(target, name, value) {
  const before = getOwnPropertyDescriptor(target, name);
  defineProperty(target, name, {
    value,
    writable: false,
    enumerable: before === undefined ? true : before.enumerable === true,
    configurable: false,
  });
}

// --- module loading: one choke point under require, import and createRequire
// Called once, the first time anything resolves node:http or node:https
// (outbound.js routes their Agents to the stubs then, not at every worker's
// start: loading both costs ~5 ms, and most actions never use them).
let onHttpModule = null;
const HTTP_MODULES = ['node:http', 'node:https', 'http', 'https'];
function httpModuleResolved(id) {
  if (typeof onHttpModule !== 'function' || !HTTP_MODULES.includes(id)) return;
  const fn = onHttpModule;
  onHttpModule = undefined; // once; and no later registration is taken
  fn();
}
function whenHttpModuleLoads(fn) {
  if (onHttpModule === null) onHttpModule = fn;
}

function lockModuleLoading() {
  const registerHooks = Module.registerHooks;
  // Synchronous hooks run in this thread for every CommonJS require
  // (including createRequire's and Module._load called directly), every
  // import() and static import, and require(esm). Below Module._load and
  // Module._resolveFilename, which dependencies (APM agents, require hooks)
  // legitimately patch: a patched _resolveFilename that answers "v8" still
  // resolves to node:v8 here, and is refused.
  registerHooks({
    resolve(specifier, context, nextResolve) {
      checkBuiltin(specifier);
      const result = nextResolve(specifier, context);
      checkBuiltin(result.url);
      httpModuleResolved(result.url);
      return result;
    },
    load(url, context, nextLoad) {
      checkBuiltin(url);
      return nextLoad(url, context);
    },
  });
  // The handle is dropped: nothing can deregister these hooks. No more hooks
  // may be added either, since a later hook runs first and could resolve a
  // refused built-in without ever calling ours.
  const rerouting = 'it would change how every later require and import resolves, around the sandbox\'s checks';
  lock(Module, 'registerHooks', refusing('module.registerHooks()', rerouting));
  lock(Module, 'register', refusing('module.register()', rerouting));
  const caching = 'it writes compiled code to a cache directory';
  lock(Module, 'enableCompileCache', refusing('module.enableCompileCache()', caching));
  lock(Module, 'flushCompileCache', refusing('module.flushCompileCache()', caching));
  if (typeof Module.setSourceMapsSupport === 'function') {
    lock(Module, 'setSourceMapsSupport', refusing('module.setSourceMapsSupport()',
      "it changes how the harness's own stack traces are read"));
  }

  // process.getBuiltinModule loads built-ins without the module loader.
  const getBuiltinModule = process.getBuiltinModule;
  lock(process, 'getBuiltinModule', function getBuiltinModuleChecked(id) {
    checkBuiltin(id);
    httpModuleResolved(id);
    return apply(getBuiltinModule, process, [id]);
  });
}

// --- async_hooks: AsyncLocalStorage yes, a view of every async operation no
function lockAsyncHooks() {
  const asyncHooks = require('async_hooks');
  // Reading the getter loads Node's AsyncLocalStorage, which captures the
  // real createHook and executionAsyncResource now, before they are locked.
  // eslint-disable-next-line no-unused-expressions
  asyncHooks.AsyncLocalStorage;
  lock(asyncHooks, 'createHook', refusing('async_hooks.createHook()',
    "it observes every asynchronous operation in the worker, the harness's own included; use AsyncLocalStorage"));
  lock(asyncHooks, 'executionAsyncResource', refusing('async_hooks.executionAsyncResource()',
    "it hands out the harness's own asynchronous resources and the values stored on them; use AsyncLocalStorage"));
}

// --- process: switches that reach past the permission model or the harness
function lockProcess() {
  const native = 'it loads native code past the module checks';
  lock(process, 'binding', refusing('process.binding()', native));
  lock(process, '_linkedBinding', refusing('process._linkedBinding()', native));
  lock(process, 'dlopen', refusing('process.dlopen()', native));
  if (typeof process.execve === 'function') {
    lock(process, 'execve', refusing('process.execve()', 'it replaces the worker with another program'));
  }
  // A stand-in for process.report: its real setters (reportOnSignal,
  // directory, ...) switch on native report writing. Node's own
  // setUncaughtExceptionCaptureCallback writes reportOnUncaughtException, so
  // that one stays a plain (inert) property.
  const reportReason = 'it writes diagnostic reports to files and describes the host';
  const report = { __proto__: null, reportOnUncaughtException: false };
  lock(report, 'getReport', refusing('process.report.getReport()', reportReason));
  lock(report, 'writeReport', refusing('process.report.writeReport()', reportReason));
  lock(process, 'report', report);
  const identity = "it changes the worker's user or groups";
  for (const name of ['setuid', 'setgid', 'seteuid', 'setegid', 'setgroups', 'initgroups']) {
    if (typeof process[name] === 'function') lock(process, name, refusing('process.' + name + '()', identity));
  }
  lock(process, 'chdir', refusing('process.chdir()',
    'it moves the working directory the harness resolves paths against'));
  lock(process, 'abort', refusing('process.abort()',
    'it kills the worker with a core dump; return or throw to end an execution'));
  lock(process, 'setSourceMapsEnabled', refusing('process.setSourceMapsEnabled()',
    "it changes how the harness's own stack traces are read"));
  const debug = 'it starts a debugger on a process';
  lock(process, '_debugProcess', refusing('process._debugProcess()', debug));
  lock(process, '_debugEnd', refusing('process._debugEnd()', debug));
  const profiler = 'it drives the V8 profiler';
  lock(process, '_startProfilerIdleNotifier', refusing('process._startProfilerIdleNotifier()', profiler));
  lock(process, '_stopProfilerIdleNotifier', refusing('process._stopProfilerIdleNotifier()', profiler));
  // The port a debugger would listen on; nothing may choose it.
  lock(process, 'debugPort', process.debugPort);
}

// --- Buffer: no shared pool, no uninitialised memory
function lockBuffers() {
  const buffer = require('buffer');
  const alloc = Buffer.alloc;
  // Below half the pool size, Buffer.from / allocUnsafe / concat slice one
  // shared 8 KB ArrayBuffer, so `anyBuffer.buffer` exposed bytes (secrets)
  // written earlier. Zero turns the pool off: every Buffer gets its own.
  lock(Buffer, 'poolSize', 0);
  // allocUnsafe returns memory that may hold freed data unless the worker
  // runs with --zero-fill-buffers; zero it here too, so that no longer
  // depends on the launcher's flags.
  lock(Buffer, 'allocUnsafe', function allocUnsafe(size) {
    return apply(alloc, Buffer, [size]);
  });
  lock(Buffer, 'allocUnsafeSlow', function allocUnsafeSlow(size) {
    return apply(alloc, Buffer, [size]);
  });
  const SlowBuffer = buffer.SlowBuffer;
  if (typeof SlowBuffer === 'function') {
    const zeroedSlowBuffer = function SlowBuffer(size) {
      return apply(alloc, Buffer, [size]);
    };
    zeroedSlowBuffer.prototype = SlowBuffer.prototype;
    lock(buffer, 'SlowBuffer', zeroedSlowBuffer);
  }
}

let lockedDown = false;

/** Applies the lockdown to this process, once; later calls do nothing. */
function lockdown() {
  if (lockedDown) return;
  lockedDown = true;
  // Node loads its internal worker module lazily (the first fetch or
  // structuredClone of a port does), and that module wraps process.chdir.
  // Load it now, while process.chdir can still be wrapped; nothing is
  // started and nothing is handed to action code.
  process.getBuiltinModule('worker_threads');
  lockModuleLoading();
  lockAsyncHooks();
  lockProcess();
  lockBuffers();
  // An `import` of node:module, node:process, node:buffer or node:async_hooks
  // made from here on sees the locked values (ESM views of built-ins copy
  // their exports when created); this updates any created before.
  Module.syncBuiltinESMExports();
}

module.exports = freeze({
  lockdown, whenHttpModuleLoads, ALLOWED_BUILTINS, REFUSAL_REASONS, UNLISTED_REASON,
});
