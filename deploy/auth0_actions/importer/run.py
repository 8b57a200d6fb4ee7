"""The whole import of one environment: read, check, write, render, characterise.

Nothing is overwritten: every file import would write is checked first, and
if one exists the import names them all and writes nothing. The files are
written, tenant.yaml edited and the project rendered; each imported action's
render must equal its live code byte for byte, or everything written is
taken back. Actions tenant.yaml already declares (imported from another
environment) are compared with this environment's render as it would be
once adopted (the template alone, no header) instead; an identical one is
recorded as adopted and its rendered file for this environment rewritten.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path, PurePosixPath
from typing import Any

from auth0_actions.config import Project, load_tenant
from auth0_actions.config.model import MAX_ACTIONS_PER_TRIGGER
from auth0_actions.environment import open_environment
from auth0_actions.errors import ConfigError, Location, Problem
from auth0_actions.files import write_atomic
from auth0_actions.importer.characterise import characterise
from auth0_actions.importer.differences import Difference, difference
from auth0_actions.importer.live import LiveTenant, LiveUnit, Skipped, env_var_for, read_live
from auth0_actions.importer.tenant_yaml import TenantYaml
from auth0_actions.importer.verbatim import lossy_line_endings, verbatim_template
from auth0_actions.render import RenderedFile, TemplateRenderer, render_environments, units_for


@dataclass
class ImportResult:
    environment: str
    dry_run: bool
    imported: list[str] = field(default_factory=list)  # new in tenant.yaml
    adopted: list[str] = field(default_factory=list)  # recorded under adopted.actions
    differing: list[Difference] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)
    files: list[str] = field(default_factory=list)  # written (or, dry run, to be written)
    env_vars: dict[str, str] = field(default_factory=dict)  # variable -> the secret it holds
    notes: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "environment": self.environment,
            "dry_run": self.dry_run,
            "imported": self.imported,
            "adopted": self.adopted,
            "differing": [d.as_dict() for d in self.differing],
            "skipped": [{"name": s.name, "reason": s.reason} for s in self.skipped],
            "files": self.files,
            "env_vars": self.env_vars,
            "notes": self.notes,
        }


def import_environment(
    tenant: Project,
    environment: str,
    names: Sequence[str] = (),
    *,
    dry_run: bool = False,
    environ: Mapping[str, str] | None = None,
) -> ImportResult:
    """Import ENV's live actions (only ``names``, when given) into the project."""
    tenant.environment(environment)  # an unknown environment fails before any read
    with open_environment(tenant, environment, environ).tenant_client() as client:
        live = read_live(client)
    units = _selected(live, names, environment)
    result = ImportResult(environment, dry_run, skipped=[s for s in live.skipped if not names])
    declared = {a.name: a for a in tenant.config.actions}
    owned_elsewhere = {
        name for env in tenant.config.environments.values() for name in env.adopted.actions
    }
    fresh = [u for u in units if u.name not in declared]
    again = [u for u in units if u.name in declared]
    taken = [u.name for u in again if u.name not in owned_elsewhere]
    if taken:
        raise ConfigError(
            f"{tenant.path}: already declares {', '.join(taken)}; import adds only actions "
            "tenant.yaml does not declare, or compares those imported from another environment"
        )
    edit = TenantYaml(tenant.path.read_text(encoding="utf-8"), str(tenant.path))
    files = _new_files(tenant, environment, fresh, edit)
    _refuse_taken(tenant, [*files, *_rendered_paths(tenant, fresh)])
    result.files = sorted([*files, *map(str, _rendered_paths(tenant, fresh))])
    for unit in fresh:
        result.imported.append(unit.name)
        edit.adopt(environment, unit.kind.adopted_key, unit.name, unit.live_id)
        for secret in unit.secret_names:
            result.env_vars[env_var_for(secret)] = secret
        if unit.draft_differs:
            result.notes.append(
                f"{unit.name}: its draft has changes that were never deployed; the deployed "
                "code was imported, and plan reports the draft as drift"
            )
    if again:
        rendered = _render_verbatim(tenant, environment, [u.name for u in again])
        for unit in again:
            found = difference(tenant, environment, unit, rendered[unit.name])
            if found is None:
                result.adopted.append(unit.name)
                edit.adopt(environment, unit.kind.adopted_key, unit.name, unit.live_id)
            else:
                result.differing.append(found)
    adopted = [u for u in again if u.name in result.adopted]
    rewritten = [str(u.kind.output(environment, u.name)) for u in adopted]
    if fresh or result.adopted:
        config = str(tenant.path.relative_to(tenant.root))
        result.files = sorted({*result.files, *rewritten, config})
    if dry_run or not (fresh or result.adopted):
        return result
    _write(tenant, environment, fresh, files, edit, adopted)
    return result


def _selected(live: LiveTenant, names: Sequence[str], environment: str) -> list[LiveUnit]:
    if not names:
        return list(live.units)
    by_name = {u.name: u for u in live.units}
    skipped = {s.name: s.reason for s in live.skipped}
    problems = []
    for name in dict.fromkeys(names):
        if name in skipped:
            problems.append(f"{name}: cannot be imported: {skipped[name]}")
        elif name not in by_name:
            problems.append(f"{name}: no action of that name in {environment}'s tenant")
    if problems:
        raise ConfigError(f"--action: {'; '.join(problems)}")
    return [by_name[name] for name in dict.fromkeys(names)]


