"""What a flow's actions asked to store in the profile: metadata writes, key by key.

Auth0 batches ``api.user.setUserMetadata(key, value)`` and
``api.user.setAppMetadata(key, value)`` across every action of a trigger into
one profile update at the end of the trigger, and before a
``api.redirect.sendUserTo`` redirect
(https://auth0.com/docs/manage-users/user-accounts/metadata/manage-user-metadata).
The update is a top-level merge of the keys the actions set: a key set to
``null``/``undefined`` is removed, every other stored key is left as it is, so
a write made meanwhile through the Management API survives. A failed or
timed-out execution stores nothing of its batch
(https://auth0.com/docs/customize/actions/limitations); a deny does not cancel
the writes already requested
(https://auth0.com/docs/customize/actions/explore-triggers/signup-and-login-triggers/login-trigger/post-login-api-object,
``api.access.deny``).

This module reads the batch from the commands the run recorded (never from
the actions' final view of the metadata, which is stale by the time it is
stored); :meth:`auth0_actions.emulator.backends.users.UsersBackend.persist_flow_writes`
applies it.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

# The command each api.user setter records (triggers/post_login.js), and the field it writes.
METADATA_COMMANDS = {
    "user.setUserMetadata": "user_metadata",
    "user.setAppMetadata": "app_metadata",
}
# limitations.mdx, "User metadata and app metadata": 32 kB of each persisted per session.
SESSION_METADATA_BYTES = 32 * 1024


class FlowWriteError(ValueError):
    """A batch the runtime should never have produced (a worker that broke its own limits)."""


@dataclass(frozen=True)
class MetadataWrites:
    """The keys a flow set, per field, the last write to a key winning; ``None`` removes it."""

    user_metadata: dict[str, Any] = field(default_factory=dict)
    app_metadata: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_commands(cls, commands: Iterable[Mapping[str, Any]]) -> MetadataWrites:
        """The batch of one run's recorded commands, in the order the actions issued them."""
        writes = cls()
        for command in commands:
            name = METADATA_COMMANDS.get(str(command.get("type")))
            if name is None:
                continue
            key = command.get("key")
            if not isinstance(key, str):
                raise FlowWriteError(f"a {command.get('type')} command has no string key")
            writes.patch_for(name)[key] = command.get("value")
        writes.check_size()
        return writes

    def patch_for(self, name: str) -> dict[str, Any]:
        return self.user_metadata if name == "user_metadata" else self.app_metadata

    def fields(self) -> Iterator[tuple[str, dict[str, Any]]]:
        """(field name, the keys written to it), for each field with a write."""
        for name in ("user_metadata", "app_metadata"):
            patch = self.patch_for(name)
            if patch:
                yield name, patch

    def __bool__(self) -> bool:
        return bool(self.user_metadata or self.app_metadata)

    def check_size(self) -> None:
        """At most 32 kB of each field written per session (the api refuses a write past it)."""
        for name, patch in self.fields():
            size = len(json.dumps(patch, separators=(",", ":"), ensure_ascii=False).encode())
            if size > SESSION_METADATA_BYTES:
                raise FlowWriteError(
                    f"the session wrote {size} bytes of {name}; "
                    f"at most {SESSION_METADATA_BYTES} bytes are persisted per session"
                )
