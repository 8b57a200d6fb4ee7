"""Saved plans: ``plan --out FILE`` writes the reviewed plan, ``apply FILE`` applies exactly it.

The file (JSON, ``format_version`` 1) holds the environment, the plan's data
(as ``plan -o json`` shows it), the secret names it pushes
(``push_secrets``, from ``plan --push-secrets``; absent in older files: none),
the adopt decisions (``plan --adopt``), the live state the plan was made
from and a fingerprint of the desired state.
``apply FILE`` reads the tenant and the render again and refuses the plan
when either moved, or when the plan it would make now differs from the saved
one: what was reviewed is what ships.

**Live-state checksum.** sha256 of the canonical JSON (keys sorted, no
whitespace, UTF-8) of a document listing, for every action in the tenant
(managed and unmanaged, by id): id, name, triggers, and for the draft and the
deployed version the sha256 of the code, the runtime, the dependencies, the
secret *names* and the module versions pinned (the deployed version also
with its id and number); for every Actions Module (by id): id, name, its
draft as above and its latest published version's id, number and code
sha256 (read for the declared modules only); and, per trigger, the bindings
in execution order (binding id, action id, action name, display name).
Build statuses are left out, so a build finishing between plan and apply is
not a change. The document is stored too, so a refusal can say what changed.

**Desired-state fingerprint.** The auth0-actions version, the sha256 of
each rendered file of the environment (modules included), each action's
name, trigger, order, runtime, dependencies, secret names and modules from
tenant.yaml, and each module's name, dependencies and secret names; hashed
the same way.

No secret value is in the file: the Management API never returns one, and
both states carry secret names only.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from auth0_actions import __version__
from auth0_actions.config import Project
from auth0_actions.errors import Auth0ActionsError
from auth0_actions.files import write_atomic
from auth0_actions.plan.changes import Plan
from auth0_actions.plan.consent_impact import PurposeImpact, consent_impact
from auth0_actions.plan.planner import build_plan
from auth0_actions.plan.state import DesiredState, LiveState, open_states
from auth0_actions.tenant_client import LiveModule, LiveVersion, ModulePin

SAVED_PLAN_FORMAT = "auth0-actions saved plan"
SAVED_PLAN_VERSION = 1


class SavedPlanError(Auth0ActionsError):
    """A saved plan file is unreadable, foreign, of another version, or corrupt."""


class StalePlanError(Auth0ActionsError):
    """The tenant, the render or the plan moved since the plan was saved."""


def canonical(data: Any) -> bytes:
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _version_doc(
    code: str, runtime: str, dependencies: tuple[tuple[str, str], ...], secrets: tuple[str, ...]
) -> dict[str, Any]:
    return {
        "code_sha256": sha256_hex(code.encode()),
        "runtime": runtime,
        "dependencies": [[n, v] for n, v in dependencies],
        "secrets": sorted(secrets),
    }


def _pins_doc(pins: tuple[ModulePin, ...]) -> list[list[Any]]:
    return sorted([p.module_id, p.version_id, p.version_number] for p in pins)


def _deployed_doc(version: LiveVersion | None) -> dict[str, Any] | None:
    if version is None:
        return None
    doc = _version_doc(version.code, version.runtime, version.dependencies, version.secret_names)
    return {
        "id": version.id,
        "number": version.number,
        **doc,
        "modules": _pins_doc(version.modules),
    }


def _module_doc(module: LiveModule) -> dict[str, Any]:
    latest = module.latest_version
    return {
        "id": module.id,
        "name": module.name,
        "draft": {
            **_version_doc(module.code, "", module.dependencies, module.secret_names),
            "published": module.all_changes_published,
        },
        "latest": None
        if latest is None
        else {
            "id": latest.id,
            "number": latest.number,
            "code_sha256": sha256_hex(latest.code.encode()),
        },
    }


def live_state_document(live: LiveState) -> dict[str, Any]:
    """What the live-state checksum covers (see the module docstring)."""
    actions = [
        {
            "id": a.id,
            "name": a.name,
            "triggers": sorted(a.trigger_ids),
            "draft": {
                **_version_doc(a.code, a.runtime, a.dependencies, a.secret_names),
                "modules": _pins_doc(a.modules),
            },
            "deployed": _deployed_doc(a.deployed_version),
        }
        for a in sorted(live.actions, key=lambda a: a.id)
    ]
    modules = [_module_doc(m) for m in sorted(live.modules, key=lambda m: m.id)]
    bindings = {
        trigger: [
            {
                "id": b.id,
                "action_id": b.action_id,
                "action_name": b.action_name,
                "display_name": b.display_name,
            }
            for b in entries
        ]
        for trigger, entries in sorted(live.bindings.items())
    }
    return {"actions": actions, "modules": modules, "bindings": bindings}


def desired_state_document(desired: DesiredState) -> dict[str, Any]:
    """What the desired-state fingerprint covers (see the module docstring)."""
    return {
        "tool_version": __version__,
        "files": {
            **{a.path: sha256_hex(a.code.encode()) for a in desired.actions},
            **{m.path: sha256_hex(m.code.encode()) for m in desired.modules},
        },
        "actions": [
            {
                "name": a.name,
                "trigger": a.trigger,
                "order": a.order,
                "runtime": a.runtime,
                "dependencies": [[n, v] for n, v in a.dependencies],
                "secrets": list(a.secret_names),
                "modules": list(a.modules),
            }
            for a in desired.actions
        ],
        "modules": [
            {
                "name": m.name,
                "dependencies": [[n, v] for n, v in m.dependencies],
                "secrets": list(m.secret_names),
            }
            for m in desired.modules
        ],
    }


def _json_roundtrip(data: Any) -> Any:
    """Tuples become lists, as in the file, so saved and fresh data compare equal."""
    return json.loads(json.dumps(data))


@dataclass(frozen=True)
class Snapshot:
    """A plan with the two states it was made from."""

    desired: DesiredState
    live: LiveState
    plan: Plan
    push_secrets: frozenset[str] = frozenset()
    # What the plan means for users' consent (plan's report only: counts move
    # between plan and apply, so they are no part of what a saved plan pins).
    consent: tuple[PurposeImpact, ...] = ()


def snapshot(
    tenant: Project,
    environment: str,
    *,
    allow_delete: bool = False,
    push_secrets: frozenset[str] = frozenset(),
    adopt: Collection[str] = (),
    environ: Mapping[str, str] | None = None,
) -> Snapshot:
    """Plan the environment as ``plan`` does, keeping both states (nothing is written)."""
    with open_states(tenant, environment, environ) as (client, desired, live):
        plan = build_plan(
            desired, live, allow_delete=allow_delete, push_secrets=push_secrets, adopt=adopt
        )
        policy = tenant.environment(environment).consent
        impacts = consent_impact(policy, desired, live, client)
        return Snapshot(desired, live, plan, push_secrets, impacts)


def saved_plan_data(snap: Snapshot) -> dict[str, Any]:
    live = live_state_document(snap.live)
    desired = desired_state_document(snap.desired)
    return {
        "format": SAVED_PLAN_FORMAT,
        "format_version": SAVED_PLAN_VERSION,
        "tool_version": __version__,
        "environment": snap.plan.environment,
        "allow_delete": snap.plan.allow_delete,
        "push_secrets": sorted(snap.push_secrets),
        "adopt": list(snap.plan.adopt),
        "live_state": {"sha256": sha256_hex(canonical(live)), **live},
        "desired_state": {"sha256": sha256_hex(canonical(desired)), **desired},
        "plan": _json_roundtrip(snap.plan.data),
    }


def write_saved_plan(path: Path, snap: Snapshot) -> None:
    """Write atomically: a temporary file beside it, then a rename over it."""
    text = json.dumps(saved_plan_data(snap), indent=2, sort_keys=True, ensure_ascii=False) + "\n"
    try:
        # 0600 as before: a plan describes the tenant's code and bindings.
        write_atomic(path, text, private=True)
    except OSError as exc:
        raise SavedPlanError(f"{path}: cannot write the plan ({exc.strerror})") from None


@dataclass(frozen=True)
class SavedPlan:
    path: Path
    environment: str
    allow_delete: bool
    push_secrets: frozenset[str]
    adopt: tuple[str, ...]  # the live actions the plan takes over (plan --adopt)
    tool_version: str
    live_sha256: str
    live: dict[str, Any]  # the live-state document
    desired_sha256: str
    desired: dict[str, Any]  # the desired-state document
    plan: dict[str, Any]  # Plan.data as saved


def _field(data: Mapping[str, Any], key: str, kind: type, path: Path) -> Any:
    value = data.get(key)
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise SavedPlanError(
            f"{path}: not a valid saved plan: '{key}' is missing or not a {kind.__name__}; "
            "make it again with `auth0-actions plan --out`"
        )
    return value


def _adopt_field(data: Mapping[str, Any], path: Path) -> tuple[str, ...]:
    """The adopt decisions; absent in a plan saved before adoption existed: none."""
    names = data.get("adopt", [])
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        raise SavedPlanError(
            f"{path}: not a valid saved plan: 'adopt' is not a list of action names; "
            "make it again with `auth0-actions plan --out`"
        )
    return tuple(names)


def _checked(section: Mapping[str, Any], path: Path, name: str) -> tuple[str, dict[str, Any]]:
    """A state section's stored sha256 and its document; corrupt when they disagree."""
    stored = _field(section, "sha256", str, path)
    document = {k: v for k, v in section.items() if k != "sha256"}
    if sha256_hex(canonical(document)) != stored:
        raise SavedPlanError(
            f"{path}: corrupt saved plan: '{name}' does not match its sha256 (edited or "
            "damaged); make it again with `auth0-actions plan --out`"
        )
    return stored, document


