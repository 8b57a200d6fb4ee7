"""The consent texts users are shown, one file per purpose and language.

``consent_texts/<stem>.<language>.txt`` (the stem is the purpose's ``text``,
by default ``<id>-<version>``) holds the exact words of one purpose in one
language. Its sha256, over the file's bytes, is part of every decision's
evidence: the Actions carry the hashes (rendered in), the consent page
shows only a text whose hash matches, and each ledger event records the
hash of the text the user saw. A text once shown must never change; a new
version of a purpose gets new files.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from auth0_actions.config.model import CONSENT_TEXTS_DIR, ConsentPolicy, Purpose

# Large enough for a full privacy notice, small enough to show on one page.
MAX_TEXT_BYTES = 64 * 1024


@dataclass(frozen=True)
class ConsentText:
    purpose: str
    version: str
    language: str
    path: Path
    text: str
    sha256: str


def text_path(root: Path, purpose: Purpose, language: str) -> Path:
    return root / CONSENT_TEXTS_DIR / f"{purpose.text_stem}.{language}.txt"


def text_problem(path: Path, shown: str) -> str | None:
    """Why the file at path (``shown`` as the user knows it) cannot be a consent text."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return f"{shown}: the consent text is missing"
    except OSError as exc:
        return f"{shown}: cannot read: {exc.strerror or exc}"
    if len(data) > MAX_TEXT_BYTES:
        return f"{shown}: {len(data)} bytes; a consent text is at most {MAX_TEXT_BYTES}"
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        return f"{shown}: not UTF-8 (byte {exc.start})"
    if not text.strip():
        return f"{shown}: empty; the consent text is what users agree to"
    return None


def check_texts(root: Path, policy: ConsentPolicy) -> Iterator[tuple[int, str]]:
    """(purpose index, problem) for every text of the policy that cannot be shown."""
    for index, purpose in enumerate(policy.purposes):
        for language in policy.languages:
            path = text_path(root, purpose, language)
            problem = text_problem(path, path.relative_to(root).as_posix())
            if problem:
                yield index, problem


def load_text(root: Path, purpose: Purpose, language: str) -> ConsentText:
    path = text_path(root, purpose, language)
    data = path.read_bytes()
    return ConsentText(
        purpose=purpose.id,
        version=purpose.version,
        language=language,
        path=path,
        text=data.decode("utf-8"),
        sha256=hashlib.sha256(data).hexdigest(),
    )


def load_texts(root: Path, policy: ConsentPolicy) -> dict[tuple[str, str], ConsentText]:
    """(purpose id, language) -> text, for every purpose and language of the policy.

    The project was validated on load (:func:`check_texts`), so a file missing
    now was removed since: that is an OSError for the caller to report.
    """
    return {
        (purpose.id, language): load_text(root, purpose, language)
        for purpose in policy.purposes
        for language in policy.languages
    }


def text_hashes(root: Path, policy: ConsentPolicy) -> dict[str, dict[str, str]]:
    """purpose id -> language -> sha256: what the Actions carry."""
    hashes: dict[str, dict[str, str]] = {}
    for (purpose, language), text in load_texts(root, policy).items():
        hashes.setdefault(purpose, {})[language] = text.sha256
    return hashes
