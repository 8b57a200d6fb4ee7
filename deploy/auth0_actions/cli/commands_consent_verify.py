"""auth0-actions consent verify: recompute every consent ledger, report what was edited."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import click

from auth0_actions.cli.consent_text import progress_printer, verify_text
from auth0_actions.cli.state import environment_option, output_option, state
from auth0_actions.consent.export import iter_exported_users
from auth0_actions.consent.ledger_key import ledger_key
from auth0_actions.consent.operations import ConsentError, get_user
from auth0_actions.consent.status import USER_FIELDS
from auth0_actions.consent.verify import verify_users
from auth0_actions.environment import open_environment
from auth0_actions.errors import EXIT_CHANGES, EXIT_OK


@click.command("verify")
@click.option("--user-id", metavar="ID", help="Only this user.")
@click.option("--email", metavar="EMAIL", help="Only the users with this email (all connections).")
@click.option(
    "--fail-on-findings",
    is_flag=True,
    help="Exit 2 when any record was edited outside the tool (for CI); otherwise exit 0.",
)
@environment_option("The environment whose tenant and CONSENT_LEDGER_SECRET to use.")
@output_option
def verify_command(user_id: str | None, email: str | None, fail_on_findings: bool, env: str) -> int:
    """Check every consent ledger (default: all users, read through a users-export job).

    Recomputes each ledger's hash chain and checks every event's mac and the
    summary's signature with the environment's CONSENT_LEDGER_SECRET, and that
    the state and the mirror in user_metadata agree with the events. Reports
    hash-mismatch, chain-broken, mac-invalid, summary-invalid, state-mismatch,
    malformed and mirror-differs per user, and counts. Users are streamed:
    memory stays flat on a large tenant. Exit 0, or 2 with --fail-on-findings
    when any finding; 1 on errors.
    """
    if user_id is not None and email is not None:
        raise ConsentError("give at most one of --email and --user-id")
    environment = open_environment(state().tenant(), env)
    key = ledger_key(environment)
    policy = environment.consent
    with environment.tenant_client() as client:
        users: Iterable[Mapping[str, Any]]
        if user_id is not None:
            users = [get_user(client, user_id)]
        elif email is not None:
            users = client.users_by_email(email, fields=USER_FIELDS)
            if not users:
                raise ConsentError(f"no user with email {email!r} in the {env} tenant")
        else:
            progress = progress_printer() if state().output == "text" else None
            users = iter_exported_users(client, list(USER_FIELDS), progress=progress)
        report = verify_users(users, policy, key)
    state().emit(report.as_json(), verify_text(report))
    return EXIT_CHANGES if fail_on_findings and report.users else EXIT_OK
