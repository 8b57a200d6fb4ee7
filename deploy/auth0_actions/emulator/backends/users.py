"""Users as the tenant keeps them, and Auth0's rules for them.

Wire format per docs/reference/management-api.md §3 and the recordings
(TestAccUser, TestAccDataSourceUser, go_TestUserManager_*):

- ids are ``auth0|<24 hex>`` (or ``auth0|<user_id>`` when the body names one);
  timestamps have millisecond precision, as Auth0's user store writes them;
- PATCH merges ``user_metadata``/``app_metadata`` one level deep: ``null``
  deletes a key, ``{}`` wipes the object (``app_metadata`` then disappears
  from the user, ``user_metadata`` stays as ``{}``), nested objects are
  replaced whole;
- metadata keys containing ``.`` or ``$`` (at any depth) are a 400;
- each metadata object is capped at :data:`METADATA_MAX_BYTES` (compact JSON).
  Auth0 documents 16 MB of storage but "about 16 kB" as the practical limit
  (Rules, the Dashboard, ID tokens); the emulator enforces the practical one so
  tests notice oversized consent records. The 1 MB request cap is the core's.
- passwords are stored only as a salted hash
  (:mod:`auth0_actions.emulator.backends.passwords`, which the login verifies with).

Request bodies reach the backend checked against the OpenAPI document's
schemas (the app's dispatch); what is here are Auth0's rules the schemas do
not state. The handlers in :mod:`auth0_actions.emulator.handlers.users`
translate the wire; the search language is
:mod:`auth0_actions.emulator.backends.users_query`.
"""

from __future__ import annotations

import hashlib
import json
import re
import secrets
from typing import Any
from urllib.parse import quote

from auth0_actions import clock
from auth0_actions.emulator.backends.passwords import hash_password
from auth0_actions.emulator.backends.users_query import (
    QueryError,
    QueryRestricted,
    matches,
    parse_query,
    restrictions,
)
from auth0_actions.emulator.flow_writes import MetadataWrites
from auth0_actions.emulator.http import ApiError, bad_request
from auth0_actions.emulator.store import Store

METADATA_MAX_BYTES = 16 * 1024
DEFAULT_CONNECTION = "Username-Password-Authentication"
PASSWORDLESS = {"email": "email", "sms": "sms"}
PROTECTED_APP_METADATA = frozenset(
    {
        "blocked",
        "clientID",
        "created_at",
        "email",
        "email_verified",
        "global_client_id",
        "globalClientID",
        "identities",
        "lastIP",
        "lastLogin",
        "metadata",
        "user_id",
        "loginsCount",
    }
)

_UPDATABLE = (
    "email",
    "given_name",
    "family_name",
    "name",
    "nickname",
    "picture",
    "username",
    "phone_number",
)
_UPDATABLE_FLAGS = ("blocked", "email_verified", "phone_verified")
# What a PATCH may carry (its schema allows any other key: Auth0 ignores them).
_UPDATE_FIELDS = frozenset(
    {
        *_UPDATABLE,
        *_UPDATABLE_FLAGS,
        "connection",
        "password",
        "client_id",
        "user_metadata",
        "app_metadata",
        "verify_email",
        "verify_phone_number",
    }
)


def connection_id(name: str) -> str:
    """A stable connection id for a connection name (``con_`` + 16 alphanumerics)."""
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
    number = int.from_bytes(hashlib.sha256(name.encode()).digest()[:16], "big")
    chars = []
    for _ in range(16):
        number, index = divmod(number, len(alphabet))
        chars.append(alphabet[index])
    return "con_" + "".join(chars)


def user_not_found() -> ApiError:
    return ApiError(404, "The user does not exist.", "inexistent_user")


# -- Auth0's rules beyond the request schemas ---------------------------------
# (types, formats, lengths and unknown fields are the OpenAPI document's: the
# app's dispatch has checked them before a handler calls the backend)


def _check_keys(value: Any, path: str) -> None:
    if isinstance(value, dict):
        for key, inner in value.items():
            where = f"{path}.{key}"
            if "." in key:
                raise bad_request(
                    'Fields with "." are not allowed, please remove all dotted fields. '
                    f"Example: {where}"
                )
            if "$" in key:
                raise bad_request(
                    'Fields with "$" are not allowed, please remove all fields starting '
                    f"with or containing $. Example: {where}"
                )
            _check_keys(inner, where)
    elif isinstance(value, list):
        for item in value:
            _check_keys(item, path)


def _check_size(name: str, value: dict[str, Any]) -> None:
    size = len(json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode())
    if size > METADATA_MAX_BYTES:
        raise bad_request(
            f"Payload validation error: '{name}' is {size} bytes, "
            f"the maximum is {METADATA_MAX_BYTES} bytes."
        )


def validate_metadata(name: str, value: Any) -> None:
    _check_keys(value, name)
    if name == "app_metadata" and isinstance(value, dict):
        reserved = sorted(k for k in value if k in PROTECTED_APP_METADATA)
        if reserved:
            raise bad_request(
                f"Payload validation error: 'app_metadata.{reserved[0]}' is a reserved "
                "property name."
            )


