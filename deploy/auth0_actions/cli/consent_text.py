"""The consent commands' text output: a user's purposes and history, changes, audits,
verifications, and export progress on stderr.

Kept apart from the commands so each stays a screen long; JSON output is the
reports' own ``as_json``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import click

from auth0_actions.consent.audit import AuditReport
from auth0_actions.consent.export import ExportProgress
from auth0_actions.consent.operations import ConsentChange
from auth0_actions.consent.status import PurposeStatus, UserConsent
from auth0_actions.consent.verify import PROBLEMS, VerifyReport

HASH_PREFIX = 12  # enough to tell texts apart by eye; JSON has the whole hash
EVIDENCE = {
    "ledger": "ledger in app_metadata",
    "user_metadata": "seed record in user_metadata only (no ledger yet; users can edit it)",
    "none": "no decision recorded",
}


def table(rows: Sequence[Sequence[str]], indent: str = "") -> list[str]:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return [
        (indent + "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True))).rstrip()
        for row in rows
    ]


def _decided(status: PurposeStatus) -> str:
    decision = status.decision
    if decision is None:
        return "-"
    return f"{decision.get('event')} {decision.get('version')} on {decision.get('at')} via " + str(
        decision.get("method")
    )


def purposes_lines(user: UserConsent) -> list[str]:
    rows = [("PURPOSE", "REQUIRED", "CURRENT", "STATUS", "NEXT LOGIN", "LATEST DECISION")]
    rows += [
        (
            p.purpose.id,
            "yes" if p.purpose.required else "no",
            p.purpose.version,
            p.status,
            p.next_login,
            _decided(p),
        )
        for p in user.purposes
    ]
    return table(rows, "  ")


def _event_row(event: Mapping[str, Any]) -> tuple[str, ...]:
    digest = event.get("text_sha256")
    return (
        f"#{event.get('seq')}",
        str(event.get("at")),
        str(event.get("purpose")),
        str(event.get("event")),
        str(event.get("method")),
        str(event.get("version")),
        str(digest)[:HASH_PREFIX] if digest else "-",
        str(event.get("language") or "-"),
        str(event.get("reason") or ""),
    )


def history_lines(ledger: Mapping[str, Any] | None) -> list[str]:
    if not ledger:
        return ["  history: none"]
    lines = ["  history:"]
    summary = ledger.get("summary")
    if isinstance(summary, Mapping):
        lines.append(
            f"    {summary.get('folded')} earlier event(s) folded into a signed summary "
            f"(seq 1-{summary.get('through_seq')}, {summary.get('first_at')} .. "
            f"{summary.get('last_at')})"
        )
    events = [e for e in ledger.get("events") or [] if isinstance(e, Mapping)]
    if events:
        header = ("SEQ", "AT", "PURPOSE", "EVENT", "METHOD", "VERSION", "TEXT", "LANG", "REASON")
        lines += table([header, *(_event_row(e) for e in events)], "    ")
    return lines


def user_text(user: UserConsent) -> str:
    return "\n".join(
        [
            f"{user.user_id}  {user.email or '-'}  ({EVIDENCE[user.evidence]})",
            *purposes_lines(user),
            *history_lines(user.ledger),
        ]
    )


def change_text(change: ConsentChange) -> str:
    verb = "granted" if change.operation == "grant" else "withdrawn"
    asked = ", ".join(change.purposes)
    if not change.changed:
        now = "already given" if change.operation == "grant" else "not given, nothing to withdraw"
        head = f"Nothing written for {change.before.user_id}: {asked}: {now}."
    else:
        events = ", ".join(f"{e['purpose']} {e['event']} (#{e['seq']})" for e in change.events)
        head = f"Consent {verb} for {change.after.user_id}: recorded {events}."
    return f"{head}\n" + "\n".join(purposes_lines(change.after))


def audit_text(report: AuditReport) -> str:
    audited = ", ".join(f"{p.id} {p.version}" for p in report.purposes)
    lines = [
        f"Consent audit of {audited} ({report.source}; {report.checked} user(s) checked).",
    ]
    if report.fallback_reason:
        lines.append(f"Search could not be used ({report.fallback_reason}): read an export.")
    rows = [("USER", "EMAIL", "PURPOSE", "STATUS", "NEXT LOGIN", "DECIDED", "EVIDENCE")]
    for user in report.findings:
        for found in user.findings(report.ids):
            decision = found.decision or {}
            rows.append(
                (
                    user.user_id,
                    user.email or "-",
                    found.purpose.id,
                    found.status,
                    found.next_login,
                    f"{decision.get('version')} {decision.get('at')}" if decision else "-",
                    user.evidence,
                )
            )
    if len(rows) > 1:
        lines += table(rows)
    for purpose, counts in report.summary.items():
        total = sum(counts.values())
        detail = ", ".join(f"{status} {count}" for status, count in counts.items())
        lines.append(f"{purpose}: {total} user(s) asked again at next login: {detail}.")
    lines.append(f"{len(report.findings)} user(s) with findings.")
    return "\n".join(lines)


def verify_text(report: VerifyReport) -> str:
    lines = [
        f"Consent ledgers verified: {report.checked} user(s) read; "
        f"{report.kinds['ledger']} ledger(s), "
        f"{report.kinds['user_metadata only']} with a seed record only (not verifiable), "
        f"{report.kinds['no consent']} without any."
    ]
    for user in report.users:
        lines.append(f"{user.user_id}  {user.email or '-'}")
        for finding in user.findings:
            where = f"event #{finding.seq}" if finding.seq is not None else "record"
            lines.append(f"  {finding.problem}: {where}: {finding.detail}")
    counts = ", ".join(f"{p} {report.problems[p]}" for p in PROBLEMS if report.problems[p])
    if report.users:
        lines.append(f"{len(report.users)} user(s) with findings: {counts}.")
    else:
        lines.append("No findings: every ledger verifies and every mirror matches its ledger.")
    return "\n".join(lines)


def progress_printer() -> Callable[[ExportProgress], None]:
    """Export progress on stderr (so stdout stays the report), one line per change."""
    last = [""]

    def show_progress(update: ExportProgress) -> None:
        if update.phase == "waiting":
            line = f"export job {update.job_id}: {update.percentage_done or 0}% done"
        elif update.phase == "done":
            line = f"export job {update.job_id}: {update.users} user(s) read"
        else:
            return  # downloading: too chatty for a line per chunk
        if line != last[0]:
            last[0] = line
            click.echo(line, err=True)

    return show_progress
