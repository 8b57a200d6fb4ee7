"""Why a tenant request failed, said so that a person knows what to check.

Every message names the tenant by its origin (scheme://host[:port], never a
path, query, token or secret), the cause (DNS name not found, connection
refused, timed out, TLS certificate not trusted, server error after N
attempts, credentials refused, scopes missing) and what to check: the
domain and where it was set, the network or proxy, AUTH0_CA_BUNDLE, the
variables the credentials came from, the Management API scopes the command
needs. :class:`Provenance` carries where the settings came from; the
environment (auth0_actions.environment) fills it in from the resolved target.
"""

from __future__ import annotations

import socket
import ssl
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

import httpx

from auth0_actions.tenant_client.retry import RetryPolicy

CA_BUNDLE_VARIABLE = "AUTH0_CA_BUNDLE"
DASHBOARD_GRANTS = (
    "Auth0 Dashboard > Applications > APIs > Auth0 Management API > Machine To Machine Applications"
)


@dataclass(frozen=True)
class Provenance:
    """Where a client's settings came from: what an error tells a person to check."""

    domain: str = "the domain in tenant.yaml (or $AUTH0_DOMAIN)"
    credentials: str = "the client credentials"
    command: str | None = None  # the CLI command, e.g. "consent grant"
    scopes: tuple[str, ...] = ()  # the Management API scopes the command needs


UNKNOWN_PROVENANCE = Provenance()

CauseKind = Literal["dns", "refused", "timeout", "tls", "dropped"]


@dataclass(frozen=True)
class Cause:
    """Why a call got no answer."""

    kind: CauseKind
    text: str


def _chain(exc: BaseException) -> Iterable[BaseException]:
    seen: BaseException | None = exc
    while seen is not None:
        yield seen
        seen = seen.__cause__ or seen.__context__


def tls_failure(exc: BaseException) -> str | None:
    """Why the tenant's certificate was refused, if that is what happened."""
    for seen in _chain(exc):
        if isinstance(seen, ssl.SSLCertVerificationError):
            return (
                f"the tenant's TLS certificate is not trusted (certificate verification "
                f"failed: {seen.verify_message}); for a private CA set {CA_BUNDLE_VARIABLE} "
                "to its PEM file"
            )
    if "CERTIFICATE_VERIFY_FAILED" in str(exc):
        return (
            "the tenant's TLS certificate is not trusted (certificate verification failed); "
            f"for a private CA set {CA_BUNDLE_VARIABLE} to its PEM file"
        )
    return None


def classify(exc: httpx.TransportError, policy: RetryPolicy, host: str) -> Cause:
    """What went wrong on the way to the tenant."""
    untrusted = tls_failure(exc)
    if untrusted is not None:
        return Cause("tls", untrusted)
    chain = list(_chain(exc))
    if any(isinstance(e, socket.gaierror) for e in chain) or any(
        "name or service not known" in str(e).lower()
        or "nodename nor servname" in str(e).lower()
        or "no address associated" in str(e).lower()
        for e in chain
    ):
        return Cause("dns", f"DNS name not found ({host})")
    if any(isinstance(e, ConnectionRefusedError) for e in chain) or any(
        "connection refused" in str(e).lower() for e in chain
    ):
        return Cause("refused", "connection refused")
    if isinstance(exc, httpx.ConnectTimeout):
        return Cause("timeout", f"timed out connecting (no connection within "
                                f"{policy.connect_timeout_s:g} s)")  # fmt: skip
    if isinstance(exc, httpx.TimeoutException):
        return Cause("timeout", f"timed out (no answer within {policy.read_timeout_s:g} s)")
    if isinstance(exc, httpx.ConnectError):
        return Cause("refused", f"connection failed ({exc.__class__.__name__})")
    return Cause("dropped", f"the connection dropped ({exc.__class__.__name__})")


def is_unreachable(cause: Cause) -> bool:
    """A cause that repeating the call soon is unlikely to cure (bounded more tightly)."""
    return cause.kind in ("refused", "timeout")


def advice(cause: Cause, origin: str, provenance: Provenance) -> str:
    if cause.kind == "dns":
        return f"check the domain: {provenance.domain}"
    if cause.kind == "refused":
        return (
            f"check the domain and port: {provenance.domain}, and that the tenant is up "
            "(a served local tenant: `auth0-actions emulator serve`)"
        )
    if cause.kind == "tls":
        return f"check {CA_BUNDLE_VARIABLE} and the domain: {provenance.domain}"
    return (
        f"check the network and any proxy (HTTPS_PROXY) between here and {origin}, "
        f"and the domain: {provenance.domain}"
    )


def cannot_reach(
    what: str, origin: str, cause: Cause, provenance: Provenance, attempts: int
) -> str:
    """The message for a request that got no answer from the tenant."""
    tries = f" after {attempts} attempts" if attempts > 1 else ""
    if cause.kind == "tls":  # its text already says what to set
        return f"{what}: cannot reach the tenant at {origin}: {cause.text}"
    return (
        f"{what}: cannot reach the tenant at {origin}: {cause.text}{tries}; "
        f"{advice(cause, origin, provenance)}"
    )


def server_error(origin: str, status: int, attempts: int) -> str:
    tries = f" after {attempts} attempts" if attempts > 1 else ""
    return (
        f"; server error {status} from {origin}{tries}: the tenant is failing, not the "
        "request; try again later"
    )


def unauthorized(provenance: Provenance) -> str:
    return f"; the client credentials were refused: check {provenance.credentials}"


def forbidden(provenance: Provenance, granted: frozenset[str] | None) -> str:
    """What to grant: the command's scopes, and which of them the token lacks."""
    whose = f"the application whose credentials come from {provenance.credentials}"
    if not provenance.scopes:
        has = f" (its token grants: {', '.join(sorted(granted)) or 'none'})" if granted else ""
        return (
            f"; {whose} lacks a Management API scope this request needs{has}; "
            f"grant it in {DASHBOARD_GRANTS}"
        )
    needed = ", ".join(provenance.scopes)
    out = f"; `{provenance.command}` needs the Management API scopes {needed}"
    if granted is not None:
        missing = [s for s in provenance.scopes if s not in granted]
        if missing:
            out += f"; missing: {', '.join(missing)}"
    return f"{out}; grant them to {whose} in {DASHBOARD_GRANTS}"


def scrub(text: str, hidden: Iterable[str]) -> str:
    for value in hidden:
        if value:
            text = text.replace(value, "********")
    return text


def describe(what: str, status: int | None, message: str | None, code: str | None) -> str:
    out = f"{what}: {status}" if status is not None else what
    if message:
        out += f" {message}"
    if code:
        out += f" ({code})"
    return out
