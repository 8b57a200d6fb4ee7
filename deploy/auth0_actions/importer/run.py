"""The whole import of one environment: read, check, write, render, characterise.

Nothing is overwritten: every file import would write is checked first, and
if one exists the import names them all and writes nothing. The files are
written, tenant.yaml edited and the project rendered; each imported action's
render (and each module's) must equal its live code byte for byte, or everything written is
taken back. Actions and modules tenant.yaml already declares (imported from
another environment) are compared with this environment's render as it
would be once adopted (the template alone, no header) instead; an identical
one is recorded as adopted and its rendered file for this environment
rewritten. Which modules come in, and at which version: :mod:`.modules`.
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
from auth0_actions.importer.kinds import ACTION, MODULE, Kind
from auth0_actions.importer.live import LiveTenant, LiveUnit, Skipped, env_var_for, read_live
from auth0_actions.importer.modules import ModuleSelection, select_modules
from auth0_actions.importer.tenant_yaml import TenantYaml
from auth0_actions.importer.verbatim import lossy_line_endings, verbatim_template
from auth0_actions.plan.state import PROVENANCE_MARKER
from auth0_actions.render import RenderedFile, TemplateRenderer, render_environments, units_for


@dataclass
class ImportResult:
    environment: str
    dry_run: bool
    imported: list[str] = field(default_factory=list)  # new in tenant.yaml
    adopted: list[str] = field(default_factory=list)  # recorded under adopted.actions
    imported_modules: list[str] = field(default_factory=list)
    adopted_modules: list[str] = field(default_factory=list)  # recorded under adopted.modules
    pending: list[dict[str, str]] = field(default_factory=list)  # modules the next apply changes
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
            "imported_modules": self.imported_modules,
            "adopted_modules": self.adopted_modules,
            "pending": self.pending,
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
    """Import ENV's live actions (only ``names``, when given) and their modules."""
    tenant.environment(environment)  # an unknown environment fails before any read
    with open_environment(tenant, environment, environ).tenant_client() as client:
        live = read_live(client)
        chosen = select_modules(
            client, live.modules, _selected(live, names, environment), every=not names
        )
    skipped = [] if names else [*live.skipped, *chosen.skipped]
    result = ImportResult(environment, dry_run, skipped=skipped)
    fresh, again = _split(tenant, [*chosen.actions, *_unmanaged(tenant, chosen, result)])
    edit = TenantYaml(tenant.path.read_text(encoding="utf-8"), str(tenant.path))
    files = _new_files(tenant, environment, fresh, edit)
    _refuse_taken(tenant, [*files, *_rendered_paths(tenant, fresh)])
    result.files = sorted([*files, *map(str, _rendered_paths(tenant, fresh))])
    for unit in fresh:
        _names_of(result, unit, "imported").append(unit.name)
        edit.adopt(environment, unit.kind.adopted_key, unit.name, unit.live_id)
        for secret in unit.secret_names:
            result.env_vars[env_var_for(secret)] = secret
        if unit.draft_differs and unit.kind is ACTION:
            result.notes.append(
                f"{unit.name}: its draft has changes that were never deployed; the deployed "
                "code was imported, and plan reports the draft as drift"
            )
    if again:
        rendered = _render_verbatim(tenant, environment, again)
        for unit in again:
            found = difference(tenant, environment, unit, rendered[unit.kind.name, unit.name])
            if found is None:
                _names_of(result, unit, "adopted").append(unit.name)
                edit.adopt(environment, unit.kind.adopted_key, unit.name, unit.live_id)
            else:
                result.differing.append(found)
    adopted = [u for u in again if u.name in _names_of(result, u, "adopted")]
    result.pending = [
        {"module": name, "next_apply": note}
        for name, note in chosen.pending.items()
        if any(u.kind is MODULE and u.name == name for u in [*fresh, *adopted])
    ]
    rewritten = [str(u.kind.output(environment, u.name)) for u in adopted]
    if fresh or adopted:
        config = str(tenant.path.relative_to(tenant.root))
        result.files = sorted({*result.files, *rewritten, config})
    if dry_run or not (fresh or adopted):
        return result
    _write(tenant, environment, fresh, files, edit, adopted)
    return result


