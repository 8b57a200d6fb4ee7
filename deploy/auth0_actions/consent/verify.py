"""consent verify: which users' consent evidence was changed outside this tool.

For every user read (one, or the whole tenant streamed from an export job):

* the ledger in app_metadata is checked with
  :func:`auth0_actions.consent.ledger.verify` and the CONSENT_LEDGER_SECRET:
  every hash recomputed, the chain followed, every mac and the summary's
  signature checked, the state compared with the events. Whoever can write
  app_metadata without the key (a dashboard admin, a Management API client)
  can change a decision, but not so that it verifies;
* the mirror in user_metadata is compared with what the ledger says it must
  be (:func:`auth0_actions.consent.mirror.mirror_patch`): users can edit
  user_metadata, so a mirror that disagrees is reported (the ledger, not the
  mirror, is what counts);
* a user with a seed record but no ledger yet cannot be verified: counted as
  ``user_metadata only``, never a finding.

Users are judged as they stream in; only the findings are kept.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, get_args

from auth0_actions.config.model import ConsentPolicy
from auth0_actions.consent import ledger as ledgers
from auth0_actions.consent.mirror import mirror_keys, mirror_patch
from auth0_actions.consent.writer import migrated_events

# The ledger's own problems, and one only a whole user shows: an edited mirror.
Problem = ledgers.LedgerProblem | Literal["mirror-differs"]
PROBLEMS: tuple[Problem, ...] = (*get_args(ledgers.LedgerProblem), "mirror-differs")
Kind = Literal["ledger", "user_metadata only", "no consent"]


@dataclass(frozen=True)
class Finding:
    problem: Problem
    seq: int | None  # the ledger event, None for the whole record
    detail: str

    def as_json(self) -> dict[str, Any]:
        return {"problem": self.problem, "seq": self.seq, "detail": self.detail}


@dataclass(frozen=True)
class UserVerdict:
    user_id: str
    email: str | None
    kind: Kind
    findings: tuple[Finding, ...]

    def as_json(self) -> dict[str, Any]:
        return {
            "user_id": self.user_id,
            "email": self.email,
            "kind": self.kind,
            "findings": [f.as_json() for f in self.findings],
        }


def mirror_findings(
    user_metadata: Mapping[str, Any] | None, ledger: Mapping[str, Any], policy: ConsentPolicy
) -> list[Finding]:
    """The mirror's keys whose stored value differs from what the ledger gives."""
    stored = user_metadata if isinstance(user_metadata, Mapping) else {}
    expected = mirror_patch(stored, ledger, policy)
    differing = [
        key for key in mirror_keys(policy) if stored.get(key) != expected.get(key)
    ]  # a key the patch deletes (None) must be absent
    if not differing:
        return []
    where = ", ".join(f"user_metadata.{key}" for key in differing)
    return [Finding("mirror-differs", None, f"{where} differs from the ledger")]


def verify_user(user: Mapping[str, Any], policy: ConsentPolicy, key: bytes) -> UserVerdict:
    email = user.get("email")
    verdict: dict[str, Any] = {
        "user_id": str(user.get("user_id", "")),
        "email": email if isinstance(email, str) else None,
    }
    app_metadata = user.get("app_metadata")
    stored = app_metadata.get(policy.ledger.key) if isinstance(app_metadata, Mapping) else None
    if stored is None:
        seed = migrated_events(user.get("user_metadata"), policy, "")
        kind: Kind = "user_metadata only" if seed else "no consent"
        return UserVerdict(**verdict, kind=kind, findings=())
    if not isinstance(stored, Mapping):
        malformed = Finding("malformed", None, f"app_metadata.{policy.ledger.key} is not an object")
        return UserVerdict(**verdict, kind="ledger", findings=(malformed,))
    findings = [Finding(f.problem, f.seq, f.detail) for f in ledgers.verify(stored, key)]
    if not any(f.problem == "malformed" for f in findings):
        findings += mirror_findings(user.get("user_metadata"), stored, policy)
    return UserVerdict(**verdict, kind="ledger", findings=tuple(findings))


@dataclass
class VerifyReport:
    """Counts for every user read; verdicts kept only for users with findings."""

    checked: int = 0
    kinds: Counter[str] = field(default_factory=Counter)
    problems: Counter[str] = field(default_factory=Counter)
    users: list[UserVerdict] = field(default_factory=list)

    def add(self, verdict: UserVerdict) -> None:
        self.checked += 1
        self.kinds[verdict.kind] += 1
        if verdict.findings:
            self.users.append(verdict)
            self.problems.update({f.problem for f in verdict.findings})

    def as_json(self) -> dict[str, Any]:
        return {
            "checked": self.checked,
            "ledgers": self.kinds["ledger"],
            "user_metadata_only": self.kinds["user_metadata only"],
            "no_consent": self.kinds["no consent"],
            "users_with_findings": len(self.users),
            # users per problem (a user with three broken events counts once)
            "summary": {problem: self.problems[problem] for problem in PROBLEMS},
            "users": [u.as_json() for u in self.users],
        }


def verify_users(
    users: Iterable[Mapping[str, Any]], policy: ConsentPolicy, key: bytes
) -> VerifyReport:
    report = VerifyReport()
    for user in users:
        report.add(verify_user(user, policy, key))
    return report
