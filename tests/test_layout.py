"""The package's layout: modules import each other in one direction, and none grows past 600 lines.

A cycle between modules (even one hidden in a function-level import) means
two modules can't be understood or changed apart; the walk below reads every
import in the package, at the top or inside a function.
"""

from __future__ import annotations

import ast
import graphlib
from pathlib import Path

import pytest

import auth0_actions

PACKAGE = Path(auth0_actions.__file__).parent
MAX_LINES = 600


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {_module_name(path): path for path in sorted(PACKAGE.rglob("*.py"))}


def _imports(path: Path) -> set[str]:
    """The package's modules that ``path`` imports (``from pkg import sub`` counts as ``sub``)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            submodules = {f"{node.module}.{a.name}" for a in node.names} & MODULES.keys()
            found |= submodules
            if len(submodules) < len(node.names):
                found.add(node.module)
        elif isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
    return found & MODULES.keys()


def test_no_import_cycles_in_the_package() -> None:
    graph = {name: _imports(path) - {name} for name, path in MODULES.items()}
    # The walk sees real edges (a regression guard for the walk itself).
    assert "auth0_actions.plan.planner" in graph["auth0_actions.plan.apply"]
    assert "auth0_actions.emulator.routes" in graph["auth0_actions.emulator.app"]
    try:
        graphlib.TopologicalSorter(graph).prepare()
    except graphlib.CycleError as cycle:
        pytest.fail(f"import cycle: {' -> '.join(cycle.args[1])}")


def test_no_module_is_over_600_lines() -> None:
    long = {
        name: count
        for name, path in MODULES.items()
        if (count := len(path.read_text(encoding="utf-8").splitlines())) > MAX_LINES
    }
    assert long == {}, f"split these modules along a seam: {long}"
