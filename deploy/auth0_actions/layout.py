"""Names of the files and directories a config repository is made of.

Kept apart from the modules that read them so that locating a project (the
first thing every command does) imports nothing heavier than pathlib.
"""

from __future__ import annotations

from pathlib import Path

DEFAULT_CONFIG = Path("tenant.yaml")
SCENARIO_SUFFIX = ".scenarios.yaml"  # rules_templates/<name>.scenarios.yaml


def find_config(start: Path) -> Path | None:
    """tenant.yaml in ``start`` or its nearest parent; relative when it is in ``start``."""
    for directory in (start, *start.parents):
        candidate = directory / DEFAULT_CONFIG
        if candidate.is_file():
            return candidate.relative_to(start) if directory == start else candidate
    return None
