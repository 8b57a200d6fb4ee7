"""The tenant's signing key: RS256 tokens, their verification, and the JWKS."""

from __future__ import annotations

import base64
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from auth0_actions.emulator.http import ApiError
from auth0_actions.emulator.management_scopes import MANAGEMENT_API_SCOPES, is_management_audience
from auth0_actions.emulator.token_cache import TokenCache
from auth0_actions.files import write_private, write_private_json
from auth0_actions.network import is_loopback_host

TOKEN_LIFETIME_S = 86_400  # Auth0's default for Management API tokens
KEY_ID = "local-tenant-1"
_PRINCIPALS_KEPT = 4096

# Every scope of the Management API: what the management client is granted.
MANAGEMENT_SCOPES = MANAGEMENT_API_SCOPES


@dataclass(frozen=True)
class Client:
    client_id: str
    client_secret: str
    scopes: tuple[str, ...]


@dataclass(frozen=True)
class Principal:
    """Who a verified access token speaks for."""

    subject: str  # a user id, or "<client_id>@clients" for client credentials
    client_id: str  # azp: the application the token was issued to
    scopes: frozenset[str]
    audiences: tuple[str, ...]

    @property
    def is_client(self) -> bool:
        """Client credentials: the application itself, not a signed-in user."""
        return self.subject == f"{self.client_id}@clients"


def _unauthorized(message: str) -> ApiError:
    return ApiError(401, message, extra={"attributes": {"error": message}})


def _b64(value: int) -> str:
    raw = value.to_bytes((value.bit_length() + 7) // 8, "big")
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


class TokenAuthority:
    """Signs and verifies the tenant's access tokens."""

    def __init__(self, issuer: str, key_file: Path | None = None) -> None:
        self.issuer = issuer
        self._key = self._load_or_create(key_file)
        self._verified = TokenCache()  # RS256 once per token, not once per request
        # A verified token's principal: splitting a 200-scope string per request was a
        # fifth of an authenticated GET's time in the app (bench/emulator.py).
        self._principals: dict[str, Principal] = {}

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

    def sign(self, claims: dict[str, Any]) -> str:
        return jwt.encode(claims, self._key, algorithm="RS256", headers={"kid": KEY_ID})

    def decode(self, token: str) -> dict[str, Any]:
        """The claims of a token this tenant signed, else Auth0's 401.

        The issuer is the tenant's canonical ``https://{domain}/`` or, for a
        flow that came in on a loopback origin, that origin (Auth0 issues
        through a custom domain the same way): any issuer on loopback is this
        tenant, and the signature proves the token is its own.
        """
        try:
            # The context holds all the signature check depends on (the key): a
            # rotated key re-verifies. The issuer is checked below, on every call.
            claims: dict[str, Any] = self._verified.claims(
                token,
                (self._key,),
                lambda t: jwt.decode(
                    t,
                    self._key.public_key(),
                    algorithms=["RS256"],
                    options={"verify_aud": False},
                ),
            )
        except jwt.PyJWTError:
            raise _unauthorized("Invalid token") from None
        issuer = str(claims.get("iss", ""))
        host = urlsplit(issuer).hostname
        if issuer != self.issuer and not (host and is_loopback_host(host)):
            raise _unauthorized("Invalid token")
        return claims

    def principal(self, authorization: str | None) -> Principal:
        """Who a Management API bearer token speaks for: its audience must be the API's."""
        if not authorization or not authorization.lower().startswith("bearer "):
            raise _unauthorized("Missing authentication")
        token = authorization[7:].strip()
        claims = self.decode(token)  # verified (or answered from the cache) and unexpired
        known = self._principals.get(token)
        if known is not None:
            return known  # what follows depends on the claims alone
        audience = claims.get("aud")
        audiences = tuple(audience if isinstance(audience, list) else [audience])
        domain = urlsplit(self.issuer).netloc
        if not any(isinstance(a, str) and is_management_audience(a, domain) for a in audiences):
            raise _unauthorized("Bad audience: " + " ".join(str(a) for a in audiences))
        principal = Principal(
            str(claims.get("sub", "")),
            str(claims.get("azp", "")),
            frozenset(str(claims.get("scope", "")).split()),
            tuple(str(a) for a in audiences),
        )
        if len(self._principals) >= _PRINCIPALS_KEPT:
            self._principals.clear()  # a bound, not an LRU: tokens are few and long-lived
        self._principals[token] = principal
        return principal

    def verify(self, authorization: str | None) -> tuple[str, frozenset[str]]:
        """(client id, scopes) of a valid Management API token, else Auth0's 401."""
        principal = self.principal(authorization)
        return principal.client_id, principal.scopes


def write_credentials(path: Path, data: dict[str, Any]) -> None:
    """credentials.json for clients of a served tenant (0600: it holds a secret)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    write_private_json(path, data)
