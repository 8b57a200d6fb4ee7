"""Plan: what would change in a tenant to make it match tenant.yaml and actions/<env>/.

Planning is read-only: :func:`plan_environment` (in ``planner``) renders the environment
(refusing a stale actions/), reads the tenant through the TenantClient port
(``state``) and returns a :class:`Plan` of typed changes (``changes``) in a
fixed order. ``report`` shows a plan; ``apply`` carries it out; ``saved``
keeps it for a later apply; ``promote`` and ``safety`` guard it; and
``rollback`` redeploys an earlier version of one action.
"""

from auth0_actions.plan.changes import (
    Bind,
    Change,
    Create,
    Delete,
    Deploy,
    Drift,
    Plan,
    Reorder,
    Unbind,
    Update,
)
from auth0_actions.plan.planner import build_plan, plan_environment
from auth0_actions.plan.state import (
    PROVENANCE_MARKER,
    DesiredAction,
    DesiredState,
    LiveState,
    desired_state,
    live_state,
)

__all__ = [
    "PROVENANCE_MARKER",
    "Bind",
    "Change",
    "Create",
    "Delete",
    "Deploy",
    "DesiredAction",
    "DesiredState",
    "Drift",
    "LiveState",
    "Plan",
    "Reorder",
    "Unbind",
    "Update",
    "build_plan",
    "desired_state",
    "live_state",
    "plan_environment",
]