def merge_metadata(current: dict[str, Any] | None, patch: dict[str, Any]) -> dict[str, Any]:
    """Auth0's PATCH: top-level merge, null deletes, {} wipes, nested objects replaced."""
    if not patch:
        return {}
    merged = dict(current or {})
    for key, value in patch.items():
        if value is None:
            merged.pop(key, None)
        else:
            merged[key] = value
    return merged


def apply_metadata(user: dict[str, Any], name: str, patch: dict[str, Any]) -> None:
    """Merge a metadata patch into a user document (app_metadata vanishes when empty)."""
    merged = merge_metadata(user.get(name), patch)
    _check_size(name, merged)
    if merged or name == "user_metadata":
        user[name] = merged
    else:
        user.pop(name, None)


def _picture(email: str | None, name: str) -> str:
    words = [w for w in re.split(r"\s+", name.strip()) if w]
    initials = (
        "".join(w[0] for w in words[:2]) if len(words) > 1 else (words[0][:2] if words else "")
    )
    initials = re.sub(r"[^a-z0-9]", "", initials.lower()) or "u"
    digest = hashlib.md5((email or name).strip().lower().encode()).hexdigest()  # noqa: S324
    fallback = quote(f"https://cdn.auth0.com/avatars/{initials}.png", safe="")
    return f"https://s.gravatar.com/avatar/{digest}?s=480&r=pg&d={fallback}"


