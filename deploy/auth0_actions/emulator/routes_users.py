"""Users: create, get, users-by-email, search, PATCH with Auth0's metadata rules, delete.

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
  the format routes_login verifies);
- search (``GET /users?q=``) understands the Lucene subset Auth0's v3 engine
  documents: ``field:value``, ``field:"phrase"``, ``_exists_:field``,
  ``AND``/``OR``/``NOT`` (also ``&&``, ``||``, ``!``, ``-``), parentheses,
  ``field:(a OR b)``, ranges ``[a TO b]``/``{a TO b}`` and ``*``/``?``
  wildcards on root fields; paths into metadata and arrays
  (``user_metadata.consent.given:false``, ``identities.connection:x``). The
  default operator between terms is OR, as in Lucene. Normalised fields
  (email, name, given_name, family_name, nickname) match case-insensitively,
  everything else exactly.
"""

from __future__ import annotations

import fnmatch
import hashlib
import json
import re
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from auth0_actions.emulator.http import ApiError, Request, Response, bad_request

METADATA_MAX_BYTES = 16 * 1024
MAX_PER_PAGE = 100
MAX_PAGED_RECORDS = 1000
DEFAULT_CONNECTION = "Username-Password-Authentication"
PASSWORDLESS = {"email": "email", "sms": "sms"}
NORMALISED_FIELDS = frozenset({"email", "name", "given_name", "family_name", "nickname"})
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


# -- shared helpers (routes_jobs and routes_login use these too) -------------


def public(doc: dict[str, Any]) -> dict[str, Any]:
    """The document without its private ("_") fields."""
    return {k: v for k, v in doc.items() if not k.startswith("_")}


def now_ms() -> str:
    """Auth0's user timestamps: UTC, millisecond precision (2023-07-11T16:30:16.596Z)."""
    ms = time.time_ns() // 1_000_000
    seconds, fraction = divmod(ms, 1000)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds)) + f".{fraction:03d}Z"


def hash_password(password: str) -> str:
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


def project(doc: dict[str, Any], fields: str | None, include: bool | None) -> dict[str, Any]:
    """Apply Auth0's ``fields`` / ``include_fields`` to one object."""
    out = public(doc)
    if not fields:
        return out
    names = {f.strip() for f in fields.split(",") if f.strip()}
    if include is False:
        return {k: v for k, v in out.items() if k not in names}
    return {k: v for k, v in out.items() if k in names}


def values_at(doc: Any, path: str) -> list[Any]:
    """Leaf values at a dotted path; arrays are crossed (Auth0's search ignores the
    array level: ``identities.connection``). ``identities[0].connection`` picks one."""
    current: list[Any] = [doc]
    for part in path.split("."):
        index: int | None = None
        found = re.fullmatch(r"(.*)\[(\d+)\]", part)
        if found:
            part, index = found.group(1), int(found.group(2))
        following: list[Any] = []
        for value in current:
            for item in value if isinstance(value, list) else [value]:
                if isinstance(item, dict) and part in item:
                    following.append(item[part])
        if index is not None:
            following = [v[index] for v in following if isinstance(v, list) and len(v) > index]
        current = following
    out: list[Any] = []
    for value in current:
        out.extend(value if isinstance(value, list) else [value])
    return [v for v in out if v is not None]


def value_at(doc: Any, path: str) -> Any:
    """The single value at a path (first array element when crossing arrays), or None."""
    current = doc
    for part in path.split("."):
        found = re.fullmatch(r"(.*)\[(\d+)\]", part)
        index = int(found.group(2)) if found else None
        if found:
            part = found.group(1)
        if isinstance(current, list):
            current = current[0] if current else None
        if not isinstance(current, dict) or part not in current:
            return None
        current = current[part]
        if index is not None:
            if not isinstance(current, list) or len(current) <= index:
                return None
            current = current[index]
    return current


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


# -- search -------------------------------------------------------------------


class QueryError(Exception):
    pass


@dataclass
class _Token:
    kind: str  # "(", ")", "AND", "OR", "NOT", "FIELD", "TERM", "RANGE"
    text: str = ""
    quoted: bool = False
    low: str = ""
    high: str = ""
    incl_low: bool = True
    incl_high: bool = True


