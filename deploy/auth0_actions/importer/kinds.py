"""What `import` brings in, kind by kind: where each unit's files and entries go.

A kind is one :class:`Kind`: its tenant.yaml section, its key under
``environments.<env>.adopted``, and the paths of its template, rendered file
and starter scenario. Actions are the one kind today; Actions Modules are
added as a second entry of :data:`KINDS` (their section ``modules:``, output
``actions/<env>/modules/<name>.js``), with a reader in :mod:`.live`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Literal

from auth0_actions.layout import SCENARIO_SUFFIX

KindName = Literal["action"]


@dataclass(frozen=True)
class Kind:
    name: KindName
    section: str  # tenant.yaml's top-level list of these units
    adopted_key: str  # the key under environments.<env>.adopted
    output_dir: str  # under actions/<env>/
    scenarios: bool  # a starter scenario file is written for each unit

    def template(self, name: str) -> PurePosixPath:
        """The template, relative to rules_templates/ (as tenant.yaml names it)."""
        return PurePosixPath(f"{name}.js.j2")

    def scenario_file(self, name: str) -> PurePosixPath:
        return PurePosixPath(f"{name}{SCENARIO_SUFFIX}")

    def output(self, environment: str, name: str) -> PurePosixPath:
        return PurePosixPath("actions", environment, self.output_dir, f"{name}.js")


ACTION = Kind("action", section="actions", adopted_key="actions", output_dir="", scenarios=True)
KINDS: dict[KindName, Kind] = {ACTION.name: ACTION}