class UsersBackend:
    """The tenant's users; every method that writes runs in one store transaction."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def find_by_email(self, email: str, connection: str | None = None) -> list[dict[str, Any]]:
        out = []
        for user in self.store.all("user"):
            if user.get("email") != email:
                continue
            if connection is None or any(
                i.get("connection") == connection for i in user.get("identities") or []
            ):
                out.append(user)
        return out

    def find_login(self, email: str, connection: str | None = None) -> dict[str, Any] | None:
        """The user the login form names by ``email`` (any case), in ``connection`` when given."""
        wanted = email.lower()
        for user in self.store.all("user"):
            if str(user.get("email", "")).lower() != wanted:
                continue
            if connection is None or any(
                i.get("connection") == connection for i in user.get("identities") or []
            ):
                return user
        return None

    def find(self, user_id: str) -> dict[str, Any] | None:
        """The stored user, or None (``get`` raises Auth0's 404 instead)."""
        return self.store.get("user", user_id)

    def record_login(self, user_id: str) -> None:
        """A successful login: ``logins_count`` up by one, ``last_login`` now (milliseconds)."""
        with self.store.transaction():
            user = self.store.get("user", user_id)
            if user is None:
                return
            user["logins_count"] = int(user.get("logins_count") or 0) + 1
            user["last_login"] = clock.iso_utc()
            self.store.put("user", user_id, user)

    def _username_taken(self, username: str, connection: str) -> bool:
        return any(
            user.get("username") == username
            and any(i.get("connection") == connection for i in user.get("identities") or [])
            for user in self.store.all("user")
        )

    def get(self, user_id: str) -> dict[str, Any]:
        user = self.store.get("user", user_id)
        if user is None:
            raise user_not_found()
        return user

    def create(
        self,
        body: dict[str, Any],
        *,
        password_required: bool = True,
        provider: str | None = None,
    ) -> dict[str, Any]:
        """A new user from a POST body (checked against its schema); 400, or 409 for a clash.

        The one builder of users: the Management API, ``emulator seed`` (which
        may load users without a password: they exist but cannot log in) and
        the signup flow all create them here. ``provider`` names an identity
        provider other than the connection's (a seeded ``google-oauth2|...`` user).
        """
        connection = str(body["connection"])
        provider = provider or PASSWORDLESS.get(connection, "auth0")
        email = body.get("email")
        if isinstance(email, str):
            email = email.lower()
        if provider == "auth0":
            for name in ("email", "password") if password_required else ("email",):
                if not body.get(name):
                    raise bad_request(
                        f"Payload validation error: 'Missing required property: {name}'."
                    )
        elif provider == "email" and not email:
            raise bad_request("Payload validation error: 'Missing required property: email'.")
        elif provider == "sms" and not body.get("phone_number"):
            raise bad_request(
                "Payload validation error: 'Missing required property: phone_number'."
            )
        for name in ("user_metadata", "app_metadata"):
            if name in body:
                validate_metadata(name, body[name])
                _check_size(name, body[name])
        given_id = body.get("user_id")
        local_id = given_id or secrets.token_hex(12)
        user_id = f"{provider}|{local_id}"
        stamp = clock.iso_utc()
        display = body.get("name") or email or body.get("phone_number") or local_id
        user: dict[str, Any] = {
            "created_at": stamp,
            "email": email,
            "email_verified": bool(body.get("email_verified", False)),
            "family_name": body.get("family_name"),
            "given_name": body.get("given_name"),
            "identities": [
                {
                    "connection": connection,
                    "user_id": local_id,
                    "provider": provider,
                    "isSocial": False,
                }
            ],
            "name": display,
            "nickname": body.get("nickname") or (email.split("@")[0] if email else display),
            "phone_number": body.get("phone_number"),
            "picture": body.get("picture") or _picture(email, display),
            "updated_at": stamp,
            "user_id": user_id,
            "username": body.get("username"),
        }
        if "blocked" in body:
            user["blocked"] = body["blocked"]
        if "phone_verified" in body:
            user["phone_verified"] = body["phone_verified"]
        if body.get("user_metadata") is not None:
            user["user_metadata"] = body["user_metadata"]
        if body.get("app_metadata"):
            user["app_metadata"] = body["app_metadata"]
        user = {k: v for k, v in user.items() if v is not None}
        if provider == "auth0" and body.get("password"):
            user["_password_hash"] = hash_password(body["password"])
        with self.store.transaction():
            username = body.get("username")
            if (
                self.store.get("user", user_id) is not None
                or (email and self.find_by_email(email, connection))
                or (username and self._username_taken(username, connection))
            ):
                raise ApiError(409, "The user already exists.", "auth0_idp_error")
            self.store.put("user", user_id, user)
        return user

    def update(self, user_id: str, body: dict[str, Any]) -> dict[str, Any]:
        """Auth0's PATCH: fields replaced (null removes), metadata merged one level deep."""
        if not body:
            raise bad_request(
                "Payload validation error: 'Too few properties defined (0), minimum 1'."
            )
        known = {k: v for k, v in body.items() if k in _UPDATE_FIELDS}
        for name in ("user_metadata", "app_metadata"):
            if isinstance(known.get(name), dict):
                validate_metadata(name, known[name])
        password = known.get("password")
        password_hash = hash_password(password) if isinstance(password, str) else None
        with self.store.transaction():
            user = self.store.get("user", user_id)
            if user is None:
                raise user_not_found()
            email = known.get("email")
            if isinstance(email, str):
                email = email.lower()
                known["email"] = email
                clash = [u for u in self.find_by_email(email) if u["user_id"] != user["user_id"]]
                if clash:
                    raise ApiError(409, "The specified new email already exists", "email_conflict")
            for name in (*_UPDATABLE, *_UPDATABLE_FLAGS):
                if name not in known:
                    continue
                if known[name] is None:
                    user.pop(name, None)
                else:
                    user[name] = known[name]
            for name in ("user_metadata", "app_metadata"):
                if name in known:
                    apply_metadata(user, name, known[name] or {})
            stamp = clock.iso_utc()
            if password_hash is not None:
                user["_password_hash"] = password_hash
                user["last_password_reset"] = stamp
            user["updated_at"] = stamp
            self.store.put("user", user["user_id"], user)
        return user

    def search(self, query: str) -> list[dict[str, Any]]:
        """The users a v3 search query matches, in creation order.

        Auth0's 400s: ``invalid_query`` for a query it cannot parse,
        ``invalid_query_string`` for one it parses but will not run
        (:func:`~auth0_actions.emulator.backends.users_query.restrictions`).
        """
        try:
            node = parse_query(query)
            restrictions(node)
        except QueryRestricted as error:
            raise bad_request(
                f"Query validation error: '{error}' on property q.", "invalid_query_string"
            ) from None
        except QueryError as error:
            raise bad_request(f"Invalid query: {error}", "invalid_query") from None
        except RecursionError:
            raise bad_request("Invalid query: too deeply nested", "invalid_query") from None
        try:
            return [user for user in self.store.all("user") if matches(node, user)]
        except RecursionError:
            raise bad_request("Invalid query: too deeply nested", "invalid_query") from None

    def persist_flow_writes(self, user_id: str, writes: MetadataWrites) -> dict[str, Any] | None:
        """A flow's metadata writes, key by key over the profile as stored now (one transaction).

        Auth0's top-level merge (:func:`merge_metadata`): keys the flow set to
        ``None`` are removed, keys it did not touch keep their current value,
        including those written through the API while the flow ran. The API's
        size cap is not applied: a session's own limit (32 kB of each) was
        checked when the batch was read (:mod:`auth0_actions.emulator.flow_writes`).
        None when there was nothing to write or the user is gone.
        """
        if not writes:
            return None
        with self.store.transaction():
            user = self.store.get("user", user_id)
            if user is None:
                return None
            for name, patch in writes.fields():
                current = user.get(name)
                if current is not None and not isinstance(current, dict):
                    continue  # the api refused to write into it (post_login.js)
                merged = merge_metadata(current, patch)
                if merged or name == "user_metadata":
                    user[name] = merged
                else:
                    user.pop(name, None)
            user["updated_at"] = clock.iso_utc()
            self.store.put("user", user_id, user)
        return user

    def delete(self, user_id: str) -> None:
        with self.store.transaction():
            self.store.delete("user", user_id)
