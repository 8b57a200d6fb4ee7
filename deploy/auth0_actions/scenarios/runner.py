"""Run scenario cases in the sandbox and judge them.

A case is one scenario for one environment, policy variant and form (an
Action, or a legacy Rule). The runner renders the code the way `render`
does (a variant renders the templates again with its consent overrides),
drives the login through the pipeline step by step, as Auth0 would between
the browser, the consent page and /continue, and compares the outcome with
the scenario's expectations.
"""

from __future__ import annotations

import copy
import hashlib
import json
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from pydantic import ValidationError

from auth0_actions.clock import now_s
from auth0_actions.config import ConsentPolicy, EnvironmentView, Project
from auth0_actions.errors import Auth0ActionsError, ConfigError
from auth0_actions.render import TemplateRenderer, units_for
from auth0_actions.render.project import consent_context
from auth0_actions.sandbox.event import merge, rules_inputs
from auth0_actions.sandbox.modules import merged_dependencies, unit_modules
from auth0_actions.sandbox.outbound import Exchange, parse_stubs
from auth0_actions.sandbox.pool import SandboxPool
from auth0_actions.scenarios.compare import Mismatch, compare_value, resolve_policy_refs
from auth0_actions.scenarios.consent_io import (
    decode_token,
    ledger_view,
    page_claims,
    read_record,
    seed_consent,
    sign_token,
)
from auth0_actions.scenarios.model import Form, LoadedScenarios, Scenario, Step
from auth0_actions.scenarios.modules import pinned_for
from auth0_actions.triggers import registry
from auth0_actions.triggers.base import Trigger
from auth0_actions.triggers.post_login_tokens import issued_scopes


@dataclass(frozen=True)
class Case:
    loaded: LoadedScenarios
    index: int
    scenario: Scenario
    environment: str
    variant: str
    form: Form

    @property
    def id(self) -> str:
        where = f"{self.environment}/{self.variant}/{self.form}"
        return f"{self.loaded.stem}::{self.scenario.name} [{where}]"

    @property
    def line(self) -> int:
        return self.loaded.line_of(self.index)


@dataclass
class Outcome:
    """What a login did, in terms a scenario's expectations can name."""

    # completed, denied, failed (a revoke or validation.error), redirected or error
    status: str
    deny: str | None = None
    # What the application receives on a denied login: Actions can only say
    # access_denied; a Rule's UnauthorizedError says unauthorized.
    app_error: str | None = None
    error: str | None = None
    redirect: dict[str, Any] | None = None
    token: dict[str, Any] | None = None
    consent: dict[str, Any] | None = None
    # The consent ledger in app_metadata: state, events in short, verification problems.
    ledger: dict[str, Any] | None = None
    user_metadata: dict[str, Any] = field(default_factory=dict)
    app_metadata: dict[str, Any] = field(default_factory=dict)
    writes: list[list[Any]] = field(default_factory=list)
    id_token_claims: dict[str, Any] = field(default_factory=dict)
    access_token_claims: dict[str, Any] = field(default_factory=dict)
    logs: list[str] = field(default_factory=list)
    executed: list[str] = field(default_factory=list)
    # Every api call the actions made, in order (type and arguments).
    commands: list[dict[str, Any]] = field(default_factory=list)
    # Outbound HTTP requests, in the order sent, as the host recorded them.
    requests: list[dict[str, Any]] = field(default_factory=list)
    # Custom claims Auth0 would not issue ({token, claim, reason}); the access token's scopes.
    dropped_claims: list[dict[str, str]] = field(default_factory=list)
    scopes: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {k: copy.deepcopy(v) for k, v in self.__dict__.items()}


@dataclass
class CaseResult:
    case: Case
    outcome: Outcome | None
    mismatches: list[Mismatch]
    problem: str | None = None  # the case could not run as written
    seconds: float = 0.0

    @property
    def passed(self) -> bool:
        return self.problem is None and not self.mismatches


def expand(loaded: LoadedScenarios, tenant: Project, environments: list[str] | None) -> list[Case]:
    """Every (scenario, environment, variant, form) combination to run."""
    spec = loaded.spec
    cases = []
    for index, scenario in enumerate(spec.scenarios):
        envs = (
            scenario.environments or spec.environments or environments or list(tenant.environments)
        )
        if environments:
            envs = [e for e in envs if e in environments]
        variants = scenario.variants or list(spec.variants)
        pipeline = scenario.pipeline or spec.pipeline
        forms = scenario.forms or spec.forms or list(pipeline)
        for env in envs:
            for variant in variants:
                for form in forms:
                    cases.append(Case(loaded, index, scenario, env, variant, form))
    return cases


