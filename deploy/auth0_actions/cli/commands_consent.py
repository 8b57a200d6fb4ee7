"""auth0-actions consent: the Management API side of the consent guide.

show / grant / withdraw / audit live here; ``export`` is added to the group
in auth0_actions/cli/main.py.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

import click

from auth0_actions.cli.commands_consent_export import export_command
from auth0_actions.cli.state import environment_option, output_option, state
from auth0_actions.config import ConsentPolicy
from auth0_actions.consent.audit import AuditReport, Source, audit
from auth0_actions.consent.export import ExportProgress
from auth0_actions.consent.operations import (
    ConsentChange,
    ConsentError,
    UserConsent,
    grant,
    show,
    withdraw,
)
from auth0_actions.environment import open_environment
from auth0_actions.errors import EXIT_CHANGES, EXIT_OK
from auth0_actions.tenant_client import TenantClient

env_option = environment_option("The environment whose tenant to use (default: local).")


@click.group("consent")
def consent_group() -> None:
    """Show, grant, withdraw, audit and export users' consent records."""


consent_group.add_command(export_command)


@contextmanager
def _tenant(env: str) -> Iterator[tuple[TenantClient, ConsentPolicy]]:
    environment = open_environment(state().tenant(), env)
    with environment.tenant_client() as client:
        yield client, environment.consent


def _user_line(user: UserConsent) -> str:
    record = user.record
    detail = ""
    if record is not None:
        parts = [
            f"terms {record.terms_version}" if record.terms_version is not None else "",
            f"on {record.date}" if record.date else "",
            f"via {record.method}" if record.method else "",
            f"withdrawn {record.withdrawn_at}" if record.withdrawn_at else "",
            f"reason: {record.withdrawn_reason}" if record.withdrawn_reason else "",
        ]
        detail = "  " + ", ".join(p for p in parts if p)
    return f"{user.user_id}  {user.email or '-'}  {user.status}{detail}"


# -- show ----------------------------------------------------------------------------
@consent_group.command("show")
@click.option("--email", metavar="EMAIL", help="Every user with this email (all connections).")
@click.option(
    "--user-id", metavar="ID", help="The user with this id (auth0|..., google-oauth2|...)."
)
@env_option
@output_option
def show_command(email: str | None, user_id: str | None, env: str) -> int:
    """A user's consent record and its status against the configured terms version.

    Status is valid, missing, declined, withdrawn or outdated (given for
    other terms), exactly as the consent Actions judge it at login. An email
    can match one user per connection: all are shown. Exit 1 when no user
    matches.
    """
    with _tenant(env) as (client, policy):
        users = show(client, policy, email=email, user_id=user_id)
    if not users:
        raise ConsentError(f"no user with email {email!r} in the {env} tenant")
    text = "\n".join(
        [
            f"terms version in force: {policy.record_purpose.version}",
            *(_user_line(u) for u in users),
        ]
    )
    state().emit(
        {"terms_version": policy.record_purpose.version, "users": [u.as_json() for u in users]},
        text,
    )
    return EXIT_OK


# -- grant / withdraw ----------------------------------------------------------------
def _change_text(change: ConsentChange) -> str:
    verb = "granted" if change.operation == "grant" else "withdrawn"
    if not change.changed:
        head = (
            f"Nothing written: consent of {change.before.user_id} "
            f"is already {change.before.status}."
        )
    else:
        head = (
            f"Consent {verb} for {change.after.user_id}: "
            f"{change.before.status} -> {change.after.status} "
            f"(wrote user_metadata key(s): {', '.join(sorted(change.patch))})."
        )
    return f"{head}\n{_user_line(change.after)}"


@consent_group.command("grant")
@click.option("--user-id", required=True, metavar="ID", help="The user whose consent to record.")
@env_option
@output_option
def grant_command(user_id: str, env: str) -> int:
    """Record consent to the current terms for a user, collected outside a login (method api).

    Writes only the consent record's key(s) of user_metadata, a nested record
    whole. Nothing is written when the user's consent is already valid.
    """
    with _tenant(env) as (client, policy):
        change = grant(client, policy, user_id)
    state().emit(change.as_json(), _change_text(change))
    return EXIT_OK


@consent_group.command("withdraw")
@click.option("--user-id", required=True, metavar="ID", help="The user withdrawing consent.")
@click.option("--reason", metavar="TEXT", help="Why, as the user gave it (stored with the record).")
@env_option
@output_option
def withdraw_command(user_id: str, reason: str | None, env: str) -> int:
    """Record that a user withdrew consent (withdrawn_at, method api, the reason).

    The next login then follows tenant.yaml's consent.on_withdrawn: ask
    again, or deny. Nothing is written when consent is already withdrawn.
    """
    with _tenant(env) as (client, policy):
        change = withdraw(client, policy, user_id, reason=reason)
    state().emit(change.as_json(), _change_text(change))
    return EXIT_OK


# -- audit ---------------------------------------------------------------------------
def _audit_text(report: AuditReport) -> str:
    lines = [
        f"Consent audit against terms version {report.terms_version} "
        f"({report.source}; {report.checked} user(s) checked)."
    ]
    if report.fallback_reason:
        lines.append(f"Search could not be used ({report.fallback_reason}): read an export.")
    if report.findings:
        width = max(len(f.user_id) for f in report.findings)
        mail = max(len(f.email or "-") for f in report.findings)
        lines.append(f"{'USER':<{width}}  {'EMAIL':<{mail}}  {'STATUS':<9}  TERMS  WHEN")
        for f in report.findings:
            record = f.record
            terms = "-" if record is None or record.terms_version is None else record.terms_version
            when = "-"
            if record is not None:
                when = str(record.withdrawn_at or record.date or "-")
            lines.append(
                f"{f.user_id:<{width}}  {f.email or '-':<{mail}}  {f.status:<9}  {terms}  {when}"
            )
    summary = ", ".join(f"{status} {count}" for status, count in report.summary.items())
    lines.append(f"{len(report.findings)} user(s) without valid consent: {summary}.")
    return "\n".join(lines)


def _progress_printer() -> Callable[[ExportProgress], None]:
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


@consent_group.command("audit")
@click.option(
    "--terms-version",
    metavar="V",
    help="Judge against this terms version (default: the environment's consent.terms_version).",
)
@click.option(
    "--source",
    type=click.Choice(["auto", "search", "export"]),
    default="auto",
    show_default=True,
    help="auto: user search, and a users-export job past the 1000-result search window or "
    "when search is unavailable; search or export: only that one.",
)
@click.option(
    "--fail-on-findings",
    is_flag=True,
    help="Exit 2 when any user lacks valid consent (for CI); otherwise findings exit 0.",
)
@env_option
@output_option
def audit_command(
    terms_version: str | None, source: Source, fail_on_findings: bool, env: str
) -> int:
    """Users whose consent is missing, declined, withdrawn or for older terms.

    Text: a table and a summary by status. JSON: an object with
    terms_version, source, checked, summary and users (each {user_id, email,
    status, record}). Exit 0, or 2 with --fail-on-findings when there are
    findings; 1 on errors.
    """
    progress = _progress_printer() if state().output == "text" else None
    with _tenant(env) as (client, policy):
        report = audit(
            client, policy, terms_version=terms_version, source=source, progress=progress
        )
    state().emit(report.as_json(), _audit_text(report))
    return EXIT_CHANGES if fail_on_findings and report.findings else EXIT_OK
