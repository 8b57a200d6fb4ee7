"""pytest collects scenario files: each case becomes a test item.

Registered as a pytest11 entry point, so any project with auth0-actions
installed gets its ``*.scenarios.yaml`` collected (add ``rules_templates`` to
``testpaths``). All items of a session share one warm sandbox pool.

pytest imports this module in every environment the package is installed
in, including a user's own test runs that have nothing to do with Actions:
it imports nothing heavy until a scenario file is actually collected.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from auth0_actions.layout import SCENARIO_SUFFIX
from auth0_actions.scenarios.pytest_stash import POOL


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> pytest.Collector | None:
    if not file_path.name.endswith(SCENARIO_SUFFIX):
        return None
    from auth0_actions.scenarios.pytest_items import ScenarioCollector

    collector: pytest.Collector = ScenarioCollector.from_parent(parent, path=file_path)
    return collector


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Name the isolation level the scenarios ran at, as `auth0-actions test` does."""
    pool = terminalreporter.config.stash.get(POOL, None)
    if pool is not None:
        terminalreporter.write_line(pool.isolation.summary)
