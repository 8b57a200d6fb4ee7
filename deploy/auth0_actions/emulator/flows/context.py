"""What a flow knows of the request that started it, for events and log entries."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from auth0_actions.emulator.backends.logs import FlowContext
from auth0_actions.emulator.backends.users import connection_id
from auth0_actions.emulator.http import Request
from auth0_actions.network import is_loopback_host

DEFAULT_CLIENT_NAME = "Local application"


def browser_host(request: Request, tenant_domain: str) -> str:
    """The host name the browser used (its Host header, without the port).

    The loopback address the local tenant listens on stands for the tenant's
    own domain (Auth0's canonical one, which tokens and the consent page use);
    any other name (a custom domain in front of it) is reported as it came.
    """
    host = urlsplit("//" + (request.headers.get("host") or "")).hostname
    if host is None or is_loopback_host(host):
        return tenant_domain
    return host


@dataclass
class Origin:
    """The request behind a flow: who sent it, from where, for which client."""

    ip: str = "127.0.0.1"
    user_agent: str = ""
    hostname: str = ""
    client_id: str | None = None
    client_name: str = DEFAULT_CLIENT_NAME
    transaction: dict[str, Any] | None = None  # the login transaction, from the pages
    body: dict[str, Any] = field(default_factory=dict)  # event.request.body (no password)

    @classmethod
    def of(cls, request: Request, tenant_domain: str, **more: Any) -> Origin:
        return cls(
            ip=request.headers.get("x-forwarded-for", "127.0.0.1").split(",")[0].strip(),
            user_agent=request.headers.get("user-agent", ""),
            hostname=browser_host(request, tenant_domain),
            **more,
        )

    def request_event(self, method: str = "POST") -> dict[str, Any]:
        """``event.request`` for the trigger (geoip stays the trigger's sample)."""
        return {
            "ip": self.ip,
            "method": method,
            "hostname": self.hostname,
            "user_agent": self.user_agent,
            "language": "en",
        }

    def log_context(self, connection: str | None, user: dict[str, Any] | None) -> FlowContext:
        user = user or {}
        return FlowContext(
            client_id=self.client_id,
            client_name=self.client_name if self.client_id else None,
            connection=connection,
            connection_id=connection_id(connection) if connection else None,
            strategy="auth0" if connection else None,
            strategy_type="database" if connection else None,
            ip=self.ip,
            user_agent=self.user_agent or None,
            hostname=self.hostname or None,
            user_id=user.get("user_id"),
            user_name=user.get("email") or user.get("username"),
        )
