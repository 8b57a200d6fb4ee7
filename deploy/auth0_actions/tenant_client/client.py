"""TenantClient: the one port to a tenant's Management API, an API area per mixin.

Everything that reads or writes a tenant goes through :class:`TenantClient`,
a thin layer over auth0-python 6.x: each method is one SDK call (plus
pagination) and returns frozen values (:mod:`.values`), so no SDK type,
pydantic model or httpx exception leaves the package. A real tenant and
the local tenant take the same path over real HTTP
(:func:`auth0_actions.tenant_client.connect.open_tenant_client`).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlsplit

from auth0_actions.errors import ConfigError
from auth0_actions.network import is_loopback_host
from auth0_actions.target import Target
from auth0_actions.tenant_client.actions import ActionsApi
from auth0_actions.tenant_client.failures import Provenance
from auth0_actions.tenant_client.jobs import JobsApi
from auth0_actions.tenant_client.modules import ModulesApi
from auth0_actions.tenant_client.pacing import Pacer, rate_limit_of
from auth0_actions.tenant_client.retry import DEFAULT_POLICY, RetryPolicy
from auth0_actions.tenant_client.scopes import running_command, scopes_for
from auth0_actions.tenant_client.transport import ClientCredentials, trust
from auth0_actions.tenant_client.users import UsersApi


def provenance_of(target: Target, command: str | None) -> Provenance:
    """What a failure message tells a person to check, for this target and command."""
    return Provenance(
        domain=target.domain_source,
        credentials=target.credential_source,
        command=command,
        scopes=scopes_for(command),
    )


class TenantClient(ActionsApi, ModulesApi, UsersApi, JobsApi):
    """Actions, versions, bindings, Actions Modules, users and export jobs of one tenant."""

    def __repr__(self) -> str:
        return f"TenantClient({self.base_url!r})"

    @classmethod
    def for_target(
        cls,
        target: Target,
        *,
        audience: str | None = None,
        retry: RetryPolicy = DEFAULT_POLICY,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        timeout: float | None = None,
        ca_bundle: Path | None = None,
        command: str | None = None,
        pacer: Pacer | None = None,
    ) -> TenantClient:
        """A client for a real or served tenant (not the embedded one: see open_tenant_client).

        ``ca_bundle``: a PEM file of the CA(s) to trust instead of the system store.
        ``timeout`` overrides the policy's connect and read timeouts. ``command``
        (default: the CLI command running) names the scopes a 403 asks for.
        ``pacer`` (default: one from the target's ``rate_limit``) paces every request.
        """
        if target.base_url is None:
            raise ConfigError(
                f"environment {target.environment}: the embedded local tenant is reached "
                "through open_tenant_client"
            )
        if not target.client_id or target.client_secret is None:
            raise ConfigError(f"environment {target.environment}: no client credentials")
        parts = urlsplit(target.base_url)
        if parts.scheme == "http" and not is_loopback_host(parts.hostname or ""):
            raise ConfigError(f"{target.base_url}: http only reaches a tenant on loopback")
        verify = trust(ca_bundle) if ca_bundle is not None else True
        credentials = ClientCredentials(
            target.base_url,
            target.client_id,
            target.client_secret,
            audience or f"https://{target.domain}/api/v2/",
            retry=retry,
            clock=clock,
            sleep=sleep,
            timeout=timeout,
            verify=verify,
            provenance=provenance_of(target, command or running_command()),
        )
        # Real time, whatever ``sleep`` is: a test that fakes the retry loop's waits
        # still sends no faster than the tenant allows.
        if pacer is None:
            pacer = Pacer(rate_limit_of(target.rate_limit))
        return cls(
            target.base_url,
            credentials,
            retry=retry,
            sleep=sleep,
            timeout=timeout,
            verify=verify,
            pacer=pacer,
        )

    def __enter__(self) -> TenantClient:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()
