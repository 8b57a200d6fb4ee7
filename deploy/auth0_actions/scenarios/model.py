"""Scenario files: behaviour cases for rendered actions, in YAML.

``rules_templates/<template>.scenarios.yaml`` holds the cases for one
template. Each case starts from a realistic
login event, runs steps (execute; the consent page's answer; a raw
/continue) through the pipeline in the sandbox, and compares what the
actions did with ``expect``. Matching is by subset for mappings (``match:
exact`` makes it exact); YAML tags give matchers for values that vary:
``!iso8601``, ``!any``, ``!absent``, ``!contains TEXT``, ``!regex RE`` and
``!policy KEY`` (a value of the environment's consent policy).

``http:`` (in the file, and per scenario, whose stubs come first) answers
the actions' outbound HTTP requests (deploy/auth0_actions/sandbox/outbound.py);
``expect: requests`` checks what they sent.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from auth0_actions.errors import ConfigError, Location, Problem
from auth0_actions.layout import SCENARIO_SUFFIX
from auth0_actions.sandbox.outbound import parse_stubs
from auth0_actions.yamlsource import KeyPath, YamlDocument, dotted

Form = Literal["action", "rule"]
SUFFIX = SCENARIO_SUFFIX


# --- matchers ---------------------------------------------------------------
@dataclass(frozen=True)
class Matcher:
    """A value in `expect` that matches by rule rather than equality."""

    kind: str
    argument: str = ""

    def __repr__(self) -> str:
        return f"!{self.kind} {self.argument}".rstrip()


@dataclass(frozen=True)
class PolicyRef:
    """!policy KEY: the environment's resolved consent policy value at KEY."""

    path: str

    def __repr__(self) -> str:
        return f"!policy {self.path}"


_ISO8601_UTC = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?Z$")


def matches_special(expected: Matcher, actual: Any, present: bool) -> bool:
    if expected.kind == "absent":
        return not present
    if not present:
        return False
    if expected.kind == "any":
        return True
    if expected.kind == "iso8601":
        return isinstance(actual, str) and bool(_ISO8601_UTC.match(actual))
    if expected.kind == "contains":
        return isinstance(actual, str) and expected.argument in actual
    if expected.kind == "regex":
        return isinstance(actual, str) and re.search(expected.argument, actual) is not None
    raise ValueError(f"unknown matcher {expected.kind}")


def _scenario_loader() -> type[yaml.SafeLoader]:
    from auth0_actions.yamlsource import StrictLoader

    class Loader(StrictLoader):
        pass

    def scalar_matcher(kind: str) -> Any:
        def build(loader: yaml.SafeLoader, node: yaml.Node) -> Matcher:
            value = loader.construct_scalar(node) if isinstance(node, yaml.ScalarNode) else ""
            return Matcher(kind, str(value or ""))

        return build

    for kind in ("iso8601", "any", "absent", "contains", "regex"):
        Loader.add_constructor(f"!{kind}", scalar_matcher(kind))

    def policy(loader: yaml.SafeLoader, node: yaml.Node) -> PolicyRef:
        return PolicyRef(str(loader.construct_scalar(node)))  # type: ignore[arg-type]

    Loader.add_constructor("!policy", policy)
    return Loader


# --- the file's shape -------------------------------------------------------
class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", arbitrary_types_allowed=True)


def _checked_stubs(value: list[dict[str, Any]] | None) -> list[dict[str, Any]] | None:
    """Stubs are checked when the file loads, each error naming its field."""
    try:
        parse_stubs(value)
    except ConfigError as exc:
        raise ValueError(str(exc)) from None
    return value


class TokenTweaks(_Model):
    """How the consent page signs its answer; each field models an attack."""

    secret: str | None = Field(None, description="Sign with this secret instead.")
    alg: Literal["HS256", "none"] = "HS256"
    expires_in: int = Field(300, description="Seconds until exp; negative: already expired.")
    sub: str | None = None
    iss: str | None = None
    state: str | None = None
    omit: bool = Field(False, description="Send no session_token at all.")
    claims: dict[str, Any] = Field(default_factory=dict, description="Extra or replaced claims.")
    parameter: Literal["body", "query"] = "body"


class ConsentPageAnswer(_Model):
    """The consent page's answer: one decision per purpose the session token asks."""

    answer: Literal["given", "declined", "none"] = Field(
        "given", description="The decision for every purpose asked; none: no decisions at all."
    )
    decisions: dict[str, Literal["given", "declined"]] = Field(
        default_factory=dict, description="Per purpose id, overriding answer."
    )
    language: str | None = Field(None, description="The language shown (default: the first).")
    token: TokenTweaks = Field(default_factory=TokenTweaks)
    secret_name: str = "CONSENT_SESSION_SECRET"  # noqa: S105 (a name)


class ContinueRequest(_Model):
    query: dict[str, Any] = Field(default_factory=dict)
    body: dict[str, Any] = Field(default_factory=dict)


class Step(_Model):
    execute: bool | None = None
    consent_page: ConsentPageAnswer | None = None
    continue_: ContinueRequest | None = Field(None, alias="continue")

    @property
    def kind(self) -> str:
        if self.consent_page is not None:
            return "consent_page"
        if self.continue_ is not None:
            return "continue"
        return "execute"