def _push_secrets(data: Mapping[str, Any], path: Path) -> frozenset[str]:
    names = data.get("push_secrets", [])  # absent in plans saved before it existed
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        raise SavedPlanError(
            f"{path}: not a valid saved plan: 'push_secrets' is not a list of secret names; "
            "make it again with `auth0-actions plan --out`"
        )
    return frozenset(names)


def load_saved_plan(path: Path) -> SavedPlan:
    """Read and check a saved plan; every problem is an error naming the file."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise SavedPlanError(f"{path}: no such saved plan") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise SavedPlanError(f"{path}: unreadable saved plan ({exc.__class__.__name__})") from None
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise SavedPlanError(f"{path}: not a saved plan (invalid JSON: {exc})") from None
    if not isinstance(data, dict) or data.get("format") != SAVED_PLAN_FORMAT:
        raise SavedPlanError(
            f'{path}: not an auth0-actions saved plan (no "format": "{SAVED_PLAN_FORMAT}")'
        )
    version = data.get("format_version")
    if version != SAVED_PLAN_VERSION:
        raise SavedPlanError(
            f"{path}: saved plan format_version {version!r} is not supported (this "
            f"auth0-actions {__version__} reads {SAVED_PLAN_VERSION}); plan again"
        )
    live_sha, live = _checked(_field(data, "live_state", dict, path), path, "live_state")
    desired_sha, desired = _checked(
        _field(data, "desired_state", dict, path), path, "desired_state"
    )
    plan = _field(data, "plan", dict, path)
    environment = _field(data, "environment", str, path)
    if plan.get("environment") != environment:
        raise SavedPlanError(f"{path}: corrupt saved plan: its plan is for another environment")
    return SavedPlan(
        path=path,
        environment=environment,
        allow_delete=_field(data, "allow_delete", bool, path),
        push_secrets=_push_secrets(data, path),
        adopt=_adopt_field(data, path),
        tool_version=_field(data, "tool_version", str, path),
        live_sha256=live_sha,
        live=live,
        desired_sha256=desired_sha,
        desired=desired,
        plan=plan,
    )


# -- what moved --------------------------------------------------------------------
def _live_changes(saved: Mapping[str, Any], now: Mapping[str, Any]) -> list[str]:
    """Human-readable differences between two live-state documents."""
    before = {a["id"]: a for a in saved.get("actions", [])}
    after = {a["id"]: a for a in now.get("actions", [])}
    found: list[str] = []
    for action_id in sorted(set(before) | set(after)):
        old, new = before.get(action_id), after.get(action_id)
        if old is None and new is not None:
            found.append(f"action {new['name']} was created")
        elif new is None and old is not None:
            found.append(f"action {old['name']} was deleted")
        elif old != new and old is not None and new is not None:
            parts = [k for k in ("name", "triggers", "draft", "deployed") if old.get(k) != new[k]]
            found.append(f"action {new['name']} changed ({', '.join(parts)})")
    old_modules = {m["id"]: m for m in saved.get("modules", [])}
    new_modules = {m["id"]: m for m in now.get("modules", [])}
    for module_id in sorted(set(old_modules) | set(new_modules)):
        was, is_now = old_modules.get(module_id), new_modules.get(module_id)
        if was is None and is_now is not None:
            found.append(f"module {is_now['name']} was created")
        elif is_now is None and was is not None:
            found.append(f"module {was['name']} was deleted")
        elif was != is_now and was is not None and is_now is not None:
            parts = [k for k in ("name", "draft", "latest") if was.get(k) != is_now[k]]
            found.append(f"module {is_now['name']} changed ({', '.join(parts)})")
    old_bindings, new_bindings = saved.get("bindings", {}), now.get("bindings", {})
    for trigger in sorted(set(old_bindings) | set(new_bindings)):
        if old_bindings.get(trigger, []) != new_bindings.get(trigger, []):
            found.append(f"the bindings of {trigger} changed")
    return found or ["the live state differs"]


def _desired_changes(saved: Mapping[str, Any], now: Mapping[str, Any]) -> list[str]:
    found: list[str] = []
    if saved.get("tool_version") != now["tool_version"]:
        found.append(
            f"the plan was made by auth0-actions {saved.get('tool_version')}, "
            f"this is {now['tool_version']}"
        )
    old_files, new_files = saved.get("files", {}), now["files"]
    for path in sorted(set(old_files) | set(new_files)):
        if path not in new_files:
            found.append(f"{path} is no longer rendered")
        elif path not in old_files:
            found.append(f"{path} is new")
        elif old_files[path] != new_files[path]:
            found.append(f"{path} changed")
    if saved.get("actions") != now["actions"]:
        found.append(
            "tenant.yaml's actions changed (trigger, order, runtime, dependencies, secret names "
            "or modules)"
        )
    if saved.get("modules") != now["modules"]:
        found.append("tenant.yaml's modules changed (names, dependencies or secret names)")
    return found or ["the desired state differs"]


def _change_label(change: Mapping[str, Any]) -> str:
    target = (
        f"{change.get('trigger')}/{change['action']}"
        if change.get("action")
        else change.get("trigger")
    )
    return f"{change.get('kind')} {target}"


def _plan_changes(saved: Mapping[str, Any], now: Mapping[str, Any]) -> list[str]:
    old = [_change_label(c) for c in saved.get("changes", [])]
    new = [_change_label(c) for c in now.get("changes", [])]
    found = [f"now also: {label}" for label in new if label not in old]
    found += [f"no longer: {label}" for label in old if label not in new]
    return found or ["the details of the changes differ"]


def verify_saved_plan(saved: SavedPlan, snap: Snapshot) -> None:
    """Refuse (StalePlanError) unless the tenant, the render and the plan are as saved."""
    where = f"{saved.path}: the saved plan for {saved.environment} is out of date"
    again = (
        f"Nothing was changed. Plan again (`auth0-actions plan --env {saved.environment} "
        f"--out {saved.path}`), review, and apply the new plan"
    )
    live = live_state_document(snap.live)
    if sha256_hex(canonical(live)) != saved.live_sha256:
        changed = "; ".join(_live_changes(saved.live, live))
        raise StalePlanError(f"{where}: the tenant changed since the plan ({changed}). {again}")
    desired = desired_state_document(snap.desired)
    if sha256_hex(canonical(desired)) != saved.desired_sha256:
        changed = "; ".join(_desired_changes(saved.desired, desired))
        raise StalePlanError(f"{where}: the render changed since the plan ({changed}). {again}")
    now = _json_roundtrip(snap.plan.data)
    if now != saved.plan:
        changed = "; ".join(_plan_changes(saved.plan, now))
        raise StalePlanError(
            f"{where}: the plan made now differs from the saved one ({changed}). {again}"
        )
