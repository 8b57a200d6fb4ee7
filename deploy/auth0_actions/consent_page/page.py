"""The consent page's HTML and the response headers that keep it safe.

Templates live next to this module (``templates/``) and are loaded by path,
so an editable install and a wheel (with the package data) behave the same.
The stylesheet is inlined and allowed by its hash in the Content-Security-Policy:
the page needs no other resource and runs no script at all.
"""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import jinja2
from markupsafe import Markup

TEMPLATES = Path(__file__).resolve().parent / "templates"

_environment = jinja2.Environment(
    loader=jinja2.FileSystemLoader(TEMPLATES),
    autoescape=True,
    undefined=jinja2.StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)
_CSS = (TEMPLATES / "consent.css").read_text(encoding="utf-8")
STYLE_HASH = "sha256-" + base64.b64encode(hashlib.sha256(_CSS.encode()).digest()).decode()

# Why the user is asked (the session token's ``reason`` claim): heading, explanation.
REASONS: dict[str, tuple[str, str]] = {
    "missing": (
        "Please accept our terms of service",
        "Before you continue, please read and accept our terms of service.",
    ),
    "outdated": (
        "Our terms of service have changed",
        "We updated our terms of service since you last accepted them. "
        "Please read the new version and accept it to continue.",
    ),
    "withdrawn": (
        "You withdrew your consent",
        "You withdrew your consent to our terms of service. "
        "To use the application again, please accept them.",
    ),
    "declined": (
        "Please accept our terms of service",
        "You declined our terms of service last time. "
        "You can review them again and accept them to continue.",
    ),
}


@dataclass(frozen=True)
class ConsentView:
    """What the consent page shows; every value is escaped by the template."""

    reason: str
    terms_version: str
    terms_url: str | None
    privacy_url: str | None
    ticket: str
    csrf_token: str
    action: str
    support_email: str | None


def _web_link(url: str | None) -> str | None:
    """Only http(s) links are shown: a signed token is trusted, but not blindly."""
    if url and urlsplit(url).scheme in ("https", "http"):
        return url
    return None


def render_consent(view: ConsentView) -> str:
    heading, explanation = REASONS.get(view.reason, REASONS["missing"])
    return _environment.get_template("consent.html.j2").render(
        css=Markup(_CSS),  # noqa: S704 (our own file, allowed by hash in the CSP)
        heading=heading,
        explanation=explanation,
        terms_version=view.terms_version,
        terms_url=_web_link(view.terms_url),
        privacy_url=_web_link(view.privacy_url),
        ticket=view.ticket,
        csrf_token=view.csrf_token,
        action=view.action,
        support_email=view.support_email,
    )


def render_continue(continue_url: str, accepted: bool) -> str:
    """The answer to the form: straight on to the tenant's /continue, without script.

    Not a 303: Chromium applies ``form-action`` to every redirect that follows
    a form post, and /continue redirects on to the application, whose origin
    this page cannot know. A meta refresh (with a link for anyone whose
    browser does not follow it) is a new navigation, not part of the post.
    """
    return _environment.get_template("continue.html.j2").render(
        css=Markup(_CSS),  # noqa: S704 (our own file, allowed by hash in the CSP)
        heading="Thank you" if accepted else "Your answer was recorded",
        continue_url=continue_url,
        support_email=None,
    )


def render_error(heading: str, message: str, support_email: str | None) -> str:
    return _environment.get_template("error.html.j2").render(
        css=Markup(_CSS),  # noqa: S704 (our own file, allowed by hash in the CSP)
        heading=heading,
        message=message,
        support_email=support_email,
    )


def security_headers(form_targets: tuple[str, ...]) -> dict[str, str]:
    """Headers on every page: no framing, no referrer, no caching, nothing but our style.

    ``form_targets`` are the origins besides 'self' a form may post to: the
    tenant's, whose /continue takes the answer as a GET or a form POST.
    """
    policy = "; ".join(
        [
            "default-src 'none'",
            f"style-src '{STYLE_HASH}'",
            "form-action " + " ".join(("'self'", *form_targets)),
            "frame-ancestors 'none'",
            "base-uri 'none'",
        ]
    )
    return {
        "Content-Security-Policy": policy,
        "X-Frame-Options": "DENY",
        "Referrer-Policy": "no-referrer",
        "Cache-Control": "no-store",
        "X-Content-Type-Options": "nosniff",
        "Cross-Origin-Opener-Policy": "same-origin",
    }
