"""What the self-service page needs from tenant.yaml, and how it reaches the tenant.

The page signs users in through the tenant as its own application (a
confidential client: ``environments.<env>.self_service_client_id_env`` /
``self_service_client_secret_env`` name the variables; the local tenant
seeds a "Consent self-service" application and publishes its id and secret
in ``.auth0-local/credentials.json``). It reads and writes the user's ledger
with the environment's Management API client, as the CLI does, and signs
ledger events and receipts with the environment's ``CONSENT_LEDGER_SECRET``.

The served local tenant's port changes between runs, so where the tenant is
and which credentials it published are read per request, as the consent
page reads where ``/continue`` is.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from auth0_actions.config import ConsentPolicy, Project
from auth0_actions.consent.receipt_key import ReceiptKey, receipt_key
from auth0_actions.consent.receipts import receipt_service
from auth0_actions.consent_page.settings import TenantUnreachable, origin_of
from auth0_actions.environment import Environment, open_environment
from auth0_actions.errors import ConfigError, SecretError
from auth0_actions.secrets import Secret
from auth0_actions.served_credentials import PUBLISHED_PATH, read_published
from auth0_actions.target import Target
from auth0_actions.tenant_client import TenantClient

LEDGER_SECRET = "CONSENT_LEDGER_SECRET"  # noqa: S105 (a secret's name)


@dataclass(frozen=True)
class TenantEndpoint:
    """Where the tenant answers right now, and the application the page signs in as."""

    base_url: str  # scheme://host[:port]
    client_id: str
    client_secret: Secret = field(repr=False)
    verify: str | bool = True  # a CA bundle (the local tenant's TLS) or the system store

    @property
    def issuer(self) -> str:
        """The id_token's ``iss``: Auth0 issues ``https://{domain}/`` (a trailing slash)."""
        return self.base_url + "/"


@dataclass(frozen=True)
class SelfServiceSettings:
    """Everything the self-service page works with; no secret ever prints."""

    policy: ConsentPolicy
    root: Path  # the project: consent_texts/ are read from here
    page_url: str  # where the page is published (consent.self_service_url, resolved)
    ledger_key: Secret = field(repr=False)
    endpoint: Callable[[], TenantEndpoint]
    management: Callable[[], AbstractContextManager[TenantClient]]
    service: str  # what receipts name as the service (receipts.receipt_service)
    receipt_key: ReceiptKey = field(repr=False)
    support_email: str | None = None

    @property
    def callback_url(self) -> str:
        return self.page_url.rstrip("/") + "/callback"

    @property
    def secure_cookies(self) -> bool:
        return self.page_url.startswith("https://")


def _client_from_environment(environment: Environment) -> tuple[str, Secret] | None:
    settings = environment.view.settings
    id_name, secret_name = (
        settings.self_service_client_id_env,
        settings.self_service_client_secret_env,
    )
    if id_name is None and secret_name is None:
        return None
    if id_name is None or secret_name is None:
        raise ConfigError(
            f"{environment.project.path}: environments.{environment.name} names only one of "
            "self_service_client_id_env and self_service_client_secret_env"
        )
    env = os.environ if environment.environ is None else environment.environ
    client_id, client_secret = env.get(id_name), env.get(secret_name)
    missing = [
        name for name, value in ((id_name, client_id), (secret_name, client_secret)) if not value
    ]
    if missing or client_id is None or client_secret is None:
        raise SecretError(
            f"the self-service page of environment {environment.name} needs these "
            f"environment variables set: {', '.join(missing)}"
        )
    return client_id, Secret(client_secret)


def _local_endpoint(root: Path) -> Callable[[], TenantEndpoint]:
    def locate() -> TenantEndpoint:
        try:
            published = read_published(root)
        except ConfigError:
            published = None
        if (
            published is None
            or published.base_url is None
            or published.self_service_client_id is None
            or published.self_service_client_secret is None
        ):
            raise TenantUnreachable(
                f"the local tenant is not being served ({PUBLISHED_PATH} is missing or has no "
                "self-service client): run `auth0-actions emulator serve`"
            )
        verify: str | bool = True
        if published.ca_path is not None:
            verify = str(root / published.ca_path)
        return TenantEndpoint(
            origin_of(published.base_url),
            published.self_service_client_id,
            published.self_service_client_secret,
            verify,
        )

    return locate


def _local_management(
    environment: Environment,
) -> Callable[[], AbstractContextManager[TenantClient]]:
    """The served local tenant's Management API (never a second, embedded tenant)."""

    @contextmanager
    def open_client() -> Iterator[TenantClient]:
        from auth0_actions.tenant_client.connect import connect

        published = read_published(environment.project.root)
        if published is None or published.base_url is None:
            raise TenantUnreachable(f"the local tenant is not being served ({PUBLISHED_PATH})")
        target = Target(
            environment.name,
            published.domain or "",
            origin_of(published.base_url),
            published.client_id,
            published.client_secret,
            {"client_id": PUBLISHED_PATH, "client_secret": PUBLISHED_PATH},
            environment.view.settings.rate_limit,
        )
        with connect(environment.project, target, environment.environ, local=True) as client:
            yield client

    return open_client


def self_service_for_environment(
    tenant: Project,
    env_name: str,
    *,
    tenant_url: str | None = None,
    environ: Mapping[str, str] | None = None,
) -> SelfServiceSettings | None:
    """The self-service page's settings, or None when the environment names no client for it.

    The local environment always has one (the local tenant seeds it).
    """
    environment = open_environment(tenant, env_name, environ, require_credentials=False)
    secret = environment.secret_values().get(LEDGER_SECRET)
    if secret is None:
        raise SecretError(
            f"{tenant.path}: no action of environment {env_name} declares the secret "
            f"{LEDGER_SECRET}, so the self-service page cannot sign ledger events"
        )
    support = environment.view.settings.values.get("support_email")
    target = environment.target
    if environment.is_local and target.embedded and tenant_url is None:
        endpoint = _local_endpoint(tenant.root)
        management = _local_management(environment)
    else:
        client = _client_from_environment(environment)
        if client is None:
            if not environment.is_local:
                return None
            # A local environment pointed at a served tenant: its published client.
            local = _local_endpoint(tenant.root)
            endpoint = local
        else:
            base = origin_of(tenant_url or target.base_url or f"https://{target.domain}")
            fixed = TenantEndpoint(base, client[0], client[1])
            endpoint = lambda: fixed  # noqa: E731 (a constant locator)
        management = environment.tenant_client
    return SelfServiceSettings(
        policy=environment.consent,
        root=tenant.root,
        page_url=environment.consent.resolved_self_service_url,
        ledger_key=secret,
        endpoint=endpoint,
        management=management,
        service=receipt_service(environment.view.settings.domain, local=environment.is_local),
        receipt_key=receipt_key(environment),
        support_email=support if isinstance(support, str) and support else None,
    )
