"""The request log stays bounded however long the tenant runs, and its counts stay right.

A served tenant (a CI job, ``emulator serve`` left running, a benchmark's
million requests) must not grow without bound: the log keeps the newest
requests in full and counts every one.
"""

from __future__ import annotations

import json

import pytest

from auth0_actions.emulator.app import Emulator
from auth0_actions.emulator.request_log import LOG_ENTRIES, LoggedRequest, RequestLog
from auth0_actions.emulator.server import answer


def _entry(n: int, *, method: str = "GET", status: int = 200, size: int = 0) -> LoggedRequest:
    return LoggedRequest(method, f"/api/v2/users/{n}", {}, None, status=status, size=size)


def test_the_log_keeps_the_newest_entries_and_counts_all() -> None:
    log = RequestLog(entries=100)
    for n in range(10_000):
        log.append(_entry(n, method="PATCH" if n % 4 == 0 else "GET", status=404 if n % 5 else 200))
    assert log.kept == 100
    assert len(log) == 10_000  # the position of the next request
    assert [e.path for e in log] == [f"/api/v2/users/{n}" for n in range(9_900, 10_000)]
    assert log.total == 10_000
    assert log.count() == 10_000
    assert log.count("PATCH") == 2_500
    assert log.count(status=200) == 2_000
    assert log.count("PATCH", 200) == 500  # multiples of 20
    assert log.count("DELETE") == 0


def test_the_log_bounds_the_bodies_it_holds() -> None:
    log = RequestLog(entries=1_000, body_bytes=10_000)
    for n in range(50):
        log.append(_entry(n, method="POST", size=1_000))
    assert log.kept == 10
    assert log.entries()[0].path == "/api/v2/users/40"
    log.append(_entry(50, method="POST", size=50_000))  # one body over the budget alone
    assert [e.path for e in log] == ["/api/v2/users/50"]
    assert log.total == 51


def test_positions_count_every_request_so_a_mark_survives_eviction() -> None:
    log = RequestLog(entries=10)
    for n in range(25):
        log.append(_entry(n))
    mark = len(log)
    for n in range(25, 30):
        log.append(_entry(n))
    assert [e.path for e in log[mark:]] == [f"/api/v2/users/{n}" for n in range(25, 30)]
    assert log[-1].path == "/api/v2/users/29"
    assert log[20].path == "/api/v2/users/20"
    assert [e.path for e in log[0:22]] == ["/api/v2/users/20", "/api/v2/users/21"]
    with pytest.raises(IndexError):
        log[19]  # evicted


def test_clear_forgets_entries_and_counts() -> None:
    log = RequestLog()
    log.append(_entry(1, size=10))
    log.clear()
    assert (log.kept, len(log), log.count()) == (0, 0, 0)


def test_many_requests_through_the_server_leave_a_bounded_log_with_right_counts() -> None:
    app = Emulator()
    try:
        client = app.oauth.register()
        token = app.oauth.issue(
            client.client_id, client.client_secret, f"https://{app.domain}/api/v2/"
        )
        auth = {"authorization": f"Bearer {token['access_token']}"}
        app.store.put("user", "auth0|1", {"user_id": "auth0|1", "email": "a@example.com"})
        body = json.dumps({"user_metadata": {"lang": "en"}}).encode()
        total = LOG_ENTRIES + 500
        sent: list[tuple[str, str, int]] = []
        for n in range(total):
            if n % 3 == 0:
                answer(app, "GET", "/api/v2/users/auth0%7C1", auth, b"")
                sent.append(("GET", "/api/v2/users/auth0%7C1", 200))
            elif n % 3 == 1:
                answer(app, "GET", f"/api/v2/no-such-path?n={n}", {}, b"")
                sent.append(("GET", "/api/v2/no-such-path", 401))  # no token: 401 before 404
            else:
                answer(app, "POST", "/api/v2/no-such-path", {}, body)
                sent.append(("POST", "/api/v2/no-such-path", 401))
        log = app.injector.log
        assert log.kept == LOG_ENTRIES
        assert log.total == total
        for method, status in (("GET", 200), ("GET", 401), ("POST", 401)):
            assert log.count(method, status) == sum(
                (m, st) == (method, status) for m, _, st in sent
            )
        kept = app.injector.requests()
        assert [(e.method, e.path, e.status) for e in kept] == sent[-LOG_ENTRIES:]
        assert app.injector.requests("POST")[-1].body == {"user_metadata": {"lang": "en"}}
        last_missing = max(n for n in range(total) if n % 3 == 1)
        assert app.injector.requests("GET", "no-such")[-1].query == {"n": [str(last_missing)]}
    finally:
        app.close()
