"""auth0-actions consent receipt: a user's consent receipts, and checking one presented."""

from __future__ import annotations

import json
from typing import IO

import click
import jwt

from auth0_actions.cli.state import environment_option, output_option, state
from auth0_actions.consent import ledger as ledgers
from auth0_actions.consent.operations import ConsentError, get_user
from auth0_actions.consent.receipt_key import receipt_key
from auth0_actions.consent.receipts import (
    ReceiptRejected,
    issue_receipt,
    receipt_service,
    verify_receipt,
)
from auth0_actions.environment import open_environment
from auth0_actions.errors import EXIT_OK

# A JWT of a few kilobytes at most: anything larger is not a receipt.
MAX_RECEIPT_BYTES = 16 * 1024


@click.command("receipt")
@click.option("--user-id", metavar="ID", help="The user whose receipts to give.")
@click.option(
    "--seq",
    "seqs",
    type=int,
    multiple=True,
    metavar="N",
    help="Only the event with this sequence number; repeat for several (default: every kept "
    "event).",
)
@click.option(
    "--check",
    "check",
    type=click.File("r"),
    metavar="FILE",
    help="Verify a receipt someone presents (a file holding the JWT, or - for standard input) "
    "against its user's ledger, instead of giving receipts.",
)
@click.option(
    "--public-key",
    "public_key",
    is_flag=True,
    help="Print the public key that verifies the receipts, as a JWK Set, to publish.",
)
@environment_option("The environment whose tenant and receipt key to use.")
@output_option
def receipt_command(
    user_id: str | None, seqs: tuple[int, ...], check: IO[str] | None, public_key: bool, env: str
) -> int:
    """Give a user the signed receipt of each decision, or check a receipt presented.

    A receipt is a JWT signed with the environment's Ed25519 receipt key
    (EdDSA; anyone can verify it with the public key, --public-key) carrying
    the Kantara Consent Receipt v1.1 fields and the ISO/IEC TS 27560 record of
    one ledger event; the same event always gives the same receipt, as the
    self-service page gives it. With --check, the receipt's signature is
    verified and its event looked up in its user's ledger (the receipt's sub):
    exit 0 when both vouch for it, 1 naming what does not hold. Events folded
    into the ledger's signed summary have no receipt of their own any more.
    """
    environment = open_environment(state().tenant(), env)
    key = receipt_key(environment)
    policy = environment.consent
    if public_key:
        jwks = key.jwks()
        state().emit(jwks, json.dumps(jwks, indent=2))
        return EXIT_OK
    if check is not None:
        if user_id is not None or seqs:
            raise ConsentError("--check takes the user from the receipt: leave out --user-id/--seq")
        token = check.read(MAX_RECEIPT_BYTES + 1).strip()
        if not token or len(token) > MAX_RECEIPT_BYTES:
            raise ConsentError(f"{check.name}: not a receipt (empty, or over 16 KiB)")
        try:
            subject = str(jwt.decode(token, options={"verify_signature": False}).get("sub", ""))
        except jwt.InvalidTokenError:
            raise ConsentError(f"{check.name}: not a receipt (not a JWT)") from None
        if not subject:
            raise ConsentError(f"{check.name}: the receipt names no user (sub)")
        with environment.tenant_client() as client:
            user = get_user(client, subject)
        stored = ledgers.read(user.get("app_metadata"), policy.ledger.key)
        try:
            verified = verify_receipt(token, key, stored)
        except ReceiptRejected as rejected:
            raise ConsentError(f"{check.name}: {rejected.reason}") from None
        found = {
            "valid": True,
            "user_id": verified.user_id,
            "purpose": verified.purpose,
            "seq": verified.seq,
            "event_hash": verified.event_hash,
        }
        state().emit(
            found,
            f"Valid receipt: {verified.user_id}, purpose {verified.purpose}, event "
            f"{verified.seq} (hash {verified.event_hash[:12]}), still in the ledger.",
        )
        return EXIT_OK
    if user_id is None:
        raise ConsentError("give --user-id (receipts to give) or --check FILE (one to verify)")
    with environment.tenant_client() as client:
        user = get_user(client, user_id)
    stored = ledgers.read(user.get("app_metadata"), policy.ledger.key)
    events = [e for e in (stored or {}).get("events") or [] if not seqs or e.get("seq") in seqs]
    missing = sorted(set(seqs) - {e.get("seq") for e in events})
    if missing:
        raise ConsentError(
            f"user {user_id} has no kept ledger event {', '.join(map(str, missing))} "
            "(folded into the summary, or never recorded)"
        )
    service = receipt_service(environment.view.settings.domain, local=environment.is_local)
    receipts = [
        {
            "seq": e["seq"],
            "purpose": e["purpose"],
            "event": e["event"],
            "at": e["at"],
            "receipt": issue_receipt(e, policy, user_id, service, key),
        }
        for e in events
    ]
    text = "\n".join(
        f"# event {r['seq']}: {r['purpose']} {r['event']} at {r['at']}\n{r['receipt']}"
        for r in receipts
    )
    state().emit(
        {"user_id": user_id, "receipts": receipts},
        text or f"user {user_id} has no ledger events yet: no receipts",
    )
    return EXIT_OK
