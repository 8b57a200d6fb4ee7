"""Fault injection for tests and benchmarks: latency, Auth0's rate limits, faults, holds.

:class:`FaultInjector` applies them to every request and logs what arrived.
A :class:`Fault` fails matching requests, before they are handled (the
tenant never saw them) or, with ``phase="after"``, once they were handled
(the write went through, the answer is lost). A :class:`Hold` parks one
matching request until the test releases it, so a test can kill a client
at an exact step: the held request is then dropped, never answered.
"""

from __future__ import annotations

import contextlib
import math
import random
import re
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Literal

from auth0_actions import clock
from auth0_actions.emulator.http import ApiError
from auth0_actions.emulator.request_log import LoggedRequest, RequestLog

# Sustained requests per second and burst, per Auth0's published policies
# (docs/reference/management-api.md §5). "none" disables limiting.
RATE_PROFILES: dict[str, tuple[float, int] | None] = {
    "none": None,
    "free": (2.0, 2),
    "self-service": (16.0, 16),
    "enterprise": (16.0, 50),
    "legacy-free": (10.0, 10),
    "legacy-paid": (50.0, 50),
}


class DropConnection(Exception):
    """Close the connection without an answer (a dropped connection fault)."""


@dataclass
class Fault:
    """Fail matching requests: with a status, or by dropping the connection."""

    method: str  # "*" for any
    path: str  # regex matched against the path
    status: int | None = 503  # None: drop the connection
    times: int | None = 1  # how many matching requests fail; None: all
    probability: float = 1.0
    # "before": the request is refused unseen; "after": it is handled, then the
    # answer is replaced (a status) or lost (a drop): the unclear outcome of a write.
    phase: Literal["before", "after"] = "before"
    # A 429 fault says when to come back, as Auth0 does: x-ratelimit-reset is
    # this many seconds ahead (rounded up to the next whole second).
    reset_s: float = 1.0

    def matches(self, method: str, path: str) -> bool:
        return (self.method in ("*", method)) and re.search(self.path, path) is not None


@dataclass
class Hold:
    """Park one matching request (the ``skip``-th one after ``armed_by``, if given).

    ``phase="before"``: it is held unhandled; ``"after"``: handled, its answer held.
    The test waits on :attr:`reached`, does what it must (kill the client), then
    calls :meth:`release`: the held request is dropped without an answer.
    """

    method: str
    path: str
    phase: Literal["before", "after"] = "before"
    skip: int = 0  # matching requests let through first
    armed_by: tuple[str, str] | None = None  # (method, path regex) handled first
    timeout_s: float = 30.0  # a forgotten hold frees its request after this long
    reached: threading.Event = field(default_factory=threading.Event)
    released: threading.Event = field(default_factory=threading.Event)
    held: LoggedRequest | None = None
    _armed: bool = False

    def release(self) -> None:
        self.released.set()


