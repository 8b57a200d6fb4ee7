"""Reject templates that place a value inside a JavaScript string.

The ``js`` filter renders a complete literal, delimiters included. Written
inside a string (``"{{ x | js }}"``) the literal's own quotes would close the
surrounding string and the value's text would become code. Escaping cannot
fix that, so such templates are refused before they render.

The scanner knows JavaScript strings, template literals (with ``${}``
nesting) and comments; Jinja statements and comments are skipped. Regex
literals are not tracked: keep quotes out of regular expressions in templates.
"""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class LintFinding:
    line: int
    message: str


# A {% raw %} block's text is JavaScript Jinja leaves alone (an imported
# action's code is kept verbatim in one): scanned as code, never as Jinja.
_RAW_BEGIN = re.compile(r"\{%[-+]?\s*raw\s*[-+]?%\}")
_RAW_END = re.compile(r"\{%[-+]?\s*endraw\s*[-+]?%\}")

_MESSAGE = (
    "a value is placed inside a JavaScript string; put {{ value | js }} where an "
    "expression goes (it renders a complete, escaped literal)"
)


def _scan(source: str, jinja: bool) -> tuple[list[str], list[tuple[int, str]]]:
    """Classify every character of JavaScript (optionally a Jinja template of it).

    Returns one class per character ("code", "string" for string and template
    literal contents, "comment", "jinja") and, for templates, each ``{{``
    with the JavaScript context it stands in. Quotes themselves are code;
    code inside ``${ }`` is code.
    """
    classes = ["code"] * len(source)
    placeholders: list[tuple[int, str]] = []
    # Contexts: "code", "'", '"', "`", "${" (code in a template literal), "//", "/*".
    stack = ["code"]
    depth: list[int] = []  # brace depth inside each ${ }
    i, n = 0, len(source)
    raw_end: re.Match[str] | None = None  # the end of the {% raw %} block being scanned

    def mark(start: int, end: int, kind: str) -> None:
        for k in range(start, min(end, n)):
            classes[k] = kind

    while i < n:
        ch, two, state = source[i], source[i : i + 2], stack[-1]
        if raw_end is not None and i >= raw_end.start():
            mark(raw_end.start(), raw_end.end(), "jinja")
            i, raw_end = raw_end.end(), None
            continue
        opening = jinja and raw_end is None and two == "{%"
        begin = _RAW_BEGIN.match(source, i) if opening else None
        if begin is not None:
            mark(i, begin.end(), "jinja")
            # An unclosed block is Jinja's syntax error; here it runs to the end.
            raw_end = _RAW_END.search(source, begin.end()) or re.compile(r"\Z").search(source)
            i = begin.end()
            continue
        if jinja and raw_end is None and two in ("{%", "{#", "{{"):
            close = {"{%": "%}", "{#": "#}", "{{": "}}"}[two]
            end = source.find(close, i + 2)
            end = n if end < 0 else end + 2
            if two == "{{":
                placeholders.append((i, state))
            mark(i, end, "jinja")
            i = end
            continue
        if state == "//":
            if ch == "\n":
                stack.pop()
            else:
                mark(i, i + 1, "comment")
            i += 1
        elif state == "/*":
            step = 2 if two == "*/" else 1
            mark(i, i + step, "comment")
            if step == 2:
                stack.pop()
            i += step
        elif state in ("'", '"', "`"):
            if ch == "\\":
                mark(i, i + 2, "string")
                i += 2
            elif ch == state or (ch == "\n" and state != "`"):
                stack.pop()
                i += 1
            elif state == "`" and two == "${":
                stack.append("${")
                depth.append(0)
                i += 2
            else:
                mark(i, i + 1, "string")
                i += 1
        else:  # code, or code inside ${ }
            if two in ("//", "/*"):
                mark(i, i + 2, "comment")
                stack.append(two)
                i += 2
                continue
            if ch in ("'", '"', "`"):
                stack.append(ch)
            elif state == "${" and ch == "{":
                depth[-1] += 1
            elif state == "${" and ch == "}":
                if depth[-1] == 0:
                    stack.pop()
                    depth.pop()
                else:
                    depth[-1] -= 1
            i += 1
    return classes, placeholders


def lint_template(source: str) -> list[LintFinding]:
    """Every {{ }} that stands inside a JavaScript string or template literal."""
    _, placeholders = _scan(source, jinja=True)
    return [
        LintFinding(source.count("\n", 0, index) + 1, _MESSAGE)
        for index, context in placeholders
        if context in ("'", '"', "`")
    ]


def mask_comments_and_strings(code: str) -> str:
    """code with comments and string contents blanked, offsets and newlines kept.

    Lets a scan for identifiers (event.secrets, configuration) ignore prose in
    comments and log messages. Quotes stay, and so does code inside ``${ }``.
    """
    classes, _ = _scan(code, jinja=False)
    return "".join(
        " " if kind in ("string", "comment") and char != "\n" else char
        for char, kind in zip(code, classes, strict=True)
    )
