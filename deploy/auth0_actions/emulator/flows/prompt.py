"""The signup prompt's configuration: the consent checkbox and the extra fields.

Modelled on what Auth0 offers: Lock's ``mustAcceptTerms`` (the form cannot be
sent until the terms box is ticked) and ``additionalSignUpFields`` (extra
inputs stored in ``user_metadata``, as strings;
https://auth0.com/docs/libraries/lock/lock-configuration), and Universal
Login's signup prompt custom fields, whose names start with ``ulp-`` and which
reach the pre-user-registration actions in ``event.request.body`` only
(https://auth0.com/docs/customize/login-pages/universal-login/customize-signup-and-login-prompts).
So a field named ``ulp-...`` is posted in the body, any other name is stored
in ``user_metadata``; the consent checkbox too. By default it is a ``ulp-``
field, named as tenant.yaml's ``consent.signup.universal_login_field`` names
it, which is what the consent-at-signup Action reads; named like
``consent.signup.field`` instead (no ``ulp-``), it lands in ``user_metadata``
as a Lock signup's checkbox does, for the consent-on-first-login Action.
Each optional purpose with a ``signup_field`` gets its own checkbox, never
ticked in advance (GDPR Recital 32), named the same way (``ulp-`` + the field
when the terms box is a ``ulp-`` field).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from auth0_actions.errors import Auth0ActionsError
from auth0_actions.yamlsource import load_yaml

BODY_PREFIX = "ulp-"
DEFAULT_TERMS_FIELD = "ulp-terms_accepted"
_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_-]{0,99}$")


@dataclass(frozen=True)
class SignupField:
    """One extra input of the signup form."""

    name: str
    label: str
    required: bool = False

    def __post_init__(self) -> None:
        if not _NAME.match(self.name):
            raise ValueError(f"signup field name {self.name!r} is not a valid form field name")

    @property
    def in_body(self) -> bool:
        return self.name.startswith(BODY_PREFIX)


@dataclass(frozen=True)
class PurposeBox:
    """An optional purpose's checkbox: unticked, labelled with its title, linking its text."""

    name: str
    label: str
    url: str | None = None


def _purpose_boxes(consent: Mapping[str, Any], in_body: bool) -> tuple[PurposeBox, ...]:
    """One box per optional purpose with a signup_field, labelled in the default language."""
    languages = consent.get("languages") or ["en"]
    boxes = []
    for purpose in consent.get("purposes") or []:
        if (
            not isinstance(purpose, Mapping)
            or purpose.get("required")
            or not purpose.get("signup_field")
        ):
            continue
        titles = purpose.get("title") or {}
        label = titles.get(languages[0]) if isinstance(titles, Mapping) else None
        field_name = str(purpose["signup_field"])
        boxes.append(
            PurposeBox(
                name=BODY_PREFIX + field_name if in_body else field_name,
                label=str(label or purpose.get("id")),
                url=purpose.get("url"),
            )
        )
    return tuple(boxes)


@dataclass(frozen=True)
class SignupPrompt:
    """What the signup page asks for besides email and password."""

    terms_field: str | None = DEFAULT_TERMS_FIELD  # None: no consent checkbox
    terms_url: str | None = None
    privacy_url: str | None = None
    must_accept_terms: bool = True
    fields: tuple[SignupField, ...] = field(default_factory=tuple)
    purposes: tuple[PurposeBox, ...] = field(default_factory=tuple)

    @classmethod
    def from_consent(cls, consent: Mapping[str, Any]) -> SignupPrompt:
        """From tenant.yaml's ``consent`` block: the terms box (every required purpose,
        linking the first one's text), the privacy link, the optional purposes' boxes."""
        signup = consent.get("signup") or {}
        name = signup.get("universal_login_field") or BODY_PREFIX + str(
            signup.get("field") or "terms_accepted"
        )
        purposes = [p for p in consent.get("purposes") or [] if isinstance(p, Mapping)]
        required = next((p for p in purposes if p.get("required")), {})
        return cls(
            terms_field=name,
            terms_url=required.get("url"),
            privacy_url=consent.get("privacy_url"),
            purposes=_purpose_boxes(consent, name.startswith(BODY_PREFIX)),
        )

    @classmethod
    def for_project(cls, root: Path) -> SignupPrompt:
        """From the project's tenant.yaml (the local environment's consent over the root's).

        The default prompt when there is no readable tenant.yaml: serving a
        tenant never fails on a file ``config validate`` is there to check.
        """
        try:
            data = load_yaml(root / "tenant.yaml").data
        except (OSError, Auth0ActionsError):
            return cls()
        if not isinstance(data, dict):
            return cls()
        consent = data.get("consent") if isinstance(data.get("consent"), dict) else {}
        local = ((data.get("environments") or {}).get("local") or {}).get("consent") or {}
        if not isinstance(consent, dict) or not isinstance(local, dict):
            return cls()
        return cls.from_consent({**consent, **local})

    def split(self, form: Mapping[str, Any]) -> tuple[dict[str, str], dict[str, str]]:
        """The form's extra values: (request body fields, user_metadata fields).

        An unticked checkbox is not sent at all, as a browser sends it.
        """
        body: dict[str, str] = {}
        metadata: dict[str, str] = {}
        if self.terms_field and form.get(self.terms_field):
            target = body if self.terms_field.startswith(BODY_PREFIX) else metadata
            target[self.terms_field] = str(form[self.terms_field])
        for box in self.purposes:
            if form.get(box.name):
                (body if box.name.startswith(BODY_PREFIX) else metadata)[box.name] = str(
                    form[box.name]
                )
        for extra in self.fields:
            value = str(form.get(extra.name) or "").strip()
            if value:
                (body if extra.in_body else metadata)[extra.name] = value
        return body, metadata

    def missing(self, form: Mapping[str, Any]) -> str | None:
        """What the page refuses before anything runs (as Lock does), or None."""
        if self.terms_field and self.must_accept_terms and not form.get(self.terms_field):
            return "You must accept the terms of service to sign up."
        for extra in self.fields:
            if extra.required and not str(form.get(extra.name) or "").strip():
                return f"{extra.label} is required."
        return None
