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

// Actions Modules (https://auth0.com/docs/customize/actions/modules/write-your-first-action-module):
// an action loads the module version it pins with require('actions:<name>');
// the module reads its own secrets as actions.secrets.NAME, independent of the
// action's; it may require npm packages but no other Actions Module
// (https://auth0.com/docs/customize/actions/limitations#actions-modules); it
// runs in the action's runtime, here in the action's own worker. A name the
// action does not pin fails as Node's require fails for a module it cannot
// find: "Cannot find module 'actions:<name>'", code MODULE_NOT_FOUND (the
// first line of the error Node gives for that specifier; Auth0 documents none).
const MODULE_PREFIX = 'actions:';

function moduleNotFound(id) {
  const err = new Error(`Cannot find module '${id}'`);
  err.code = 'MODULE_NOT_FOUND';
  return err;
}

/** `base` with `actions:<name>` answered by `resolve(name)`; an unknown name throws. */
function withModules(base, resolve) {
  const wrapped = function require(id) {
    if (typeof id === 'string' && id.startsWith(MODULE_PREFIX)) {
      const found = resolve(id.slice(MODULE_PREFIX.length));
      if (found === undefined) throw moduleNotFound(id);
      return found;
    }
    return base(id);
  };
  wrapped.resolve = base.resolve;
  wrapped.cache = base.cache;
  wrapped.extensions = base.extensions;
  wrapped.main = base.main;
  return wrapped;
}

/**
 * The action's pinned modules, each evaluated once, on its first require, for
 * the worker's life (one action instance): module state persists across the
 * action's executions as the action's own does. A module whose top-level code
 * threw is evaluated again by the next require, as Node's require does.
 */
function moduleTable(unit, logs) {
  const specs = new Map();
  for (const spec of unit.modules || []) specs.set(spec.name, spec);
  const loaded = new Map();
  // A module's require: its npm packages (installed with the action's), never another module.
  const moduleRequire = withModules(requireFor(unit.deps_dir), () => undefined);
  return (name) => {
    if (loaded.has(name)) return loaded.get(name);
    const spec = specs.get(name);
    if (spec === undefined) return undefined;
    const filename = MODULE_PREFIX + name;
    const params = ['exports', 'require', 'module', '__filename', '__dirname', 'console', 'actions'];
    const fn = compileFunction(spec.code, params, { filename });
    const module = { exports: {}, id: filename };
    const actions = Object.freeze({ secrets: JSON.parse(JSON.stringify(spec.secrets || {})) });
    fn.call(
      module.exports,
      module.exports,
      moduleRequire,
      module,
      filename,
      '.',
      makeConsole(logs, unit.name),
      actions,
    );
    loaded.set(name, module.exports);
    return module.exports;
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
    withModules(requireFor(unit.deps_dir), moduleTable(unit, logs)),
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
