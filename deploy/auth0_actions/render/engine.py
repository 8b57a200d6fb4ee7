"""Render one Action or legacy Rule from its Jinja2 template.

Guarantees, each enforced here rather than left to template authors:

- every ``{{ }}`` output must come from the ``js`` filter (a finalize hook
  refuses anything else), and no ``{{ }}`` may sit inside a JS string;
- a missing value is an error naming template and line (StrictUndefined);
- the output is byte-identical for the same inputs: sorted JSON, LF line
  endings, no timestamps; its header records where it came from, and its
  values-sha256 covers only the values the unit's templates read;
- every ``event.secrets.X`` (``configuration.X`` in a Rule) the code reads is
  declared in tenant.yaml, and no secret value is ever part of the output.

An action with ``header: false`` (what ``import`` writes) is the exception to
the header and the normalisation in the environment it was adopted from:
there its output is the template's output byte for byte (CRLF, trailing
whitespace and final newline kept), so it equals the code that was live;
elsewhere it gets the header like any other. Its checks still run, but a
read of ``event.secrets`` other than by literal name is allowed: the declared
names are the live action's own, so whatever it reads dynamically is among
them.
"""

from __future__ import annotations

import hashlib
import json
import re
import traceback
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any, Literal

import jinja2
from jinja2 import meta, nodes
from jinja2.sandbox import ImmutableSandboxedEnvironment
from jinja2.utils import missing

from auth0_actions import __version__
from auth0_actions.config.model import MAX_MODULE_CODE_BYTES
from auth0_actions.errors import RenderError
from auth0_actions.render.jsvalue import JsLiteral, to_js
from auth0_actions.render.lint import lint_template, mask_comments_and_strings
from auth0_actions.render.provenance import ValueReads, original, taken_whole
from auth0_actions.triggers import registry

UnitKind = Literal["action", "module", "rule"]

# Where secrets live: event.secrets in an Action, actions.secrets in an Actions
# Module (https://auth0.com/docs/customize/actions/modules/write-your-first-action-module),
# the configuration global in a Rule (not a property such as foo.configuration).
_SECRET_HOLDERS = {
    "action": r"\bevent\.secrets",
    "module": r"(?<![\w$.])actions\.secrets",
    "rule": r"(?<![\w$.])configuration\b",
}
# Where each kind's secrets are declared in tenant.yaml, and how code reads them.
_SECRET_SOURCES = {
    "action": ("secrets", "event.secrets"),
    "module": ("secrets", "actions.secrets"),
    "rule": ("configuration", "configuration"),
}
# A read by literal name: .X, ?.X, ["X"], ?.["X"]. Anything else (destructuring,
# passing the whole object, computed names) cannot be checked against
# tenant.yaml and is refused.
_LITERAL_READ = r"\s*(?:\?\.|\.)\s*([A-Za-z_$][\w$]*)|\s*(?:\?\.)?\[\s*(['\"])([^'\"]+)\2\s*\]"
# The header line listing an action's secrets (and their versions, when set).
SECRETS_LINE = "// secrets (names only; values live in Auth0): "
_SECRET_VERSION = re.compile(r"([A-Za-z_][A-Za-z0-9_]*) \(version (\d+)\)")
# Filters a {% filter %} block may apply: they reshape text, never insert values.
_BLOCK_FILTERS = {"indent"}


@dataclass(frozen=True)
class Unit:
    """One thing to render: an Action or a legacy Rule, for one environment."""

    kind: UnitKind
    name: str
    environment: str
    template: str  # POSIX path relative to rules_templates/
    output: PurePosixPath  # relative to the project root
    context: Mapping[str, Any]
    secret_names: tuple[str, ...]
    trigger: str | None = None  # an action's trigger id; None for a rule or module
    # secret name -> the version tenant.yaml's secret_versions gives it in this
    # environment; recorded in the header so that raising one changes the file.
    secret_versions: tuple[tuple[str, int], ...] = ()
    # False: the output is the template's, verbatim (no header, no normalisation).
    header: bool = True
    # tenant.yaml's header: false, in any environment: live code taken over by
    # import, whose secret names are the live action's own (see the docstring).
    imported: bool = False

    @property
    def label(self) -> str:
        return f"{self.kind} '{self.name}' ({self.environment})"


