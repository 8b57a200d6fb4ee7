"""What the consent pages show, read from the project once at start-up.

Each purpose's text in each language is read from consent_texts/ by
``consent.texts.load_texts``, so the sha256 a page reports for a text is
exactly the one rendered into the Actions, which refuse any other. The
page holds the texts of the current versions only: a session token asking
about another version was made before tenant.yaml changed, and the user
must sign in again to be asked about the current words.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from auth0_actions.config.model import ConsentPolicy
from auth0_actions.consent.texts import load_texts
from auth0_actions.consent_page.labels import resolve


@dataclass(frozen=True)
class PurposeWords:
    """One purpose in one language: what the user reads before deciding."""

    title: str
    if_declined: str
    text: str
    sha256: str

    @property
    def paragraphs(self) -> list[str]:
        """The text as written, split at blank lines (line breaks inside are kept)."""
        blocks = self.text.replace("\r\n", "\n").split("\n\n")
        return [block.strip("\n") for block in blocks if block.strip()]


@dataclass(frozen=True)
class PurposeEntry:
    id: str
    version: str
    required: bool
    url: str | None
    words: Mapping[str, PurposeWords]  # language -> words


@dataclass(frozen=True)
class Catalog:
    languages: tuple[str, ...]  # the first is the default
    labels: Mapping[str, Mapping[str, str]]  # language -> key -> words
    purposes: Mapping[str, PurposeEntry]  # in tenant.yaml's order
    privacy_url: str
    self_service_url: str

    def current(self, purpose_id: str, version: str) -> PurposeEntry | None:
        """The purpose, when ``version`` is the one whose texts this page holds."""
        entry = self.purposes.get(purpose_id)
        return entry if entry is not None and entry.version == version else None


def load_catalog(policy: ConsentPolicy, root: Path) -> Catalog:
    """The catalog of a validated policy; OSError if a text vanished since validation."""
    texts = load_texts(root, policy)
    purposes = {
        purpose.id: PurposeEntry(
            id=purpose.id,
            version=purpose.version,
            required=purpose.required,
            url=purpose.url,
            words={
                language: PurposeWords(
                    title=purpose.title[language],
                    if_declined=purpose.if_declined[language],
                    text=texts[purpose.id, language].text,
                    sha256=texts[purpose.id, language].sha256,
                )
                for language in policy.languages
            },
        )
        for purpose in policy.purposes
    }
    return Catalog(
        languages=tuple(policy.languages),
        labels=resolve(policy.languages, policy.labels),
        purposes=purposes,
        privacy_url=policy.privacy_url,
        self_service_url=policy.resolved_self_service_url,
    )