def _lex(query: str) -> list[_Token]:
    tokens: list[_Token] = []
    i, n = 0, len(query)
    expect_value = False
    while i < n:
        c = query[i]
        if c.isspace():
            i += 1
            continue
        if c in "()":
            tokens.append(_Token(c))
            i += 1
            expect_value = False
            continue
        if query.startswith("&&", i) or query.startswith("||", i):
            tokens.append(_Token("AND" if c == "&" else "OR"))
            i += 2
            continue
        if c in "!-" and not expect_value:
            tokens.append(_Token("NOT"))
            i += 1
            continue
        if c == "+" and not expect_value:
            i += 1
            continue
        if c == '"':
            j, buf = i + 1, []
            while j < n and query[j] != '"':
                if query[j] == "\\" and j + 1 < n:
                    j += 1
                buf.append(query[j])
                j += 1
            if j >= n:
                raise QueryError("unterminated phrase")
            tokens.append(_Token("TERM", "".join(buf), quoted=True))
            i = j + 1
            expect_value = False
            continue
        if c in "[{" and expect_value:
            close = "]" if c == "[" else "}"
            end = query.find(close, i)
            if end < 0:
                end = query.find("]" if close == "}" else "}", i)
            if end < 0:
                raise QueryError("unterminated range")
            parts = query[i + 1 : end].split(" TO ")
            if len(parts) != 2:
                raise QueryError("a range needs 'low TO high'")
            tokens.append(
                _Token(
                    "RANGE",
                    low=parts[0].strip().strip('"'),
                    high=parts[1].strip().strip('"'),
                    incl_low=c == "[",
                    incl_high=query[end] == "]",
                )
            )
            i = end + 1
            expect_value = False
            continue
        j, buf = i, []
        field: str | None = None
        while j < n and not query[j].isspace() and query[j] not in "()":
            if query[j] == "\\" and j + 1 < n:
                buf.append(query[j + 1])
                j += 2
                continue
            if query[j] == ":" and not expect_value and field is None:
                field = "".join(buf)
                j += 1
                break
            buf.append(query[j])
            j += 1
        i = j
        if field is not None:
            if not field:
                raise QueryError("empty field name")
            tokens.append(_Token("FIELD", field))
            expect_value = True
            continue
        word = "".join(buf)
        if not expect_value and word in ("AND", "OR", "NOT"):
            tokens.append(_Token(word))
        else:
            tokens.append(_Token("TERM", word))
        expect_value = False
    return tokens


Node = tuple[Any, ...]


class _Parser:
    def __init__(self, tokens: list[_Token]) -> None:
        self.tokens = tokens
        self.pos = 0

    def peek(self) -> _Token | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def take(self) -> _Token:
        token = self.peek()
        if token is None:
            raise QueryError("unexpected end of query")
        self.pos += 1
        return token

    def parse(self) -> Node:
        node = self.parse_or(None)
        if self.peek() is not None:
            raise QueryError(f"unexpected {self.peek()}")
        return node

    def parse_or(self, field: str | None) -> Node:
        node = self.parse_and(field)
        while True:
            token = self.peek()
            if token is None or token.kind == ")":
                return node
            if token.kind == "OR":
                self.pos += 1
            node = ("or", node, self.parse_and(field))  # OR is also the default operator

    def parse_and(self, field: str | None) -> Node:
        node = self.parse_unary(field)
        while (token := self.peek()) is not None and token.kind == "AND":
            self.pos += 1
            node = ("and", node, self.parse_unary(field))
        return node

    def parse_unary(self, field: str | None) -> Node:
        token = self.peek()
        if token is not None and token.kind == "NOT":
            self.pos += 1
            return ("not", self.parse_unary(field))
        return self.parse_primary(field)

    def parse_primary(self, field: str | None) -> Node:
        token = self.take()
        if token.kind == "(":
            node = self.parse_or(field)
            if self.take().kind != ")":
                raise QueryError("missing )")
            return node
        if token.kind == "FIELD":
            if token.text == "_exists_":
                target = self.take()
                if target.kind != "TERM":
                    raise QueryError("_exists_ needs a field name")
                return ("exists", target.text)
            return self.parse_primary(token.text)
        if token.kind == "TERM":
            if field is not None and token.text == "*" and not token.quoted:
                return ("exists", field)
            return ("term", field, token.text, token.quoted)
        if token.kind == "RANGE":
            if field is None:
                raise QueryError("a range needs a field")
            return ("range", field, token.low, token.high, token.incl_low, token.incl_high)
        raise QueryError(f"unexpected {token.kind}")


