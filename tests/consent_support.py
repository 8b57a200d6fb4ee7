"""The smallest valid consent policy, for tests whose projects are not about consent.

tenant.yaml requires a consent policy, and each purpose's text must exist
under consent_texts/ in every language: :data:`MINIMAL_CONSENT` is one
required purpose in English, :func:`write_consent_texts` writes its text.
"""

from __future__ import annotations

from pathlib import Path

MINIMAL_CONSENT = """\
consent:
  controller: {name: Example Ltd, contact: privacy@example.com}
  purposes:
    - id: terms
      required: true
      version: "2026-11-01"
      url: https://example.com/legal/terms
      title: {en: Terms of service}
      if_declined: {en: Without accepting the terms you cannot use this application.}
      retention: P3Y
  privacy_url: https://example.com/legal/privacy
  consent_page_url: https://consent.example.com/consent
"""
TERMS_TEXT = "Terms of service (version 2026-11-01): the words users agree to.\n"


def write_consent_texts(root: Path) -> None:
    texts = root / "consent_texts"
    texts.mkdir(parents=True, exist_ok=True)
    (texts / "terms-2026-11-01.en.txt").write_text(TERMS_TEXT, encoding="utf-8")
