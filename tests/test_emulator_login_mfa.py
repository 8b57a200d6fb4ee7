"""The MFA step: a post-login action asks for MFA, the login challenges before the code.

https://auth0.com/docs/customize/actions/explore-triggers/signup-and-login-triggers/login-trigger/post-login-api-object
(api.multifactor.enable: "the actual multifactor challenge will be deferred to the end of
the login flow"; api.authentication.challengeWith). The local tenant's factor is an
authenticator app's one-time password (RFC 6238 TOTP); the tests compute the codes from
the secret the enrolment page shows, as an authenticator app would.
"""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

import httpx
from test_emulator_login_fidelity import APP, at_app, bind, login, on_execute, tenant, tokens

from auth0_actions import clock
from auth0_actions.emulator.app import Emulator
from auth0_actions.emulator.backends.mfa import totp

__all__ = ["tenant"]  # the fixture, shared with the fidelity tests

USER_ID = "auth0|fidelity0000000000000001"
AUTHORIZE = {"client_id": "app", "redirect_uri": APP, "response_type": "code"}
STEP_UP = (
    "https://auth0.com/docs/secure/multi-factor-authentication/step-up-authentication/"
    "configure-step-up-authentication-for-web-apps"
)


def challenge(base: str) -> tuple[httpx.Client, str, str]:
    """Log in up to the challenge: the browser (with its cookie), the state, the page."""
    browser = httpx.Client(base_url=base, follow_redirects=False)
    away = login(base, client=browser)
    assert away.status_code == 302
    location = away.headers["location"]
    assert location.startswith("/u/mfa-otp-challenge?")
    state = parse_qs(urlsplit(location).query)["state"][0]
    page = browser.get(location)
    assert page.status_code == 200
    return browser, state, page.text


def shown_secret(page: str) -> str:
    found = re.search(r'id="otp-secret">([A-Z2-7]+)<', page)
    assert found, page
    return found.group(1)


def test_totp_matches_rfc_6238_test_vectors() -> None:
    """RFC 6238 Appendix B (SHA-1, secret "12345678901234567890"): the codes every
    authenticator app computes."""
    secret = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"  # base32 of the ASCII secret
    assert totp(secret, 59, digits=8) == "94287082"
    assert totp(secret, 1111111109, digits=8) == "07081804"
    assert totp(secret, 1234567890, digits=8) == "89005924"
    assert totp(secret, 59) == "287082"


def test_multifactor_enable_enrols_then_challenges_before_the_code(
    tenant: tuple[Emulator, str],
) -> None:
    """multifactor.enable: the challenge runs when the flow ends, before the app gets a
    code. A user with no factor enrols (secret and otpauth URI shown); a wrong code
    re-renders the form with an error; the right one issues the code, and the ID token
    carries amr ["mfa"] (STEP_UP)."""
    app, base = tenant
    bind(app, on_execute("api.multifactor.enable('any');"))
    browser, state, page = challenge(base)
    secret = shown_secret(page)
    assert f"otpauth://totp/{app.domain}%3Ajane%40example.com?secret={secret}" in page
    wrong = browser.post("/u/mfa-otp-challenge", data={"state": state, "code": "000000"})
    assert wrong.status_code == 400
    assert 'role="alert"' in wrong.text
    assert secret in wrong.text  # still enrolling: the same secret
    code = totp(secret, clock.now_s())
    done = browser.post("/u/mfa-otp-challenge", data={"state": state, "code": code})
    issued = tokens(base, at_app(done)["code"])
    assert issued["id"]["amr"] == ["mfa"]
    user = app.store.get("user", USER_ID)
    assert user is not None
    assert user["multifactor"] == ["guardian"]
    # The code cannot be used twice (RFC 6238 §5.2), even by the same browser.
    replay = browser.post("/u/mfa-otp-challenge", data={"state": state, "code": code})
    assert replay.status_code == 400


def test_an_enrolled_user_is_challenged_without_a_new_secret(
    tenant: tuple[Emulator, str],
) -> None:
    """challengeWith({type: 'otp'}) (API object): an enrolled user only enters a code;
    later logins see the factor in event.user.enrolledFactors and event.user.multifactor
    (https://auth0.com/docs/customize/actions/explore-triggers/signup-and-login-triggers/login-trigger/post-login-event-object)."""
    app, base = tenant
    bind(
        app,
        on_execute(
            """
            api.idToken.setCustomClaim('https://acme.example/factors', {
              enrolled: event.user.enrolledFactors, providers: event.user.multifactor || [] });
            api.authentication.challengeWith({ type: 'otp' });
            """
        ),
    )
    browser, state, page = challenge(base)
    secret = shown_secret(page)
    first = browser.post(
        "/u/mfa-otp-challenge", data={"state": state, "code": totp(secret, clock.now_s())}
    )
    before = tokens(base, at_app(first)["code"])["id"]["https://acme.example/factors"]
    assert before == {"enrolled": [], "providers": []}

    browser, state, page = challenge(base)
    assert 'id="otp-secret"' not in page
    # The next step's code: this step's was used by the first login.
    later = totp(secret, clock.now_s() + 30)
    second = browser.post("/u/mfa-otp-challenge", data={"state": state, "code": later})
    after = tokens(base, at_app(second)["code"])["id"]["https://acme.example/factors"]
    assert after == {"enrolled": [{"type": "otp"}], "providers": ["guardian"]}


def test_the_challenge_needs_the_browser_that_logged_in(tenant: tuple[Emulator, str]) -> None:
    """The challenge's URL alone (a leaked link) does not let another browser finish the
    login: without the cookie of the browser that started it (set at /authorize), or
    with another browser's, the state is refused; a malformed Cookie header too."""
    app, base = tenant
    bind(app, on_execute("api.multifactor.enable('guardian');"))
    browser = httpx.Client(base_url=base, follow_redirects=False)
    location = login(base, client=browser).headers["location"]
    other = httpx.Client(base_url=base, follow_redirects=False)
    assert other.get("/authorize", params=AUTHORIZE).status_code == 200  # its own cookie
    for stranger in (
        httpx.get(f"{base}{location}", follow_redirects=False),
        other.get(location),
        httpx.get(f"{base}{location}", headers={"cookie": "auth0_tx=x; $bogus=1"}),
    ):
        assert stranger.status_code == 400
        assert stranger.json()["errorCode"] == "invalid_request"
    assert browser.get(location).status_code == 200


def test_five_wrong_codes_end_the_login_at_the_app(tenant: tuple[Emulator, str]) -> None:
    """A wrong code re-renders the form; the fifth ends the login with access_denied."""
    app, base = tenant
    bind(app, on_execute("api.authentication.challengeWithAny([{ type: 'otp' }]);"))
    browser, state, _ = challenge(base)
    for _ in range(4):
        again = browser.post("/u/mfa-otp-challenge", data={"state": state, "code": "12345"})
        assert again.status_code == 400
    last = browser.post("/u/mfa-otp-challenge", data={"state": state, "code": "12345"})
    assert at_app(last)["error"] == "access_denied"


def test_no_challenge_without_a_request_or_with_provider_none(
    tenant: tuple[Emulator, str],
) -> None:
    """multifactor.enable('none') (API object: providers any|none|guardian|...) asks for no
    challenge, even after an earlier action asked for one."""
    app, base = tenant
    bind(
        app,
        on_execute("api.multifactor.enable('any');"),
        on_execute("api.multifactor.enable('none');"),
    )
    issued = tokens(base, at_app(login(base))["code"])
    assert "amr" not in issued["id"]
