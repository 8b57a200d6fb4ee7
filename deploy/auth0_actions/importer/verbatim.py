"""A Jinja template whose output is a given text, byte for byte.

The text goes in ``{% raw %}`` blocks, so Jinja interprets none of it: a
``{{`` or ``{%`` in the code stays code. A raw block ends at the first
``{% endraw %}`` (in any spelling: ``{%- endraw %}``, ``{%endraw%}``), so
every ``{%`` of the text is split between two blocks (``{`` closes one, ``%``
opens the next) and the text can never end a block early. The closing tag is
``{%+ endraw %}``: the ``+`` keeps the whitespace before it, which
``lstrip_blocks`` would otherwise remove. Line endings are the renderer's to
keep (see :mod:`auth0_actions.render.engine`, ``header: false``).
"""

from __future__ import annotations

OPEN = "{% raw %}"
CLOSE = "{%+ endraw %}"


def verbatim_template(text: str) -> str:
    """Template source rendering exactly ``text`` (with ``header: false``)."""
    return OPEN + text.replace("{%", "{" + CLOSE + OPEN + "%") + CLOSE


def lossy_line_endings(text: str) -> bool:
    """Line endings a template cannot keep: a bare CR, or CRLF mixed with LF.

    Jinja writes one kind of line ending per template; the renderer keeps
    CRLF for a template that has only CRLF, and LF otherwise.
    """
    bare = text.replace("\r\n", "")
    return "\r" in bare or ("\r\n" in text and "\n" in bare)