@dataclass(frozen=True)
class RenderedFile:
    unit: Unit
    text: str

    @property
    def path(self) -> PurePosixPath:
        return self.unit.output


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _finalize(value: Any) -> Any:
    if isinstance(value, JsLiteral):
        return value
    raise _RawOutput(type(original(value)).__name__)


class _RawOutput(Exception):
    """A {{ }} expression bypassed the js filter."""


def _js_filter(value: Any, indent: int | None = None) -> JsLiteral:
    if isinstance(value, jinja2.Undefined):
        # Force StrictUndefined to raise with its own message.
        str(value)
    return to_js(taken_whole(value), indent=indent)


def _json_dumps(value: Any, **kwargs: Any) -> str:
    return json.dumps(taken_whole(value), **kwargs)


class _StrictUndefined(jinja2.StrictUndefined):
    """Errors name the data's own type (dict), not the view that recorded the read."""

    def __init__(
        self,
        hint: str | None = None,
        obj: Any = missing,
        name: str | None = None,
        exc: type[jinja2.exceptions.TemplateRuntimeError] = jinja2.UndefinedError,
    ) -> None:
        super().__init__(hint, original(obj), name, exc)


def _template_line(exc: BaseException) -> tuple[str | None, int | None]:
    """Template file and line from a traceback that Jinja has rewritten."""
    if isinstance(exc, jinja2.TemplateSyntaxError):
        return exc.filename, exc.lineno
    for frame in reversed(traceback.extract_tb(exc.__traceback__)):
        if frame.filename.endswith(".j2"):
            return frame.filename, frame.lineno
    return None, None


class _TemplateEnvironment(ImmutableSandboxedEnvironment):
    """Mapping keys win over methods: ``action.values`` is the values, not dict.values.

    A missing key starting with "_" is just missing: the sandbox would refuse
    the attribute anyway, and its message would name the view that records
    reads rather than the data.
    """

    def getattr(self, obj: Any, attribute: str) -> Any:
        if isinstance(obj, Mapping):
            try:
                return obj[attribute]
            except (KeyError, TypeError):
                if attribute.startswith("_"):
                    return self.undefined(obj=obj, name=attribute)
        return super().getattr(obj, attribute)

    def getitem(self, obj: Any, argument: Any) -> Any:
        if isinstance(obj, Mapping) and isinstance(argument, str) and argument.startswith("_"):
            try:
                return obj[argument]
            except (KeyError, TypeError):
                return self.undefined(obj=obj, name=argument)
        return super().getitem(obj, argument)


def _unsafe_filter_blocks(ast: nodes.Template) -> list[int]:
    """Lines of {% filter %} blocks that could write a value into the output."""
    lines = []
    for block in ast.find_all(nodes.FilterBlock):
        chain: nodes.Node | None = block.filter
        while isinstance(chain, nodes.Filter):
            arguments = [*chain.args, *(kw.value for kw in chain.kwargs)]
            if chain.name not in _BLOCK_FILTERS or not all(
                isinstance(arg, nodes.Const) for arg in arguments
            ):
                lines.append(block.lineno)
                break
            chain = chain.node
    return lines


