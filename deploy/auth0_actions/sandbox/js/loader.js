'use strict';
// Load action and rule code the way Auth0's loader does (@auth0/actions
// _XK5Fidc.js): compiled with vm.compileFunction in the main realm, with a
// real `require` resolving from the action's dependency directory. A worker
// serves one action (its isolation domain), so the module is loaded once and
// its module-level state persists across that action's executions, as in
// Auth0's Node 22 runtime (docs/reference/actions-runtime.md §3: globals and
// module state persist on a warm instance); no other action ever shares it.

// Fix: functions captured at load; action code can assign to these shared
// module objects (e.g. require('vm').compileFunction) and would otherwise
// hook the loading of every later action on the worker.
const { join, dirname } = require('path');
const { compileFunction } = require('vm');
const { createRequire } = require('module');
const { format } = require('util');

const HARNESS_DIR = __dirname;

function requireFor(depsDir) {
  // createRequire wants a file path; nothing is read from it.
  const base = depsDir ? join(depsDir, 'action.js') : join(HARNESS_DIR, 'action.js');
  return createRequire(base);
}

// `sink` is a function returning the current execution's log list: a module
// loaded once logs into whichever execution is running.
function makeConsole(sink, unitName) {
  const write = (level) => (...args) => sink().push({ action: unitName, level, message: format(...args) });
  return {
    log: write('log'),
    info: write('info'),
    warn: write('warn'),
    error: write('error'),
    debug: write('debug'),
    trace: write('trace'),
  };
}

/** Load an Action's module: returns module.exports. `logs` as in makeConsole. */
function loadAction(unit, logs) {
  const params = ['exports', 'require', 'module', '__filename', '__dirname', 'console'];
  const fn = compileFunction(unit.code, params, { filename: unit.filename });
  const module = { exports: {} };
  fn.call(
    module.exports,
    module.exports,
    requireFor(unit.deps_dir),
    module,
    unit.filename,
    dirname(unit.filename),
    makeConsole(logs, unit.name),
  );
  return module.exports;
}

/** A legacy Rule: a bare function expression, evaluated with the Rules globals. `logs` as in makeConsole. */
function loadRule(unit, globals, logs) {
  const params = ['configuration', 'auth0', 'UnauthorizedError', 'require', 'console', 'global'];
  // The wrapper line is compensated by lineOffset, so stack traces keep the
  // rendered file's line numbers.
  const fn = compileFunction(`return (\n${unit.code}\n);`, params, {
    filename: unit.filename,
    lineOffset: -1,
  });
  return fn(
    globals.configuration,
    globals.auth0,
    globals.UnauthorizedError,
    requireFor(unit.deps_dir),
    makeConsole(logs, unit.name),
    globals.global,
  );
}

// Fix: frozen. Action code can require() harness modules (its require
// resolves from here when it has no dependencies); assigning e.g.
// require('./tokens').verify changed every later validateToken on the worker.
module.exports = Object.freeze({ loadAction, loadRule });
