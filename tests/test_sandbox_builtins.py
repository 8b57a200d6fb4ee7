"""The worker's lockdown (sandbox/js/lockdown.js): which built-ins action code can load.

Each probe is a small script run the way the pool runs the harness (Node's
permission model, reads only from its own directory) that calls lockdown()
first, then attacks as action code or an npm dependency would. A control run
of the same probe without lockdown() shows each route really loads the
module, so a refusal seen here is the lockdown's doing.

The allowlist and its reasons are docs/sandbox-builtins.md.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from auth0_actions.node import selected_node
from auth0_actions.sandbox.pool import HARNESS_DIR

pytestmark = pytest.mark.skipif(os.name == "nt", reason="POSIX sandbox")

DOC = Path(__file__).resolve().parents[1] / "docs" / "sandbox-builtins.md"
REFUSED = ["sqlite", "v8", "trace_events", "inspector", "worker_threads", "child_process"]
SQLITE_MESSAGE = (
    'The Node built-in module "node:sqlite" is not available in the auth0-actions sandbox: '
    "it ignores Node's permission model (it can open files outside the allowed paths)."
)

# Runs `attempts` (label -> function) and prints each outcome as one JSON line:
# "loaded", or the error's code and message. Promises are awaited.
PROBE_HEAD = """\
'use strict';
if (process.argv[2] === 'lock') require('./lockdown').lockdown();
const attempts = {};
const attempt = (label, fn) => { attempts[label] = fn; };
"""
PROBE_TAIL = """
(async () => {
  const outcomes = {};
  for (const [label, fn] of Object.entries(attempts)) {
    try {
      const value = await fn();
      outcomes[label] = value === undefined ? 'undefined' : 'loaded';
    } catch (err) {
      outcomes[label] = { code: err.code, message: err.message };
    }
  }
  process.stdout.write(JSON.stringify(outcomes) + '\\n');
})();
"""

# A dependency installed the way deps.py lays them out: CommonJS that loads
# built-ins with require, dynamic import and createRequire; an ES module that
# imports one statically.
DEPENDENCY = """\
exports.require = (id) => require(id);
exports.importDynamic = (id) => import(id);
exports.createRequire = (id) => require('module').createRequire(__filename)(id);
"""
ESM_DEPENDENCY = "import cp from 'node:child_process';\nexport default cp;\n"


@pytest.fixture(scope="module")
def probe_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("lockdown")
    shutil.copy(HARNESS_DIR / "lockdown.js", root / "lockdown.js")
    dep = root / "node_modules" / "dep"
    dep.mkdir(parents=True)
    (dep / "index.js").write_text(DEPENDENCY)
    (dep / "esm.mjs").write_text(ESM_DEPENDENCY)
    return root


def run_probe(
    root: Path, body: str, *, locked: bool = True, flags: Sequence[str] = ("--zero-fill-buffers",)
) -> dict[str, Any]:
    script = root / "probe.js"
    script.write_text(PROBE_HEAD + body + PROBE_TAIL)
    done = subprocess.run(
        [
            str(selected_node().path),
            "--permission",
            f"--allow-fs-read={root}",
            *flags,
            str(script),
            "lock" if locked else "open",
        ],
        capture_output=True,
        text=True,
        timeout=30,
        cwd=root,
        env={"TZ": "UTC"},
        check=False,
    )
    assert done.returncode == 0, done.stderr
    outcomes: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return outcomes


def routes(module: str) -> dict[str, str]:
    """Every way code can ask for a built-in, as JS expressions."""
    # node:sqlite has no bare name: require('sqlite') is an npm package.
    bare = f"node:{module}" if module == "sqlite" else module
    return {
        "require": f"require('{bare}')",
        "require node:": f"require('node:{module}')",
        "getBuiltinModule": f"process.getBuiltinModule('{bare}')",
        "getBuiltinModule node:": f"process.getBuiltinModule('node:{module}')",
        "import": f"import('{bare}')",
        "import node:": f"import('node:{module}')",
        "createRequire": f"require('module').createRequire(__filename)('{bare}')",
        "Module._load": f"require('module')._load('{bare}', module)",
        "mainModule.require": f"process.mainModule.require('{bare}')",
        "dependency require": f"require('dep').require('{bare}')",
        "dependency import": f"require('dep').importDynamic('node:{module}')",
        "dependency createRequire": f"require('dep').createRequire('{bare}')",
        "vm import": (
            "require('vm').runInThisContext("
            f"\"import('node:{module}')\", "
            "{ importModuleDynamically: require('vm').constants.USE_MAIN_CONTEXT_DEFAULT_LOADER })"
        ),
    }


def route_probe(modules: Sequence[str]) -> str:
    lines = []
    for module in modules:
        for route, expression in routes(module).items():
            lines.append(f"attempt({json.dumps(module + ' ' + route)}, () => {expression});")
    return "\n".join(lines)


@pytest.fixture(scope="module")
def refused_outcomes(probe_dir: Path) -> dict[str, Any]:
    return run_probe(probe_dir, route_probe(REFUSED))


@pytest.mark.parametrize("route", list(routes("v8")))
@pytest.mark.parametrize("module", REFUSED)
def test_a_refused_builtin_fails_by_every_route(
    refused_outcomes: dict[str, Any], module: str, route: str
) -> None:
    outcome = refused_outcomes[f"{module} {route}"]
    assert isinstance(outcome, dict), f"{module} loaded through {route}"
    assert outcome["code"] == "ERR_SANDBOX_MODULE"
    prefix = (
        f'The Node built-in module "node:{module}" is not available in the auth0-actions sandbox: '
    )
    assert outcome["message"].startswith(prefix)
    assert len(outcome["message"]) > len(prefix) + 10


def test_the_sqlite_refusal_says_why(refused_outcomes: dict[str, Any]) -> None:
    assert refused_outcomes["sqlite require"]["message"] == SQLITE_MESSAGE


def test_every_route_loads_the_module_without_the_lockdown(probe_dir: Path) -> None:
    """The control: these routes are real ways in, not ones Node already closes."""
    outcomes = run_probe(probe_dir, route_probe(["v8", "child_process"]), locked=False)
    assert outcomes == dict.fromkeys(outcomes, "loaded")
    assert len(outcomes) == 2 * len(routes("v8"))


def test_an_allowed_builtin_loads_by_every_route_and_works(probe_dir: Path) -> None:
    body = route_probe(["crypto"]) + (
        "\nattempt('hash', () => {"
        " const digest = require('dep').require('crypto').createHash('sha256').update('x')"
        ".digest('hex');"
        " if (digest !== '2d711642b726b04401627ca9fbac32f5c8530fb1903cc4db02258717921a4881')"
        " throw new Error(digest); return digest; });"
    )
    outcomes = run_probe(probe_dir, body)
    assert outcomes == dict.fromkeys(outcomes, "loaded")


def test_a_static_import_in_an_es_module_dependency_is_refused(probe_dir: Path) -> None:
    outcomes = run_probe(probe_dir, "attempt('esm', () => import('dep/esm.mjs'));")
    assert outcomes["esm"]["code"] == "ERR_SANDBOX_MODULE"
    assert '"node:child_process"' in outcomes["esm"]["message"]


def test_module_hooks_cannot_undo_the_allowlist(probe_dir: Path) -> None:
    body = """
