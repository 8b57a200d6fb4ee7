"""The authorization server: client authentication, client credentials, OAuth errors.

Auth0's rules (https://auth0.com/docs/get-started/authentication-and-authorization-flow/client-credentials-flow):
a token needs a registered application whose grant types allow the grant, its
secret, an API (resource server) for the audience and a client grant for that
API; the token carries the requested scopes that are granted (all granted
scopes when none are asked for). Errors are OAuth-shaped,
``{"error", "error_description"}``, with Auth0's texts
(node-auth0 #682 for bad credentials; auth0-python #173 for a missing grant).
"""

from __future__ import annotations

import base64
import secrets
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import unquote, urlsplit

from auth0_actions import clock
from auth0_actions.emulator.auth import MANAGEMENT_SCOPES, Client, TokenAuthority
from auth0_actions.emulator.backends.client_grants import ClientGrants
from auth0_actions.emulator.backends.clients import Clients
from auth0_actions.emulator.backends.resource_servers import ResourceServers
from auth0_actions.emulator.http import ApiError, Request
from auth0_actions.emulator.management_scopes import management_api_identifier
from auth0_actions.network import is_loopback_host

GRANT_DOCS = "https://auth0.com/docs/api/v2#!/Client_Grants/post_client_grants"

# The credentials-exchange trigger, for a token about to be issued: (client, audience,
# granted scopes) -> the custom claims to add, or an OAuthError (the actions' deny).
CredentialsExchange = Callable[[Mapping[str, Any], str, list[str]], Mapping[str, Any]]


class OAuthError(ApiError):
    """An error of the Authentication API: ``{"error", "error_description"}``."""

    def __init__(self, status: int, error: str, description: str) -> None:
        super().__init__(status, description, error)
        self.error = error
        self.description = description

    def body(self) -> dict[str, Any]:
        return {"error": self.error, "error_description": self.description}


def unauthorized_client() -> OAuthError:
    return OAuthError(401, "access_denied", "Unauthorized")


def issuer_for(request: Request, canonical: str, public_base_url: str | None) -> str:
    """The issuer a flow gets: the loopback origin it came in on, else the tenant's.

    Auth0 issues tokens through a custom domain with that domain as ``iss``;
    the local tenant's loopback origin is its custom domain, so an OIDC client
    that discovered it at ``http://127.0.0.1:PORT`` finds the issuer it expects.
    """
    host = request.headers.get("host") or ""
    name = urlsplit("//" + host).hostname
    if not name or not is_loopback_host(name):
        return canonical
    scheme = urlsplit(public_base_url).scheme if public_base_url else "http"
    return f"{scheme}://{host}/"


