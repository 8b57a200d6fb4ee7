"""The verified-token cache: a token is checked (RS256) once, and never trusted beyond that.

The local tenant answers as Auth0 does: a Management API call needs a valid
access token, and an expired, tampered or foreign one is refused with 401
(https://auth0.com/docs/secure/tokens/access-tokens/validate-access-tokens).
The cache may only spare a repeated check of a token already accepted, until
its ``exp``.
"""

from __future__ import annotations

import base64
import json
import time
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from auth0_actions import clock
from auth0_actions.emulator.auth import TokenAuthority
from auth0_actions.emulator.http import ApiError
from auth0_actions.emulator.token_cache import TokenCache

ISSUER = "https://local.auth0-actions.test/"


@pytest.fixture
def authority() -> TokenAuthority:
    return TokenAuthority(ISSUER)


def _bearer(token: str) -> str:
    return f"Bearer {token}"


def _token(authority: TokenAuthority, scope: str = "read:users") -> str:
    """A client-credentials token for the Management API, as /oauth/token signs it."""
    now = int(time.time())
    return authority.sign(
        {
            "iss": ISSUER,
            "sub": "cli@clients",
            "aud": f"{ISSUER}api/v2/",
            "azp": "cli",
            "scope": scope,
            "gty": "client-credentials",
            "iat": now,
            "exp": now + 3600,
        }
    )


def _refused(authority: TokenAuthority, token: str) -> None:
    with pytest.raises(ApiError) as refused:
        authority.verify(_bearer(token))
    assert refused.value.status == 401
    assert refused.value.body()["message"] == "Invalid token"