const Module = require('module');
const passThrough = { resolve: (s, c, next) => next(s, c), load: (u, c, next) => next(u, c) };
attempt('registerHooks', () => Module.registerHooks(passThrough));
attempt('register', () => Module.register('data:text/javascript,'));
attempt('esm registerHooks', async () => (await import('node:module')).registerHooks(passThrough));
attempt('reassign', () => {
  try { Module.registerHooks = (h) => h; } catch { /* strict mode: read-only */ }
  return Module.registerHooks(passThrough);
});
attempt('redefine', () => Object.defineProperty(Module, 'registerHooks', { value: () => 1 }));
attempt('patched _resolveFilename', () => {
  const resolve = Module._resolveFilename;
  Module._resolveFilename = function (request, ...rest) {
    return request === 'innocent' ? 'v8' : Reflect.apply(resolve, this, [request, ...rest]);
  };
  return require('innocent');
});
attempt('patched _load', () => {
  const load = Module._load;
  Module._load = function (request, ...rest) {
    return Reflect.apply(load, this, [request === 'innocent2' ? 'node:v8' : request, ...rest]);
  };
  return require('innocent2');
});
attempt('replaced prototype.require', () => {
  Module.prototype.require = function (id) { return Module._load(id, this); };
  return require('dep').require('child_process');
});
attempt('v8 afterwards', () => require('node:v8'));
attempt('compile cache', () => Module.enableCompileCache('/tmp'));
"""
    outcomes = run_probe(probe_dir, body)
    api = ["registerHooks", "register", "esm registerHooks", "reassign", "compile cache"]
    for label in api:
        assert outcomes[label]["code"] == "ERR_SANDBOX_API", label
        assert "is not available in the auth0-actions sandbox: " in outcomes[label]["message"]
    assert outcomes["redefine"]["message"] == "Cannot redefine property: registerHooks"
    for label in ["patched _resolveFilename", "patched _load", "replaced prototype.require"]:
        assert outcomes[label]["code"] == "ERR_SANDBOX_MODULE", label
    assert outcomes["v8 afterwards"]["code"] == "ERR_SANDBOX_MODULE"


LOCKED_PROCESS_CALLS = {
    "binding": "process.binding('fs')",
    "_linkedBinding": "process._linkedBinding('x')",
    "dlopen": "process.dlopen({ exports: {} }, '/tmp/addon.node')",
    "execve": "process.execve('/bin/sh')",
    "report.writeReport": "process.report.writeReport()",
    "report.getReport": "process.report.getReport()",
    "setuid": "process.setuid(0)",
    "setgid": "process.setgid(0)",
    "setgroups": "process.setgroups([0])",
    "initgroups": "process.initgroups('root', 0)",
    "chdir": "process.chdir('/')",
    "abort": "process.abort()",
    "setSourceMapsEnabled": "process.setSourceMapsEnabled(true)",
    "_debugProcess": "process._debugProcess(process.pid)",
    "createHook": "require('async_hooks').createHook({ init() {} })",
    "executionAsyncResource": "require('async_hooks').executionAsyncResource()",
}


def test_process_internals_are_refused_and_cannot_be_restored(probe_dir: Path) -> None:
    calls = "\n".join(
        f"attempt({json.dumps(name)}, () => {expr});" for name, expr in LOCKED_PROCESS_CALLS.items()
    )
    # Each locked property: neither writable nor configurable, or it could be
    # put back (or replaced by a function that leaks).
    check = """
