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

from dataclasses import dataclass


@dataclass(frozen=True)
class LintFinding:
    line: int
    message: str


_MESSAGE = (
    "a value is placed inside a JavaScript string; put {{ value | js }} where an "
    "expression goes (it renders a complete, escaped literal)"
)


def lint_template(source: str) -> list[LintFinding]:
    findings: list[LintFinding] = []
    # Stack of contexts: "code", "'", '"', "`", or "${" (code inside a template literal).
    stack = ["code"]
    depth: list[int] = []  # brace depth inside each ${ }
    i, line, n = 0, 1, len(source)
    while i < n:
        ch = source[i]
        two = source[i : i + 2]
        state = stack[-1]
        if two in ("{%", "{#"):
            close = "%}" if two == "{%" else "#}"
            end = source.find(close, i + 2)
            end = n if end < 0 else end + 2
            line += source.count("\n", i, end)
            i = end
            continue
        if two == "{{":
            end = source.find("}}", i + 2)
            end = n if end < 0 else end + 2
            if state in ("'", '"', "`"):
                findings.append(LintFinding(line, _MESSAGE))
            line += source.count("\n", i, end)
            i = end
            continue
        if ch == "\n":
            line += 1
            if state in ("'", '"', "//"):
                stack.pop()
            i += 1
            continue
        if state == "//":
            i += 1
        elif state == "/*":
            if two == "*/":
                stack.pop()
                i += 2
            else:
                i += 1
        elif state in ("'", '"', "`"):
            if ch == "\\":
                i += 2
            elif ch == state:
                stack.pop()
                i += 1
            elif state == "`" and two == "${":
                stack.append("${")
                depth.append(0)
                i += 2
            else:
                i += 1
        else:  # code, or code inside ${ }
            if two == "//":
                stack.append("//")
                i += 2
                continue
            if two == "/*":
                stack.append("/*")
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
    return findings


def mask_comments_and_strings(code: str) -> str:
    """code with comments and string contents blanked, offsets and newlines kept.

    Lets a scan for identifiers (event.secrets, configuration) ignore prose in
    comments and log messages. Quotes stay, and so does code inside ``${ }``.
    """
    out = list(code)
    stack = ["code"]
    depth: list[int] = []
    i, n = 0, len(code)

    def blank(start: int, end: int) -> None:
        for k in range(start, min(end, n)):
            if out[k] != "\n":
                out[k] = " "

    while i < n:
        ch, two, state = code[i], code[i : i + 2], stack[-1]
        if state == "//":
            if ch == "\n":
                stack.pop()
            else:
                blank(i, i + 1)
            i += 1
        elif state == "/*":
            if two == "*/":
                blank(i, i + 2)
                stack.pop()
                i += 2
            else:
                blank(i, i + 1)
                i += 1
        elif state in ("'", '"', "`"):
            if ch == "\\":
                blank(i, i + 2)
                i += 2
            elif ch == state or (ch == "\n" and state != "`"):
                stack.pop()
                i += 1
            elif state == "`" and two == "${":
                stack.append("${")
                depth.append(0)
                i += 2
            else:
                blank(i, i + 1)
                i += 1
        else:
            if two in ("//", "/*"):
                blank(i, i + 2)
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
    return "".join(out)
