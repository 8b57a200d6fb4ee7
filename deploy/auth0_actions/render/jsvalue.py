"""Turn template values into JavaScript literals that cannot break out.

A value reaches generated code only as a complete JSON literal: quotes and
newlines are escaped by JSON itself, and the characters that matter in other
contexts are escaped too, so a value can never end a string, start a
template-literal interpolation, close a ``<script>`` element or end a line:

- ``<`` ``>`` ``&``: a rendered action pasted into HTML cannot close ``</script>``;
- U+2028 / U+2029: line terminators in older JavaScript grammars;
- backtick and ``${``: inert even inside a template literal;
- ``*/``: cannot close a block comment the value was placed in.
"""

from __future__ import annotations

import json
from typing import Any

_ESCAPES = {
    "<": "\\u003c",
    ">": "\\u003e",
    "&": "\\u0026",
    "`": "\\u0060",
    "\u2028": "\\u2028",
    "\u2029": "\\u2029",
}


class JsLiteral(str):
    """Text produced by the ``js`` filter: the only thing a template may output."""

    __slots__ = ()


def to_js(value: Any, indent: int | None = None) -> JsLiteral:
    """A JavaScript literal for value (JSON with keys sorted, then hardened)."""
    if isinstance(value, JsLiteral):
        return value
    try:
        text = json.dumps(
            value,
            ensure_ascii=False,
            sort_keys=True,
            indent=indent,
            separators=(",", ": ") if indent is not None else (", ", ": "),
            allow_nan=False,
        )
    except (TypeError, ValueError) as exc:
        raise ValueError(f"value cannot be written as a JavaScript literal: {exc}") from None
    for char, escape in _ESCAPES.items():
        text = text.replace(char, escape)
    # '$' is harmless on its own; only '${' could start an interpolation.
    text = text.replace("${", "\\u0024{")
    # JSON and JavaScript both read "\/" as "/".
    text = text.replace("*/", "*\\/")
    return JsLiteral(text)