attempt('descriptors', () => {
  const locked = [
    [process, ['binding', '_linkedBinding', 'dlopen', 'execve', 'report', 'setuid', 'setgid',
      'seteuid', 'setegid', 'setgroups', 'initgroups', 'chdir', 'abort', 'setSourceMapsEnabled',
      '_debugProcess', '_debugEnd', 'debugPort', 'getBuiltinModule']],
    [require('module'), ['registerHooks', 'register', 'enableCompileCache', 'flushCompileCache']],
    [require('async_hooks'), ['createHook', 'executionAsyncResource']],
    [Buffer, ['poolSize', 'allocUnsafe', 'allocUnsafeSlow']],
    [process.report, ['getReport', 'writeReport']],
  ];
  const open = [];
  for (const [target, names] of locked) for (const name of names) {
    const d = Object.getOwnPropertyDescriptor(target, name);
    if (!d || d.writable || d.configurable || d.get || d.set) open.push(name);
  }
  if (open.length) throw new Error('still open: ' + open.join(', '));
});
attempt('debugPort', () => {
  try { process.debugPort = 1234; } catch { /* strict mode: read-only */ }
  if (process.debugPort === 1234) throw new Error('moved');
});
"""
    outcomes = run_probe(probe_dir, calls + check)
    for name in LOCKED_PROCESS_CALLS:
        assert outcomes[name]["code"] == "ERR_SANDBOX_API", name
        assert re.fullmatch(
            r".+ is not available in the auth0-actions sandbox: .{10,}\.", outcomes[name]["message"]
        ), name
    assert outcomes["descriptors"] == "undefined"
    assert outcomes["debugPort"] == "undefined"


def test_async_local_storage_still_works(probe_dir: Path) -> None:
    body = """
