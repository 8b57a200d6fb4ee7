"""Claims of bearer tokens already verified, so a client's next request skips RS256.

Checking a token (PyJWT's base64 and JSON decoding and an RS256 signature)
was most of an authenticated request's cost, and a client sends the same
token with every request until it expires. The cache maps the token's exact
string, together with everything the check depended on (the verifying key,
the issuer; the caller's ``context``), to the claims the check returned, and
gives them back only until the token's ``exp``. It never decides anything
itself: a token it does not hold (another string, a tampered one, a token
checked under another key or issuer, an expired one) goes to the verifier,
and only what the verifier accepted is ever put in. Bounded: the least
recently used entries go first.
"""

from __future__ import annotations

import collections
import threading
from collections.abc import Callable, Hashable, Mapping
from typing import Any

from auth0_actions import clock

CACHED_TOKENS = 4096


class TokenCache:
    """Verified tokens' claims, by (context, token), until each token's expiry."""

    def __init__(self, size: int = CACHED_TOKENS, now: Callable[[], float] = clock.now_s) -> None:
        self.size = size
        self._now = now
        self._claims: collections.OrderedDict[
            tuple[Hashable, str], tuple[float, dict[str, Any]]
        ] = collections.OrderedDict()
        self._lock = threading.Lock()

    def claims(
        self,
        token: str,
        context: Hashable,
        verify: Callable[[str], Mapping[str, Any]],
    ) -> dict[str, Any]:
        """The token's claims: cached, or ``verify(token)``'s (whose errors propagate)."""
        key = (context, token)
        with self._lock:
            hit = self._claims.get(key)
            if hit is not None:
                expires, claims = hit
                if self._now() < expires:
                    self._claims.move_to_end(key)
                    return dict(claims)  # a copy: the caller may change its own
                del self._claims[key]
        verified = dict(verify(token))
        until = _expiry(verified)
        if until is not None and self._now() < until:
            with self._lock:
                self._claims[key] = (until, dict(verified))
                self._claims.move_to_end(key)
                while len(self._claims) > self.size:
                    self._claims.popitem(last=False)
        return verified

    def clear(self) -> None:
        """Forget every token (a rotated or revoked key, a reset tenant)."""
        with self._lock:
            self._claims.clear()

    def __len__(self) -> int:
        return len(self._claims)


def _expiry(claims: Mapping[str, Any]) -> float | None:
    """When a verified token stops being valid; None (never cached) without a numeric exp."""
    exp = claims.get("exp")
    if isinstance(exp, bool) or not isinstance(exp, int | float):
        return None
    return float(exp)