class _Rendered:
    """Rendered code per (environment, policy overrides), made once per run."""

    def __init__(self, tenant: Project) -> None:
        self.tenant = tenant
        self.renderer = TemplateRenderer(tenant.templates_dir, tenant.root)
        self._cache: dict[str, tuple[EnvironmentView, dict[str, str]]] = {}
        self._lock = threading.Lock()

    def get(self, env: str, overrides: Mapping[str, Any]) -> tuple[EnvironmentView, dict[str, str]]:
        key = json.dumps([env, overrides], sort_keys=True, default=repr)
        with self._lock:
            if key not in self._cache:
                base = self.tenant.environment(env)
                view = base
                if overrides:
                    try:
                        policy = ConsentPolicy.model_validate(
                            merge(base.consent.model_dump(), overrides)
                        )
                    except ValidationError as exc:
                        raise ConfigError(f"consent policy overrides are invalid: {exc}") from None
                    view = EnvironmentView(base.name, base.settings, policy)
                code = {
                    f"{unit.kind}:{unit.name}": self.renderer.render(unit).text
                    for unit in units_for(self.tenant, view)
                }
                self._cache[key] = (view, code)
            return self._cache[key]


class ScenarioRunner:
    """Runs cases on a sandbox pool; safe to call from several threads."""

    def __init__(self, tenant: Project, pool: SandboxPool) -> None:
        self.tenant = tenant
        self.pool = pool
        self.rendered = _Rendered(tenant)

    def run(self, case: Case) -> CaseResult:
        started = time.perf_counter()
        exchange = Exchange()
        try:
            outcome, policy = self._login(case, exchange)
        except Auth0ActionsError as exc:
            return CaseResult(case, None, [], str(exc), time.perf_counter() - started)
        # A request no stub answered fails the case, naming its method and URL.
        problem = "; ".join(exchange.problems()) or None
        expected = resolve_policy_refs(
            case.scenario.expect, consent_context_of(policy, self.tenant.root)
        )
        mismatches: list[Mismatch] = []
        actual = outcome.as_dict()
        for key, want in expected.items():
            mismatches.extend(compare_value(want, actual.get(key), key, case.scenario.match))
        # Judged on the real values; reported without the secrets' (an action
        # sends them in headers and may log them, and reports are CI output).
        secrets = self._secret_values(case)
        if secrets:
            # `actual` is already a deep copy of the outcome: redacted, it is the report's.
            outcome = Outcome(**redact(actual, secrets))
            mismatches = [
                Mismatch(m.path, redact(m.expected, secrets), redact(m.actual, secrets), m.present)
                for m in mismatches
            ]
            problem = redact(problem, secrets)
        return CaseResult(case, outcome, mismatches, problem, time.perf_counter() - started)

    def _secret_values(self, case: Case) -> dict[str, str]:
        spec = case.loaded.spec
        chosen = spec.secrets if case.scenario.secrets is None else case.scenario.secrets
        return {name: value for name, value in chosen.items() if len(value) >= 8}

    # --- one login, step by step
    def _login(self, case: Case, exchange: Exchange) -> tuple[Outcome, ConsentPolicy]:
        spec = case.loaded.spec
        scenario = case.scenario
        # The scenario's stubs first, then the file's: the first match answers.
        exchange.stubs = [*parse_stubs(scenario.http), *parse_stubs(spec.http)]
        overrides = merge(spec.variants.get(case.variant, {}), scenario.consent_policy)
        if case.variant not in spec.variants:
            raise ConfigError(f"unknown variant '{case.variant}'")
        view, code = self.rendered.get(case.environment, overrides)
        policy = view.consent
        ctx = consent_context_of(policy, self.tenant.root)
        secrets = dict(spec.secrets if scenario.secrets is None else scenario.secrets)
        names = (scenario.pipeline or spec.pipeline).get(case.form)
        if not names:
            raise ConfigError(f"no {case.form} pipeline for this scenario")
        # Rules are the legacy of the login flow: their event is post-login's.
        trigger = self._trigger_of(names) if case.form == "action" else registry.default()
        event = trigger.build_event(
            resolve_policy_refs(spec.event, ctx), resolve_policy_refs(scenario.event, ctx)
        )
        if scenario.record is not None or scenario.ledger is not None:
            seed_consent(
                event.setdefault("user", {}),
                resolve_policy_refs(scenario.record, ctx),
                [resolve_policy_refs(e.model_dump(), ctx) for e in scenario.ledger or []],
                (policy, ctx, secrets.get("CONSENT_LEDGER_SECRET")),
            )
        units = self._units(case, names, code, secrets)
        driver = (
            _ActionDriver(self.pool, units, event, trigger, exchange)
            if case.form == "action"
            else _RuleDriver(self.pool, units, event, exchange, secrets, case.id)
        )
        for number, step in enumerate(scenario.steps, start=1):
            driver.step(number, step, secrets, ctx)
        outcome = driver.outcome()
        outcome.requests = exchange.requests
        outcome.consent = read_record(outcome.user_metadata, policy)
        outcome.ledger = ledger_view(
            outcome.app_metadata, policy, secrets.get("CONSENT_LEDGER_SECRET")
        )
        if outcome.redirect and "session_token" in outcome.redirect["query"]:
            outcome.token = decode_token(
                outcome.redirect["query"]["session_token"], secrets.get("CONSENT_SESSION_SECRET")
            )
        return outcome, policy

    def _trigger_of(self, names: list[str]) -> Trigger:
        """The trigger the pipeline's actions are bound to: one, as Auth0 runs a trigger's."""
        triggers = {a.name: a.trigger for a in self.tenant.config.actions}
        found = sorted({triggers[n] for n in names if n in triggers})
        if len(found) > 1:
            raise ConfigError(
                "pipeline mixes actions of different triggers "
                f"({', '.join(f'{n}: {triggers[n]}' for n in names if n in triggers)}); "
                "a scenario runs one trigger's actions"
            )
        return registry.get(found[0]) if found else registry.default()

    def _units(
        self, case: Case, names: list[str], code: Mapping[str, str], secrets: Mapping[str, str]
    ) -> list[dict[str, Any]]:
        kind = "action" if case.form == "action" else "rule"
        config = self.tenant.config
        declared = {
            **{f"action:{a.name}": a.secrets for a in config.actions},
            **{f"rule:{r.name}": r.configuration for r in config.legacy_rules},
        }
        # An action's npm dependencies: installed once per distinct set into the
        # project's cache (deploy/auth0_actions/sandbox/deps.py), remembered per runner.
        from auth0_actions.sandbox.deps import dependency_dirs_for

        deps = dependency_dirs_for(self, self.tenant.root, self.pool.read_paths)
        declared_deps = {a.name: a.dependencies for a in config.actions}
        units = []
        for name in names:
            key = f"{kind}:{name}"
            if key not in code:
                raise ConfigError(
                    f"pipeline names {kind} '{name}', which tenant.yaml does not define"
                )
            folder = "" if kind == "action" else "legacy-rules/"
            modules = (
                pinned_for(self.tenant, case.environment, name, code, secrets)
                if kind == "action"
                else []
            )
            packages = merged_dependencies(name, declared_deps.get(name, []), modules)
            units.append(
                {
                    "name": name,
                    "code": code[key],
                    "filename": f"actions/{case.environment}/{folder}{name}.js",
                    # Auth0 hands each action only the secrets it declares.
                    "secrets": {k: v for k, v in secrets.items() if k in declared[key]},
                    "modules": unit_modules(modules, name),
                    "deps_dir": (
                        str(path) if kind == "action" and (path := deps.get(packages)) else None
                    ),
                }
            )
        return units


