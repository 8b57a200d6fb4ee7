"""Safety thresholds: a plan that removes more than tenant.yaml allows needs --force.

As octoDNS's ``Plan.raise_if_unsafe``: the count of each removing kind of
change is held against ``safety.max_<kind>`` of the environment (its
override over the top-level block). ``plan`` shows a warning for each
threshold exceeded; ``apply`` and ``promote`` refuse the plan unless forced.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from auth0_actions.config import Project, SafetyThresholds
from auth0_actions.errors import Auth0ActionsError
from auth0_actions.plan.changes import Plan

# threshold key -> the change kind it counts, and the word for one of them. A module
# delete is held against max_deletes on its own: prod's 0 then guards modules too.
_LIMITED = (
    ("max_deletes", "delete", "action"),
    ("max_deletes", "module-delete", "module"),
    ("max_unbinds", "unbind", "binding"),
)


class UnsafePlanError(Auth0ActionsError):
    """The plan removes more than a safety threshold allows, and --force was not given."""


@dataclass(frozen=True)
class Exceeded:
    """One threshold the plan goes over."""

    threshold: str  # max_deletes | max_unbinds
    limit: int
    count: int
    noun: str  # action | module | binding

    @property
    def verb(self) -> str:
        return "deletes" if self.threshold == "max_deletes" else "unbinds"

    def describe(self, environment: str) -> str:
        plural = "" if self.count == 1 else "s"
        return (
            f"the plan {self.verb} {self.count} {self.noun}{plural} in {environment}, "
            f"over safety.{self.threshold} ({self.limit})"
        )

    @property
    def data(self) -> dict[str, Any]:
        return {"threshold": self.threshold, "limit": self.limit, "count": self.count}


def thresholds(tenant: Project, environment: str) -> SafetyThresholds:
    tenant.environment(environment)  # an unknown name is a clear error, not a KeyError
    return tenant.config.safety_for(environment)


def exceeded(plan: Plan, limits: SafetyThresholds) -> list[Exceeded]:
    """Every threshold the plan goes over (empty when the plan is within all of them)."""
    counts = plan.counts()
    found = []
    for key, kind, noun in _LIMITED:
        limit = int(getattr(limits, key))
        if counts[kind] > limit:
            found.append(Exceeded(key, limit, counts[kind], noun))
    return found


def warnings(plan: Plan, limits: SafetyThresholds) -> list[str]:
    """What `plan` prints: one line per threshold exceeded."""
    return [
        f"warning: {e.describe(plan.environment)}; apply will refuse it without --force"
        for e in exceeded(plan, limits)
    ]


def raise_if_unsafe(plan: Plan, limits: SafetyThresholds, *, force: bool) -> None:
    """Refuse a plan over any threshold unless ``force``; the message says how to proceed."""
    over = exceeded(plan, limits)
    if not over or force:
        return
    reasons = "; ".join(e.describe(plan.environment) for e in over)
    raise UnsafePlanError(
        f"refusing to apply: {reasons}. Nothing was changed. Review the plan and run "
        "again with --force to apply it anyway, or raise the threshold in tenant.yaml"
    )
