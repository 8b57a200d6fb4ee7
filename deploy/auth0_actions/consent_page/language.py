"""Which configured language a request gets: ``?lang=``, else Accept-Language, else the first.

Accept-Language (RFC 9110, section 12.5.4) lists language ranges with
q-values; the highest-weighted range that matches a configured language
wins, ties in the order the browser sent them. A range matches a language
exactly (case-insensitive), or by its primary subtag: ``de-DE`` and ``de``
both pick a configured ``de`` (or ``de-AT`` when that is all there is), so
a German browser gets German whatever its region. ``*`` and anything
unmatched fall back to the first configured language.
"""

from __future__ import annotations

from collections.abc import Sequence

# Browsers send a handful of ranges; a header longer than this is not a browser's.
MAX_RANGES = 32


def _ranges(header: str) -> list[tuple[float, int, str]]:
    ranges: list[tuple[float, int, str]] = []
    for index, item in enumerate(header.split(",")[:MAX_RANGES]):
        tag, *params = (part.strip() for part in item.split(";"))
        if not tag:
            continue
        weight = 1.0
        for param in params:
            name, _, value = param.partition("=")
            if name.strip().lower() == "q":
                try:
                    weight = float(value.strip())
                except ValueError:
                    weight = 0.0  # unreadable: not a preference
        if 0.0 < weight <= 1.0:
            ranges.append((-weight, index, tag.lower()))
    return sorted(ranges)


def _match(tag: str, languages: Sequence[str]) -> str | None:
    if tag == "*":
        return languages[0]
    for language in languages:
        if language.lower() == tag:
            return language
    primary = tag.split("-", 1)[0]
    for language in languages:
        if language.lower().split("-", 1)[0] == primary:
            return language
    return None


def negotiate(languages: Sequence[str], accept_language: str | None, asked: str | None) -> str:
    """The language to show, from ``languages`` (the first is the default)."""
    if asked is not None:
        for language in languages:
            if language.lower() == asked.lower():
                return language
    for _, _, tag in _ranges(accept_language or ""):
        found = _match(tag, languages)
        if found is not None:
            return found
    return languages[0]