attempt('als', async () => {
  const { AsyncLocalStorage } = require('async_hooks');
  const storage = new AsyncLocalStorage();
  const seen = await storage.run('mine', async () => {
    await new Promise((resolve) => setTimeout(resolve, 1));
    return storage.getStore();
  });
  if (seen !== 'mine') throw new Error('lost the store: ' + seen);
});
"""
    assert run_probe(probe_dir, body) == {"als": "undefined"}


# Writes a secret into a Buffer, then looks for it in the memory behind
# Buffers created later. Reports which of them held it.
POOL_PROBE = """
attempt('pool', () => {
  const secret = Buffer.from('secret-XYZ');
  const needle = Buffer.from('secret-XYZ');
  const later = {
    'allocUnsafe(1)': Buffer.allocUnsafe(1),
    "from('a')": Buffer.from('a'),
    'concat': Buffer.concat([Buffer.from('b')]),
    'allocUnsafe(64)': Buffer.allocUnsafe(64),
  };
  const leaks = Object.keys(later).filter((k) => Buffer.from(later[k].buffer).includes(needle));
  try { Buffer.poolSize = 8192; } catch { /* strict mode: read-only */ }
  if (secret.length !== 10) throw new Error('secret gone');
  if (leaks.length) throw new Error('leaked through ' + leaks.join(', '));
  if (Buffer.poolSize !== 0) throw new Error('pool size restored');
});
"""


@pytest.mark.parametrize("flags", [("--zero-fill-buffers",), ()], ids=["zero-fill", "no-flag"])
def test_a_secret_buffer_is_not_visible_through_later_buffers(
    probe_dir: Path, flags: tuple[str, ...]
) -> None:
    assert run_probe(probe_dir, POOL_PROBE, flags=flags) == {"pool": "undefined"}
    control = run_probe(probe_dir, POOL_PROBE, flags=flags, locked=False)
    assert "leaked through allocUnsafe(1), from('a'), concat" in control["pool"]["message"]


# Fills freed memory with 0xAA, then counts later "unsafe" Buffers that are
# not all zeroes (memory someone else wrote).
UNINITIALISED_PROBE = """
attempt('dirty', () => {
  let junk = [];
  for (let i = 0; i < 200; i += 1) junk.push(Buffer.alloc(4096, 0xaa));
  junk = null;
  globalThis.gc();
  let dirty = 0;
  for (let i = 0; i < 200; i += 1) {
    if (Buffer.allocUnsafe(4096).some((b) => b !== 0)) dirty += 1;
    if (Buffer.allocUnsafeSlow(4096).some((b) => b !== 0)) dirty += 1;
  }
  if (dirty) throw new Error(dirty + ' dirty');
});
"""


def test_unsafe_buffers_are_zeroed_without_the_launcher_flag(probe_dir: Path) -> None:
    assert run_probe(probe_dir, UNINITIALISED_PROBE, flags=["--expose-gc"]) == {
        "dirty": "undefined"
    }
    control = run_probe(probe_dir, UNINITIALISED_PROBE, flags=["--expose-gc"], locked=False)
    assert control["dirty"]["message"].endswith(" dirty")


def test_lockdown_twice_is_harmless(probe_dir: Path) -> None:
    body = "attempt('again', () => require('./lockdown').lockdown());"
    assert run_probe(probe_dir, body) == {"again": "undefined"}


LISTS_SCRIPT = """\
const { ALLOWED_BUILTINS, REFUSAL_REASONS } = require('./lockdown');
const m = require('module');
const schemeOnly = ['sea', 'sqlite', 'test', 'test/reporters'];
console.log(JSON.stringify({
  allowed: ALLOWED_BUILTINS,
  refused: REFUSAL_REASONS,
  node: [...m.builtinModules, ...schemeOnly.filter((id) => m.isBuiltin('node:' + id))],
}));
"""


def lists(root: Path) -> dict[str, Any]:
    """lockdown.js's two lists, and every built-in this Node has."""
    done = subprocess.run(
        [str(selected_node().path), "-e", LISTS_SCRIPT],
        capture_output=True,
        text=True,
        timeout=30,
        cwd=root,
        check=True,
    )
    parsed: dict[str, Any] = json.loads(done.stdout)
    return parsed


def test_every_builtin_of_this_node_is_decided_and_documented(probe_dir: Path) -> None:
    """A built-in a newer Node adds is refused by default; this makes someone decide and say why."""
    found = lists(probe_dir)
    allowed, refused = set(found["allowed"]), set(found["refused"])
    assert not allowed & refused
    assert set(found["node"]) <= allowed | refused
    rows = re.findall(r"^\| `node:([a-z0-9_/]+)` \| (yes|no) \|", DOC.read_text(), re.MULTILINE)
    documented = {name: verdict for name, verdict in rows}
    assert len(documented) == len(rows), "a module is listed twice in the table"
    assert documented == {**dict.fromkeys(allowed, "yes"), **dict.fromkeys(refused, "no")}
