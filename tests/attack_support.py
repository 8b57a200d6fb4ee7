"""Helpers for the sandbox attack tests: canaries, hostile actions and host snapshots.

An attack is proven against a canary, a random value a breach would reveal
(another action's secret, a file in the project, a host variable). The
hostile code in tests/test_sandbox_security.py knows only the canary's
*shape* (``CANARY_JS``), never its value, as a real attacker scanning memory
or files would; it reports whatever it finds through every channel an action
has (logs, metadata, claims, a deny reason, stdout). The tests then check
that the value appears in none of them, and that the host is untouched.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import shutil
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from auth0_actions.sandbox.event import build_event
from auth0_actions.sandbox.pool import Reply, SandboxPool

CANARY_PREFIX = "canary-"
# World-writable host directories an attack aims at (never written by the tests).
TMP = Path("/tmp")  # noqa: S108
SHM = Path("/dev/shm")  # noqa: S108
SHARED_DIRS = (TMP, SHM)
# The shape an attacker scans for: a JS regular expression literal.
CANARY_JS = "/canary-[0-9a-f]{32}/g"
# Files an attack could leave behind without being told a name: heap
# snapshots and trace logs are written to the current directory by default.
STRAY_PATTERNS = ("*.heapsnapshot", "node_trace.*.log", "*.cpuprofile", "*.heapprofile")

# Every hostile action starts with this: `loot` survives across executions of
# the action (module-level and global state, as Auth0 keeps it on a warm
# instance), and `leak(x)` sends x out through every channel the action has.
HOSTILE_PRELUDE = """
const loot = (globalThis.__loot = globalThis.__loot || []);
const grab = (text) => {
  for (const m of String(text).match(CANARY_RE) || []) if (!loot.includes(m)) loot.push(m);
};
const leak = (api, x) => {
  const text = JSON.stringify(x === undefined ? null : x);
  console.log('LEAK ' + text);
  api.user.setUserMetadata('leak', text.slice(0, 4000));
  api.idToken.setCustomClaim('https://attacker.example/leak', text.slice(0, 4000));
  api.accessToken.setCustomClaim('https://attacker.example/leak', text.slice(0, 4000));
};
""".replace("CANARY_RE", CANARY_JS)


def new_canary() -> str:
    return CANARY_PREFIX + secrets.token_hex(16)


def encodings(canary: str) -> list[str]:
    """The canary as it could be exfiltrated: raw, hex, base64 and base64url."""
    raw = canary.encode()
    return [
        canary,
        raw.hex(),
        base64.b64encode(raw).decode().rstrip("="),
        base64.urlsafe_b64encode(raw).decode().rstrip("="),
    ]


def _text(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return json.dumps(value, default=str, sort_keys=True)


def leaks(canary: str, places: Mapping[str, Any]) -> list[str]:
    """Names of the places (logs, stdout, reports, ...) that reveal the canary."""
    forms = encodings(canary)
    return [name for name, value in places.items() if any(f in _text(value) for f in forms)]


def assert_no_leak(canary: str, **places: Any) -> None:
    """The canary is in none of the places; the message never prints the canary."""
    __tracebackhide__ = True
    found = leaks(canary, places)
    assert not found, f"another action's secret / a host canary leaked through: {found}"


def assert_no_leaks(canaries: Mapping[str, str], **places: Any) -> None:
    """No canary (named by what it stands for) is in any of the places."""
    __tracebackhide__ = True
    found = {what: leaks(value, places) for what, value in canaries.items()}
    found = {what: where for what, where in found.items() if where}
    assert not found, f"canaries leaked (canary: places): {found}"


def reply_channels(reply: Reply) -> dict[str, Any]:
    """Everything an action's execution can send back to whoever reads the reply."""
    return {
        "result": reply.result,
        "failure": reply.failure,
        "stray stdout": reply.stray_output,
        "retired": reply.retired,
    }


def attacker_channels(reply: Reply, prefix: str = "hostile") -> dict[str, Any]:
    """What actions named prefix* sent out of one login (other actions' writes excluded)."""
    result = reply.result or {}
    mine = [c for c in result.get("commands") or [] if str(c.get("action")).startswith(prefix)]
    return {
        "logs": [e for e in result.get("logs") or [] if str(e.get("action")).startswith(prefix)],
        "commands": mine,
        "error": result.get("error"),
        "deny": result.get("deny"),
        "failure": reply.failure,
        "stray stdout": reply.stray_output,
    }