class TemplateRenderer:
    """A Jinja environment over one rules_templates/ directory."""

    def __init__(self, templates_dir: Path, project_root: Path) -> None:
        self.templates_dir = templates_dir
        self.project_root = project_root
        # The sandbox keeps templates to data access: no attribute tricks
        # reaching Python internals from a template under review.
        self.env = _TemplateEnvironment(
            loader=jinja2.FileSystemLoader(str(templates_dir)),
            undefined=_StrictUndefined,
            autoescape=False,
            keep_trailing_newline=True,
            trim_blocks=True,
            lstrip_blocks=True,
            finalize=_finalize,
        )
        self.env.filters["js"] = _js_filter
        # tojson's output is refused by finalize, but a template may still
        # compute with it; it must see the data and count it as read.
        self.env.policies["json.dumps_function"] = _json_dumps
        self._sources: dict[str, str] = {}
        # Jinja turns every line ending into newline_sequence, so a verbatim
        # template with CRLF endings renders through a CRLF twin.
        self._crlf_env = self.env.overlay(newline_sequence="\r\n")

    def _display(self, filename: str | None) -> str:
        if not filename:
            return "<template>"
        path = Path(filename)
        try:
            return path.resolve().relative_to(self.project_root.resolve()).as_posix()
        except ValueError:
            return str(path)

    def _source(self, name: str) -> str:
        if name not in self._sources:
            try:
                self._sources[name] = (self.templates_dir / name).read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError) as exc:
                raise RenderError(f"rules_templates/{name}: cannot read: {exc}") from None
        return self._sources[name]

    def template_closure(self, name: str) -> list[str]:
        """The template and everything it includes, imports or extends, sorted."""
        seen: set[str] = set()
        pending = [name]
        while pending:
            current = pending.pop()
            if current in seen:
                continue
            seen.add(current)
            try:
                ast = self.env.parse(self._source(current), current, f"rules_templates/{current}")
            except jinja2.TemplateSyntaxError as exc:
                raise RenderError(
                    f"rules_templates/{current}:{exc.lineno}: template syntax error: {exc.message}"
                ) from None
            for line in _unsafe_filter_blocks(ast):
                raise RenderError(
                    f"rules_templates/{current}:{line}: a {{% filter %}} block may only "
                    f"reshape text ({', '.join(sorted(_BLOCK_FILTERS))} with constant "
                    "arguments); values enter code only through {{ value | js }}"
                )
            for ref in meta.find_referenced_templates(ast):
                if ref is None:
                    raise RenderError(
                        f"rules_templates/{current}: includes a template chosen at render "
                        "time; name included templates literally so provenance is exact"
                    )
                pending.append(ref)
        return sorted(seen)

    def lint(self, names: list[str]) -> None:
        problems = [
            f"rules_templates/{name}:{finding.line}: {finding.message}"
            for name in names
            for finding in lint_template(self._source(name))
        ]
        if problems:
            raise RenderError("templates place values inside strings:\n  " + "\n  ".join(problems))

    def render(self, unit: Unit) -> RenderedFile:
        closure = self.template_closure(unit.template)
        self.lint(closure)
        template_digest = _sha256(
            "".join(f"{n}\0{_sha256(self._source(n).encode())}\n" for n in closure).encode()
        )
        try:
            json.dumps(unit.context, sort_keys=True, ensure_ascii=False)
        except (TypeError, ValueError) as exc:
            # tenant.yaml validation refuses non-JSON values; this guards the library API.
            raise RenderError(f"{unit.label}: template values are not JSON data: {exc}") from None
        reads = ValueReads()
        env = self.env if unit.header else self._verbatim_env(unit.template)
        try:
            body = env.get_template(unit.template).render(reads.watch(unit.context))
        except _RawOutput as exc:
            filename, line = _template_line(exc)
            raise RenderError(
                f"{self._display(filename)}:{line}: {{{{ }}}} outputs a raw {exc}; every value "
                "must pass through the js filter: {{ value | js }}"
            ) from None
        except jinja2.TemplateError as exc:
            filename, line = _template_line(exc)
            raise RenderError(
                f"{self._display(filename)}:{line}: {exc.message or exc} (rendering {unit.label})"
            ) from None
        except ValueError as exc:
            filename, line = _template_line(exc)
            raise RenderError(f"{self._display(filename)}:{line}: {exc}") from None
        if unit.header:
            text = _header(unit, closure, template_digest, reads.digest()) + _normalise(body)
        else:
            text = body
        self._check_secret_reads(unit, text)
        if unit.trigger is not None:
            _check_handlers(unit, text)
        if unit.kind == "module":
            _check_module_size(unit, text)
        return RenderedFile(unit=unit, text=text)

    def _verbatim_env(self, name: str) -> jinja2.Environment:
        """The environment keeping the template's line endings: CRLF when it has only those."""
        try:
            data = (self.templates_dir / name).read_bytes()
        except OSError as exc:
            raise RenderError(f"rules_templates/{name}: cannot read: {exc}") from None
        bare = data.replace(b"\r\n", b"")
        only_crlf = b"\r\n" in data and b"\n" not in bare and b"\r" not in bare
        return self._crlf_env if only_crlf else self.env

    def _check_secret_reads(self, unit: Unit, text: str) -> None:
        holder = re.compile(_SECRET_HOLDERS[unit.kind])
        literal = re.compile(_LITERAL_READ)
        used: set[str] = set()
        for found in holder.finditer(mask_comments_and_strings(text)):
            read = literal.match(text, found.end())
            if read is None and unit.imported:
                continue  # verbatim live code: it reads among its own declared names
            if read is None:
                line = text.count("\n", 0, found.start()) + 1
                raise RenderError(
                    f"{unit.output}:{line}: {unit.label} uses {found[0]} other than by a "
                    f"literal name ({found[0]}.NAME); tenant.yaml could not check what it reads"
                )
            used.add(read[1] or read[3])
        missing = sorted(used - set(unit.secret_names))
        if missing:
            where, source = _SECRET_SOURCES[unit.kind]
            reads = ", ".join(f"{source}.{name}" for name in missing)
            raise RenderError(
                f"rules_templates/{unit.template}: {unit.label} reads "
                f"{reads} but tenant.yaml does not declare "
                f"{'it' if len(missing) == 1 else 'them'} under the {unit.kind}'s '{where}'"
            )