def parse_query(query: str) -> Node:
    if not query.strip():
        return ("all",)
    return _Parser(_lex(query)).parse()


def _field_values(user: dict[str, Any], field: str) -> list[Any]:
    if field == "email.domain":
        email = user.get("email")
        return [email.rsplit("@", 1)[1]] if isinstance(email, str) and "@" in email else []
    return values_at(user, field)


def _scalar_matches(value: Any, text: str, field: str | None, quoted: bool) -> bool:
    metadata = field is not None and field.split(".")[0] in ("user_metadata", "app_metadata")
    if isinstance(value, bool):
        return text in ("true", "false") and (text == "true") == value
    if isinstance(value, (int, float)):
        try:
            return float(text) == float(value)
        except ValueError:
            return False
    if not isinstance(value, str):
        return False
    folded = field is None or field in NORMALISED_FIELDS
    left, right = (value.lower(), text.lower()) if folded else (value, text)
    if not quoted and not metadata and ("*" in text or "?" in text):
        return fnmatch.fnmatchcase(left, right.replace("[", "[[]"))
    return left == right


def _compare(value: Any, bound: str) -> int | None:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        try:
            other = float(bound)
        except ValueError:
            return None
        return (value > other) - (value < other)
    if isinstance(value, str):
        return (value > bound) - (value < bound)
    return None


_BARE_FIELDS = ("email", "name", "nickname", "given_name", "family_name", "username", "user_id")


def matches(node: Node, user: dict[str, Any]) -> bool:
    kind = node[0]
    if kind == "all":
        return True
    if kind == "and":
        return matches(node[1], user) and matches(node[2], user)
    if kind == "or":
        return matches(node[1], user) or matches(node[2], user)
    if kind == "not":
        return not matches(node[1], user)
    if kind == "exists":
        return bool(_field_values(user, node[1]))
    if kind == "term":
        _, field, text, quoted = node
        fields = [field] if field is not None else list(_BARE_FIELDS)
        return any(
            _scalar_matches(value, text, name if field is not None else None, quoted)
            for name in fields
            for value in _field_values(user, name)
        )
    if kind == "range":
        _, field, low, high, incl_low, incl_high = node
        for value in _field_values(user, field):
            lo = None if low == "*" else _compare(value, low)
            hi = None if high == "*" else _compare(value, high)
            if (low != "*" and lo is None) or (high != "*" and hi is None):
                continue
            if lo is not None and (lo < 0 or (lo == 0 and not incl_low)):
                continue
            if hi is not None and (hi > 0 or (hi == 0 and not incl_high)):
                continue
            return True
        return False
    raise QueryError(f"unknown node {kind}")


# -- routes -------------------------------------------------------------------


def _per_page(request: Request, default: int = 50) -> int:
    raw = request.arg("per_page")
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise bad_request(
            "Query validation error: 'Expected type integer but found type string' on "
            "property per_page (Number of results per page. Defaults to 50).",
            "invalid_query_string",
        ) from None
    if value > MAX_PER_PAGE:
        raise bad_request(
            f"Query validation error: 'Value {value} is greater than maximum {MAX_PER_PAGE}' "
            "on property per_page (Number of results per page. Defaults to 50).",
            "invalid_query_string",
        )
    if value < 0:
        raise bad_request(
            f"Query validation error: 'Value {value} is less than minimum 0' on property "
            "per_page (Number of results per page. Defaults to 50).",
            "invalid_query_string",
        )
    return value


def _sort_key(spec: str | None) -> tuple[Callable[[dict[str, Any]], Any], bool] | None:
    if not spec:
        return None
    field, _, order = spec.partition(":")
    if order not in ("1", "-1", ""):
        raise bad_request(
            "Query validation error: 'String does not match pattern ^(([a-zA-Z0-9_\\.]+))"
            ":(1|-1)$' on property sort.",
            "invalid_query_string",
        )

    def key(user: dict[str, Any]) -> Any:
        value = value_at(user, field)
        return (value is None, json.dumps(value, sort_keys=True) if value is not None else "")

    return key, order == "-1"


