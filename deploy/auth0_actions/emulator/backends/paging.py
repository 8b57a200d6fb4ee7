"""Auth0's page/per_page/include_totals over a list of rendered documents."""

from __future__ import annotations

from typing import Any

from auth0_actions.emulator.http import Request


def paged(request: Request, items: list[dict[str, Any]], key: str) -> Any:
    """A bare array, or ``{start, limit, total, <key>}`` with include_totals (the OpenAPI shape).

    Without page or per_page every item is listed, as Auth0 lists these
    collections when paging is not asked for.
    """
    asked = request.arg("page") is not None or request.arg("per_page") is not None
    size = request.int_arg("per_page", 50, low=0, high=100)
    start = request.int_arg("page", 0) * size
    chunk = items[start : start + size] if asked else items
    if not request.bool_arg("include_totals"):
        return chunk
    return {"start": start, "limit": size, "total": len(items), key: chunk}
