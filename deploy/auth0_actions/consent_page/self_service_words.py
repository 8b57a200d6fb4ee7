"""The self-service page's words, in English and German.

Every word the page shows is here, once per language, so a translation is
one dictionary. ``consent.labels.<lang>.account_<key>`` in tenant.yaml
overrides a word (and gives the words of a language not built in); the
purposes' own titles, texts and ``if_declined`` come from tenant.yaml and
``consent_texts/``.
"""

from __future__ import annotations

from collections.abc import Mapping

LABEL_PREFIX = "account_"

WORDS: dict[str, dict[str, str]] = {
    "en": {
        "title": "Your consent choices",
        "intro": "Here you see every purpose we ask your consent for, what you decided and "
        "when. You can withdraw or give your consent at any time, as easily as you gave it.",
        "signed_in_as": "Signed in as",
        "sign_out": "Sign out",
        "signed_out": "You are signed out",
        "signed_out_text": "You signed out of the consent page.",
        "sign_in_again": "Sign in again",
        "required": "Required to use the application",
        "optional": "Optional",
        "state": "Your choice",
        "state_given": "Given",
        "state_declined": "Declined",
        "state_withdrawn": "Withdrawn",
        "state_missing": "Not decided yet",
        "state_outdated": "Given for an earlier version; you will be asked at your next sign-in",
        "version": "Version",
        "read_text": "The text you agree to",
        "read_online": "Read it online",
        "give": "Give consent",
        "withdraw": "Withdraw consent",
        "if_declined": "If you withdraw or decline",
        "withdraw_required_ask": "If you withdraw, you will be asked again at your next "
        "sign-in, and you cannot use the application without it.",
        "withdraw_required_deny": "If you withdraw, you cannot sign in to the application "
        "until you give consent again here.",
        "history": "History",
        "no_history": "No decisions recorded yet.",
        "col_time": "Time",
        "col_event": "Decision",
        "col_method": "How",
        "col_version": "Version",
        "col_receipt": "Receipt",
        "receipt": "Show receipt",
        "download": "Download receipt (.jwt)",
        "folded": "Earlier decisions ({count}) are kept as a signed summary.",
        "recorded": "Your decision was recorded.",
        "privacy": "Privacy notice",
        "controller": "Controller",
        "support": "Questions about your data? Write to",
        "event_given": "Given",
        "event_declined": "Declined",
        "event_withdrawn": "Withdrawn",
        "event_re_given": "Given again",
        "method_signup": "At sign-up",
        "method_page": "Consent page",
        "method_self_service": "This page",
        "method_api": "By our staff, on request",
        "method_migrated": "Imported from an earlier record",
        "error_heading": "Something went wrong",
        "error_session": "Your session has ended. Please sign in again.",
        "error_form": "The form could not be verified. Please reload the page and try again.",
        "error_sign_in": "Signing in did not work",
        "error_unavailable": "The consent page cannot reach the sign-in service right now.",
        "error_not_found": "There is no page at this address.",
        "error_receipt": "There is no such decision in your history.",
    },
    "de": {
        "title": "Ihre Einwilligungen",
        "intro": "Hier sehen Sie jeden Zweck, für den wir Sie um Einwilligung bitten, was Sie "
        "entschieden haben und wann. Sie können Ihre Einwilligung jederzeit so einfach "
        "widerrufen oder erteilen, wie Sie sie gegeben haben.",
        "signed_in_as": "Angemeldet als",
        "sign_out": "Abmelden",
        "signed_out": "Sie sind abgemeldet",
        "signed_out_text": "Sie haben sich von der Einwilligungsseite abgemeldet.",
        "sign_in_again": "Erneut anmelden",
        "required": "Erforderlich für die Nutzung der Anwendung",
        "optional": "Freiwillig",
        "state": "Ihre Entscheidung",
        "state_given": "Erteilt",
        "state_declined": "Abgelehnt",
        "state_withdrawn": "Widerrufen",
        "state_missing": "Noch nicht entschieden",
        "state_outdated": "Für eine frühere Fassung erteilt; Sie werden bei der nächsten "
        "Anmeldung gefragt",
        "version": "Fassung",
        "read_text": "Der Text, dem Sie zustimmen",
        "read_online": "Online lesen",
        "give": "Einwilligung erteilen",
        "withdraw": "Einwilligung widerrufen",
        "if_declined": "Wenn Sie widerrufen oder ablehnen",
        "withdraw_required_ask": "Wenn Sie widerrufen, werden Sie bei der nächsten Anmeldung "
        "erneut gefragt; ohne Einwilligung können Sie die Anwendung nicht nutzen.",
        "withdraw_required_deny": "Wenn Sie widerrufen, können Sie sich erst wieder anmelden, "
        "wenn Sie hier erneut einwilligen.",
        "history": "Verlauf",
        "no_history": "Noch keine Entscheidungen erfasst.",
        "col_time": "Zeit",
        "col_event": "Entscheidung",
        "col_method": "Wie",
        "col_version": "Fassung",
        "col_receipt": "Beleg",
        "receipt": "Beleg anzeigen",
        "download": "Beleg herunterladen (.jwt)",
        "folded": "Frühere Entscheidungen ({count}) sind als signierte Zusammenfassung "
        "gespeichert.",
        "recorded": "Ihre Entscheidung wurde gespeichert.",
        "privacy": "Datenschutzerklärung",
        "controller": "Verantwortlicher",
        "support": "Fragen zu Ihren Daten? Schreiben Sie an",
        "event_given": "Erteilt",
        "event_declined": "Abgelehnt",
        "event_withdrawn": "Widerrufen",
        "event_re_given": "Erneut erteilt",
        "method_signup": "Bei der Registrierung",
        "method_page": "Einwilligungsseite",
        "method_self_service": "Diese Seite",
        "method_api": "Durch unser Team, auf Anfrage",
        "method_migrated": "Aus einem früheren Eintrag übernommen",
        "error_heading": "Etwas ist schiefgegangen",
        "error_session": "Ihre Sitzung ist abgelaufen. Bitte melden Sie sich erneut an.",
        "error_form": "Das Formular konnte nicht geprüft werden. Bitte laden Sie die Seite neu.",
        "error_sign_in": "Die Anmeldung hat nicht geklappt",
        "error_unavailable": "Die Einwilligungsseite erreicht den Anmeldedienst gerade nicht.",
        "error_not_found": "Unter dieser Adresse gibt es keine Seite.",
        "error_receipt": "Diese Entscheidung gibt es in Ihrem Verlauf nicht.",
    },
}


def words(language: str, labels: Mapping[str, Mapping[str, str]]) -> dict[str, str]:
    """The page's words in ``language``: built in (English when not), then tenant.yaml's."""
    chosen = dict(WORDS["en"])
    chosen.update(WORDS.get(language, {}))
    for key, value in (labels.get(language) or {}).items():
        if key.startswith(LABEL_PREFIX):
            chosen[key[len(LABEL_PREFIX) :]] = value
    return chosen