class LedgerEntry(_Model):
    """One decision of a consent ledger to start with (signed with CONSENT_LEDGER_SECRET)."""

    purpose: str
    decision: Literal["given", "declined", "withdrawn"] = "given"
    version: str | PolicyRef | None = Field(None, description="Default: the purpose's current.")
    at: str = "2026-11-05T10:00:00.000Z"
    method: str = "signup"
    language: str | None = Field(None, description="Default: the first language.")


class Scenario(_Model):
    name: str = Field(min_length=1)
    forms: list[Form] | None = None
    variants: list[str] | None = None
    environments: list[str] | None = None
    pipeline: dict[Form, list[str]] | None = None
    consent_policy: dict[str, Any] = Field(
        default_factory=dict, description="Consent policy overrides for this case only."
    )
    event: dict[str, Any] = Field(default_factory=dict)
    record: dict[str, Any] | None = Field(
        None, description="A consent record to start with, written in the variant's layout."
    )
    ledger: list[LedgerEntry] | None = Field(
        None, description="A consent ledger to start with, in app_metadata."
    )
    secrets: dict[str, str] | None = None
    http: list[dict[str, Any]] | None = Field(
        None, description="Stubs for outbound HTTP, tried before the file's."
    )
    steps: list[Step] = Field(default_factory=lambda: [Step(execute=True)], min_length=1)
    match: Literal["subset", "exact"] = "subset"
    expect: dict[str, Any]

    @field_validator("steps", mode="before")
    @classmethod
    def _bare_steps(cls, value: Any) -> Any:
        # "- execute" is shorthand for {execute: true}.
        if isinstance(value, list):
            return [{"execute": True} if item == "execute" else item for item in value]
        return value

    _http = field_validator("http")(_checked_stubs)

    @field_validator("expect")
    @classmethod
    def _known_expectations(cls, value: dict[str, Any]) -> dict[str, Any]:
        unknown = sorted(set(value) - EXPECT_KEYS)
        if unknown:
            raise ValueError(
                f"unknown expectation(s) {', '.join(unknown)}; "
                f"known: {', '.join(sorted(EXPECT_KEYS))}"
            )
        return value


EXPECT_KEYS = {
    "status",
    "deny",
    "app_error",
    "error",
    "redirect",
    "token",
    "consent",
    "ledger",
    "user_metadata",
    "app_metadata",
    "writes",
    "id_token_claims",
    "access_token_claims",
    "logs",
    "executed",
    "commands",
    "requests",
    "dropped_claims",
    "scopes",
}


def _default_variants() -> dict[str, dict[str, Any]]:
    return {"default": {}}


class ScenarioFile(_Model):
    description: str = ""
    pipeline: dict[Form, list[str]]
    forms: list[Form] | None = None
    secrets: dict[str, str] = Field(default_factory=dict)
    variants: dict[str, dict[str, Any]] = Field(default_factory=lambda: _default_variants())
    environments: list[str] | None = None
    event: dict[str, Any] = Field(default_factory=dict)
    http: list[dict[str, Any]] = Field(
        default_factory=list, description="Stubs for outbound HTTP, for every scenario."
    )
    scenarios: list[Scenario] = Field(min_length=1)

    _http = field_validator("http")(_checked_stubs)


@dataclass(frozen=True)
class LoadedScenarios:
    path: Path
    spec: ScenarioFile
    document: YamlDocument

    @property
    def stem(self) -> str:
        return self.path.name.removesuffix(SUFFIX)

    def line_of(self, index: int) -> int:
        return self.document.locate(("scenarios", index)).line or 1


def load_scenarios(path: Path) -> LoadedScenarios:
    """Parse and validate one scenario file; errors name file, line and key."""
    from auth0_actions.yamlsource import record_positions

    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc}") from None
    loader = _scenario_loader()(text)
    try:
        node = loader.get_single_node()
        data = loader.construct_document(node) if node is not None else None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        problem = Problem(
            Location(path, mark.line + 1 if mark else None), exc.problem or "invalid YAML"
        )
        raise ConfigError(f"{path}: invalid YAML", [problem]) from None
    finally:
        loader.dispose()
    positions: dict[KeyPath, tuple[int, int]] = {}
    if node is not None:
        positions[()] = (node.start_mark.line + 1, node.start_mark.column + 1)
        record_positions(node, (), positions)
    document = YamlDocument(path, data, positions)
    try:
        spec = ScenarioFile.model_validate(data)
    except ValidationError as exc:
        problems = []
        for error in exc.errors(include_input=False, include_url=False):
            loc: KeyPath = tuple(p for p in error["loc"] if p != "[key]")
            message = error["msg"].removeprefix("Value error, ")
            location = document.locate(loc)
            problems.append(
                Problem(location, message if location.key else f"{dotted(loc)}: {message}")
            )
        raise ConfigError(f"{path}: invalid scenarios", problems) from None
    return LoadedScenarios(path, spec, document)


def discover(templates_dir: Path) -> list[Path]:
    return sorted(templates_dir.rglob(f"*{SUFFIX}"))
