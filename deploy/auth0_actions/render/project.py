"""Render a whole environment: build the units, render, verify, write or compare.

Nothing is written unless every file of the run rendered and passed
``node --check``: a broken template leaves actions/ exactly as it was.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any, Literal

from auth0_actions.config import ConsentPolicy, EnvironmentView, Project
from auth0_actions.consent.texts import text_hashes
from auth0_actions.errors import RenderError
from auth0_actions.node import Script, check_syntax
from auth0_actions.render.engine import RenderedFile, TemplateRenderer, Unit
from auth0_actions.render.jsvalue import to_js
from auth0_actions.secrets import secret_values_in_scope

RULES_SUBDIR = "legacy-rules"
MODULES_SUBDIR = "modules"
FileStatus = Literal["created", "updated", "unchanged", "removed"]


def consent_context(policy: ConsentPolicy, root: Path) -> dict[str, Any]:
    """The consent policy as templates see it.

    Record keys are resolved; each purpose carries ``texts`` (language ->
    sha256 of consent_texts/<text>.<language>.txt, computed now, so the
    Actions hold the hash of exactly the words the page shows) and
    ``text_stem``; ``record_purpose`` is the id the user_metadata mirror
    follows and ``self_service_url`` is resolved.
    """
    data = policy.model_dump(mode="json")
    data["keys"] = policy.metadata.resolved_keys()
    hashes = text_hashes(root, policy)
    for purpose, model in zip(data["purposes"], policy.purposes, strict=True):
        purpose["texts"] = hashes[model.id]
        purpose["text_stem"] = model.text_stem
    data["record_purpose"] = policy.record_purpose.id
    data["self_service_url"] = policy.resolved_self_service_url
    return data


def units_for(tenant: Project, view: EnvironmentView) -> list[Unit]:
    env_ctx = {"name": view.name, "values": view.settings.values}
    consent = consent_context(view.consent, tenant.root)
    base = PurePosixPath("actions") / view.name
    units: list[Unit] = []
    versions = view.settings.secret_versions
    for action in sorted(tenant.config.actions, key=lambda a: (a.trigger, a.order)):
        secrets = tuple(sorted(action.secrets))
        units.append(
            Unit(
                kind="action",
                name=action.name,
                environment=view.name,
                template=action.template,
                output=base / f"{action.name}.js",
                context={
                    "env": env_ctx,
                    "consent": consent,
                    "action": {
                        "name": action.name,
                        "trigger": action.trigger,
                        "order": action.order,
                        "runtime": action.runtime,
                        "dependencies": [d.model_dump() for d in action.dependencies],
                        "secrets": list(secrets),
                        "values": action.values,
                    },
                },
                secret_names=secrets,
                trigger=action.trigger,
                secret_versions=tuple((n, versions[n]) for n in secrets if n in versions),
                header=not view.verbatim(action),
                imported=not action.header,
            )
        )
    for module in sorted(tenant.config.modules, key=lambda m: m.name):
        secrets = tuple(sorted(module.secrets))
        units.append(
            Unit(
                kind="module",
                name=module.name,
                environment=view.name,
                template=module.template,
                output=base / MODULES_SUBDIR / f"{module.name}.js",
                context={
                    "env": env_ctx,
                    "consent": consent,
                    "module": {
                        "name": module.name,
                        "dependencies": [d.model_dump() for d in module.dependencies],
                        "secrets": list(secrets),
                        "values": module.values,
                    },
                },
                secret_names=secrets,
                secret_versions=tuple((n, versions[n]) for n in secrets if n in versions),
                header=not view.verbatim(module),
                imported=not module.header,
            )
        )
    for rule in sorted(tenant.config.legacy_rules, key=lambda r: r.order):
        keys = tuple(sorted(rule.configuration))
        units.append(
            Unit(
                kind="rule",
                name=rule.name,
                environment=view.name,
                template=rule.template,
                output=base / RULES_SUBDIR / f"{rule.name}.js",
                context={
                    "env": env_ctx,
                    "consent": consent,
                    "rule": {
                        "name": rule.name,
                        "order": rule.order,
                        "enabled": rule.enabled,
                        "configuration": list(keys),
                        "values": rule.values,
                    },
                },
                secret_names=keys,
            )
        )
    return units


def render_environments(tenant: Project, names: Iterable[str]) -> list[RenderedFile]:
    """Render and verify every unit of the named environments, in memory."""
    renderer = TemplateRenderer(tenant.templates_dir, tenant.root)
    files = [
        renderer.render(unit)
        for name in names
        for unit in units_for(tenant, tenant.environment(name))
    ]
    _refuse_secret_values(tenant, files)
    failures = check_syntax(
        [Script(str(f.path), f.text, is_rule=f.unit.kind == "rule") for f in files]
    )
    if failures:
        raise RenderError(
            "rendered JavaScript failed `node --check`; nothing was written:\n  "
            + "\n  ".join(failures)
        )
    return files


def _refuse_secret_values(tenant: Project, files: list[RenderedFile]) -> None:
    """Belt and braces: no secret known to this process may appear in output.

    A value reaches the output escaped by the js filter, so both the raw and
    the escaped form are searched for.
    """
    for variable, value in secret_values_in_scope(tenant):
        forms = {value, to_js(value)[1:-1]}
        for rendered in files:
            if any(form in rendered.text for form in forms):
                raise RenderError(
                    f"{rendered.path}: the output contains the value of the secret in "
                    f"{variable}; refusing to write it. Read secrets from event.secrets"
                )


@dataclass
class RenderReport:
    """What a render (or a --check) found, file by file."""

    files: dict[str, FileStatus] = field(default_factory=dict)

    @property
    def changed(self) -> dict[str, FileStatus]:
        return {path: s for path, s in self.files.items() if s != "unchanged"}


def _managed_files(root: Path, env: str) -> set[str]:
    """.js files under actions/<env>/ (and its legacy-rules/ and modules/) that render owns."""
    found: set[str] = set()
    base = root / "actions" / env
    for directory in (base, base / RULES_SUBDIR, base / MODULES_SUBDIR):
        if directory.is_dir():
            found.update(p.relative_to(root).as_posix() for p in directory.glob("*.js"))
    return found


def _retired_environments(tenant: Project) -> list[str]:
    """Directories under actions/ for environments no longer in tenant.yaml."""
    actions = tenant.actions_dir
    if not actions.is_dir():
        return []
    return sorted(
        p.name for p in actions.iterdir() if p.is_dir() and p.name not in tenant.environments
    )


def compare(tenant: Project, names: list[str], files: list[RenderedFile]) -> RenderReport:
    """How the files on disk differ from a fresh render (nothing written).

    When every environment is rendered, output left behind by an environment
    removed from tenant.yaml is unexpected too.
    """
    report = RenderReport()
    wanted = {str(f.path): f.text for f in files}
    for path, text in sorted(wanted.items()):
        target = tenant.root / path
        if not target.is_file():
            report.files[path] = "created"
        elif target.read_bytes() != text.encode("utf-8"):
            report.files[path] = "updated"
        else:
            report.files[path] = "unchanged"
    owned = list(names)
    if set(names) >= set(tenant.environments):
        owned += _retired_environments(tenant)
    for env in owned:
        for path in sorted(_managed_files(tenant.root, env) - set(wanted)):
            report.files[path] = "removed"
    return report


def write(tenant: Project, files: list[RenderedFile], report: RenderReport) -> None:
    """Apply a report: write new and changed files atomically, remove orphans."""
    staged: list[tuple[Path, Path]] = []
    try:
        for rendered in files:
            if report.files.get(str(rendered.path)) not in ("created", "updated"):
                continue
            target = tenant.root / rendered.path
            target.parent.mkdir(parents=True, exist_ok=True)
            temp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
            temp.write_bytes(rendered.text.encode("utf-8"))
            staged.append((temp, target))
    except OSError as exc:
        for temp, _ in staged:
            temp.unlink(missing_ok=True)
        raise RenderError(f"cannot write rendered files: {exc}; nothing was written") from None
    for temp, target in staged:
        os.replace(temp, target)
    for path, status in report.files.items():
        if status == "removed":
            target = tenant.root / path
            target.unlink(missing_ok=True)
            # Drop directories the removal emptied (a retired environment's).
            for directory in (target.parent, target.parent.parent):
                if directory != tenant.actions_dir and directory.is_dir():
                    with contextlib.suppress(OSError):
                        directory.rmdir()