def register(app: Any) -> None:
    store = app.store

    def find_by_email(email: str, connection: str | None = None) -> list[dict[str, Any]]:
        out = []
        for user in store.all("user"):
            if user.get("email") != email:
                continue
            if connection is None or any(
                i.get("connection") == connection for i in user.get("identities") or []
            ):
                out.append(user)
        return out

    def find_by_username(username: str, connection: str) -> bool:
        return any(
            user.get("username") == username
            and any(i.get("connection") == connection for i in user.get("identities") or [])
            for user in store.all("user")
        )

    def create(request: Request) -> Response:
        body = request.json_object()
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
        stamp = now_ms()
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
        with store.transaction():
            username = body.get("username")
            if (
                store.get("user", user_id) is not None
                or (email and find_by_email(email, connection))
                or (username and find_by_username(username, connection))
            ):
                raise ApiError(409, "The user already exists.", "auth0_idp_error")
            store.put("user", user_id, user)
        return Response(201, public(user))

    def get(request: Request) -> Response:
        user = store.get("user", request.params["id"])
        if user is None:
            raise user_not_found()
        return Response(
            200, project(user, request.arg("fields"), request.bool_arg("include_fields"))
        )

    def by_email(request: Request) -> Response:
        email = request.arg("email")
        if not email:
            raise bad_request(
                "Query validation error: 'Missing required property: email'.",
                "invalid_query_string",
            )
        fields, include = request.arg("fields"), request.bool_arg("include_fields")
        return Response(200, [project(u, fields, include) for u in find_by_email(email)])

    def search(request: Request) -> Response:
        engine = request.arg("search_engine")
        if engine not in (None, "", "v1", "v2", "v3"):
            raise bad_request(
                f"Query validation error: 'Invalid value {engine}' on property search_engine.",
                "invalid_query_string",
            )
        page = request.int_arg("page", 0, low=0)
        per_page = _per_page(request)
        if page * per_page + per_page > MAX_PAGED_RECORDS:
            raise bad_request(
                "You can only page through the first 1000 records. See "
                "https://auth0.com/docs/users/search/v3/view-search-results-by-page#limitation",
                "invalid_paging",
            )
        try:
            node = parse_query(request.arg("q") or "")
            found = [u for u in store.all("user") if matches(node, u)]
        except QueryError as error:
            raise bad_request(f"Invalid query: {error}", "invalid_query") from None
        except RecursionError:
            raise bad_request("Invalid query: too deeply nested", "invalid_query") from None
        sort = _sort_key(request.arg("sort"))
        if sort is not None:
            found.sort(key=sort[0], reverse=sort[1])
        chunk = found[page * per_page : page * per_page + per_page]
        fields, include = request.arg("fields"), request.bool_arg("include_fields")
        users = [project(u, fields, include) for u in chunk]
        if request.bool_arg("include_totals"):
            return Response(
                200,
                {
                    "start": page * per_page,
                    "limit": per_page,
                    "length": len(users),
                    "users": users,
                    "total": len(found),
                },
            )
        return Response(200, users)

    def update(request: Request) -> Response:
        body = request.json_object()
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
        with store.transaction():
            user = store.get("user", request.params["id"])
            if user is None:
                raise user_not_found()
            email = known.get("email")
            if isinstance(email, str):
                email = email.lower()
                known["email"] = email
                clash = [u for u in find_by_email(email) if u["user_id"] != user["user_id"]]
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
            stamp = now_ms()
            if password_hash is not None:
                user["_password_hash"] = password_hash
                user["last_password_reset"] = stamp
            user["updated_at"] = stamp
            store.put("user", user["user_id"], user)
        return Response(200, public(user))

    def delete(request: Request) -> Response:
        with store.transaction():
            store.delete("user", request.params["id"])
        return Response(204)

    app.router.add("POST", "/api/v2/users", create, scopes=("create:users",))
    app.router.add("GET", "/api/v2/users", search, scopes=("read:users", "read:user_idp_tokens"))
    app.router.add("GET", "/api/v2/users-by-email", by_email, scopes=("read:users",))
    app.router.add(
        "GET",
        "/api/v2/users/{id}",
        get,
        scopes=("read:users", "read:current_user", "read:user_idp_tokens"),
    )
    app.router.add(
        "PATCH",
        "/api/v2/users/{id}",
        update,
        scopes=("update:users", "update:users_app_metadata", "update:current_user_metadata"),
    )
    app.router.add(
        "DELETE", "/api/v2/users/{id}", delete, scopes=("delete:users", "delete:current_user")
    )
