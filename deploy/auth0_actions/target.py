"""Which tenant an environment addresses, and with which credentials.

tenant.yaml gives each environment a domain and the NAMES of the variables
holding its client credentials. A CI job may override all three for the
environment it targets with AUTH0_DOMAIN, AUTH0_CLIENT_ID and
AUTH0_CLIENT_SECRET. A domain may be a URL (``https://127.0.0.1:8443``) to
reach a served local tenant. The local environment needs no variables: its
credentials come from the local tenant itself.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from auth0_actions.config import EnvironmentView, Project
from auth0_actions.config.checks import LOCAL, domain_problem
from auth0_actions.errors import ConfigError, SecretError
from auth0_actions.secrets import CLIENT_SECRET_OVERRIDE, Secret
from auth0_actions.served_credentials import (
    LOCAL_CREDENTIALS_FILE,
    PUBLISHED_PATH,
    read_published,
)

DOMAIN_OVERRIDE = "AUTH0_DOMAIN"
CLIENT_ID_OVERRIDE = "AUTH0_CLIENT_ID"
EMBEDDED = "the embedded local tenant"
__all__ = ["LOCAL_CREDENTIALS_FILE", "Target", "resolve_target"]


@dataclass(frozen=True)
class Target:
    """A resolved environment: where its tenant is and how to authenticate."""

    environment: str
    domain: str  # 'local', or host[:port]
    base_url: str | None  # https://host[:port]; None for the embedded local tenant
    client_id: str | None
    client_secret: Secret | None = field(repr=False)
    # Where each setting came from, for people checking a CI setup.
    origins: Mapping[str, str]
    # environments.<env>.rate_limit: a plan name, requests per second, or None (learn).
    rate_limit: str | float | None = None

    @property
    def embedded(self) -> bool:
        return self.base_url is None

    def describe(self) -> dict[str, object]:
        """A printable summary: never the secret, only whether it is present."""
        return {
            "environment": self.environment,
            "domain": self.domain,
            "base_url": self.base_url,
            "embedded_local_tenant": self.embedded,
            "client_id": self.client_id,
            "client_secret": (
                "provided by the local tenant"
                if self.embedded
                else ("set" if self.client_secret else "not set")
            ),
            "origins": dict(self.origins),
        }

    @property
    def domain_source(self) -> str:
        """Where the domain was set, for messages that say what to check."""
        origin = self.origins.get("domain")
        if origin is None:
            return f"the domain {self.domain}"
        if origin.startswith("$"):
            return f"{origin} = {self.domain}"
        return f"environments.{self.environment}.domain = {self.domain} in {origin}"

    @property
    def credential_source(self) -> str:
        """Where the client id and secret came from: variable names or a file, never values."""
        id_from = self.origins.get("client_id")
        secret_from = self.origins.get("client_secret")
        if id_from is None and secret_from is None:
            return "the client credentials"
        if id_from == EMBEDDED:
            return f"{EMBEDDED}'s own client"
        if id_from == PUBLISHED_PATH:
            return (
                f"client_id and client_secret in {PUBLISHED_PATH} "
                "(written by `auth0-actions emulator serve`)"
            )
        pair = " and ".join(v for v in (id_from, secret_from) if v)
        if id_from == f"${CLIENT_ID_OVERRIDE}" and secret_from == f"${CLIENT_SECRET_OVERRIDE}":
            return f"{pair} (the CI overrides)"
        return (
            f"{pair} (named by environments.{self.environment}.client_id_env / client_secret_env)"
        )


def _split_domain(domain: str) -> tuple[str, str | None]:
    if domain == LOCAL:
        return LOCAL, None
    if "://" in domain:
        parts = urlsplit(domain)
        return parts.netloc, f"{parts.scheme}://{parts.netloc}"
    return domain, f"https://{domain}"


def resolve_target(
    tenant: Project,
    view: EnvironmentView,
    environ: Mapping[str, str] | None = None,
    *,
    require_credentials: bool = True,
) -> Target:
    """Resolve view's tenant; with require_credentials, fail naming missing variables."""
    env = os.environ if environ is None else environ
    origins: dict[str, str] = {}
    domain_setting = env.get(DOMAIN_OVERRIDE) or view.settings.domain
    origins["domain"] = f"${DOMAIN_OVERRIDE}" if env.get(DOMAIN_OVERRIDE) else str(tenant.path)
    problem = domain_problem(view.name, domain_setting)
    if problem:
        raise ConfigError(f"{origins['domain']}: domain {problem} (environment {view.name})")
    domain, base_url = _split_domain(domain_setting)

    client_id: str | None = None
    client_secret: Secret | None = None
    missing: list[str] = []
    settings = view.settings
    if env.get(CLIENT_ID_OVERRIDE):
        client_id, origins["client_id"] = env[CLIENT_ID_OVERRIDE], f"${CLIENT_ID_OVERRIDE}"
    elif settings.client_id_env:
        client_id = env.get(settings.client_id_env) or None
        origins["client_id"] = f"${settings.client_id_env}"
        if client_id is None:
            missing.append(settings.client_id_env)
    if env.get(CLIENT_SECRET_OVERRIDE):
        client_secret = Secret(env[CLIENT_SECRET_OVERRIDE])
        origins["client_secret"] = f"${CLIENT_SECRET_OVERRIDE}"
    elif settings.client_secret_env:
        value = env.get(settings.client_secret_env)
        client_secret = Secret(value) if value else None
        origins["client_secret"] = f"${settings.client_secret_env}"
        if client_secret is None:
            missing.append(settings.client_secret_env)

    if view.is_local and client_id is None:
        if base_url is None:
            origins["client_id"] = origins["client_secret"] = EMBEDDED
        else:
            published = read_published(tenant.root)
            if published is not None:
                client_id, client_secret = published.client_id, published.client_secret
            where = PUBLISHED_PATH
            origins["client_id"] = origins["client_secret"] = where
            if client_id is None and require_credentials:
                raise SecretError(
                    f"environment {view.name}: no credentials for the local tenant at "
                    f"{base_url}: {where} is missing; set {CLIENT_ID_OVERRIDE} and "
                    f"{CLIENT_SECRET_OVERRIDE}"
                )
    if missing and require_credentials:
        raise SecretError(
            f"environment {view.name} needs these environment variables set: "
            + ", ".join(missing)
            + f" (or {CLIENT_ID_OVERRIDE} / {CLIENT_SECRET_OVERRIDE})"
        )
    return Target(
        view.name, domain, base_url, client_id, client_secret, origins, settings.rate_limit
    )
