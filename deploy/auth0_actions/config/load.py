"""Read tenant.yaml into a validated :class:`Project`, or fail with every problem.

All problems are collected and reported together, each as file:line:column:
key: message, so one run of ``config validate`` shows everything to fix.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from pydantic_core import ErrorDetails

import auth0_actions.config.checks as checks
from auth0_actions.config.model import (
    ActionSpec,
    ConsentPolicy,
    Environment,
    ModuleSpec,
    TenantConfig,
)
from auth0_actions.consent.texts import check_texts
from auth0_actions.consent_page.labels import label_problems
from auth0_actions.errors import ConfigError, Problem
from auth0_actions.layout import DEFAULT_CONFIG
from auth0_actions.yamlsource import KeyPath, YamlDocument, load_yaml

_NAME_KEYS = ("secrets", "configuration")


@dataclass(frozen=True)
class EnvironmentView:
    """One environment with its consent policy resolved (overrides applied)."""

    name: str
    settings: Environment
    consent: ConsentPolicy

    @property
    def is_local(self) -> bool:
        return self.name == checks.LOCAL

    def secret_env_vars(self, declared: Mapping[str, str]) -> dict[str, str]:
        """Secret name -> env var NAME in this environment (its overrides applied).

        declared is an action's ``secrets`` or a legacy rule's ``configuration``.
        """
        return {name: self.settings.secrets.get(name, var) for name, var in declared.items()}

    def verbatim(self, spec: ActionSpec | ModuleSpec) -> bool:
        """Whether ``spec`` renders as its template alone, with no provenance header.

        ``header: false`` (what ``import`` writes) holds where the entity was taken
        over from this tenant (``adopted``): there the file is the live code, byte
        for byte, and the recorded id says it is ours. In every other environment
        this tool creates it, header included, so that it owns what it made.
        """
        adopted = self.settings.adopted
        names = adopted.modules if isinstance(spec, ModuleSpec) else adopted.actions
        return not spec.header and spec.name in names


@dataclass(frozen=True)
class Project:
    """A validated tenant.yaml and the project directory around it."""

    path: Path
    config: TenantConfig
    environments: Mapping[str, EnvironmentView]

    @property
    def root(self) -> Path:
        return self.path.parent

    @property
    def templates_dir(self) -> Path:
        return self.root / "rules_templates"

    @property
    def actions_dir(self) -> Path:
        return self.root / "actions"

    def environment(self, name: str) -> EnvironmentView:
        try:
            return self.environments[name]
        except KeyError:
            known = ", ".join(sorted(self.environments))
            raise ConfigError(
                f"{self.path}: no environment '{name}' (environments: {known})"
            ) from None


def _allowed_keys(schema: dict[str, Any], loc: Iterable[str | int]) -> list[str]:
    """Property names allowed at loc, found by walking the JSON Schema."""
    defs = schema.get("$defs", {})

    def deref(node: dict[str, Any]) -> dict[str, Any]:
        while "$ref" in node:
            node = defs[node["$ref"].rsplit("/", 1)[-1]]
        for option in node.get("anyOf", []):
            if "$ref" in option or "properties" in option:
                return deref(option)
        return node

    node = deref(schema)
    for part in loc:
        if isinstance(part, int):
            node = deref(node.get("items", {}))
        elif part in node.get("properties", {}):
            node = deref(node["properties"][part])
        elif isinstance(node.get("additionalProperties"), dict):
            node = deref(node["additionalProperties"])
        elif node.get("patternProperties"):
            # Mappings with constrained keys (environment names) use this form.
            node = deref(next(iter(node["patternProperties"].values())))
        else:
            return []
    return sorted(node.get("properties", {}))


def _message(error: ErrorDetails, schema: dict[str, Any]) -> str:
    loc = error["loc"]
    kind = error["type"]
    if kind == "extra_forbidden":
        allowed = _allowed_keys(schema, loc[:-1])
        guess = difflib.get_close_matches(str(loc[-1]), allowed, n=1)
        hint = f"; did you mean '{guess[0]}'?" if guess else ""
        listing = f" (allowed: {', '.join(allowed)})" if allowed else ""
        return f"unknown key{hint}{listing}"
    if kind == "missing":
        return "required key is missing"
    if kind == "string_pattern_mismatch" and (
        any(part in _NAME_KEYS for part in loc[:-1]) or str(loc[-1]).endswith("_env")
    ):
        # Never echo the value: it may be the very secret written inline.
        return (
            "must be the NAME of an environment variable (A-Z, 0-9, _), not a secret "
            "value; secrets are never written in tenant.yaml"
        )
    if kind == "string_type" and loc and loc[-1] == "version":
        return 'must be a string; quote it in YAML (e.g. version: "1.10")'
    message = error["msg"]
    return message.removeprefix("Value error, ")


def _validation_problems(
    exc: ValidationError, doc: YamlDocument, prefix: KeyPath, model: type[Any]
) -> list[Problem]:
    schema = model.model_json_schema()
    problems = []
    for error in exc.errors(include_input=False, include_url=False):
        # pydantic marks a bad mapping key with a trailing '[key]' part.
        loc: KeyPath = tuple(p for p in error["loc"] if p != "[key]")
        problems.append(Problem(doc.locate((*prefix, *loc)), _message(error, schema)))
    return problems


def _merge(base: Mapping[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in override.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def _has_path(data: Any, path: KeyPath) -> bool:
    for part in path:
        if isinstance(data, Mapping) and part in data:
            data = data[part]
        else:
            return False
    return True


def _resolve_consent(
    doc: YamlDocument, config: TenantConfig, name: str, problems: list[Problem]
) -> ConsentPolicy | None:
    env = config.environments[name]
    override_path: KeyPath = ("environments", name, "consent")
    raw_top = doc.data.get("consent", {})
    if env.consent:
        try:
            policy = ConsentPolicy.model_validate(_merge(raw_top, env.consent))
        except ValidationError as exc:
            # The top-level policy is valid, so the override caused this.
            for problem in _validation_problems(exc, doc, override_path, ConsentPolicy):
                problems.append(problem)
            return None
    else:
        policy = config.consent

    def where(path: KeyPath) -> KeyPath:
        # Blame the override when it set the key, else the top-level policy.
        return (*override_path, *path) if _has_path(env.consent, path) else ("consent", *path)

    local = name == checks.LOCAL
    urls: list[tuple[KeyPath, str | None]] = [
        ((field,), getattr(policy, field))
        for field in ("privacy_url", "consent_page_url", "self_service_url")
    ]
    urls += [(("purposes", i, "url"), p.url) for i, p in enumerate(policy.purposes)]
    for path, url in urls:
        reason = checks.url_problem(url, allow_loopback_http=local) if url else None
        if reason:
            problems.append(Problem(doc.locate(where(path)), f"{reason} (environment {name})"))
    root = doc.path.parent
    for index, message in check_texts(root, policy):
        problem = Problem(doc.locate(where(("purposes", index, "text"))), message)
        if problem not in problems:  # shared texts show once, not once per environment
            problems.append(problem)
    for path, message in label_problems(policy.languages, policy.labels):
        problem = Problem(doc.locate(where(path)), message)
        if problem not in problems:
            problems.append(problem)
    for path, message in checks.check_record_keys(policy):
        problem = Problem(doc.locate(where(path)), message)
        if problem not in problems:  # a top-level clash shows once, not once per environment
            problems.append(problem)
    return policy


def load_tenant(path: Path = DEFAULT_CONFIG) -> Project:
    """Load and validate tenant.yaml; raise ConfigError listing every problem."""
    doc = load_yaml(path)
    if not isinstance(doc.data, dict):
        raise ConfigError(
            f"{path}: invalid configuration",
            [Problem(doc.locate(()), "the file must hold a mapping of keys (environments, ...)")],
        )
    try:
        config = TenantConfig.model_validate(doc.data)
    except ValidationError as exc:
        raise ConfigError(
            f"{path}: invalid configuration",
            _sorted(_validation_problems(exc, doc, (), TenantConfig)),
        ) from None

    problems: list[Problem] = []
    findings = [
        *checks.check_environments(config),
        *checks.check_values(config),
        *checks.check_units(config, path.parent / "rules_templates"),
        *checks.check_positions(config),
        *checks.check_modules(config, path.parent / "rules_templates"),
    ]
    problems.extend(Problem(doc.locate(where), message) for where, message in findings)
    views: dict[str, EnvironmentView] = {}
    for name, env in config.environments.items():
        policy = _resolve_consent(doc, config, name, problems)
        if policy is not None:
            views[name] = EnvironmentView(name=name, settings=env, consent=policy)
    if problems:
        raise ConfigError(f"{path}: invalid configuration", _sorted(problems))
    return Project(path=path, config=config, environments=views)


def _sorted(problems: list[Problem]) -> list[Problem]:
    return sorted(problems, key=lambda p: (p.location.line or 0, p.location.column or 0))
