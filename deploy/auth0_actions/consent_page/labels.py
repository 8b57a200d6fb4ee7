"""The consent pages' words, per language: English and German built in.

tenant.yaml's ``consent.labels.<language>.<key>`` overrides single words; a
language configured in ``consent.languages`` without built-in labels must
give every key (``label_problems`` says which are missing), so a page is
never half in one language and half in another. The keys are the ones below:
a new page adds its keys to both built-in languages here, in one place.

Labels are plain text (the templates escape them) without placeholders:
values such as a version are put next to a label, never into it.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence

from auth0_actions.consent_page.self_service_words import LABEL_PREFIX
from auth0_actions.consent_page.self_service_words import WORDS as ACCOUNT_WORDS

ENGLISH: dict[str, str] = {
    # Every page
    "language_name": "English",
    "language": "Language",
    "support": "Questions about your data? Write to",
    # The consent page
    "page_title": "Your consent",
    "heading": "Please review and decide",
    "intro": "Decide on each item below: nothing is selected for you. "
    "Required items are needed to use the application; optional ones are up to you.",
    "reason_missing": "We have not asked you about this yet.",
    "reason_outdated": "This text changed since you last decided.",
    "reason_withdrawn": "You withdrew your consent to this.",
    "reason_declined": "You declined this last time.",
    "required": "Required",
    "optional": "Optional",
    "version": "Version",
    "agree": "I agree",
    "disagree": "I do not agree",
    "if_declined": "If you do not agree:",
    "full_text": "Published text",
    "privacy_notice": "Privacy notice",
    "withdraw_hint": "You can change or withdraw each decision at any time, "
    "as easily as you gave it:",
    "withdraw_link": "your consent choices",
    "receipt_hint": "There you also find a signed receipt of each decision, to keep.",
    "submit": "Send my decisions",
    "choose_each": "Please choose “I agree” or “I do not agree” for each item.",
    "your_decision": "Your decision:",
    "no_choice_yet": "No choice made yet.",
    # The answer page
    "thanks": "Thank you",
    "continuing": "Taking you back to the application.",
    "continue_link": "Continue to the application",
    # Errors
    "sign_in_again": "Return to the application and sign in again.",
    "error_detail": "Details:",
    "invalid_link": "This consent link is not valid",
    "expired_link": "This consent link has expired",
    "expired_link_text": "The time to answer has run out.",
    "used_link": "This consent link was already used",
    "used_link_text": "Each consent link works once, and this one was used already.",
    "texts_changed": "The consent texts changed",
    "texts_changed_text": "The texts you were asked about have changed since this link "
    "was made. Please sign in again to see the current ones.",
    "refused": "Request refused",
    "refused_text": "The form was sent from another site.",
    "unverified": "The form could not be verified",
    "unverified_text": "The form was not sent from this page in this browser.",
    "unknown_request": "This consent request has expired",
    "unknown_request_text": "The consent request is unknown or has expired.",
    "bad_form": "The form could not be read",
    "bad_form_text": "The form was not sent as this page sends it.",
    "not_found": "Page not found",
    "not_found_text": "There is no page at this address.",
    "not_allowed": "Method not allowed",
    "not_allowed_text": "This page answers GET and POST only.",
    "unavailable": "Consent is unavailable",
    "unavailable_text": "The consent page cannot reach the sign-in service right now.",
}

GERMAN: dict[str, str] = {
    "language_name": "Deutsch",
    "language": "Sprache",
    "support": "Fragen zu Ihren Daten? Schreiben Sie an",
    "page_title": "Ihre Einwilligung",
    "heading": "Bitte prüfen und entscheiden Sie",
    "intro": "Entscheiden Sie bei jedem Punkt selbst: nichts ist vorausgewählt. "
    "Erforderliche Punkte braucht die Anwendung; freiwillige liegen bei Ihnen.",
    "reason_missing": "Wir haben Sie dazu noch nicht gefragt.",
    "reason_outdated": "Dieser Text hat sich seit Ihrer letzten Entscheidung geändert.",
    "reason_withdrawn": "Sie haben Ihre Einwilligung hierzu widerrufen.",
    "reason_declined": "Sie haben dies beim letzten Mal abgelehnt.",
    "required": "Erforderlich",
    "optional": "Freiwillig",
    "version": "Version",
    "agree": "Ich stimme zu",
    "disagree": "Ich stimme nicht zu",
    "if_declined": "Wenn Sie nicht zustimmen:",
    "full_text": "Veröffentlichter Text",
    "privacy_notice": "Datenschutzhinweis",
    "withdraw_hint": "Sie können jede Entscheidung jederzeit ändern oder widerrufen, "
    "so einfach, wie Sie sie getroffen haben:",
    "withdraw_link": "Ihre Einwilligungen",
    "receipt_hint": "Dort finden Sie auch eine signierte Quittung jeder Entscheidung.",
    "submit": "Entscheidungen senden",
    "choose_each": "Bitte wählen Sie bei jedem Punkt „Ich stimme zu“ oder „Ich stimme nicht zu“.",
    "your_decision": "Ihre Entscheidung:",
    "no_choice_yet": "Noch keine Auswahl getroffen.",
    "thanks": "Vielen Dank",
    "continuing": "Sie werden zur Anwendung zurückgeleitet.",
    "continue_link": "Weiter zur Anwendung",
    "sign_in_again": "Kehren Sie zur Anwendung zurück und melden Sie sich erneut an.",
    "error_detail": "Einzelheiten:",
    "invalid_link": "Dieser Einwilligungslink ist ungültig",
    "expired_link": "Dieser Einwilligungslink ist abgelaufen",
    "expired_link_text": "Die Zeit für Ihre Antwort ist abgelaufen.",
    "used_link": "Dieser Einwilligungslink wurde bereits verwendet",
    "used_link_text": "Jeder Einwilligungslink gilt einmal, und dieser wurde schon verwendet.",
    "texts_changed": "Die Einwilligungstexte haben sich geändert",
    "texts_changed_text": "Die Texte, zu denen Sie gefragt wurden, haben sich seit dem "
    "Erstellen dieses Links geändert. Bitte melden Sie sich erneut an, um die aktuellen "
    "zu sehen.",
    "refused": "Anfrage abgelehnt",
    "refused_text": "Das Formular wurde von einer anderen Website gesendet.",
    "unverified": "Das Formular konnte nicht geprüft werden",
    "unverified_text": "Das Formular wurde nicht von dieser Seite in diesem Browser gesendet.",
    "unknown_request": "Diese Einwilligungsanfrage ist abgelaufen",
    "unknown_request_text": "Die Einwilligungsanfrage ist unbekannt oder abgelaufen.",
    "bad_form": "Das Formular konnte nicht gelesen werden",
    "bad_form_text": "Das Formular wurde nicht so gesendet, wie diese Seite es sendet.",
    "not_found": "Seite nicht gefunden",
    "not_found_text": "Unter dieser Adresse gibt es keine Seite.",
    "not_allowed": "Methode nicht erlaubt",
    "not_allowed_text": "Diese Seite beantwortet nur GET und POST.",
    "unavailable": "Einwilligung nicht verfügbar",
    "unavailable_text": "Die Einwilligungsseite erreicht den Anmeldedienst gerade nicht.",
}

BUILT_IN: dict[str, dict[str, str]] = {"en": ENGLISH, "de": GERMAN}
KEYS: tuple[str, ...] = tuple(ENGLISH)
# The self-service page's words, overridden as account_<key> in the same place.
ACCOUNT_KEYS: tuple[str, ...] = tuple(LABEL_PREFIX + key for key in ACCOUNT_WORDS["en"])
ALL_KEYS: tuple[str, ...] = KEYS + ACCOUNT_KEYS
# Labels are shown in tenant.yaml's limits (config.model.Label): at most 200 characters.
MAX_LABEL_LENGTH = 200

Labels = Mapping[str, str]


def label_problems(
    languages: Sequence[str], overrides: Mapping[str, Mapping[str, str]]
) -> Iterator[tuple[tuple[str, ...], str]]:
    """(path under consent, problem) for labels the pages could not use.

    An unknown key is a typo that would silently change nothing; a language
    that is not configured is never shown; a configured language without
    built-in labels must give every key.
    """
    for language, labels in overrides.items():
        if language not in languages:
            yield (
                ("labels", language),
                f"labels for {language}, which is not in consent.languages "
                f"({', '.join(languages)})",
            )
        for key in labels:
            if key not in ALL_KEYS:
                yield (
                    ("labels", language, key),
                    f'unknown label {key!r}; the keys are in docs/consent.md, "Consent page"',
                )
    for language in languages:
        if language in BUILT_IN:
            continue
        missing = [key for key in ALL_KEYS if key not in overrides.get(language, {})]
        if missing:
            path = ("labels", language) if language in overrides else ("languages",)
            yield (
                path,
                f"language {language} has no built-in labels: consent.labels.{language} "
                f"must give every label; missing: {', '.join(missing)}",
            )


def resolve(
    languages: Sequence[str], overrides: Mapping[str, Mapping[str, str]]
) -> dict[str, dict[str, str]]:
    """language -> every key's words: the built-in ones with tenant.yaml's overrides on top."""
    return {
        language: {**BUILT_IN.get(language, {}), **overrides.get(language, {})}
        for language in languages
    }
