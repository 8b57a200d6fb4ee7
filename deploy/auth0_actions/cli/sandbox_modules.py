"""The Actions Modules `sandbox run` gives an action: `--module` files and the project's.

An action loads a module with `require('actions:<name>')`
(https://auth0.com/docs/customize/actions/modules/write-your-first-action-module).
`--module NAME=FILE` supplies one module's code; an action of the project
that declares `modules:` in tenant.yaml gets each other one from its rendered
file, `actions/<env>/modules/<name>.js`, with the npm dependencies tenant.yaml
declares for it. `--module-secrets FILE` holds each module's secret values
(`actions.secrets` in its code), separate from the action's `--secrets`.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import yaml

from auth0_actions.errors import ConfigError
from auth0_actions.sandbox.modules import PinnedModule

if TYPE_CHECKING:
    from auth0_actions.config.load import Project

MODULES_DIR = "modules"


def rendered_location(file: Path, root: Path) -> tuple[str, str] | None:
    """``(env, name)`` when FILE is ``<root>/actions/<env>/<name>.js``, the render of an action."""
    try:
        # Project.actions_dir, without loading tenant.yaml for a file elsewhere.
        parts = file.resolve().relative_to(root / "actions").parts
    except ValueError:
        return None
    if len(parts) == 2 and parts[1].endswith(".js"):
        return parts[0], parts[1].removesuffix(".js")
    return None


def _parse_module_options(options: tuple[str, ...]) -> dict[str, Path]:
    given: dict[str, Path] = {}
    for option in options:
        name, eq, path = option.partition("=")
        if not eq or not name or not path:
            raise ConfigError(f"--module {option}: expected NAME=FILE (e.g. logger=logger.js)")
        if name in given:
            raise ConfigError(f"--module {name} is given twice")
        given[name] = Path(path)
    return given


def _read_code(path: Path, what: str) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read {what}: {exc.strerror or exc}") from None


def _read_secrets(path: Path | None) -> dict[str, dict[str, str]]:
    if path is None:
        return {}
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read the module secrets: {exc}") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: the module secrets are not valid JSON or YAML: {exc}") from None
    data = data or {}
    if not isinstance(data, dict) or not all(isinstance(v, dict) for v in data.values()):
        raise ConfigError(
            f"{path}: the module secrets must be an object of module name -> {{secret name: value}}"
        )
    return {str(m): {str(k): str(v) for k, v in values.items()} for m, values in data.items()}


def pinned_modules(
    options: tuple[str, ...],
    secrets_file: Path | None,
    project: Project | None,
    declared: list[str],
    env: str | None,
) -> list[PinnedModule]:
    """The modules the action runs with, in the order tenant.yaml declares them.

    ``project`` is the loaded tenant.yaml (:class:`auth0_actions.config.load.Project`)
    when the action is one of its actions, ``declared`` that action's
    ``modules:`` and ``env`` the environment FILE was rendered for (None when
    FILE is not a rendered action).
    """
    given = _parse_module_options(options)
    secrets = _read_secrets(secrets_file)
    specs = {m.name: m for m in project.config.modules} if project is not None else {}
    modules: list[PinnedModule] = []
    for name in [*declared, *(n for n in given if n not in declared)]:
        if name in given:
            code = _read_code(given[name], f"module {name!r}")
        elif env is None or project is None:
            raise ConfigError(
                f"the action requires module {name!r} (tenant.yaml modules:); give its code "
                f"with --module {name}=FILE, or run a rendered actions/<env>/<action>.js"
            )
        else:
            path = project.actions_dir / env / MODULES_DIR / f"{name}.js"
            if not path.is_file():
                raise ConfigError(
                    f"{path}: module {name!r}, which the action requires, is not rendered; "
                    f"run `auth0-actions render --env {env}` or give --module {name}=FILE"
                )
            code = _read_code(path, f"module {name!r}")
        spec = specs.get(name)
        modules.append(
            PinnedModule(
                name=name,
                code=code,
                secrets=secrets.get(name, {}),
                dependencies=list(spec.dependencies) if spec is not None else [],
            )
        )
    unknown = sorted(set(secrets) - {m.name for m in modules})
    if unknown and secrets_file is not None:
        raise ConfigError(
            f"{secrets_file}: secrets for module(s) {', '.join(unknown)}, which the action "
            "does not use (give them with --module NAME=FILE)"
        )
    return modules
