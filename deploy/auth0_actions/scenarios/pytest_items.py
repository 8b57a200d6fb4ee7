"""The pytest items behind the plugin: one per scenario case, sharing one warm pool."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from auth0_actions.config import DEFAULT_CONFIG, Project, load_tenant
from auth0_actions.errors import Auth0ActionsError
from auth0_actions.sandbox.pool import SandboxPool
from auth0_actions.scenarios.model import load_scenarios
from auth0_actions.scenarios.pytest_stash import POOL
from auth0_actions.scenarios.runner import Case, CaseResult, ScenarioRunner, expand
from auth0_actions.scenarios.suite import describe_failure, sandbox_read_paths

_TENANTS = pytest.StashKey[dict[Path, Project]]()
_RUNNERS = pytest.StashKey[dict[Path, ScenarioRunner]]()


def _tenant_for(config: pytest.Config, path: Path) -> Project:
    # Not resolved: a symlinked rules_templates/ belongs to the project it is linked into.
    for directory in path.absolute().parents:
        candidate = directory / DEFAULT_CONFIG
        if candidate.is_file():
            tenants = config.stash.setdefault(_TENANTS, {})
            if candidate not in tenants:
                tenants[candidate] = load_tenant(candidate)
            return tenants[candidate]
    raise Auth0ActionsError(f"{path}: no {DEFAULT_CONFIG} in any parent directory")


def _runner(config: pytest.Config, tenant: Project) -> ScenarioRunner:
    """One runner per project: its rendered code is made once per session."""
    if POOL not in config.stash:
        pool = SandboxPool(read_paths=sandbox_read_paths(tenant))
        config.stash[POOL] = pool
        config.add_cleanup(pool.close)  # the workers end with the session
    runners = config.stash.setdefault(_RUNNERS, {})
    if tenant.path not in runners:
        runners[tenant.path] = ScenarioRunner(tenant, config.stash[POOL])
    return runners[tenant.path]


class ScenarioCollector(pytest.File):
    def collect(self) -> Iterator[pytest.Item]:
        tenant = _tenant_for(self.config, self.path)
        loaded = load_scenarios(self.path)
        for case in expand(loaded, tenant, None):
            name = f"{case.scenario.name} [{case.environment}/{case.variant}/{case.form}]"
            yield ScenarioItem.from_parent(self, name=name, case=case, tenant=tenant)


class ScenarioFailed(Exception):
    def __init__(self, result: CaseResult) -> None:
        super().__init__(result.case.id)
        self.result = result


class ScenarioItem(pytest.Item):
    def __init__(self, *, case: Case, tenant: Project, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.case = case
        self.tenant = tenant

    def runtest(self) -> None:
        result = _runner(self.config, self.tenant).run(self.case)
        if not result.passed:
            raise ScenarioFailed(result)

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> str:
        if isinstance(excinfo.value, ScenarioFailed):
            return describe_failure(excinfo.value.result)
        return str(super().repr_failure(excinfo, style))

    def reportinfo(self) -> tuple[Path, int, str]:
        return self.path, self.case.line - 1, self.case.id