@dataclass
class FaultInjector:
    """What stands between a request and its handler: latency, rate limits, faults, holds.

    It also keeps the request log tests read (:meth:`requests`), bounded
    (:mod:`auth0_actions.emulator.request_log`).
    """

    latency_ms: float = 0.0
    rate_per_s: float | None = None
    burst: int = 0
    faults: list[Fault] = field(default_factory=list)
    holds: list[Hold] = field(default_factory=list)
    log: RequestLog = field(default_factory=RequestLog)
    seed: int | None = None
    _tokens: float = 0.0
    _last: float = field(default_factory=time.monotonic)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _idle: threading.Condition = field(default_factory=threading.Condition)
    _in_flight: int = 0
    _random: random.Random = field(default_factory=random.Random)

    def __post_init__(self) -> None:
        if self.seed is not None:
            self._random.seed(self.seed)

    def set_seed(self, seed: int | None) -> None:
        """Make random faults (probability < 1) repeatable."""
        with self._lock:
            self.seed = seed
            self._random.seed(seed)

    def use_profile(self, name: str) -> None:
        profile = RATE_PROFILES[name]
        self.set_rate_limit(*(profile or (None, 0)))

    def set_rate_limit(self, per_second: float | None, burst: int = 0) -> None:
        with self._lock:
            self.rate_per_s = per_second
            self.burst = max(1, burst or int(per_second or 1)) if per_second else 0
            self._tokens = float(self.burst)
            self._last = time.monotonic()

    def record(self, entry: LoggedRequest) -> None:
        self.log.append(entry)  # the log has its own lock

    @contextlib.contextmanager
    def handling(self) -> Iterator[None]:
        """Count a request as in flight from its arrival until it is answered or dropped."""
        with self._idle:
            self._in_flight += 1
        try:
            yield
        finally:
            with self._idle:
                self._in_flight -= 1
                if self._in_flight == 0:  # only wait_idle waits, and only for zero
                    self._idle.notify_all()

    def wait_idle(self, timeout: float = 10.0) -> bool:
        """Wait until no request is being handled, so the log holds everything that arrived.

        A client killed mid-run can leave requests the server is still handling;
        a test that reads the log right after the kill would see them late.
        """
        with self._idle:
            return self._idle.wait_for(lambda: self._in_flight == 0, timeout)

    def requests(self, method: str | None = None, path: str | None = None) -> list[LoggedRequest]:
        entries = self.log.entries()
        return [
            e
            for e in entries
            if (method is None or e.method == method) and (path is None or re.search(path, e.path))
        ]

    def before(self, method: str, path: str) -> dict[str, str]:
        """Apply latency, rate limiting, holds and faults; returns rate-limit headers."""
        if self.latency_ms:
            time.sleep(self.latency_ms / 1000)
        headers = self._take_token()
        self.hold_point(method, path, "before")
        self._fault(method, path, "before", headers)
        return headers

    def after(self, method: str, path: str, headers: dict[str, str]) -> None:
        """After the request was handled: holds and faults of the "after" phase."""
        self.hold_point(method, path, "after")
        self._fault(method, path, "after", headers)

    def _fault(self, method: str, path: str, phase: str, headers: dict[str, str]) -> None:
        with self._lock:
            for fault in self.faults:
                if fault.times == 0 or fault.phase != phase or not fault.matches(method, path):
                    continue
                if self._random.random() >= fault.probability:
                    continue
                if fault.times is not None:
                    fault.times -= 1
                if fault.status is None:
                    raise DropConnection
                if fault.status == 429:
                    reset = math.ceil(clock.now_s() + fault.reset_s)
                    headers = {
                        **headers,
                        "x-ratelimit-limit": headers.get("x-ratelimit-limit", "50"),
                        "x-ratelimit-remaining": "0",
                        "x-ratelimit-reset": str(reset),
                    }
                raise ApiError(fault.status, "Injected fault", "injected_fault", headers=headers)

    def hold_point(self, method: str, path: str, phase: str) -> None:
        """Park the request if a hold takes it; a released hold drops it."""
        taken: Hold | None = None
        with self._lock:
            for hold in self.holds:
                if hold.armed_by is not None and not hold._armed:
                    # Armed once the arming request was handled (its "after" point).
                    arm_method, arm_path = hold.armed_by
                    seen = arm_method in ("*", method) and re.search(arm_path, path)
                    if phase == "after" and seen:
                        hold._armed = True
                    continue
                if hold.reached.is_set() or hold.phase != phase:
                    continue
                if hold.method not in ("*", method) or re.search(hold.path, path) is None:
                    continue
                if hold.skip > 0:
                    hold.skip -= 1
                    continue
                hold.held = LoggedRequest(method, path, {}, None, at=clock.now_s())
                hold.reached.set()
                taken = hold
                break
        if taken is not None:
            taken.released.wait(taken.timeout_s)
            raise DropConnection

    def _take_token(self) -> dict[str, str]:
        with self._lock:
            if not self.rate_per_s:
                return {}
            now = time.monotonic()
            self._tokens = min(self.burst, self._tokens + (now - self._last) * self.rate_per_s)
            self._last = now
            if self._tokens < 1:
                headers = {
                    "x-ratelimit-limit": str(self.burst),
                    "x-ratelimit-remaining": "0",
                    "x-ratelimit-reset": str(
                        int(clock.now_s() + (1 - self._tokens) / self.rate_per_s) + 1
                    ),
                }
                raise ApiError(
                    429, "Global limit has been reached", "too_many_requests", headers=headers
                )
            self._tokens -= 1
            # When the bucket is full again, this request's token included, rounded up to
            # a whole second (a UNIX time in seconds, as Auth0 sends it).
            reset = math.ceil(clock.now_s() + (self.burst - self._tokens) / self.rate_per_s)
            return {
                "x-ratelimit-limit": str(self.burst),
                "x-ratelimit-remaining": str(int(self._tokens)),
                "x-ratelimit-reset": str(reset),
            }