def _check_handlers(unit: Unit, text: str) -> None:
    """The rendered action must name one of its trigger's handlers in code.

    Auth0 calls only the trigger's handlers: an action that exports none of
    them (a misspelt onExecutePostLgin) would be deployed and never run.
    """
    trigger = registry.get(unit.trigger or "")
    code = mask_comments_and_strings(text)

    def named(handler: str) -> bool:
        # As an identifier in code, or as a computed key: exports['onExecutePostLogin'].
        return bool(
            re.search(rf"(?<![\w$]){handler}(?![\w$])", code)
            or re.search(rf"\[\s*(['\"`]){handler}\1\s*\]", text)
        )

    if not any(named(handler) for handler in trigger.handlers):
        raise RenderError(
            f"rules_templates/{unit.template}: {unit.label} exports none of the "
            f"{trigger.id} trigger's handlers (expected {' or '.join(trigger.handlers)})"
        )


def _check_module_size(unit: Unit, text: str) -> None:
    """Auth0 refuses module code over 64 KiB (https://auth0.com/docs/customize/actions/modules).

    Refused at render, where the template can be fixed, rather than at apply.
    """
    size = len(text.encode("utf-8"))
    if size > MAX_MODULE_CODE_BYTES:
        raise RenderError(
            f"{unit.output}: {unit.label} renders to {size} bytes; Auth0 accepts module code "
            f"of at most {MAX_MODULE_CODE_BYTES} bytes (64 KiB)"
        )


def _normalise(body: str) -> str:
    body = body.replace("\r\n", "\n").replace("\r", "\n")
    lines = [line.rstrip() for line in body.split("\n")]
    return "\n".join(lines).strip("\n") + "\n"


def _header(unit: Unit, closure: list[str], template_digest: str, values_digest: str) -> str:
    ctx = unit.context
    if unit.kind == "action":
        action = ctx["action"]
        what = (
            f"action {unit.name} ({action['trigger']}, order {action['order']}, "
            f"{action['runtime']})"
        )
    elif unit.kind == "module":
        what = f"module {unit.name}"
    else:
        rule = ctx["rule"]
        state = "enabled" if rule["enabled"] else "disabled"
        what = f"legacy rule {unit.name} (order {rule['order']}, {state})"
    templates = ", ".join(f"rules_templates/{name}" for name in closure)
    versions = dict(unit.secret_versions)
    secrets = (
        ", ".join(
            f"{name} (version {versions[name]})" if name in versions else name
            for name in unit.secret_names
        )
        or "none"
    )
    lines = [
        f"// Generated by auth0-actions {__version__}. Do not edit: change the template or",
        "// tenant.yaml, then run `auth0-actions render`.",
        f"// {what}, environment {unit.environment}",
        f"// template: {templates}",
        f"// template-sha256: {template_digest}",
        f"// values-sha256: {values_digest}",
        f"{SECRETS_LINE}{secrets}",
        "",
    ]
    return "\n".join(lines) + "\n"


def header_secret_versions(code: str) -> dict[str, int]:
    """Secret name -> version, as the provenance header of ``code`` records them.

    Empty for code without our header (``header: false``, or written by hand)
    and for secrets listed without a version.
    """
    if not code.startswith("// Generated by auth0-actions"):
        return {}
    for line in code.split("\n"):
        if not line.startswith("//"):
            break  # the header ends at its first line that is not a comment
        if line.startswith(SECRETS_LINE):
            listed = line[len(SECRETS_LINE) :]
            return {name: int(number) for name, number in _SECRET_VERSION.findall(listed)}
    return {}
