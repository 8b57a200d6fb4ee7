"""``.auth0-local/credentials.json``: how a served local tenant is reached (its one reader).

``auth0-actions emulator serve`` publishes the served tenant's base URL,
domain, audience, CA and client credentials there (0600: it holds the
client secret); the target, the tenant client and the consent page read it
through :func:`read_published`, and the emulator writes it under
:data:`LOCAL_CREDENTIALS_FILE`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from auth0_actions.errors import ConfigError
from auth0_actions.secrets import LOCAL_STATE_DIR, Secret

LOCAL_CREDENTIALS_FILE = "credentials.json"
# As messages show it: relative to the project root.
PUBLISHED_PATH = f"{LOCAL_STATE_DIR}/{LOCAL_CREDENTIALS_FILE}"


@dataclass(frozen=True)
class PublishedCredentials:
    """What a served local tenant published; any field may be missing from a hand-edited file."""

    base_url: str | None
    domain: str | None
    audience: str | None
    client_id: str | None
    client_secret: Secret | None = field(repr=False)
    ca_path: str | None  # relative to the project root, or absolute
    # The consent self-service page's application (a confidential client).
    self_service_client_id: str | None = None
    self_service_client_secret: Secret | None = field(default=None, repr=False)


def credentials_path(root: Path) -> Path:
    return root / LOCAL_STATE_DIR / LOCAL_CREDENTIALS_FILE


def read_published(root: Path) -> PublishedCredentials | None:
    """The published credentials of the project at ``root``; None when nothing is served.

    A file that is there but unreadable is a ConfigError naming it.
    """
    path = credentials_path(root)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        raise ConfigError(f"{path}: unreadable ({exc.__class__.__name__})") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: must be a JSON object")

    def text(name: str) -> str | None:
        value = data.get(name)
        return value if isinstance(value, str) and value else None

    secret = text("client_secret")
    self_service_secret = text("self_service_client_secret")
    return PublishedCredentials(
        base_url=text("base_url"),
        domain=text("domain"),
        audience=text("audience"),
        client_id=text("client_id"),
        client_secret=Secret(secret) if secret is not None else None,
        ca_path=text("ca_path"),
        self_service_client_id=text("self_service_client_id"),
        self_service_client_secret=(
            Secret(self_service_secret) if self_service_secret is not None else None
        ),
    )
