"""auth0-actions consent: the Management API side of the consent guide.

show / grant / withdraw / audit live here; ``export``, ``verify`` and
``receipt`` have their own modules and are added to the group below.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import click

from auth0_actions.cli.commands_consent_export import export_command
from auth0_actions.cli.commands_consent_receipt import receipt_command
from auth0_actions.cli.commands_consent_verify import verify_command
from auth0_actions.cli.consent_text import audit_text, change_text, progress_printer, user_text
from auth0_actions.cli.state import environment_option, output_option, state
from auth0_actions.consent.audit import Source, audit
from auth0_actions.consent.ledger_key import ledger_key
from auth0_actions.consent.operations import ConsentError, grant, show, withdraw
from auth0_actions.consent.texts import text_hashes
from auth0_actions.environment import Environment, open_environment
from auth0_actions.errors import EXIT_CHANGES, EXIT_OK
from auth0_actions.tenant_client import TenantClient

env_option = environment_option("The environment whose tenant to use (default: local).")
purpose_option = click.option(
    "--purpose",
    "purposes",
    multiple=True,
    metavar="ID",
    help="A purpose of tenant.yaml's consent.purposes; repeat for several.",
)
reason_option = click.option(
    "--reason", metavar="TEXT", help="Why, or how it was collected; kept on the ledger event."
)


@click.group("consent")
def consent_group() -> None:
    """Show, grant, withdraw, audit, verify and export users' consent; give receipts."""


consent_group.add_command(export_command)
consent_group.add_command(verify_command)
consent_group.add_command(receipt_command)


@contextmanager
def _tenant(env: str) -> Iterator[tuple[TenantClient, Environment]]:
    environment = open_environment(state().tenant(), env)
    with environment.tenant_client() as client:
        yield client, environment


# -- show ----------------------------------------------------------------------------
@consent_group.command("show")
@click.option("--email", metavar="EMAIL", help="Every user with this email (all connections).")
@click.option(
    "--user-id", metavar="ID", help="The user with this id (auth0|..., google-oauth2|...)."
)
@env_option
@output_option
def show_command(email: str | None, user_id: str | None, env: str) -> int:
    """A user's consent per purpose and the whole history of decisions.

    Per purpose: its status against the current version (valid, missing,
    declined, withdrawn, outdated) and what the next login does about it,
    exactly as the consent Actions judge it; then every ledger event (time,
    purpose, event, method, version, text sha256, language, reason) and the
    signed summary of older ones. A user with no ledger yet is shown from the
    seed record in user_metadata (evidence: user_metadata). An email can match
    one user per connection: all are shown. Exit 1 when no user matches.
    """
    with _tenant(env) as (client, environment):
        users = show(client, environment.consent, email=email, user_id=user_id)
    if not users:
        raise ConsentError(f"no user with email {email!r} in the {env} tenant")
    state().emit(
        {"users": [u.as_json(history=True) for u in users]},
        "\n\n".join(user_text(u) for u in users),
    )
    return EXIT_OK


# -- grant / withdraw ----------------------------------------------------------------
@consent_group.command("grant")
@click.option("--user-id", required=True, metavar="ID", help="The user whose consent to record.")
@purpose_option
@click.option(
    "--language",
    metavar="LANG",
    help="The language of the text the user agreed to (default: the first of consent.languages).",
)
@reason_option
@env_option
@output_option
def grant_command(
    user_id: str, purposes: tuple[str, ...], language: str | None, reason: str | None, env: str
) -> int:
    """Record consent collected outside a login (method api) to the current versions.

    Default: every required purpose; an optional purpose only when named with
    --purpose. Each grant is a ledger event carrying the sha256 of the text of
    the purpose's current version in --language. A purpose already given for
    its current version gets no event; nothing is written when none is left.
    """
    with _tenant(env) as (client, environment):
        texts = text_hashes(environment.project.root, environment.consent)
        change = grant(
            client,
            environment.consent,
            user_id,
            ledger_key(environment),
            texts,
            purposes=purposes or None,
            language=language,
            reason=reason,
        )
    state().emit(change.as_json(), change_text(change))
    return EXIT_OK


@consent_group.command("withdraw")
@click.option("--user-id", required=True, metavar="ID", help="The user withdrawing consent.")
@purpose_option
@reason_option
@env_option
@output_option
def withdraw_command(user_id: str, purposes: tuple[str, ...], reason: str | None, env: str) -> int:
    """Record that a user withdrew consent (method api), per purpose.

    Default: every purpose the user has given ("I withdraw my consent"
    covers them all); --purpose narrows it. The event keeps the version and
    text withdrawn from. The next login follows tenant.yaml's
    consent.on_withdrawn for a required purpose (ask again, or deny); an
    optional purpose stays withdrawn until the user gives it again. A purpose
    not given gets no event; nothing is written when none is left.
    """
    with _tenant(env) as (client, environment):
        change = withdraw(
            client,
            environment.consent,
            user_id,
            ledger_key(environment),
            purposes=purposes or None,
            reason=reason,
        )
    state().emit(change.as_json(), change_text(change))
    return EXIT_OK


# -- audit ---------------------------------------------------------------------------
@consent_group.command("audit")
@purpose_option
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
    help="Exit 2 when any user will be asked again (for CI); otherwise findings exit 0.",
)
@env_option
@output_option
def audit_command(
    purposes: tuple[str, ...], source: Source, fail_on_findings: bool, env: str
) -> int:
    """Users the next login will ask again (or deny), per purpose (default: all).

    Each purpose is judged against its current version: a required purpose
    missing, declined, withdrawn or outdated, an optional one missing or
    outdated. An optional purpose declined or withdrawn is a settled decision,
    not a finding. Text: a table and a summary per purpose. JSON: purposes,
    source, checked, summary (purpose -> status -> users) and users (each
    {user_id, email, evidence, findings}). Exit 0, or 2 with
    --fail-on-findings when there are findings; 1 on errors.
    """
    progress = progress_printer() if state().output == "text" else None
    with _tenant(env) as (client, environment):
        report = audit(
            client,
            environment.consent,
            purposes=purposes or None,
            source=source,
            progress=progress,
        )
    state().emit(report.as_json(), audit_text(report))
    return EXIT_CHANGES if fail_on_findings and report.findings else EXIT_OK
