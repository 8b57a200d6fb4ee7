"""Render templates into the reviewed JavaScript under actions/<env>/."""

from auth0_actions.render.engine import RenderedFile, TemplateRenderer, Unit
from auth0_actions.render.jsvalue import JsLiteral, to_js
from auth0_actions.render.project import (
    RenderReport,
    compare,
    render_environments,
    units_for,
    write,
)
from auth0_actions.render.provenance import ValueReads

__all__ = [
    "JsLiteral",
    "RenderReport",
    "RenderedFile",
    "TemplateRenderer",
    "Unit",
    "ValueReads",
    "compare",
    "render_environments",
    "to_js",
    "units_for",
    "write",
]
