"""The consent page's HTML and the response headers that keep it safe.

Templates live next to this module (``templates/``) and are loaded by path,
so an editable install and a wheel (with the package data) behave the same.
The stylesheet is inlined and allowed by its hash in the Content-Security-Policy:
the page needs no other resource and runs no script at all. Every word comes
from the labels of the language shown (``labels``), every value is escaped.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import jinja2
from markupsafe import Markup

TEMPLATES = Path(__file__).resolve().parent / "templates"

# The consent page's and the self-service page's templates (one environment).
ENVIRONMENT = jinja2.Environment(
    loader=jinja2.FileSystemLoader(TEMPLATES),
    autoescape=True,
    undefined=jinja2.StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)


def stylesheet(name: str) -> tuple[str, str]:
    """A stylesheet of templates/, and the CSP source that allows exactly it."""
    css = (TEMPLATES / name).read_text(encoding="utf-8")
    return css, "sha256-" + base64.b64encode(hashlib.sha256(css.encode()).digest()).decode()


_CSS, STYLE_HASH = stylesheet("consent.css")

Labels = Mapping[str, str]


@dataclass(frozen=True)
class PurposeView:
    """One purpose as asked: its words in the language shown and the user's choice so far."""

    id: str
    title: str
    version: str
    required: bool
    reason: str  # missing | declined | withdrawn | outdated
    paragraphs: Sequence[str]
    url: str | None
    if_declined: str
    chosen: str | None = None  # given | declined, when the form came back incomplete


@dataclass(frozen=True)
class LanguageLink:
    language: str
    name: str
    href: str


@dataclass(frozen=True)
class ConsentView:
    """What the consent page shows; every value is escaped by the template."""

    language: str
    labels: Labels
    purposes: Sequence[PurposeView]
    privacy_url: str | None
    self_service_url: str | None
    ticket: str
    csrf_token: str
    action: str
    support_email: str | None
    other_languages: Sequence[LanguageLink] = ()
    incomplete: bool = False  # the form came back without a choice for every purpose


def web_link(url: str | None) -> str | None:
    """Only http(s) links are shown: a signed token is trusted, but not blindly."""
    if url and urlsplit(url).scheme in ("https", "http"):
        return url
    return None


def _render(template: str, language: str, labels: Labels, **values: object) -> str:
    return ENVIRONMENT.get_template(template).render(
        css=Markup(_CSS),  # noqa: S704 (our own file, allowed by hash in the CSP)
        lang=language,
        t=labels,
        **values,
    )


def render_consent(view: ConsentView) -> str:
    purposes = [
        {
            "id": p.id,
            "title": p.title,
            "version": p.version,
            "required": p.required,
            "reason": view.labels["reason_" + p.reason],
            "paragraphs": p.paragraphs,
            "url": web_link(p.url),
            "if_declined": p.if_declined,
            "chosen": p.chosen,
            "unanswered": view.incomplete and p.chosen is None,
        }
        for p in view.purposes
    ]
    return _render(
        "consent.html.j2",
        view.language,
        view.labels,
        purposes=purposes,
        privacy_url=web_link(view.privacy_url),
        self_service_url=web_link(view.self_service_url),
        ticket=view.ticket,
        csrf_token=view.csrf_token,
        action=view.action,
        support_email=view.support_email,
        other_languages=view.other_languages,
        incomplete=view.incomplete,
    )


def render_continue(continue_url: str, language: str, labels: Labels) -> str:
    """The answer to the form: straight on to the tenant's /continue, without script.

    Not a 303: Chromium applies ``form-action`` to every redirect that follows
    a form post, and /continue redirects on to the application, whose origin
    this page cannot know. A meta refresh (with a link for anyone whose
    browser does not follow it) is a new navigation, not part of the post.
    """
    return _render(
        "continue.html.j2", language, labels, continue_url=continue_url, support_email=None
    )


def render_error(
    language: str,
    labels: Labels,
    heading: str,
    message: str,
    detail: str | None,
    support_email: str | None,
) -> str:
    return _render(
        "error.html.j2",
        language,
        labels,
        heading=heading,
        message=message,
        detail=detail,
        support_email=support_email,
    )


def security_headers(
    form_targets: tuple[str, ...], *, style_hash: str = STYLE_HASH
) -> dict[str, str]:
    """Headers on every page: no framing, no referrer, no caching, nothing but our style.

    ``form_targets`` are the origins besides 'self' a form may post to: the
    tenant's, whose /continue takes the answer as a GET or a form POST.
    """
    policy = "; ".join(
        [
            "default-src 'none'",
            f"style-src '{style_hash}'",
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


def language_headers(language: str) -> dict[str, str]:
    """The language of the answer, and that it depends on the browser's Accept-Language."""
    return {"Content-Language": language, "Vary": "Accept-Language"}