class AuthorizationServer:
    """Who may have which token: applications, APIs and grants together."""

    def __init__(
        self,
        authority: TokenAuthority,
        clients: Clients,
        apis: ResourceServers,
        grants: ClientGrants,
    ) -> None:
        self.authority = authority
        self.clients = clients
        self.apis = apis
        self.grants = grants

    # --- seeding and tests
    def register(
        self,
        client_id: str | None = None,
        client_secret: str | None = None,
        scopes: tuple[str, ...] = MANAGEMENT_SCOPES,
        *,
        name: str = "Management client",
    ) -> Client:
        """A machine-to-machine application granted ``scopes`` on the Management API.

        Kept as it is when it already exists with that secret (restarts);
        otherwise created, or its secret and grant brought in line.
        """
        secret = client_secret or secrets.token_urlsafe(48)
        existing = self.clients.find(client_id) if client_id else None
        if existing is None:
            doc = self.clients.create(
                {"name": name, "app_type": "non_interactive", "client_secret": secret},
                client_id=client_id,
            )
        else:
            doc = self.clients.update(str(existing["client_id"]), {"client_secret": secret})
        audience = management_api_identifier(self.clients.domain)
        grant = self.grants.find(doc["client_id"], audience)
        if grant is None:
            self.grants.create(
                {"client_id": doc["client_id"], "audience": audience, "scope": list(scopes)}
            )
        elif set(grant["scope"]) != set(scopes):
            self.grants.update(grant["id"], {"scope": list(scopes)})
        return Client(doc["client_id"], secret, tuple(scopes))

    # --- client authentication
    def authenticate(self, body: Mapping[str, Any], headers: Mapping[str, str]) -> dict[str, Any]:
        """The application making a token request (secret checked unless it is public)."""
        client_id, secret = str(body.get("client_id") or ""), body.get("client_secret")
        basic = headers.get("authorization") or ""
        if basic.lower().startswith("basic "):
            try:
                pair = base64.b64decode(basic[6:].strip()).decode()
            except ValueError:
                raise unauthorized_client() from None
            user, _, password = pair.partition(":")
            client_id, secret = unquote(user), unquote(password)
        client = self.clients.find(client_id)
        if client is None:
            raise unauthorized_client()
        if Clients.is_public(client) and not secret:
            return client
        if not isinstance(secret, str) or not secrets.compare_digest(
            str(client.get("client_secret", "")).encode(), secret.encode()
        ):
            raise unauthorized_client()
        return client

    @staticmethod
    def require_grant_type(client: Mapping[str, Any], grant_type: str) -> None:
        if grant_type not in (client.get("grant_types") or []):
            raise OAuthError(
                403, "unauthorized_client", f"Grant type '{grant_type}' not allowed for the client."
            )

    # --- client credentials
    def client_credentials(
        self,
        body: Mapping[str, Any],
        headers: Mapping[str, str],
        issuer: str,
        exchange: CredentialsExchange | None = None,
    ) -> dict[str, Any]:
        """A token, once the client, its grant and the scopes are checked.

        ``exchange`` (the credentials-exchange actions, when any are bound) runs
        then, before the token is signed: it may refuse it (an OAuthError, and no
        token), or add custom claims, under the standard ones.
        """
        client = self.authenticate(body, headers)
        if Clients.is_public(client):  # a public client has no secret to prove who it is
            raise OAuthError(
                403,
                "unauthorized_client",
                "Grant type 'client_credentials' not allowed for the client.",
            )
        self.require_grant_type(client, "client_credentials")
        audience = body.get("audience")
        if not isinstance(audience, str) or not audience:
            raise OAuthError(
                403,
                "access_denied",
                "No audience parameter was provided, and no default audience has been configured",
            )
        api = self.apis.find(audience)
        if api is None:
            raise OAuthError(403, "access_denied", f"Service not found: {audience}")
        grant = self.grants.find(client["client_id"], audience)
        if grant is None:
            raise OAuthError(
                403,
                "access_denied",
                f'Client is not authorized to access "{audience}". You need to create a '
                f'"client-grant" associated to this API. See: {GRANT_DOCS}',
            )
        granted = list(grant.get("scope") or [])
        asked = str(body.get("scope") or "").split()
        scopes = [s for s in asked if s in granted] if asked else granted
        custom = dict(exchange(client, audience, scopes)) if exchange is not None else {}
        lifetime = int(api.get("token_lifetime") or 86_400)
        now = int(clock.now_s())
        standard = {
            "iss": issuer,
            "sub": f"{client['client_id']}@clients",
            "aud": audience,
            "iat": now,
            "exp": now + lifetime,
            "scope": " ".join(scopes),
            "gty": "client-credentials",
            "azp": client["client_id"],
        }
        return {
            "access_token": self.authority.sign({**custom, **standard}),
            "token_type": "Bearer",
            "expires_in": lifetime,
            "scope": " ".join(scopes),
        }

    def issue(
        self, client_id: str, client_secret: str, audience: str | None, scope: str | None = None
    ) -> dict[str, Any]:
        """Client credentials without HTTP (tests, tools): as ``POST /oauth/token``, but
        without running the credentials-exchange actions."""
        body = {"client_id": client_id, "client_secret": client_secret, "audience": audience}
        if scope:
            body["scope"] = scope
        return self.client_credentials(body, {}, self.authority.issuer)
