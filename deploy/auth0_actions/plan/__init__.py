"""Plan: what would change in a tenant to make it match tenant.yaml and actions/<env>/.

Read-only. :func:`plan_environment` renders the environment (refusing a stale
actions/), reads the tenant through the TenantClient port and returns a
:class:`Plan` of typed changes in a fixed order.
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
from auth0_actions.plan.diff import build_plan
from auth0_actions.plan.state import (
    PROVENANCE_MARKER,
    DesiredAction,
    DesiredState,
    LiveState,
    desired_state,
    live_state,
    plan_environment,
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
