"""Which tenant an environment addresses, and with which credentials.

tenant.yaml gives each environment a domain and the NAMES of the variables
holding its client credentials. A CI job may override all three for the
environment it targets with AUTH0_DOMAIN, AUTH0_CLIENT_ID and
AUTH0_CLIENT_SECRET. A domain may be a URL (``https://127.0.0.1:8443``) to
reach a served local tenant. The local environment needs no variables: its
credentials come from the local tenant itself.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from auth0_actions.config import EnvironmentView, Project
from auth0_actions.config.checks import LOCAL, domain_problem
from auth0_actions.errors import ConfigError, SecretError
from auth0_actions.secrets import CLIENT_SECRET_OVERRIDE, LOCAL_STATE_DIR, Secret

DOMAIN_OVERRIDE = "AUTH0_DOMAIN"
CLIENT_ID_OVERRIDE = "AUTH0_CLIENT_ID"
LOCAL_CREDENTIALS_FILE = "credentials.json"


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


def _split_domain(domain: str) -> tuple[str, str | None]:
    if domain == LOCAL:
        return LOCAL, None
    if "://" in domain:
        parts = urlsplit(domain)
        return parts.netloc, f"{parts.scheme}://{parts.netloc}"
    return domain, f"https://{domain}"


def _local_credentials(tenant: Project) -> tuple[str | None, Secret | None]:
    """Credentials a served local tenant wrote for its clients, if any."""
    path = tenant.root / LOCAL_STATE_DIR / LOCAL_CREDENTIALS_FILE
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None, None
    except (OSError, ValueError) as exc:
        raise ConfigError(f"{path}: unreadable ({exc.__class__.__name__})") from None
    client_id = data.get("client_id") if isinstance(data, dict) else None
    secret = data.get("client_secret") if isinstance(data, dict) else None
    return (
        client_id if isinstance(client_id, str) else None,
        Secret(secret) if isinstance(secret, str) else None,
    )


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
            origins["client_id"] = origins["client_secret"] = "the embedded local tenant"  # noqa: S105
        else:
            client_id, client_secret = _local_credentials(tenant)
            where = str(Path(LOCAL_STATE_DIR) / LOCAL_CREDENTIALS_FILE)
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
    return Target(view.name, domain, base_url, client_id, client_secret, origins)