def _new_files(
    tenant: Project, environment: str, units: Sequence[LiveUnit], edit: TenantYaml
) -> dict[str, str]:
    """Project-relative path -> text of each template (scenarios come after the render)."""
    files: dict[str, str] = {}
    for unit in units:
        if lossy_line_endings(unit.code):
            raise ConfigError(
                f"{unit.name}: its live code mixes line endings (CRLF with LF, or a bare CR), "
                "which a template cannot reproduce byte for byte; fix them in Auth0 first"
            )
        order = edit.max_order(unit.kind.section, unit.trigger) + 1
        if order > MAX_ACTIONS_PER_TRIGGER:
            raise ConfigError(
                f"{unit.name}: {unit.trigger} would have more than {MAX_ACTIONS_PER_TRIGGER} "
                "actions in tenant.yaml"
            )
        template = unit.kind.template(unit.name)
        entry: dict[str, Any] = {
            "name": unit.name,
            "template": template.as_posix(),
            "trigger": unit.trigger,
            "order": order,
            "runtime": unit.runtime,
        }
        if unit.dependencies:
            entry["dependencies"] = [{"name": n, "version": v} for n, v in unit.dependencies]
        if unit.secret_names:
            entry["secrets"] = {name: env_var_for(name) for name in unit.secret_names}
        entry["header"] = False
        edit.add_entry(unit.kind.section, entry)
        files[f"rules_templates/{template}"] = verbatim_template(unit.code)
        files[f"rules_templates/{unit.kind.scenario_file(unit.name)}"] = ""
    return files


def _rendered_paths(tenant: Project, units: Sequence[LiveUnit]) -> list[PurePosixPath]:
    """Every environment renders the new templates: actions/<each env>/<name>.js."""
    return [u.kind.output(env, u.name) for env in tenant.environments for u in units]


def _refuse_taken(tenant: Project, paths: Sequence[str | PurePosixPath]) -> None:
    taken = [tenant.root / p for p in paths if (tenant.root / p).exists()]
    if taken:
        raise ConfigError(
            f"refusing to overwrite {len(taken)} existing file(s); nothing was written",
            [Problem(Location(file=path), "already exists") for path in taken],
        )


def _render_verbatim(
    tenant: Project, environment: str, names: Sequence[str]
) -> dict[str, RenderedFile]:
    """The named actions as ENV renders them once adopted there: the template alone."""
    renderer = TemplateRenderer(tenant.templates_dir, tenant.root)
    units = units_for(tenant, tenant.environment(environment))
    return {
        u.name: renderer.render(replace(u, header=False))
        for u in units
        if u.kind == "action" and u.name in names
    }


def _write(
    tenant: Project,
    environment: str,
    units: Sequence[LiveUnit],
    files: dict[str, str],
    edit: TenantYaml,
    adopted: Sequence[LiveUnit] = (),
) -> None:
    original = tenant.path.read_bytes()
    # Rendered files of actions adopted here change (their header goes): kept to undo.
    outputs = [tenant.root / u.kind.output(environment, u.name) for u in adopted]
    before = {output: output.read_bytes() for output in outputs if output.exists()}
    with _undone_on_error(tenant.path, original, before) as written:
        templates = {p: t for p, t in files.items() if not p.endswith(".scenarios.yaml")}
        for relative, text in templates.items():
            _put(tenant.root / relative, text, written)
        write_atomic(tenant.path, edit.text())
        project = load_tenant(tenant.path)
        rendered = render_environments(project, list(project.environments))
        wanted = {str(u.kind.output(env, u.name)) for env in tenant.environments for u in units}
        live = {str(u.kind.output(environment, u.name)): u for u in [*units, *adopted]}
        wanted |= {str(u.kind.output(environment, u.name)) for u in adopted}
        for file in rendered:
            path = str(file.path)
            if path in live and file.text != live[path].code:
                raise ConfigError(
                    f"{live[path].name}: the template does not render byte-identical to the "
                    "live code; nothing was written (please report this)"
                )
            if path in wanted:
                _put(tenant.root / path, file.text, written)
        scenarios = characterise(project, environment, units)
        for unit in units:
            _put(
                tenant.templates_dir / unit.kind.scenario_file(unit.name),
                scenarios[unit.name],
                written,
            )


def _put(path: Path, text: str, written: list[Path]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(path, text)
    written.append(path)


@contextlib.contextmanager
def _undone_on_error(
    config: Path, original: bytes, before: Mapping[Path, bytes]
) -> Iterator[list[Path]]:
    """On any error: files written are removed, files rewritten get their old bytes back."""
    written: list[Path] = []
    try:
        yield written
    except BaseException:
        for path in written:
            if path in before:
                path.write_bytes(before[path])
            else:
                path.unlink(missing_ok=True)
        write_atomic(config, original)
        raise