def unit(
    name: str, code: str, secrets_: Mapping[str, str] | None = None, deps_dir: str | None = None
) -> dict[str, Any]:
    return {
        "name": name,
        "code": code,
        "filename": f"/actions/{name}.js",
        "secrets": dict(secrets_ or {}),
        "deps_dir": deps_dir,
    }


def action_code(execute: str, top: str = "", hostile: bool = False) -> str:
    """Action source; a hostile one gets HOSTILE_PRELUDE (loot, grab, leak)."""
    prelude = HOSTILE_PRELUDE if hostile else ""
    return (
        f"{prelude}{top}\nexports.onExecutePostLogin = async (event, api) => {{\n{execute}\n}};\n"
    )


def hostile(execute: str, top: str = "", name: str = "hostile") -> dict[str, Any]:
    """An action without secrets whose code is the attack."""
    return unit(name, action_code(execute, top, hostile=True))


def post_login(pool: SandboxPool, *units: dict[str, Any], **event: Any) -> Reply:
    return pool.call(
        {"op": "post-login", "units": list(units), "event": build_event(event), "resume": None}
    )


def leaked_logs(reply: Reply) -> list[Any]:
    """What a hostile action reported with leak() (from its logs)."""
    if reply.result is None:
        return []
    return [
        json.loads(entry["message"][5:])
        for entry in reply.result["logs"]
        if entry["message"].startswith("LEAK ")
    ]


# --- the host -------------------------------------------------------------------


def tree_digest(root: Path) -> dict[str, str]:
    """relative path -> sha256 (or 'dir' / 'link -> target') of everything under root."""
    found: dict[str, str] = {}
    if not root.exists():
        return found
    for path in sorted(root.rglob("*")):
        key = str(path.relative_to(root))
        if path.is_symlink():
            found[key] = f"link -> {path.readlink()}"
        elif path.is_dir():
            found[key] = "dir"
        else:
            found[key] = hashlib.sha256(path.read_bytes()).hexdigest()
    return found


def _names(directory: Path) -> set[str]:
    try:
        return {p.name for p in directory.iterdir()}
    except OSError:
        return set()


@dataclass
class HostSnapshot:
    """What an attack must leave as it was.

    ``trees`` are hashed in full (the project, the harness); ``listed``
    directories (.auth0-local/, whose database a login legitimately writes)
    must gain no entry; ``shared`` directories (/tmp, /dev/shm, the current directory) are used
    by other processes too, so only new entries whose name carries the
    attack's ``marker`` or a stray pattern count there.
    """

    marker: str
    trees: dict[Path, dict[str, str]]
    shared: dict[Path, set[str]]

    listed: dict[Path, set[str]]

    @classmethod
    def take(
        cls,
        marker: str,
        trees: Iterable[Path] = (),
        shared: Iterable[Path] = (),
        listed: Iterable[Path] = (),
    ) -> HostSnapshot:
        """``listed`` directories change legitimately inside, but gain no entry."""
        return cls(
            marker,
            {root: tree_digest(root) for root in trees},
            {directory: _names(directory) for directory in shared},
            {directory: _names(directory) for directory in listed},
        )

    def changes(self) -> list[str]:
        problems = []
        for root, before in self.trees.items():
            after = tree_digest(root)
            for key in sorted(set(before) | set(after)):
                if before.get(key) != after.get(key):
                    state = "added" if key not in before else "removed" if key not in after else ""
                    problems.append(f"{root / key} {state or 'changed'}")
        for directory, before in self.shared.items():
            for name in sorted(_names(directory) - before):
                stray = any(Path(name).match(pattern) for pattern in STRAY_PATTERNS)
                if self.marker in name or stray:
                    problems.append(f"{directory / name} appeared")
        for directory, before in self.listed.items():
            added = sorted(_names(directory) - before)
            problems += [f"{directory / name} appeared" for name in added]
        return problems

    def assert_untouched(self) -> None:
        problems = self.changes()
        self._remove_added(problems)
        assert not problems, "the attack changed the host: " + "; ".join(problems)

    @staticmethod
    def _remove_added(problems: list[str]) -> None:
        """Files a breach left behind are removed, so a failing run does not litter the host."""
        for problem in problems:
            if problem.endswith((" added", " appeared")):
                path = Path(problem.rsplit(" ", 1)[0])
                if path.is_dir() and not path.is_symlink():
                    shutil.rmtree(path, ignore_errors=True)
                else:
                    path.unlink(missing_ok=True)
