"""Client credentials, RS256 access tokens and the JWKS of the local tenant."""

from __future__ import annotations

import base64
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from auth0_actions import clock
from auth0_actions.emulator.http import ApiError
from auth0_actions.files import write_private, write_private_json

TOKEN_LIFETIME_S = 86_400  # Auth0's default for Management API tokens
KEY_ID = "local-tenant-1"

# Every scope the implemented endpoints check (docs/reference/management-api.md §1-4).
MANAGEMENT_SCOPES = (
    "read:actions",
    "create:actions",
    "update:actions",
    "delete:actions",
    "read:users",
    "create:users",
    "update:users",
    "delete:users",
    "read:rules",
    "create:rules",
    "update:rules",
    "delete:rules",
    "read:rules_configs",
    "update:rules_configs",
    "delete:rules_configs",
    "read:connections",
    "create:connections",
    "update:connections",
    "delete:connections",
    # What the new-tenant defaults answer (backends/tenant_defaults.py; a test
    # checks that every scope they check is here, so Auth0's deploy CLI can export).
    "read:clients",
    "read:resource_servers",
    "read:client_grants",
    "read:grants",
    "read:device_credentials",
    "read:tenant_settings",
    "read:prompts",
    "read:branding",
    "read:phone_providers",
    "read:phone_templates",
    "read:email_templates",
    "read:email_provider",
    "read:custom_domains",
    "read:attack_protection",
    "read:network_acls",
    "read:guardian_factors",
    "read:mfa_policies",
    "read:hooks",
    "read:log_streams",
    "read:event_streams",
    "read:flows",
    "read:flows_vault_connections",
    "read:forms",
    "read:organizations",
    "read:roles",
    "read:self_service_profiles",
    "read:token_exchange_profiles",
    "read:user_attribute_profiles",
    "read:connection_profiles",
    "read:directory_provisionings",
)


@dataclass(frozen=True)
class Client:
    client_id: str
    client_secret: str
    scopes: tuple[str, ...]


def _b64(value: int) -> str:
    raw = value.to_bytes((value.bit_length() + 7) // 8, "big")
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


class TokenAuthority:
    """Signs and verifies the tenant's access tokens."""

    def __init__(self, issuer: str, key_file: Path | None = None) -> None:
        self.issuer = issuer
        self._key = self._load_or_create(key_file)
        self.clients: dict[str, Client] = {}

    @staticmethod
    def _load_or_create(key_file: Path | None) -> rsa.RSAPrivateKey:
        if key_file is not None and key_file.is_file():
            key = serialization.load_pem_private_key(key_file.read_bytes(), password=None)
            if isinstance(key, rsa.RSAPrivateKey):
                return key
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        if key_file is not None:
            key_file.parent.mkdir(parents=True, exist_ok=True)
            pem = key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
            write_private(key_file, pem)
        return key

    def register(
        self,
        client_id: str | None = None,
        client_secret: str | None = None,
        scopes: tuple[str, ...] = MANAGEMENT_SCOPES,
    ) -> Client:
        client = Client(
            client_id or secrets.token_urlsafe(24),
            client_secret or secrets.token_urlsafe(48),
            scopes,
        )
        self.clients[client.client_id] = client
        return client

    def jwks(self) -> dict[str, Any]:
        numbers = self._key.public_key().public_numbers()
        return {
            "keys": [
                {
                    "kty": "RSA",
                    "use": "sig",
                    "alg": "RS256",
                    "kid": KEY_ID,
                    "n": _b64(numbers.n),
                    "e": _b64(numbers.e),
                }
            ]
        }

    def issue(
        self, client_id: str, client_secret: str, audience: str | None, scope: str | None = None
    ) -> dict[str, Any]:
        client = self.clients.get(client_id)
        if client is None or not secrets.compare_digest(client.client_secret, client_secret):
            raise ApiError(
                401,
                "Unauthorized",
                extra={"error_description": "Unauthorized"},
                error_code="access_denied",
            )
        granted = client.scopes
        if scope:
            granted = tuple(s for s in scope.split() if s in client.scopes)
        now = int(clock.now_s())
        claims = {
            "iss": self.issuer,
            "sub": f"{client_id}@clients",
            "aud": audience or f"{self.issuer}api/v2/",
            "iat": now,
            "exp": now + TOKEN_LIFETIME_S,
            "scope": " ".join(granted),
            "gty": "client-credentials",
            "azp": client_id,
        }
        token = jwt.encode(claims, self._key, algorithm="RS256", headers={"kid": KEY_ID})
        return {
            "access_token": token,
            "token_type": "Bearer",
            "expires_in": TOKEN_LIFETIME_S,
            "scope": " ".join(granted),
        }

    def sign(self, claims: dict[str, Any]) -> str:
        return jwt.encode(claims, self._key, algorithm="RS256", headers={"kid": KEY_ID})

    def verify(self, authorization: str | None) -> tuple[str, frozenset[str]]:
        """(client id, scopes) of a valid bearer token, else Auth0's 401."""
        if not authorization or not authorization.lower().startswith("bearer "):
            raise ApiError(
                401,
                "Missing authentication",
                extra={"attributes": {"error": "Missing authentication"}},
            )
        token = authorization[7:].strip()
        try:
            claims = jwt.decode(
                token,
                self._key.public_key(),
                algorithms=["RS256"],
                options={"verify_aud": False},
                issuer=self.issuer,
            )
        except jwt.PyJWTError:
            raise ApiError(
                401, "Invalid token", extra={"attributes": {"error": "Invalid token"}}
            ) from None
        return str(claims.get("azp", "")), frozenset(str(claims.get("scope", "")).split())


def write_credentials(path: Path, data: dict[str, Any]) -> None:
    """credentials.json for clients of a served tenant (0600: it holds a secret)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    write_private_json(path, data)