def _count_decodes(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    seen: list[str] = []
    real = jwt.decode

    def counting(token: str, *args: Any, **kwargs: Any) -> Any:
        seen.append(token)
        return real(token, *args, **kwargs)

    monkeypatch.setattr(jwt, "decode", counting)
    return seen


def test_a_token_is_verified_once_then_answered_from_the_cache(
    authority: TokenAuthority, monkeypatch: pytest.MonkeyPatch
) -> None:
    token = _token(authority)
    decodes = _count_decodes(monkeypatch)
    first = authority.verify(_bearer(token))
    again = [authority.verify(_bearer(token)) for _ in range(5)]
    assert first == ("cli", frozenset({"read:users"}))
    assert again == [first] * 5
    assert decodes == [token]


def test_a_tampered_token_is_refused_after_the_original_was_cached(
    authority: TokenAuthority,
) -> None:
    token = _token(authority)
    authority.verify(_bearer(token))  # cached
    header, payload, signature = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["scope"] = "read:users update:users delete:users"
    forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    _refused(authority, f"{header}.{forged}.{signature}")
    flipped = signature[:-2] + ("A" if signature[-2] != "A" else "B") + signature[-1]
    _refused(authority, f"{header}.{payload}.{flipped}")
    _refused(authority, token + "x")
    assert authority.verify(_bearer(token)) == ("cli", frozenset({"read:users"}))


def test_tokens_of_another_key_or_issuer_are_refused(authority: TokenAuthority) -> None:
    authority.verify(_bearer(_token(authority)))
    other_key = TokenAuthority(ISSUER)  # same issuer and kid, another signing key
    _refused(authority, _token(other_key))
    now = int(time.time())
    other_issuer = authority.sign(
        {"iss": "https://evil.example.com/", "azp": "cli", "iat": now, "exp": now + 60}
    )
    _refused(authority, other_issuer)


def test_a_rotated_signing_key_invalidates_cached_tokens(authority: TokenAuthority) -> None:
    token = _token(authority)
    assert authority.verify(_bearer(token))[0] == "cli"  # cached under the first key
    authority._key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    _refused(authority, token)
    assert authority.verify(_bearer(_token(authority)))[0] == "cli"


def test_a_cached_token_is_refused_once_it_expires(authority: TokenAuthority) -> None:
    exp = int(time.time()) + 1
    token = authority.sign(
        {
            "iss": ISSUER,
            "aud": f"{ISSUER}api/v2/",
            "azp": "cli",
            "scope": "read:users",
            "iat": exp - 1,
            "exp": exp,
        }
    )
    assert authority.verify(_bearer(token))[0] == "cli"  # cached until exp
    while time.time() < exp + 0.05:
        time.sleep(0.05)
    _refused(authority, token)


class _Clock:
    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now


def test_the_cache_returns_claims_only_before_exp_and_re_verifies_after() -> None:
    fake = _Clock()
    cache = TokenCache(now=fake)
    calls: list[str] = []

    def verify(token: str) -> dict[str, Any]:
        calls.append(token)
        if fake.now >= 1_010:
            raise jwt.ExpiredSignatureError("expired")
        return {"azp": "cli", "exp": 1_010}

    assert cache.claims("t", "ctx", verify)["azp"] == "cli"
    fake.now = 1_009.9
    assert cache.claims("t", "ctx", verify)["azp"] == "cli"
    assert calls == ["t"]
    fake.now = 1_010.0  # PyJWT's rule: expired when exp <= now
    with pytest.raises(jwt.ExpiredSignatureError):
        cache.claims("t", "ctx", verify)
    assert calls == ["t", "t"]
    assert len(cache) == 0


def test_the_cache_keeps_nothing_the_verifier_refused_and_nothing_without_exp() -> None:
    cache = TokenCache(now=_Clock())

    def refuse(token: str) -> dict[str, Any]:
        raise jwt.InvalidSignatureError("bad")

    with pytest.raises(jwt.InvalidSignatureError):
        cache.claims("t", "ctx", refuse)
    calls: list[str] = []

    def no_exp(token: str) -> dict[str, Any]:
        calls.append(token)
        return {"azp": "cli"}

    cache.claims("u", "ctx", no_exp)
    cache.claims("u", "ctx", no_exp)
    assert calls == ["u", "u"]
    assert len(cache) == 0


def test_the_cache_is_keyed_by_context_and_bounded_least_recently_used_first() -> None:
    cache = TokenCache(size=3, now=_Clock())
    calls: list[tuple[str, str]] = []

    def verifier(context: str) -> Any:
        def verify(token: str) -> dict[str, Any]:
            calls.append((context, token))
            return {"sub": token, "exp": 2_000}

        return verify

    for token in ("a", "b", "c"):
        cache.claims(token, "k1", verifier("k1"))
    cache.claims("a", "k1", verifier("k1"))  # a is now the most recently used
    cache.claims("d", "k1", verifier("k1"))  # evicts b
    assert len(cache) == 3
    calls.clear()
    cache.claims("a", "k1", verifier("k1"))
    cache.claims("b", "k1", verifier("k1"))
    cache.claims("a", "k2", verifier("k2"))  # another key: verified again
    assert calls == [("k1", "b"), ("k2", "a")]


def test_callers_cannot_change_the_cached_claims() -> None:
    cache = TokenCache(now=_Clock())
    first = cache.claims("t", "ctx", lambda _: {"scope": "read:users", "exp": 2_000})
    first["scope"] = "delete:users"
    assert cache.claims("t", "ctx", lambda _: {})["scope"] == "read:users"


def test_the_default_clock_is_the_tenants(monkeypatch: pytest.MonkeyPatch) -> None:
    cache = TokenCache()
    monkeypatch.setattr(clock, "now_ns", lambda: 5_000 * 1_000_000_000)
    cache.claims("t", "ctx", lambda _: {"exp": 5_001})

    def expired(token: str) -> dict[str, Any]:
        raise jwt.ExpiredSignatureError("expired")

    assert cache.claims("t", "ctx", expired)["exp"] == 5_001
    monkeypatch.setattr(clock, "now_ns", lambda: 5_001 * 1_000_000_000)
    with pytest.raises(jwt.ExpiredSignatureError):
        cache.claims("t", "ctx", expired)
