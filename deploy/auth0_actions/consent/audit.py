"""consent audit: the users whose consent is missing, declined, withdrawn or outdated.

Two sources, one verdict:

* **search** (user search v3): a query per layout narrows the tenant to the
  users that may lack valid consent, all pages fetched. Search is only a
  pre-filter: every user it returns is judged again with
  :func:`auth0_actions.consent.record.record_status`, the Python twin of the
  Actions' ``consentNeeded``, so a loose match never becomes a finding.
* **export** (users-export job, :func:`auth0_actions.consent.export.iter_exported_users`):
  every user of the tenant streamed from an NDJSON export and judged one by
  one. Used past the search window (offset paging stops at 1000 results)
  or when search itself is unavailable (5xx, endpoint missing), or on request.

Auth0's search index is eventually consistent: a record written seconds ago
may not be found by the search source yet; the export reads the user store.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from auth0_actions.config.model import ConsentPolicy
from auth0_actions.consent.export import Progress, iter_exported_users
from auth0_actions.consent.operations import USER_FIELDS, UserConsent
from auth0_actions.consent.record import STATUSES, RecordLayout, Status
from auth0_actions.errors import TenantError
from auth0_actions.tenant_client import TenantClient

Source = Literal["auto", "search", "export"]
FINDING_STATUSES: tuple[Status, ...] = tuple(s for s in STATUSES if s != "valid")
# Answers from the search endpoint that mean "use the export instead".
SEARCH_UNAVAILABLE = frozenset({404, 501, 502, 503, 504})


@dataclass(frozen=True)
class AuditReport:
    """The findings of one audit (valid users are counted, never listed)."""

    terms_version: str
    source: Literal["search", "export"]
    fallback_reason: str | None  # why the export was used in "auto", else None
    checked: int  # users judged (search: those the query returned; export: all)
    findings: list[UserConsent] = field(default_factory=list)

    @property
    def summary(self) -> dict[str, int]:
        counts = Counter(f.status for f in self.findings)
        return {status: counts.get(status, 0) for status in FINDING_STATUSES}

    def as_json(self) -> dict[str, Any]:
        return {
            "terms_version": self.terms_version,
            "source": self.source,
            "fallback_reason": self.fallback_reason,
            "checked": self.checked,
            "summary": self.summary,
            "findings": len(self.findings),
            "users": [f.as_json() for f in self.findings],
        }


def _quoted(value: str) -> str:
    """A Lucene phrase: backslash and double quote escaped."""
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def search_query(layout: RecordLayout, terms_version: str) -> str:
    """Users without valid consent: NOT (given, for these terms, not withdrawn)."""
    prefix = f"user_metadata.{layout.object_key}." if layout.nested else "user_metadata."
    keys = layout.keys
    valid = (
        f"{prefix}{keys['given']}:true"
        f" AND {prefix}{keys['terms_version']}:{_quoted(terms_version)}"
        f" AND NOT _exists_:{prefix}{keys['withdrawn_at']}"
    )
    return f"NOT ({valid})"


def audit(
    client: TenantClient,
    policy: ConsentPolicy,
    *,
    terms_version: str | None = None,
    source: Source = "auto",
    progress: Progress | None = None,
) -> AuditReport:
    version = terms_version or policy.record_purpose.version
    layout = RecordLayout.from_policy(policy)
    fallback: str | None = None
    if source in ("auto", "search"):
        try:
            users = client.search_users(search_query(layout, version), fields=USER_FIELDS)
        except TenantError as error:
            if source == "search" or not _export_instead(error):
                raise
            fallback = error.message
        else:
            return _report(version, "search", None, users, layout)
    return _report(version, "export", fallback, _exported(client, progress), layout)


def _export_instead(error: TenantError) -> bool:
    return (
        error.error_code in (TenantClient.SEARCH_WINDOW_EXCEEDED, "invalid_paging")
        or error.status in SEARCH_UNAVAILABLE
    )


def _exported(client: TenantClient, progress: Progress | None) -> Iterable[dict[str, Any]]:
    # NDJSON exports carry user_metadata whole, whatever the layout.
    return iter_exported_users(client, list(USER_FIELDS), progress=progress)


def _report(
    version: str,
    source: Literal["search", "export"],
    fallback: str | None,
    users: Iterable[Mapping[str, Any]],
    layout: RecordLayout,
) -> AuditReport:
    """Judge users one at a time, keeping only the findings (flat memory on an export)."""
    findings: list[UserConsent] = []
    checked = 0
    for user in users:
        checked += 1
        judged = UserConsent.of(user, layout, version)
        if judged.status != "valid":
            findings.append(judged)
    order = {status: index for index, status in enumerate(FINDING_STATUSES)}
    findings.sort(key=lambda f: (order[f.status], f.email or "", f.user_id))
    return AuditReport(version, source, fallback, checked, findings)
