"""What the consent page needs from tenant.yaml: the secret, the issuer, where /continue is.

The secret is the environment's CONSENT_SESSION_SECRET, read once, as apply
reads it: the local environment's generated value from
``.auth0-local/secrets.json``, any other environment's from the variable
tenant.yaml names. The issuer is what the redirect Action puts in ``iss``
(``event.request.hostname``): the tenant's hostname, or for the local tenant
the emulator's domain. The texts and words the page shows come from the
environment's consent policy and consent_texts/, read once (``catalog``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from auth0_actions.config import Project
from auth0_actions.consent_page.catalog import Catalog, load_catalog
from auth0_actions.emulator.app import DEFAULT_DOMAIN
from auth0_actions.environment import open_environment
from auth0_actions.errors import ConfigError, SecretError
from auth0_actions.secrets import Secret
from auth0_actions.served_credentials import PUBLISHED_PATH, read_published

SECRET_NAME = "CONSENT_SESSION_SECRET"  # noqa: S105 (a secret's name)


class TenantUnreachable(Exception):
    """Where the tenant's /continue is cannot be known right now."""


TenantLocator = Callable[[], str]


@dataclass(frozen=True)
class PageSettings:
    """Everything the server checks tokens against; the secret never prints."""

    secret: Secret = field(repr=False)
    issuer: str
    tenant_url: TenantLocator  # base URL of the tenant (scheme://host[:port]), per request
    catalog: Catalog
    support_email: str | None = None


def fixed_tenant(url: str) -> TenantLocator:
    base = origin_of(url)
    return lambda: base


def served_local_tenant(root: Path) -> TenantLocator:
    """The local tenant served by ``emulator serve``: its port changes, so read it per request."""

    def locate() -> str:
        try:
            published = read_published(root)
        except ConfigError:
            published = None  # hand-edited beyond reading: as good as not served
        if published is not None and published.base_url is not None:
            return origin_of(published.base_url)
        raise TenantUnreachable(
            f"the local tenant is not being served ({PUBLISHED_PATH} is missing): run "
            "`auth0-actions emulator serve`, or pass --tenant-url"
        )

    return locate


def origin_of(url: str) -> str:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ConfigError(f"not an http(s) URL: {url!r}")
    return f"{parts.scheme}://{parts.netloc}"


def settings_for_environment(
    tenant: Project,
    env_name: str,
    *,
    tenant_url: str | None = None,
    issuer: str | None = None,
    environ: Mapping[str, str] | None = None,
) -> PageSettings:
    """The consent page settings of one environment of tenant.yaml."""
    environment = open_environment(tenant, env_name, environ, require_credentials=False)
    view, target = environment.view, environment.target
    secret = environment.secret_values().get(SECRET_NAME)
    if secret is None:
        raise SecretError(
            f"{tenant.path}: no action of environment {env_name} declares the secret "
            f"{SECRET_NAME}, so no consent page can check its tokens"
        )
    if issuer is None:
        # A custom domain changes event.request.hostname: pass --issuer then.
        if view.is_local:
            issuer = DEFAULT_DOMAIN
        elif target.base_url is not None:
            issuer = urlsplit(target.base_url).hostname or target.domain
        else:
            issuer = target.domain
    if tenant_url is not None:
        locator = fixed_tenant(tenant_url)
    elif target.base_url is not None:
        locator = fixed_tenant(target.base_url)
    else:
        locator = served_local_tenant(tenant.root)
    support = view.settings.values.get("support_email")
    try:
        catalog = load_catalog(view.consent, tenant.root)
    except OSError as exc:
        # Validated on load: a text removed since then.
        raise ConfigError(f"cannot read a consent text: {exc}") from None
    return PageSettings(
        secret=secret,
        issuer=issuer,
        tenant_url=locator,
        catalog=catalog,
        support_email=support if isinstance(support, str) and support else None,
    )
