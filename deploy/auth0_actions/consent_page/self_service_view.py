"""What the self-service page shows: every purpose, its state, its history and receipts.

Built from tenant.yaml's purposes and the user's ledger as stored (never the
user_metadata mirror, which the user can edit). The page needs no script:
each purpose has one form with one button (Withdraw or Give consent), and
each event's receipt is shown in a ``<details>`` and offered as a download.
The stylesheet is inlined and allowed by its hash in the CSP, as on the
consent page.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from markupsafe import Markup

from auth0_actions.config.model import ConsentPolicy, Purpose
from auth0_actions.consent import ledger as ledgers
from auth0_actions.consent.receipt_key import ReceiptKey
from auth0_actions.consent.receipts import issue_receipt
from auth0_actions.consent.texts import ConsentText, load_text
from auth0_actions.consent_page.page import ENVIRONMENT, stylesheet
from auth0_actions.consent_page.page import security_headers as page_security_headers

_CSS, STYLE_HASH = stylesheet("account.css")


@dataclass(frozen=True)
class HistoryRow:
    seq: int
    at: str
    event: str
    method: str
    version: str
    receipt: str


@dataclass(frozen=True)
class PurposeView:
    purpose: Purpose
    title: str
    state: str  # given | declined | withdrawn | missing | outdated
    given: bool  # given for some version: withdrawable
    text: ConsentText
    if_declined: str
    withdraw_note: str | None  # required purposes: what withdrawing leads to
    history: list[HistoryRow]


def state_of(state: Mapping[str, Any], purpose: Purpose) -> tuple[str, bool]:
    """(what the page calls the user's state of ``purpose``, whether it can be withdrawn)."""
    reason = ledgers.needed(state, purpose.id, purpose.version)
    if reason is None:
        return "given", True
    return reason, reason == "outdated"


def purpose_views(
    policy: ConsentPolicy,
    root: Path,
    ledger: Mapping[str, Any] | None,
    language: str,
    words: Mapping[str, str],
    receipt: tuple[str, str, ReceiptKey],  # user id, service, signing key
) -> list[PurposeView]:
    state = ledgers.derive_state(ledger) if ledger is not None else {}
    events = [e for e in (ledger or {}).get("events") or [] if isinstance(e, Mapping)]
    user_id, service, key = receipt
    views = []
    for purpose in policy.purposes:
        label, withdrawable = state_of(state, purpose)
        note = None
        if purpose.required:
            note = words[f"withdraw_required_{policy.on_withdrawn.action}"]
        history = [
            HistoryRow(
                seq=int(e["seq"]),
                at=str(e["at"]),
                # Label keys are identifiers: re-given -> event_re_given.
                event=words.get(f"event_{e['event']}".replace("-", "_"), str(e["event"])),
                method=words.get(f"method_{e['method']}".replace("-", "_"), str(e["method"])),
                version=str(e.get("version") or ""),
                receipt=issue_receipt(e, policy, user_id, service, key),
            )
            for e in reversed(events)
            if e.get("purpose") == purpose.id
        ]
        views.append(
            PurposeView(
                purpose=purpose,
                title=purpose.title.get(language) or purpose.title[policy.languages[0]],
                state=label,
                given=withdrawable,
                text=load_text(root, purpose, language),
                if_declined=purpose.if_declined.get(language)
                or purpose.if_declined[policy.languages[0]],
                withdraw_note=note,
                history=history,
            )
        )
    return views


def folded_count(ledger: Mapping[str, Any] | None) -> int:
    summary = (ledger or {}).get("summary")
    return int(summary.get("folded") or 0) if isinstance(summary, Mapping) else 0


def render(name: str, **context: Any) -> str:
    return ENVIRONMENT.get_template(name).render(css=Markup(_CSS), **context)  # noqa: S704


def security_headers() -> dict[str, str]:
    """The consent page's headers with this page's stylesheet: forms post to this page only."""
    return page_security_headers((), style_hash=STYLE_HASH)
