"""The one source of the current time, and Auth0's timestamp format.

Auth0 writes timestamps as UTC ISO-8601 with a ``Z``: milliseconds on users
and jobs (``2026-05-29T10:45:58.888Z``), nanoseconds on actions and versions
(``2026-05-29T10:45:58.888947671Z``). Code that needs "now" calls
:func:`now_ns` or :func:`now_s` here, so a test can move time in one place.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime


def now_ns() -> int:
    """Nanoseconds since the epoch."""
    return time.time_ns()


def now_s() -> float:
    """Seconds since the epoch."""
    return now_ns() / 1_000_000_000


def iso_utc(ns: int | None = None, *, digits: int = 3) -> str:
    """``ns`` (default: now) as Auth0 writes it: UTC, ``digits`` fraction digits (3 or 9), Z."""
    if digits not in (3, 9):
        raise ValueError(f"digits must be 3 or 9, not {digits}")
    stamp = now_ns() if ns is None else ns
    seconds, fraction = divmod(stamp, 1_000_000_000)
    if digits == 3:
        fraction //= 1_000_000
    whole = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds))
    return f"{whole}.{fraction:0{digits}d}Z"


def iso_from_datetime(moment: datetime) -> str:
    """A datetime as Auth0's millisecond UTC timestamp."""
    utc = moment.astimezone(UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"
