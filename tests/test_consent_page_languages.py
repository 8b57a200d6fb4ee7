"""The consent page speaks the user's language: Accept-Language, ?lang=, labels from tenant.yaml.

Texts come from consent_texts/<purpose>-<version>.<language>.txt and words
from the built-in labels (English, German) with tenant.yaml's
``consent.labels`` on top; a language without built-in labels must give
every label, or the project does not load. Accept-Language and q-values:
RFC 9110, section 12.5.4 (https://www.rfc-editor.org/rfc/rfc9110#section-12.5.4).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from consent_page_support import (
    MARKETING,
    TERMS,
    VERSION,
    assert_refused,
    decode_answer,
    fieldsets,
    form_of,
    open_page,
    post,
    scaffold_catalog,
    scaffold_texts,
    serve,
    session_token,
    shown_text,
)

from auth0_actions.config import load_tenant
from auth0_actions.consent_page.catalog import Catalog, load_catalog
from auth0_actions.consent_page.labels import ALL_KEYS, GERMAN
from auth0_actions.consent_page.language import negotiate
from auth0_actions.consent_page.server import ConsentPageThread
from auth0_actions.errors import ConfigError

LANGUAGES = ["en", "de"]


@pytest.fixture(scope="module")
def catalog(scaffolded: Path) -> Catalog:
    return scaffold_catalog(scaffolded)


@pytest.fixture(scope="module")
def texts(scaffolded: Path) -> dict[tuple[str, str], bytes]:
    return scaffold_texts(scaffolded)


@pytest.fixture(scope="module")
def page(catalog: Catalog) -> Iterator[ConsentPageThread]:
    yield from serve(catalog)


@pytest.mark.parametrize(
    ("header", "asked", "expected"),
    [
        (None, None, "en"),
        ("de", None, "de"),
        ("de-DE,de;q=0.9,en;q=0.8", None, "de"),
        ("DE-at", None, "de"),
        ("fr;q=1, en;q=0.5, de;q=0.8", None, "de"),
        ("fr, it", None, "en"),
        ("de;q=0, en;q=0.1", None, "en"),
        ("*", None, "en"),
        ("de;q=abc, en", None, "en"),
        ("en-GB", "de", "de"),
        ("de", "fr", "de"),
    ],
)
def test_negotiation_follows_q_values_and_primary_subtags(
    header: str | None, asked: str | None, expected: str
) -> None:
    assert negotiate(LANGUAGES, header, asked) == expected


def test_a_range_picks_a_regional_language_when_that_is_all_there_is() -> None:
    assert negotiate(["en", "pt-BR"], "pt", None) == "pt-BR"
    assert negotiate(["en", "pt-BR", "pt-PT"], "pt-PT", None) == "pt-PT"


def test_a_german_browser_gets_the_german_page(
    page: ConsentPageThread, texts: dict[tuple[str, str], bytes]
) -> None:
    _, shown = open_page(page, session_token(), headers={"Accept-Language": "de-DE,de;q=0.9"})
    assert shown.status_code == 200
    assert shown.headers["content-language"] == "de"
    assert shown.headers["vary"] == "Accept-Language"
    assert '<html lang="de">' in shown.text
    assert f"<h1>{GERMAN['heading']}</h1>" in shown.text
    assert '<h2 id="title-terms">Nutzungsbedingungen</h2>' in shown.text
    assert shown_text(shown.text, "terms") == texts["terms", "de"].decode().strip()
    assert '<label for="terms-given">Ich stimme zu</label>' in shown.text
    assert "Ohne Zustimmung zu den Nutzungsbedingungen" in shown.text
    # The way back to English, in English.
    [link] = re.findall(r'<a href="([^"]+)" lang="en" hreflang="en">English</a>', shown.text)
    assert "session_token" not in link


def test_the_language_links_switch_in_the_same_browser_only(
    page: ConsentPageThread,
) -> None:
    token = session_token()
    browser, english = open_page(page, token)
    [link] = re.findall(r'<a href="([^"]+)" lang="de" hreflang="de">Deutsch</a>', english.text)
    german = browser.get(link.replace("&amp;", "&"))
    assert german.status_code == 200
    assert '<html lang="de">' in german.text
    assert form_of(german)["csrf_token"] == form_of(english)["csrf_token"]
    # Another browser (no CSRF cookie) cannot use the link to open this user's page.
    stranger = httpx.Client(base_url=page.base_url)
    assert_refused(stranger.get(link.replace("&amp;", "&")), 403, lang="de")
    claims = decode_answer(post(browser, page, form_of(german)), "Weiter zur Anwendung")
    assert claims["language"] == "de"
    # Decided: the link is spent too.
    assert_refused(browser.get(link.replace("&amp;", "&")), 409, lang="de")


def test_errors_speak_the_browser_language(page: ConsentPageThread) -> None:
    token = session_token(purposes=[{**TERMS, "version": "2027-01-01"}])
    _, refused = open_page(page, token, headers={"Accept-Language": "de"})
    assert_refused(refused, 409, token, lang="de")
    assert GERMAN["texts_changed"] in refused.text
    assert refused.headers["content-language"] == "de"


# --- tenant.yaml's labels ---------------------------------------------------------------
def _edit_consent(root: Path, change: Any) -> None:
    path = root / "tenant.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    change(data["consent"])
    path.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True), encoding="utf-8")


def _add_french(root: Path, consent: dict[str, Any]) -> None:
    consent["languages"].append("fr")
    for purpose in consent["purposes"]:
        purpose["title"]["fr"] = f"{purpose['id']} (fr)"
        purpose["if_declined"]["fr"] = "Sans accord."
        text = root / "consent_texts" / f"{purpose['id']}-{VERSION}.fr.txt"
        text.write_text(f"Texte {purpose['id']}.\n", encoding="utf-8")


def test_labels_in_tenant_yaml_override_the_built_in_words(project: Path) -> None:
    _edit_consent(
        project,
        lambda consent: consent.__setitem__("labels", {"en": {"submit": "Save my choices"}}),
    )
    tenant = load_tenant(project / "tenant.yaml")
    catalog = load_catalog(tenant.environments["local"].consent, project)
    assert catalog.labels["en"]["submit"] == "Save my choices"
    assert catalog.labels["en"]["agree"] == "I agree"
    assert catalog.labels["de"]["submit"] == GERMAN["submit"]


def test_a_language_without_built_in_labels_must_give_every_label(project: Path) -> None:
    _edit_consent(project, lambda consent: _add_french(project, consent))
    with pytest.raises(ConfigError) as raised:
        load_tenant(project / "tenant.yaml")
    [problem] = [p for p in raised.value.problems if "built-in labels" in p.message]
    assert "consent.labels.fr must give every label" in problem.message
    assert "submit" in problem.message

    def with_labels(consent: dict[str, Any]) -> None:
        consent["labels"] = {"fr": {key: f"[{key}]" for key in ALL_KEYS}}

    _edit_consent(project, with_labels)
    tenant = load_tenant(project / "tenant.yaml")
    catalog = load_catalog(tenant.environments["local"].consent, project)
    assert catalog.labels["fr"]["agree"] == "[agree]"


@pytest.mark.parametrize(
    ("labels", "words", "key"),
    [
        ({"en": {"sumbit": "Send"}}, "unknown label 'sumbit'", "consent.labels.en.sumbit"),
        ({"it": {"submit": "Invia"}}, "not in consent.languages", "consent.labels.it"),
    ],
)
def test_labels_the_pages_cannot_use_are_refused_at_their_line(
    project: Path, labels: dict[str, Any], words: str, key: str
) -> None:
    _edit_consent(project, lambda consent: consent.__setitem__("labels", labels))
    with pytest.raises(ConfigError) as raised:
        load_tenant(project / "tenant.yaml")
    found = [p for p in raised.value.problems if words in p.message]
    assert found, [p.message for p in raised.value.problems]
    assert found[0].location.key == key
    assert found[0].location.line is not None


def test_a_third_language_is_served_with_its_texts(project: Path) -> None:
    def french(consent: dict[str, Any]) -> None:
        _add_french(project, consent)
        consent["labels"] = {"fr": {key: f"[{key}]" for key in ALL_KEYS}}

    _edit_consent(project, french)
    tenant = load_tenant(project / "tenant.yaml")
    catalog = load_catalog(tenant.environments["local"].consent, project)
    words = catalog.purposes["marketing"].words["fr"]
    assert words.text == "Texte marketing.\n"
    assert words.paragraphs == ["Texte marketing."]


def test_nothing_is_preselected_in_any_language(page: ConsentPageThread) -> None:
    for language in ("en", "de"):
        _, shown = open_page(
            page, session_token(purposes=[TERMS, MARKETING]), headers={"Accept-Language": language}
        )
        for fieldset in fieldsets(shown.text).values():
            assert "checked" not in fieldset
