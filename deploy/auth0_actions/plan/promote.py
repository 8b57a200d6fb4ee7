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

Before any of that, both environments' targets are resolved and compared:
when dev and prod reach the same tenant (the same domain or URL, whether
from tenant.yaml or from ``AUTH0_DOMAIN``, which overrides every
environment's domain), promote would deploy prod's render over the very
tenant it just called proven. It is refused before the tenant is read.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from urllib.parse import urlsplit

from auth0_actions.config import Project
from auth0_actions.environment import open_environment
from auth0_actions.errors import Auth0ActionsError
from auth0_actions.network import is_loopback_host
from auth0_actions.plan.changes import Plan
from auth0_actions.plan.planner import plan_environment
from auth0_actions.target import DOMAIN_OVERRIDE, Target


class PromotionRefused(Auth0ActionsError):
    """The source environment's tenant does not match its rendered state."""

    def __init__(self, message: str, source_plan: Plan) -> None:
        super().__init__(message)
        self.source_plan = source_plan


class SameTenantError(Auth0ActionsError):
    """--from and --to resolve to one tenant: promoting would overwrite the proven one."""


def tenant_identity(target: Target) -> str:
    """Which tenant a target reaches, so that two spellings of one tenant compare equal.

    The host is compared without case and with its port made explicit
    (``acme.eu.auth0.com`` is ``https://acme.eu.auth0.com:443``); every
    loopback name counts as one host, since a port there is one server
    whatever the name it is reached by.
    """
    if target.base_url is None:
        return "the embedded local tenant"
    parts = urlsplit(target.base_url)
    host = (parts.hostname or "").rstrip(".").lower()
    if is_loopback_host(host):
        host = "loopback"
    port = parts.port or (80 if parts.scheme == "http" else 443)
    return f"{host}:{port}"


def refuse_same_tenant(
    tenant: Project, source: str, target: str, environ: Mapping[str, str] | None = None
) -> None:
    """Raise SameTenantError when both environments resolve to one tenant; reads no tenant."""
    # Credentials are not needed to know where a target is: a missing one is
    # reported when the tenant is opened, after this check has passed.
    ends = [
        open_environment(tenant, name, environ, require_credentials=False).target
        for name in (source, target)
    ]
    if tenant_identity(ends[0]) != tenant_identity(ends[1]):
        return
    where = ends[0].base_url or "the embedded local tenant"
    if ends[1].base_url != ends[0].base_url:
        where = f"{where} and {ends[1].base_url}, the same tenant"
    refusing = f"refusing to promote {source} to {target}"
    nothing = "Nothing was read or changed"
    if (os.environ if environ is None else environ).get(DOMAIN_OVERRIDE):
        raise SameTenantError(
            f"{refusing}: {DOMAIN_OVERRIDE} is set, so {source} and {target} both resolve to "
            f"{where} ({DOMAIN_OVERRIDE} overrides every environment's domain). Unset it for "
            f"promote, which takes each environment's domain from {tenant.path}. {nothing}"
        )
    raise SameTenantError(
        f"{refusing}: {tenant.path}: environments.{source}.domain and "
        f"environments.{target}.domain both resolve to {where}. Give each environment its "
        f"own tenant. {nothing}"
    )


def check_source(
    tenant: Project,
    source: str,
    target: str,
    *,
    environ: Mapping[str, str] | None = None,
) -> Plan:
    """Plan ``source``; refuse (PromotionRefused, carrying that plan) unless it is empty.

    Refused before any tenant is read when the two are one environment, or
    resolve to one tenant (:func:`refuse_same_tenant`).
    """
    if source == target:
        raise Auth0ActionsError(f"promote --from and --to are both {source}; name two environments")
    tenant.environment(target)  # an unknown target fails before any tenant is read
    refuse_same_tenant(tenant, source, target, environ)
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
