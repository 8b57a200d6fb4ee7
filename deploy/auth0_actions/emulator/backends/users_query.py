"""User search: the Lucene subset of Auth0's v3 search engine, parsed and matched.

``GET /users?q=`` understands what Auth0 documents (docs/reference/management-api.md §3):
``field:value``, ``field:"phrase"``, ``_exists_:field``, ``AND``/``OR``/``NOT``
(also ``&&``, ``||``, ``!``, ``-``), parentheses, ``field:(a OR b)``, ranges
``[a TO b]``/``{a TO b}`` and ``*``/``?`` wildcards on root fields; paths into
metadata and arrays (``user_metadata.consent.given:false``,
``identities.connection:x``). The default operator between terms is OR, as in
Lucene. Normalised fields (email, name, given_name, family_name, nickname)
match case-insensitively, everything else exactly.

What Auth0 refuses, :func:`restrictions` refuses too
(https://auth0.com/docs/manage-users/user-search/user-search-query-syntax):
"Range and wildcard searches are not available on user_metadata fields" (nor
app_metadata ones), and a prefix or suffix wildcard needs at least
:data:`MIN_WILDCARD_CHARS` characters beside the ``*`` (``name:jo*`` is refused,
``name:joh*`` and ``name:*ith`` are searched). ``field:*`` alone is an existence
query, allowed everywhere.
"""

from __future__ import annotations

import fnmatch
import re
from dataclasses import dataclass
from typing import Any

NORMALISED_FIELDS = frozenset({"email", "name", "given_name", "family_name", "nickname"})
METADATA_FIELDS = ("user_metadata", "app_metadata")
MIN_WILDCARD_CHARS = 3


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


class QueryRestricted(QueryError):
    """A query Auth0 parses but refuses to run (a range or wildcard it does not index)."""


def _is_metadata(field: str | None) -> bool:
    return field is not None and field.split(".", 1)[0] in METADATA_FIELDS


def restrictions(node: Node) -> None:
    """Raise :class:`QueryRestricted` for the first part of the query Auth0 would not run."""
    kind = node[0]
    if kind in ("and", "or"):
        restrictions(node[1])
        restrictions(node[2])
    elif kind == "not":
        restrictions(node[1])
    elif kind == "range" and _is_metadata(node[1]):
        raise QueryRestricted(f"range searches are not available on metadata fields ({node[1]})")
    elif kind == "term" and not node[3] and ("*" in node[2] or "?" in node[2]):
        _, field, text, _ = node
        where = f"{field}:{text}" if field else text
        if _is_metadata(field):
            raise QueryRestricted(
                f"wildcard searches are not available on metadata fields ({where})"
            )
        literal = len(text.replace("*", "").replace("?", ""))
        if literal < MIN_WILDCARD_CHARS:
            raise QueryRestricted(
                f"a wildcard search needs at least {MIN_WILDCARD_CHARS} characters "
                f"beside the wildcard ({where})"
            )


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
