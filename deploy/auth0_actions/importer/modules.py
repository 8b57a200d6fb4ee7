"""Which Actions Modules an import brings in, and which version each template holds.

Auth0 runs an action with the module versions its deployed version pins
(https://auth0.com/docs/customize/actions/modules/write-your-first-action-module:
"Each Action must explicitly reference the Action Module Version"), so a
module's template holds the code of the version the imported actions pin:
what runs today. Every module they pin is imported; without ``--action``,
every other live module too (at its latest published version; one never
published is skipped, as an action never deployed is).

A plan pins each action to the version whose code is the rendered module,
and compares the module's draft and latest version with it
(:mod:`auth0_actions.plan.modules`). It is empty after import when the
pinned version is the latest and the draft equals it, the common case.
Otherwise the template still holds what runs, and the module is *pending*:
the report says what the next apply will do (publish that code again as
the next version and re-pin, or set the draft back), and the command exits
1, as it does for a differing environment. Imported actions pinning
different versions of one module are refused: one template holds one
version, and either choice would change what some action runs.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace

from auth0_actions.errors import ConfigError
from auth0_actions.importer.kinds import MODULE
from auth0_actions.importer.live import LiveUnit, Skipped, unmanageable_module
from auth0_actions.tenant_client import LiveModule, LiveModuleVersion, TenantClient

_READERS = 8  # modules read whole at once (each a GET, plus its versions when needed)


@dataclass
class ModuleSelection:
    units: list[LiveUnit] = field(default_factory=list)  # the modules to import, by name
    actions: list[LiveUnit] = field(default_factory=list)  # with their module names set
    skipped: list[Skipped] = field(default_factory=list)
    pending: dict[str, str] = field(default_factory=dict)  # module name -> the next apply


@dataclass(frozen=True)
class _Wanted:
    module: LiveModule
    version_id: str | None  # None: the latest published version
    users: tuple[str, ...]  # the imported actions pinning it


def select_modules(
    client: TenantClient,
    listed: Sequence[LiveModule],
    actions: Sequence[LiveUnit],
    *,
    every: bool,
) -> ModuleSelection:
    """The modules ``actions`` pin (and, when ``every``, all others), read whole."""
    by_id = {m.id: m for m in listed}
    wanted = _pinned(by_id, actions)
    selection = ModuleSelection(
        actions=[
            replace(a, modules=tuple(by_id[p.module_id].name for p in a.pins)) for a in actions
        ]
    )
    problems = [
        f"module {w.module.name} (pinned by {', '.join(w.users)}): {reason}"
        for w in wanted.values()
        if (reason := unmanageable_module(w.module)) is not None
    ]
    if problems:
        raise ConfigError(f"cannot import: {'; '.join(problems)}")
    if every:
        for module in sorted(listed, key=lambda m: (m.name, m.id)):
            if module.id in wanted:
                continue
            reason = unmanageable_module(module)
            if reason is not None:
                selection.skipped.append(Skipped(f"module {module.name}", reason))
            elif module.latest_version_number == 0:
                selection.skipped.append(Skipped(f"module {module.name}", "never published"))
            else:
                wanted[module.id] = _Wanted(module, None, ())
    with ThreadPoolExecutor(_READERS, "import-modules") as pool:
        read = list(pool.map(lambda w: _read(client, w), wanted.values()))
    ordered = sorted(zip(wanted.values(), read, strict=True), key=lambda r: r[0].module.name)
    for want, (whole, version) in ordered:
        if version is None:  # published versions all gone: nothing an action could pin
            selection.skipped.append(Skipped(f"module {whole.name}", "never published"))
            continue
        unit = _unit(whole, version)
        selection.units.append(unit)
        note = _pending(whole, version, unit, want.users)
        if note:
            selection.pending[whole.name] = note
    return selection


def _pinned(by_id: Mapping[str, LiveModule], actions: Sequence[LiveUnit]) -> dict[str, _Wanted]:
    """Module id -> the one version the actions pin; refused when they pin several."""
    versions: dict[str, dict[str, list[str]]] = {}  # module id -> version id -> "action vN"
    for action in actions:
        for pin in action.pins:
            if pin.module_id not in by_id:
                raise ConfigError(
                    f"{action.name}: pins module {pin.module_name or pin.module_id}, which "
                    "the tenant does not list"
                )
            versions.setdefault(pin.module_id, {}).setdefault(pin.version_id, []).append(
                f"{action.name} v{pin.version_number}"
            )
    split = {i: v for i, v in versions.items() if len(v) > 1}
    if split:
        named = "; ".join(
            f"module {by_id[i].name}: {', '.join(sorted(u for us in v.values() for u in us))}"
            for i, v in sorted(split.items(), key=lambda item: by_id[item[0]].name)
        )
        raise ConfigError(
            f"the actions to import pin different versions of one module ({named}); a module's "
            "template holds one version, and importing either would change what the others "
            "run at the next apply. Re-pin them to one version in Auth0 first, or import "
            "them apart with --action (the later import then reports the difference)"
        )
    return {
        module_id: _Wanted(
            by_id[module_id],
            version_id,
            tuple(sorted(u.rsplit(" ", 1)[0] for u in users)),
        )
        for module_id, pinned in versions.items()
        for version_id, users in pinned.items()
    }


def _read(client: TenantClient, wanted: _Wanted) -> tuple[LiveModule, LiveModuleVersion | None]:
    """The module with its latest version, and the version to import."""
    whole = client.get_module(wanted.module.id)
    latest = whole.latest_version
    if wanted.version_id is None or (latest is not None and latest.id == wanted.version_id):
        return whole, latest
    versions = client.list_module_versions(whole.id)
    found = next((v for v in versions if v.id == wanted.version_id), None)
    if found is None:
        raise ConfigError(
            f"module {whole.name}: {', '.join(wanted.users)} pin version id "
            f"{wanted.version_id}, which the tenant does not list"
        )
    return whole, found


def _unit(module: LiveModule, version: LiveModuleVersion) -> LiveUnit:
    content = (version.code, sorted(version.dependencies), sorted(version.secret_names))
    draft = (module.code, sorted(module.dependencies), sorted(module.secret_names))
    return LiveUnit(
        kind=MODULE,
        name=module.name,
        live_id=module.id,
        code=version.code,
        dependencies=version.dependencies,
        secret_names=tuple(sorted(version.secret_names)),
        draft_differs=draft != content,
        version=version.number,
    )


def _pending(
    module: LiveModule, version: LiveModuleVersion, unit: LiveUnit, users: Sequence[str]
) -> str | None:
    """What the next apply does to a module imported as it runs, or None (nothing)."""
    steps = []
    latest = module.latest_version_number
    if version.number != latest:
        them = "it" if len(users) == 1 else "them"
        steps.append(
            f"{', '.join(users)} pin{'s' if len(users) == 1 else ''} version {version.number}, "
            f"the latest is {latest}: the next apply publishes version {version.number}'s code "
            f"as version {latest + 1} and re-pins {them} to the new version (what runs stays "
            "the same)"
        )
    if unit.draft_differs:
        why = " (edited, never published)" if version.number == latest else ""
        steps.append(
            f"its draft differs from version {version.number}{why}: the next apply sets the "
            f"draft to version {version.number}'s code; to keep the draft's code, put it in "
            "the template"
        )
    if not steps:
        return None
    return f"the template holds version {version.number}, what runs; " + "; ".join(steps)
