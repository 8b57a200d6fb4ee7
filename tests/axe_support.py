"""axe-core in the browser tests: the pinned script, and the violations it finds on a page.

axe-core comes from the npm registry (pinned), installed once into this
checkout's dependency cache, .auth0-actions/deps/, as actions' npm
dependencies are. It checks WCAG 2.0, 2.1 and 2.2 at levels A and AA, and
axe's best practices
(https://github.com/dequelabs/axe-core/blob/develop/doc/rule-descriptions.md).
Our pages forbid every script by CSP, so axe runs in a browser context
opened with ``bypass_csp=True`` for the check alone.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

from playwright.sync_api import Page

from auth0_actions.config.model import Dependency
from auth0_actions.sandbox.deps import ensure_dependencies

REPO = Path(__file__).resolve().parent.parent
AXE_VERSION = "4.14.1"
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa", "best-practice"]


@functools.cache
def axe_script() -> str:
    cache = ensure_dependencies(REPO, [Dependency(name="axe-core", version=AXE_VERSION)])
    assert cache is not None
    return (cache / "node_modules" / "axe-core" / "axe.min.js").read_text(encoding="utf-8")


def violations(tab: Page) -> list[dict[str, Any]]:
    """axe's violations on the tab's page (the tab's context must bypass CSP)."""
    tab.add_script_tag(content=axe_script())
    result = tab.evaluate(
        "tags => axe.run(document, {runOnly: {type: 'tag', values: tags}})", AXE_TAGS
    )
    assert result["passes"], "axe ran no check"
    return [
        {"id": v["id"], "help": v["help"], "nodes": [n["html"] for n in v["nodes"]]}
        for v in result["violations"]
    ]
