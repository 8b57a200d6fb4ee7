"""auth0-actions sandbox run: execute one action file ad hoc."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click
import yaml

from auth0_actions.cli.sandbox_modules import pinned_modules, rendered_location
from auth0_actions.cli.state import require_isolation_option, sandbox_isolation, state
from auth0_actions.errors import EXIT_ERROR, EXIT_OK, ConfigError
from auth0_actions.sandbox.event import rules_inputs
from auth0_actions.sandbox.modules import PinnedModule, merged_dependencies, unit_modules
from auth0_actions.sandbox.outbound import Exchange, parse_stubs
from auth0_actions.sandbox.pool import Limits, SandboxPool
from auth0_actions.triggers import registry

if TYPE_CHECKING:
    from auth0_actions.config.load import Project
    from auth0_actions.config.model import ActionSpec


def _read_mapping(path: Path, what: str) -> dict[str, Any]:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read {what}: {exc}") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: {what} is not valid JSON or YAML: {exc}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: {what} must be a JSON object")
    return data


@click.group("sandbox")
def sandbox_group() -> None:
    """Run action code in the isolated Node 22 sandbox."""


def _read_stubs(path: Path) -> Exchange:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read the http stubs: {exc}") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: the http stubs are not valid JSON or YAML: {exc}") from None
    return Exchange(parse_stubs(data, f"{path}: http"))


@sandbox_group.command("run")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--trigger",
    "trigger_id",
    type=click.Choice(registry.ids()),
    default=registry.default().id,
    show_default=True,
    help="The trigger FILE is an action of: its event, api and handlers.",
)
@click.option(
    "--event",
    "event_file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="JSON (or YAML) merged over the trigger's default event.",
)
@click.option(
    "--secrets",
    "secrets_file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="JSON (or YAML) object of secret name -> value (event.secrets; "
    "configuration for a Rule). A file keeps values out of shell history.",
)
@click.option(
    "--http",
    "http_file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="JSON (or YAML) list of stubs answering the action's outbound HTTP "
    "(method, url or url_regex, status, headers, body, delay_ms, times). "
    "Without it, a request fails naming its method and URL.",
)
@click.option(
    "--handler",
    type=click.Choice(sorted({h for t in registry.all_triggers() for h in t.handlers})),
    default=None,
    help="Which handler of the action to run (default: the trigger's first, e.g. "
    "onExecutePostLogin; onContinuePostLogin runs it as resumed after a redirect).",
)
@click.option(
    "--rule", is_flag=True, help="FILE is a legacy Rule: function (user, context, callback)."
)
@click.option(
    "--timeout-ms",
    type=click.IntRange(100, 20_000),
    default=20_000,
    show_default=True,
    help="Trigger time limit (Auth0's is 20 s).",
)
@click.option(
    "--output",
    "-o",
    type=click.Choice(["json", "text"]),
    default="json",
    show_default=True,
    help="json: the full record of api calls; text: a summary.",
)
@click.option(
    "--dependency",
    "dependency_specs",
    multiple=True,
    metavar="NAME@VERSION",
    help="An npm package the action requires (repeatable); added to, or replacing the "
    "version of, what tenant.yaml declares for the action.",
)
@click.option(
    "--action",
    "action_name",
    metavar="NAME",
    help="Use the dependencies tenant.yaml declares for this action (default: the action "
    "FILE was rendered from, when FILE is actions/<env>/<name>.js).",
)
@click.option(
    "--module",
    "module_options",
    multiple=True,
    metavar="NAME=FILE",
    help="An Actions Module the action loads with require('actions:NAME') (repeatable); "
    "default for a module the action declares in tenant.yaml: its rendered "
    "actions/<env>/modules/NAME.js.",
)
@click.option(
    "--module-secrets",
    "module_secrets_file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="JSON (or YAML) object of module name -> {secret name: value} "
    "(actions.secrets in the module's code).",
)
@require_isolation_option
def run_command(
    file: Path,
    trigger_id: str,
    event_file: Path | None,
    secrets_file: Path | None,
    http_file: Path | None,
    handler: str | None,
    rule: bool,
    timeout_ms: int,
    output: str,
    dependency_specs: tuple[str, ...],
    action_name: str | None,
    module_options: tuple[str, ...],
    module_secrets_file: Path | None,
    require_isolation: bool,
) -> int:
    """Execute FILE once in the sandbox and print what it did.

    The result lists every api call in order (metadata writes, deny, redirect,
    claims, ...), the resulting metadata, the console output and the outbound
    HTTP requests it sent (answered by --http stubs, never the network). Exit
    1 when the code failed, timed out, sent a request no stub matches or
    broke out of the sandbox's rules. The report names the sandbox's
    isolation level.
    """
    state().output = "json" if output == "json" else "text"
    trigger = registry.get(trigger_id)
    if handler is not None and handler not in trigger.handlers:
        raise ConfigError(
            f"--handler {handler} is not a handler of the {trigger.id} trigger "
            f"(its handlers: {', '.join(trigger.handlers)})"
        )
    isolation = sandbox_isolation(require_isolation)
    overrides = _read_mapping(event_file, "the event") if event_file else {}
    # A Rule's user and context are those of a login.
    event = (registry.default() if rule else trigger).build_event(overrides)
    exchange = _read_stubs(http_file) if http_file else Exchange()
    secrets = {
        k: str(v)
        for k, v in (_read_mapping(secrets_file, "secrets") if secrets_file else {}).items()
    }
    unit: dict[str, Any] = {
        "name": file.stem,
        "code": file.read_text(encoding="utf-8"),
        "filename": str(file),
        "secrets": secrets,
        "deps_dir": None,
    }
    if not rule:
        project, spec, env = _project_action(file, action_name)
        modules = pinned_modules(
            module_options,
            module_secrets_file,
            project,
            list(spec.modules) if spec is not None else [],
            env,
        )
        unit["modules"] = unit_modules(modules, file.stem)
        declared = {d.name: d.version for d in spec.dependencies} if spec is not None else {}
        deps_dir = _dependency_dir(file.stem, declared, dependency_specs, modules)
        unit["deps_dir"] = str(deps_dir) if deps_dir else None
    elif dependency_specs or action_name or module_options or module_secrets_file:
        raise ConfigError(
            "--dependency, --action, --module and --module-secrets apply to Actions, "
            "not to a legacy --rule"
        )
    if rule:
        user, context = rules_inputs(event)
        request: dict[str, Any] = {
            "op": "rules",
            "units": [unit],
            "user": user,
            "context": context,
            "configuration": secrets,
            "state": "sandbox-state",
        }
    else:
        resuming = handler is not None and handler == trigger.resume_handler
        resume = {"index": 0} if resuming else None
        request = {"op": trigger.id, "units": [unit], "event": event, "resume": resume}
    with SandboxPool(1, limits=Limits(timeout_ms=timeout_ms), isolation=isolation) as pool:
        reply = pool.call({**request, "http": exchange})
    result = reply.result or {"status": "error", "error": {"message": reply.failure}}
    # As the host recorded them, whether or not the execution finished.
    result["requests"] = exchange.requests
    result["unmatched"] = exchange.unmatched
    if reply.stray_output:
        result["stray_output"] = reply.stray_output
    result["isolation"] = isolation.as_dict()
    if output == "json":
        click.echo(json.dumps(result, indent=2, sort_keys=True))
    else:
        click.echo(f"status: {result.get('status')}")
        for command in result.get("commands") or []:
            details = {k: v for k, v in command.items() if k not in ("action", "type")}
            click.echo(f"  {command['type']} {json.dumps(details, sort_keys=True)}")
        for line in result.get("logs") or []:
            click.echo(f"  log: {line['message']}")
        for sent in exchange.requests:
            click.echo(f"  http: {sent['method']} {sent['url']}")
        for problem in exchange.problems():
            click.echo(f"error: {problem}")
        if result.get("status") in ("denied", "failed") and result.get("deny"):
            click.echo(f"{result['status']}: {result['deny'].get('reason')}")
        for dropped in result.get("dropped_claims") or []:
            click.echo(
                f"  dropped {dropped['token']} claim {dropped['claim']!r}: {dropped['reason']}"
            )
        if result.get("error"):
            click.echo(f"error: {result['error'].get('message')}")
        click.echo(isolation.summary)
    failed = result.get("status") == "error" or exchange.unmatched
    return EXIT_ERROR if failed else EXIT_OK


# --- the action of the project FILE is, its npm dependencies ---------------------------
def _project_action(
    file: Path, action: str | None
) -> tuple[Project | None, ActionSpec | None, str | None]:
    """The project, FILE's action in tenant.yaml and the environment FILE was rendered for.

    The action is ``--action`` or the one FILE was rendered from
    (``actions/<env>/<name>.js``); (None, None, None) outside a project.
    """
    root = state().project_root()
    located = rendered_location(file, root) if root is not None else None
    name = action or (located[1] if located is not None else None)
    if name is None:
        return None, None, None
    if root is None:
        raise ConfigError(f"--action {name}: no tenant.yaml here or in a parent directory")
    tenant = state().tenant()
    found = next((a for a in tenant.config.actions if a.name == name), None)
    if found is None and action is not None:
        known = ", ".join(a.name for a in tenant.config.actions) or "none"
        raise ConfigError(f"{tenant.path}: no action named {action!r} (actions: {known})")
    return tenant, found, located[0] if located is not None else None


def _dependency_dir(
    action: str,
    declared: dict[str, str],
    specs: tuple[str, ...],
    modules: list[PinnedModule],
) -> Path | None:
    """The cache directory of the action's npm dependencies (installed now if needed), or None.

    The action's declared packages, overridden by --dependency, with those of
    its modules. The same content-addressed cache as `auth0-actions test`: the
    project's (deploy/auth0_actions/sandbox/deps.py), or the user's outside a project.
    """
    root = state().project_root()
    wanted = dict(declared)
    from pydantic import ValidationError

    from auth0_actions.config.model import Dependency
    from auth0_actions.sandbox.deps import ensure_dependencies, split_spec, user_cache_root

    for spec in specs:
        package, version = split_spec(spec)
        try:
            Dependency(name=package, version=version)
        except ValidationError:
            raise ConfigError(
                f"--dependency {spec}: not an npm package name and version (NAME@VERSION)"
            ) from None
        wanted[package] = version
    own = [Dependency(name=n, version=v) for n, v in wanted.items()]
    packages = merged_dependencies(action, own, modules)
    if not packages:
        return None
    if root is None:
        return ensure_dependencies(Path.cwd(), packages, cache=user_cache_root())
    return ensure_dependencies(root, packages)
