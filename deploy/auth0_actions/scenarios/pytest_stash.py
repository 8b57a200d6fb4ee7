"""Where the pytest plugin keeps the session's sandbox pool (light: nothing heavy imported)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from auth0_actions.sandbox.pool import SandboxPool

# The session's sandbox pool, once a scenario item has run (pytest_items.py).
POOL: pytest.StashKey[SandboxPool] = pytest.StashKey()
