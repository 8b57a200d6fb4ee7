"""Promote: ship to the next environment only what is proven in the previous one.

``promote --from dev --to prod`` first plans dev: when dev's tenant differs
from dev's rendered state in any way (a change to make, or drift such as a
draft edited by hand or an orphan), the promotion is refused, since prod
would get code that never ran as committed in dev. Otherwise prod is planned
from prod's own render (prod's values and secrets) and applied like
``apply --env prod``.

Both renders come from the same templates in the same checkout, and both
must be fresh (``desired_state`` refuses a stale one), so a clean dev is
evidence for the templates prod is about to run.
"""

from __future__ import annotations

from collections.abc import Mapping

from auth0_actions.config import Project
from auth0_actions.errors import Auth0ActionsError
from auth0_actions.plan.changes import Plan
from auth0_actions.plan.state import plan_environment


class PromotionRefused(Auth0ActionsError):
    """The source environment's tenant does not match its rendered state."""

    def __init__(self, message: str, source_plan: Plan) -> None:
        super().__init__(message)
        self.source_plan = source_plan


def check_source(
    tenant: Project,
    source: str,
    target: str,
    *,
    environ: Mapping[str, str] | None = None,
) -> Plan:
    """Plan ``source``; refuse (PromotionRefused, carrying that plan) unless it is empty."""
    if source == target:
        raise Auth0ActionsError(f"promote --from and --to are both {source}; name two environments")
    tenant.environment(target)  # an unknown target fails before any tenant is read
    plan = plan_environment(tenant, source, environ=environ)
    if plan.changes or plan.drift:
        found = []
        if plan.changes:
            found.append(f"{len(plan.changes)} change(s) to apply")
        if plan.drift:
            found.append(f"{len(plan.drift)} drift finding(s)")
        raise PromotionRefused(
            f"refusing to promote {source} to {target}: {source}'s tenant does not match its "
            f"rendered state ({', '.join(found)}). Nothing was changed in {target}. Apply "
            f"to {source} (`auth0-actions apply --env {source}`), check it, then promote",
            plan,
        )
    return plan