def _names_of(result: ImportResult, unit: LiveUnit, what: str) -> list[str]:
    """The report's list of imported or adopted units of the unit's kind."""
    modules = unit.kind is MODULE
    if what == "imported":
        return result.imported_modules if modules else result.imported
    return result.adopted_modules if modules else result.adopted


def _declared(tenant: Project, kind: Kind) -> tuple[set[str], set[str]]:
    """Names of ``kind`` tenant.yaml declares, and those adopted in some environment."""
    config = tenant.config
    if kind is MODULE:
        return {m.name for m in config.modules}, {
            name for env in config.environments.values() for name in env.adopted.modules
        }
    return {a.name for a in config.actions}, {
        name for env in config.environments.values() for name in env.adopted.actions
    }


def _unmanaged(tenant: Project, chosen: ModuleSelection, result: ImportResult) -> list[LiveUnit]:
    """The chosen modules but those this tool already deployed (their code has its header):
    an imported action lists them, and plan handles them as any module it manages."""
    declared, adopted = _declared(tenant, MODULE)
    units = []
    for unit in chosen.units:
        if (
            unit.name in declared
            and unit.name not in adopted
            and unit.code.startswith(PROVENANCE_MARKER)
        ):
            result.notes.append(f"module {unit.name}: deployed by auth0-actions; not imported")
        else:
            units.append(unit)
    return units


def _split(tenant: Project, units: Sequence[LiveUnit]) -> tuple[list[LiveUnit], list[LiveUnit]]:
    """(units new to tenant.yaml, units it declares from another environment's import)."""
    fresh: list[LiveUnit] = []
    again: list[LiveUnit] = []
    taken: list[str] = []
    for unit in units:
        declared, adopted = _declared(tenant, unit.kind)
        if unit.name not in declared:
            fresh.append(unit)
        elif unit.name in adopted:
            again.append(unit)
        else:
            taken.append(f"{unit.kind.name} {unit.name}")
    if taken:
        raise ConfigError(
            f"{tenant.path}: already declares {', '.join(taken)}; import adds only actions "
            "and modules tenant.yaml does not declare, or compares those imported from "
            "another environment"
        )
    return fresh, again


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
        template = unit.kind.template(unit.name)
        entry: dict[str, Any] = {"name": unit.name, "template": template.as_posix()}
        if unit.kind is ACTION:
            entry |= _placed(unit, edit)
        if unit.dependencies:
            entry["dependencies"] = [{"name": n, "version": v} for n, v in unit.dependencies]
        if unit.secret_names:
            entry["secrets"] = {name: env_var_for(name) for name in unit.secret_names}
        entry["header"] = False
        edit.add_entry(unit.kind.section, entry)
        files[f"rules_templates/{template}"] = verbatim_template(unit.code)
        if unit.kind.scenarios:
            files[f"rules_templates/{unit.kind.scenario_file(unit.name)}"] = ""
    return files


def _placed(unit: LiveUnit, edit: TenantYaml) -> dict[str, Any]:
    """An action's trigger, order (after what tenant.yaml declares), runtime and modules."""
    order = edit.max_order(unit.kind.section, unit.trigger) + 1
    if order > MAX_ACTIONS_PER_TRIGGER:
        raise ConfigError(
            f"{unit.name}: {unit.trigger} would have more than {MAX_ACTIONS_PER_TRIGGER} "
            "actions in tenant.yaml"
        )
    placed: dict[str, Any] = {
        "trigger": unit.trigger,
        "order": order,
        "runtime": unit.runtime,
    }
    if unit.modules:
        placed["modules"] = list(unit.modules)
    return placed


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
    tenant: Project, environment: str, units: Sequence[LiveUnit]
) -> dict[tuple[str, str], RenderedFile]:
    """(kind, name) -> the unit as ENV renders it once adopted there: the template alone."""
    renderer = TemplateRenderer(tenant.templates_dir, tenant.root)
    wanted = {(u.kind.name, u.name) for u in units}
    return {
        (u.kind, u.name): renderer.render(replace(u, header=False))
        for u in units_for(tenant, tenant.environment(environment))
        if (u.kind, u.name) in wanted
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
        characterised = [u for u in units if u.kind.scenarios]
        scenarios = characterise(project, environment, characterised)
        for unit in characterised:
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
