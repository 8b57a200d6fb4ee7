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
- passwords are stored only as a salted scrypt hash (``scrypt$salt$hex``,
  the format routes_login verifies).

The handlers in :mod:`auth0_actions.emulator.routes_users` translate the
wire; the search language is :mod:`auth0_actions.emulator.users_query`.
"""

from __future__ import annotations

import hashlib
import json
import re
import secrets
from typing import Any
from urllib.parse import quote

from auth0_actions import clock
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

_STRING_FIELDS = (
    "email",
    "given_name",
    "family_name",
    "name",
    "nickname",
    "picture",
    "username",
    "phone_number",
)
_BOOL_FIELDS = ("blocked", "email_verified", "phone_verified", "verify_email")
_CREATE_FIELDS = frozenset(
    {
        *_STRING_FIELDS,
        *_BOOL_FIELDS,
        "connection",
        "password",
        "user_id",
        "user_metadata",
        "app_metadata",
    }
)
_UPDATE_FIELDS = frozenset(
    {
        *_STRING_FIELDS,
        *_BOOL_FIELDS,
        "connection",
        "password",
        "client_id",
        "user_metadata",
        "app_metadata",
        "verify_phone_number",
    }
)
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def hash_password(password: str) -> str:
    """scrypt in the stored format the login flow verifies (``scrypt$<salt>$<hex>``)."""
    salt = secrets.token_hex(16)
    digest = hashlib.scrypt(password.encode(), salt=salt.encode(), n=2**12, r=8, p=1).hex()
    return f"scrypt${salt}${digest}"


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


# -- validation ---------------------------------------------------------------


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


def _type_error(expected: str, value: Any, prop: str) -> ApiError:
    return bad_request(
        f"Payload validation error: 'Expected type {expected} but found type "
        f"{_json_type(value)}' on property {prop}."
    )


def _check_fields(body: dict[str, Any], allowed: frozenset[str], *, nullable: bool) -> None:
    extra = sorted(k for k in body if k not in allowed)
    if extra:
        raise bad_request(
            f"Payload validation error: 'Additional properties not allowed: {extra[0]}'."
        )
    for name in (*_STRING_FIELDS, "connection", "password", "user_id", "client_id"):
        value = body.get(name)
        if name in body and not isinstance(value, str) and not (nullable and value is None):
            raise _type_error("string", value, name)
    for name in (*_BOOL_FIELDS, "verify_phone_number"):
        if name in body and not isinstance(body[name], bool):
            raise _type_error("boolean", body[name], name)
    for name in ("user_metadata", "app_metadata"):
        value = body.get(name)
        if name in body and not isinstance(value, dict) and not (nullable and value is None):
            raise _type_error("object", value, name)
    email = body.get("email")
    if isinstance(email, str) and not _EMAIL.match(email):
        raise bad_request(
            "Payload validation error: 'Object didn't pass validation for format email: "
            f"{email}' on property email."
        )
    for name, limit in (
        ("given_name", 150),
        ("family_name", 150),
        ("name", 300),
        ("nickname", 300),
    ):
        value = body.get(name)
        if isinstance(value, str) and not 1 <= len(value) <= limit:
            raise bad_request(
                f"Payload validation error: 'String is too {'long' if value else 'short'} "
                f"({len(value)} chars), {'maximum' if value else 'minimum'} "
                f"{limit if value else 1}' on property {name}."
            )
    phone = body.get("phone_number")
    if isinstance(phone, str) and not re.fullmatch(r"\+[0-9]{1,15}", phone):
        raise bad_request(
            "Payload validation error: 'String does not match pattern ^\\+[0-9]{1,15}$' "
            "on property phone_number."
        )


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

    def create(self, body: dict[str, Any]) -> dict[str, Any]:
        """A new user from a POST body; Auth0's 400 for a bad body, 409 for a clash."""
        _check_fields(body, _CREATE_FIELDS, nullable=False)
        connection = body.get("connection")
        if not connection:
            raise bad_request("Payload validation error: 'Missing required property: connection'.")
        provider = PASSWORDLESS.get(connection, "auth0")
        email = body.get("email")
        if isinstance(email, str):
            email = email.lower()
        if provider == "auth0":
            for name in ("email", "password"):
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
        if given_id is not None and (len(given_id) > 255 or re.search(r"\s", given_id)):
            raise bad_request(
                "Payload validation error: 'String does not match pattern ^\\S*$' on property "
                "user_id."
            )
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
        if provider == "auth0":
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
        _check_fields(known, _UPDATE_FIELDS, nullable=True)
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
            for name in (*_STRING_FIELDS, "blocked", "email_verified", "phone_verified"):
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
