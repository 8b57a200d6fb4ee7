"""The Management API scopes each command needs: the one table, for errors and the docs.

Each entry is the set of scopes that covers every endpoint the command calls
(docs/reference/management-api.md; the emulator's routes check the same
scopes): reads of actions and bindings need ``read:actions``; a create, a
deploy and a rollback ``create:actions``; a draft update and a bindings
PATCH ``update:actions``; a delete ``delete:actions``. Users are read
(get, by email, search) with ``read:users`` and their consent record written
with ``update:users``; a users-export job is started with ``read:users``
and followed with ``read:users`` (or ``create:users``), its file downloaded
from a pre-signed URL without a token. tests/test_scopes.py checks each entry
against the local tenant: exactly these scopes suffice, and each is needed.
"""

from __future__ import annotations

import click

READ_ACTIONS = "read:actions"
CREATE_ACTIONS = "create:actions"
UPDATE_ACTIONS = "update:actions"
DELETE_ACTIONS = "delete:actions"
READ_USERS = "read:users"
UPDATE_USERS = "update:users"

COMMAND_SCOPES: dict[str, tuple[str, ...]] = {
    "plan": (READ_ACTIONS,),
    # delete:actions only for --allow-delete with orphans in the tenant.
    "apply": (READ_ACTIONS, CREATE_ACTIONS, UPDATE_ACTIONS, DELETE_ACTIONS),
    "promote": (READ_ACTIONS, CREATE_ACTIONS, UPDATE_ACTIONS),
    "history": (READ_ACTIONS,),
    "rollback": (READ_ACTIONS, CREATE_ACTIONS),
    "consent show": (READ_USERS,),
    "consent grant": (READ_USERS, UPDATE_USERS),
    "consent withdraw": (READ_USERS, UPDATE_USERS),
    "consent audit": (READ_USERS,),
    "consent verify": (READ_USERS,),
    "consent export": (READ_USERS,),
}


def scopes_for(command: str | None) -> tuple[str, ...]:
    return COMMAND_SCOPES.get(command or "", ())


def running_command() -> str | None:
    """The CLI command being run ("consent grant"), if any: its scopes go in a 403's message.

    Read from click's context because the plan layer opens clients on the
    commands' behalf; outside the CLI there is no command and no table entry.
    """
    ctx = click.get_current_context(silent=True)
    if ctx is None:
        return None
    words = ctx.command_path.split()[1:]
    return " ".join(words) or None
