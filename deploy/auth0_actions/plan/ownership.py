"""Adoption decisions: a live action this tool did not deploy is taken over only by name.

A plan holding an ``adopt`` change that was not asked for (``--adopt NAME``)
must not be applied: the action's code and secrets would be replaced
silently. :func:`require_adoptions` is the one check ``plan`` (after showing
the plan), ``apply`` (before writing anything) and ``promote`` (which never
adopts) make.
"""

from __future__ import annotations

from collections.abc import Collection

from auth0_actions.errors import Auth0ActionsError
from auth0_actions.plan.changes import Adopt, Plan


class AdoptionError(Auth0ActionsError):
    """The plan would take over live actions nobody asked to adopt (or --adopt is wrong)."""


def _flags(names: Collection[str]) -> str:
    return " ".join(f"--adopt {name}" for name in sorted(names))


def require_adoptions(plan: Plan, adopt: Collection[str]) -> None:
    """Raise unless every adopt change was asked for and every --adopt NAME matched one."""
    env = plan.environment
    adopts = [c for c in plan.changes if isinstance(c, Adopt)]
    unknown = sorted(set(adopt) - {c.action for c in adopts})
    if unknown:
        awaiting = ", ".join(sorted(c.action or "" for c in adopts)) or "none"
        raise AdoptionError(
            f"{_flags(unknown)}: no live action of that name awaits adoption in {env} "
            f"(actions to adopt: {awaiting}). Nothing was changed"
        )
    headerless = [c for c in adopts if not c.header]
    if headerless:
        names = ", ".join(f"{c.where} (live id {c.action_id})" for c in headerless)
        raise AdoptionError(
            f"cannot adopt {names} with --adopt: its tenant.yaml entry has header: false and "
            f"environments.{env}.adopted.actions records another id for it, so the code apply "
            "deploys carries no provenance header and the next plan could not tell the "
            "action is ours. Record this live id there (NAME: ID) if it is the one imported, "
            "or remove the stale entry so that apply deploys it with the header, or bring it "
            f"in with `auth0-actions import --env {env} --action NAME`. Nothing was changed"
        )
    pending = plan.pending_adoptions()
    if pending:
        names = ", ".join(f"{c.where} (live id {c.action_id})" for c in pending)
        flags = _flags([c.action or "" for c in pending])
        raise AdoptionError(
            f"tenant.yaml declares {names}, but the live action of that name was not "
            "deployed by auth0-actions: applying would replace its code and secrets. Review "
            f"the adopt change(s) in `auth0-actions plan --env {env} {flags}`, then run "
            f"`auth0-actions apply --env {env} {flags}` to take it over (or rename the "
            "action in tenant.yaml). Nothing was changed"
        )