def redact(value: Any, secrets: Mapping[str, str]) -> Any:
    """value with every secret's value replaced by [secret NAME], in strings at any depth."""
    if isinstance(value, str):
        for name, secret in secrets.items():
            value = value.replace(secret, f"[secret {name}]")
        return value
    if isinstance(value, Mapping):
        return {k: redact(v, secrets) for k, v in value.items()}
    if isinstance(value, list):
        return [redact(v, secrets) for v in value]
    return value


def consent_context_of(policy: ConsentPolicy, root: Path) -> dict[str, Any]:
    """The templates' consent context, plus ``purpose.<id>`` (``!policy purpose.terms.version``)."""
    context = consent_context(policy, root)
    context["purpose"] = {p["id"]: p for p in context["purposes"]}
    return context


def _with_state(url: str, state: str) -> str:
    parts = urlsplit(url)
    query = [*parse_qsl(parts.query, keep_blank_values=True), ("state", state)]
    return urlunsplit(parts._replace(query=urlencode(query)))


def _split_redirect(url: str) -> dict[str, Any]:
    parts = urlsplit(url)
    base = urlunsplit(parts._replace(query="", fragment=""))
    return {"url": base, "query": dict(parse_qsl(parts.query, keep_blank_values=True)), "full": url}


class _Driver:
    """Carries one login across steps; subclasses speak Actions or Rules."""

    def __init__(
        self,
        pool: SandboxPool,
        units: list[dict[str, Any]],
        event: dict[str, Any],
        exchange: Exchange,
    ):
        self.pool = pool
        self.units = units
        self.event = event
        self.exchange = exchange
        self.writes: list[list[Any]] = []
        self.logs: list[str] = []
        self.executed: list[str] = []
        self.commands: list[dict[str, Any]] = []
        self.last: dict[str, Any] | None = None
        self.failure: str | None = None
        self.redirect: dict[str, Any] | None = None
        self.state = (
            "sandbox-state-"
            + hashlib.sha256(json.dumps(units[0]["name"]).encode()).hexdigest()[:12]
        )

    def _call(self, request: dict[str, Any]) -> dict[str, Any] | None:
        # One exchange for every step: a stub's `times` counts across them.
        reply = self.pool.call({**request, "http": self.exchange})
        self.logs.extend(f"[stdout] {line}" for line in reply.stray_output)
        if reply.result is None:
            self.failure = reply.failure or "no result"
            return None
        result = reply.result
        self.logs.extend(
            f"[{item['action']}] {item['message']}" for item in result.get("logs") or []
        )
        return result

    def answer_request(
        self, number: int, step: Step, secrets: Mapping[str, str], ctx: Mapping[str, Any]
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        """The /continue query and body a step sends back."""
        if self.redirect is None:
            status = self.last.get("status") if self.last else "not run"
            raise ConfigError(
                f"step {number} ({step.kind}): the login was not redirected (status: {status})"
            )
        query: dict[str, Any] = {"state": self.state}
        body: dict[str, Any] = {}
        if step.continue_ is not None:
            query.update(step.continue_.query)
            body.update(step.continue_.body)
            return query, body
        page = step.consent_page
        if page is None:
            raise ConfigError(f"step {number}: nothing to answer with")
        tweaks = page.token
        if tweaks.omit:
            return query, body
        incoming = decode_token(self.redirect["query"].get("session_token", ""), None) or {}
        incoming_claims = incoming.get("claims") or {}
        secret = tweaks.secret or secrets.get(page.secret_name)
        if secret is None:
            raise ConfigError(
                f"step {number}: no secret {page.secret_name} to sign the answer with"
            )
        now = int(now_s())
        claims: dict[str, Any] = {
            "iat": now,
            "exp": now + tweaks.expires_in,
            "sub": tweaks.sub or incoming_claims.get("sub") or self.event["user"]["user_id"],
            "iss": tweaks.iss or incoming_claims.get("iss") or self.event["request"]["hostname"],
            "state": tweaks.state or self.state,
        }
        asked = incoming_claims.get("purposes") or []
        claims.update(page_claims(asked, page.answer, page.decisions, page.language, ctx))
        claims.update(resolve_policy_refs(tweaks.claims, ctx))
        token = sign_token(claims, secret, tweaks.alg)
        (body if tweaks.parameter == "body" else query)["session_token"] = token
        return query, body

    def step(
        self, number: int, step: Step, secrets: Mapping[str, str], ctx: Mapping[str, Any]
    ) -> None:
        if self.failure is not None:
            return
        if step.kind == "execute":
            self.execute()
        else:
            query, body = self.answer_request(number, step, secrets, ctx)
            self.resume(query, body)

    def execute(self) -> None:
        raise NotImplementedError

    def resume(self, query: dict[str, Any], body: dict[str, Any]) -> None:
        raise NotImplementedError

    def outcome(self) -> Outcome:
        raise NotImplementedError

    def _base_outcome(self) -> Outcome:
        if self.failure is not None or self.last is None:
            return Outcome(
                status="error",
                error=self.failure or "nothing ran",
                writes=self.writes,
                logs=self.logs,
                executed=self.executed,
                commands=self.commands,
                user_metadata=(self.event.get("user") or {}).get("user_metadata") or {},
            )
        result = self.last
        error = result.get("error") or {}
        return Outcome(
            status=result["status"],
            error=error.get("message") if error else None,
            redirect=self.redirect,
            user_metadata=result.get("user_metadata") or {},
            app_metadata=result.get("app_metadata") or {},
            writes=self.writes,
            id_token_claims=result.get("id_token_claims") or {},
            access_token_claims=result.get("access_token_claims") or {},
            logs=self.logs,
            executed=self.executed,
            commands=self.commands,
        )


class _ActionDriver(_Driver):
    def __init__(
        self,
        pool: SandboxPool,
        units: list[dict[str, Any]],
        event: dict[str, Any],
        trigger: Trigger,
        exchange: Exchange,
    ) -> None:
        super().__init__(pool, units, event, exchange)
        self.trigger = trigger
        self.dropped: list[dict[str, str]] = []

    def _run(self, event: dict[str, Any], resume: dict[str, Any] | None) -> None:
        result = self._call(
            {"op": self.trigger.id, "units": self.units, "event": event, "resume": resume}
        )
        self.redirect = None
        if result is None:
            return
        self.last = result
        self.dropped.extend(result.get("dropped_claims") or [])
        for command in result.get("commands") or []:
            self.commands.append({k: v for k, v in command.items() if k != "action"})
            if command["type"] == "user.setUserMetadata":
                self.writes.append([command["key"], command["value"]])
        self.executed.extend(f"{e['action']}.{e['handler']}" for e in result.get("executed") or [])
        if result["status"] == "redirected" and result.get("redirect", {}).get("url"):
            self.redirect = _split_redirect(_with_state(result["redirect"]["url"], self.state))
            self.redirect_index = result["redirect"]["index"]
        # Metadata is persisted before the redirect; the resumed event sees it.
        if isinstance(self.event.get("user"), dict):
            self.event["user"]["user_metadata"] = result.get("user_metadata") or {}
            self.event["user"]["app_metadata"] = result.get("app_metadata") or {}
        if self.event.get("transaction") is not None:
            self.event["transaction"]["metadata"] = result.get("transaction_metadata") or {}

    def execute(self) -> None:
        # The sandbox serializes the event before returning: no copy needed.
        self._run(self.event, None)

    def resume(self, query: dict[str, Any], body: dict[str, Any]) -> None:
        index = self.redirect_index
        # A new event.request after every resume: the /continue request.
        request = {**self.event["request"], "method": "POST", "query": query, "body": body}
        event = {**self.event, "request": request}
        self._run(event, {"index": index})

    def outcome(self) -> Outcome:
        outcome = self._base_outcome()
        if self.last and self.failure is None:
            deny = self.last.get("deny")
            outcome.deny = deny["reason"] if deny else None
            # validation.error reaches the app with its own code (post_login.py).
            outcome.app_error = (deny.get("code") or "access_denied") if deny else None
        outcome.dropped_claims = self.dropped
        requested = (self.event.get("transaction") or {}).get("requested_scopes") or []
        outcome.scopes = issued_scopes(requested, self.commands)
        return outcome


class _RuleDriver(_Driver):
    def __init__(
        self,
        pool: SandboxPool,
        units: list[dict[str, Any]],
        event: dict[str, Any],
        exchange: Exchange,
        secrets: Mapping[str, str],
        case_id: str,
    ) -> None:
        super().__init__(pool, units, event, exchange)
        self.user, self.context = rules_inputs(event)
        self.configuration = {k: v for unit in units for k, v in unit["secrets"].items()} or dict(
            secrets
        )

    def _run(self) -> None:
        result = self._call(
            {
                "op": "rules",
                "units": self.units,
                "user": self.user,
                "context": self.context,
                "configuration": self.configuration,
                "state": self.state,
            }
        )
        self.redirect = None
        if result is None:
            return
        self.last = result
        for command in result.get("commands") or []:
            if command["type"] == "auth0.users.updateUserMetadata":
                self.writes.extend([k, v] for k, v in (command.get("metadata") or {}).items())
        self.executed.extend(result.get("executed") or [])
        if result["status"] == "redirected" and result.get("redirect"):
            self.redirect = _split_redirect(result["redirect"]["url"])
        self.user["user_metadata"] = result.get("user_metadata") or {}
        self.user["app_metadata"] = result.get("app_metadata") or {}
        self.event["user"]["user_metadata"] = self.user["user_metadata"]

    def execute(self) -> None:
        self._run()

    def resume(self, query: dict[str, Any], body: dict[str, Any]) -> None:
        # On /continue every rule runs again, as a redirect-callback.
        self.context["protocol"] = "redirect-callback"
        self.context["request"] = {**self.context["request"], "query": query, "body": body}
        self._run()

    def outcome(self) -> Outcome:
        outcome = self._base_outcome()
        if self.last and self.failure is None and self.last["status"] in ("denied", "unauthorized"):
            # Any error passed to the callback denies the login
            # (docs/reference/actions-runtime.md §4).
            outcome.app_error = (
                "unauthorized" if self.last["status"] == "unauthorized" else "access_denied"
            )
            outcome.status = "denied"
            outcome.deny = outcome.error
            outcome.error = None
        return outcome
