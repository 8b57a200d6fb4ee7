"""The Actions Modules a scenario's action runs with: the project's, as rendered.

An action that lists `modules:` in tenant.yaml loads each with
`require('actions:<name>')` (https://auth0.com/docs/customize/actions/modules/write-your-first-action-module).
A scenario runs it with the module's code as this run rendered it (the
``module:<name>`` unit, what `render` writes to ``actions/<env>/modules/``),
with the module's npm dependencies and, of the scenario's secrets, those the
module declares (its ``actions.secrets``).
"""

from __future__ import annotations

from collections.abc import Mapping

from auth0_actions.config import Project
from auth0_actions.errors import ConfigError
from auth0_actions.sandbox.modules import PinnedModule


def pinned_for(
    tenant: Project,
    env: str,
    action: str,
    code: Mapping[str, str],
    secrets: Mapping[str, str],
) -> list[PinnedModule]:
    """The modules ``action`` declares, in order; ConfigError names a missing one."""
    config = tenant.config
    spec = next((a for a in config.actions if a.name == action), None)
    if spec is None or not spec.modules:
        return []
    modules = {m.name: m for m in config.modules}
    pinned = []
    for name in spec.modules:
        module = modules.get(name)
        if module is None:
            raise ConfigError(
                f"{tenant.path}: action {action!r} requires module {name!r}, "
                "which tenant.yaml modules: does not define"
            )
        text = code[f"module:{name}"]  # every declared module is rendered with the actions
        pinned.append(
            PinnedModule(
                name=name,
                code=text,
                secrets={k: v for k, v in secrets.items() if k in module.secrets},
                dependencies=list(module.dependencies),
            )
        )
    return pinned
