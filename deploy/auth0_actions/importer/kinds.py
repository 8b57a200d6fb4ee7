"""What `import` brings in, kind by kind: where each unit's files and entries go.

A kind is one :class:`Kind`: its tenant.yaml section, its key under
``environments.<env>.adopted``, and the paths of its template, rendered file
and starter scenario. Actions and Actions Modules are the two kinds; a
module's template goes in a ``modules`` folder of the templates, so that an action
and a module of the same name (Auth0 keeps them apart) never share a file.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Literal

from auth0_actions.layout import SCENARIO_SUFFIX

KindName = Literal["action", "module"]


@dataclass(frozen=True)
class Kind:
    name: KindName
    section: str  # tenant.yaml's top-level list of these units
    adopted_key: str  # the key under environments.<env>.adopted
    output_dir: str  # under actions/<env>/
    scenarios: bool  # a starter scenario file is written for each unit
    template_dir: str  # under rules_templates/

    def template(self, name: str) -> PurePosixPath:
        """The template, relative to rules_templates/ (as tenant.yaml names it)."""
        return PurePosixPath(self.template_dir, f"{name}.js.j2")

    def scenario_file(self, name: str) -> PurePosixPath:
        return PurePosixPath(f"{name}{SCENARIO_SUFFIX}")

    def output(self, environment: str, name: str) -> PurePosixPath:
        return PurePosixPath("actions", environment, self.output_dir, f"{name}.js")


ACTION = Kind(
    "action",
    section="actions",
    adopted_key="actions",
    output_dir="",
    scenarios=True,
    template_dir="",
)
# A module runs only inside the actions that pin it: their scenarios exercise it.
MODULE = Kind(
    "module",
    section="modules",
    adopted_key="modules",
    output_dir="modules",
    scenarios=False,
    template_dir="modules",
)
KINDS: dict[KindName, Kind] = {ACTION.name: ACTION, MODULE.name: MODULE}
