"""consent audit: per purpose, the users the next login will ask again (or deny).

A finding is a purpose whose consent does not stand for its current version
and that the consent Actions will ask about at the next login
(:mod:`auth0_actions.consent.status`): a required purpose missing, declined,
withdrawn or outdated; an optional one missing or outdated. An optional
purpose declined or withdrawn is the user's settled decision, not a finding.

Two sources, one verdict:

* **search** (user search v3): one query on the ledger's ``state`` in
  app_metadata (``app_metadata.<ledger key>.state.<purpose>.version``, the
  object paths Auth0 documents:
  https://auth0.com/docs/manage-users/user-search/user-search-query-syntax)
  narrows the tenant to the users whose consent may not stand, all pages
  fetched. Search only pre-filters: every user it returns is judged again
  in Python, so a loose match never becomes a finding. Users without a
  ledger always match (their state is absent) and are judged on their seed
  record.
* **export** (users-export job, :func:`auth0_actions.consent.export.iter_exported_users`):
  every user streamed from an NDJSON export and judged one by one; past the
  search window (offset paging stops at 1000 results), when search is
  unavailable (5xx, endpoint missing), or on request.

Auth0's search index is eventually consistent: a ledger written seconds ago
may not be found by the search source yet; the export reads the user store.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from auth0_actions.config.model import ConsentPolicy, Purpose
from auth0_actions.consent.export import Progress, iter_exported_users
from auth0_actions.consent.operations import chosen_purposes
from auth0_actions.consent.record import STATUSES, Status, utc_now_iso
from auth0_actions.consent.status import USER_FIELDS, UserConsent, judge
from auth0_actions.errors import TenantError
from auth0_actions.tenant_client import TenantClient

Source = Literal["auto", "search", "export"]
FINDING_STATUSES: tuple[Status, ...] = tuple(s for s in STATUSES if s != "valid")
# Answers from the search endpoint that mean "use the export instead".
SEARCH_UNAVAILABLE = frozenset({404, 501, 502, 503, 504})


@dataclass(frozen=True)
class AuditReport:
    """The findings of one audit (users whose consent stands are counted, never listed)."""

    purposes: tuple[Purpose, ...]  # audited, each against its current version
    source: Literal["search", "export"]
    fallback_reason: str | None  # why the export was used in "auto", else None
    checked: int  # users judged (search: those the query returned; export: all)
    findings: list[UserConsent] = field(default_factory=list)

    @property
    def ids(self) -> list[str]:
        return [p.id for p in self.purposes]

    @property
    def summary(self) -> dict[str, dict[str, int]]:
        """purpose -> status -> users asked about it for that reason."""
        counts: dict[str, dict[str, int]] = {
            p.id: dict.fromkeys(FINDING_STATUSES, 0) for p in self.purposes
        }
        for user in self.findings:
            for found in user.findings(self.ids):
                counts[found.purpose.id][found.status] += 1
        return counts

    def as_json(self) -> dict[str, Any]:
        return {
            "purposes": [
                {"id": p.id, "required": p.required, "version": p.version} for p in self.purposes
            ],
            "source": self.source,
            "fallback_reason": self.fallback_reason,
            "checked": self.checked,
            "summary": self.summary,
            "findings": len(self.findings),
            "users": [
                {
                    "user_id": u.user_id,
                    "email": u.email,
                    "evidence": u.evidence,
                    "findings": [p.as_json() for p in u.findings(self.ids)],
                }
                for u in self.findings
            ],
        }


def _quoted(value: str) -> str:
    """A Lucene phrase: backslash and double quote escaped."""
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def search_query(policy: ConsentPolicy, purposes: Sequence[Purpose]) -> str:
    """Users for whom some purpose may not stand: NOT (every purpose settled)."""
    settled = []
    for purpose in purposes:
        at = f"app_metadata.{policy.ledger.key}.state.{purpose.id}"
        valid = f"({at}.given:true AND {at}.version:{_quoted(purpose.version)})"
        # An optional purpose declined or withdrawn is settled too (given: false).
        settled.append(valid if purpose.required else f"({valid} OR {at}.given:false)")
    return f"NOT ({' AND '.join(settled)})"


def audit(
    client: TenantClient,
    policy: ConsentPolicy,
    *,
    purposes: Sequence[str] | None = None,
    source: Source = "auto",
    progress: Progress | None = None,
) -> AuditReport:
    """Audit ``purposes`` (default: every purpose of tenant.yaml)."""
    ids = chosen_purposes(policy, purposes, "withdraw")  # the default is every purpose
    audited = tuple(p for p in policy.purposes if p.id in ids)
    fallback: str | None = None
    if source in ("auto", "search"):
        try:
            users = client.search_users(search_query(policy, audited), fields=USER_FIELDS)
        except TenantError as error:
            if source == "search" or not _export_instead(error):
                raise
            fallback = error.message
        else:
            return _report(policy, audited, "search", None, users)
    exported = iter_exported_users(client, list(USER_FIELDS), progress=progress)
    return _report(policy, audited, "export", fallback, exported)


def _export_instead(error: TenantError) -> bool:
    return (
        error.error_code in (TenantClient.SEARCH_WINDOW_EXCEEDED, "invalid_paging")
        or error.status in SEARCH_UNAVAILABLE
    )


def _report(
    policy: ConsentPolicy,
    audited: tuple[Purpose, ...],
    source: Literal["search", "export"],
    fallback: str | None,
    users: Iterable[Mapping[str, Any]],
) -> AuditReport:
    """Judge users one at a time, keeping only the findings (flat memory on an export)."""
    ids = [p.id for p in audited]
    now = utc_now_iso()
    findings: list[UserConsent] = []
    checked = 0
    for user in users:
        checked += 1
        judged = judge(user, policy, now=now)
        if judged.findings(ids):
            # The full ledger is not needed past this point; keep memory flat.
            findings.append(
                UserConsent(judged.user_id, judged.email, judged.evidence, judged.purposes, None)
            )
    findings.sort(key=lambda u: (u.email or "", u.user_id))
    return AuditReport(audited, source, fallback, checked, findings)
