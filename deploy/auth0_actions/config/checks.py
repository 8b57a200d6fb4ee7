"""Checks on tenant.yaml that a schema cannot express.

Each check returns problems as (key path, message) pairs; the loader turns
them into file:line:key errors. None of them ever quotes a value that could
be a secret.
"""

from __future__ import annotations

import itertools
import math
import re
from collections.abc import Iterator, Sequence
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import urlsplit

from auth0_actions.config.model import ActionSpec, ConsentPolicy, LegacyRuleSpec, TenantConfig
from auth0_actions.config.positions import (
    Placed,
    Position,
    bounds_for,
    contradiction,
    order_conflict,
)
from auth0_actions.network import is_loopback_host
from auth0_actions.triggers import registry
from auth0_actions.yamlsource import KeyPath

Finding = tuple[KeyPath, str]

LOCAL = "local"
_HOSTNAME = re.compile(
    r"^(?=.{1,253}$)[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)+$"
)
# Key segments that mark a value as a credential. A template value with such
# a name is almost certainly a secret written inline: it would be rendered
# into reviewed, committed code. Secrets travel as Action secrets instead.
_SECRET_SEGMENTS = {"secret", "secrets", "password", "passwd", "pwd", "credential", "credentials"}
_SECRET_SUFFIXES = {
    ("api", "key"),
    ("private", "key"),
    ("signing", "key"),
    ("access", "token"),
    ("refresh", "token"),
    ("bearer", "token"),
    ("auth", "token"),
}


def url_problem(url: str, *, allow_loopback_http: bool) -> str | None:
    """Why url is not acceptable as a public URL, or None if it is."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        _ = parts.port  # raises on a malformed port
    except ValueError:
        return "is not a valid URL"
    if parts.username or parts.password:
        return "must not carry credentials (user:password@)"
    if not host:
        return "must be an absolute URL with a host"
    if parts.scheme == "https":
        return None
    if parts.scheme == "http" and is_loopback_host(host):
        if allow_loopback_http:
            return None
        return "must use https (http is allowed on loopback for the local environment only)"
    return "must use https"


def domain_problem(env_name: str, domain: str) -> str | None:
    """Why domain cannot address environment env_name's tenant, or None."""
    if domain == LOCAL:
        if env_name == LOCAL:
            return None
        return "'local' (the built-in local tenant) is only for the local environment"
    if "://" in domain:
        try:
            parts = urlsplit(domain)
            _ = parts.port
        except ValueError:
            return "is not a valid URL"
        if parts.username or parts.password:
            return "must not carry credentials (user:password@)"
        if parts.path not in ("", "/") or parts.query or parts.fragment:
            return "must be a bare origin such as https://127.0.0.1:8443 (no path)"
        host = parts.hostname or ""
        if not host:
            return "must name a host"
        if parts.scheme == "http" and not is_loopback_host(host):
            return "must use https (http only reaches a local tenant on loopback)"
        if parts.scheme not in ("http", "https"):
            return "must use https"
        if env_name == LOCAL and not is_loopback_host(host):
            return "of the local environment must be 'local' or a loopback URL"
        return None
    if env_name == LOCAL:
        return "of the local environment must be 'local' or a loopback URL"
    if not _HOSTNAME.match(domain):
        return "must be a tenant domain such as example.eu.auth0.com, or a URL"
    return None


def check_environments(config: TenantConfig) -> Iterator[Finding]:
    for name, env in config.environments.items():
        base: KeyPath = ("environments", name)
        problem = domain_problem(name, env.domain)
        if problem:
            yield (*base, "domain"), f"domain {problem}"
        if name == LOCAL:
            for key in ("client_id_env", "client_secret_env"):
                if getattr(env, key) is not None:
                    yield (
                        (*base, key),
                        (
                            "the local environment takes its credentials from the local tenant; "
                            "remove this key"
                        ),
                    )
            if env.secrets:
                yield (
                    (*base, "secrets"),
                    (
                        "the local environment generates its secrets under .auth0-local/; "
                        "remove this key"
                    ),
                )
        else:
            for key in ("client_id_env", "client_secret_env"):
                if getattr(env, key) is None:
                    yield (
                        (*base, key),
                        (
                            "required: the NAME of the environment variable holding the "
                            "Management API client " + key.split("_")[1]
                        ),
                    )
        declared = {s for action in config.actions for s in action.secrets}
        declared |= {s for module in config.modules for s in module.secrets}
        declared |= {key for rule in config.legacy_rules for key in rule.configuration}
        for secret in sorted(set(env.secrets) - declared):
            yield (
                (*base, "secrets", secret),
                ("no action or module secret or legacy rule configuration key has this name"),
            )
        # A version pushes a secret to the actions using it: one no action uses is a typo.
        used = {s for action in config.actions for s in action.secrets}
        used |= {s for module in config.modules for s in module.secrets}
        for secret in sorted(set(env.secret_versions) - used):
            yield (
                (*base, "secret_versions", secret),
                "no action or module declares this secret under its 'secrets'",
            )
        # The version is recorded in the provenance header: an action rendered without
        # one here (header: false, adopted from this tenant) would keep the old value.
        for secret in sorted(set(env.secret_versions) & used):
            headerless = sorted(
                a.name
                for a in config.actions
                if secret in a.secrets and not a.header and a.name in env.adopted.actions
            ) + sorted(
                f"module {m.name}"
                for m in config.modules
                if secret in m.secrets and not m.header and m.name in env.adopted.modules
            )
            if headerless:
                yield (
                    (*base, "secret_versions", secret),
                    f"{', '.join(headerless)} render(s) with header: false, where no version "
                    f"can be recorded; push the value with `apply --push-secrets {secret}` "
                    "instead",
                )


def _segments(key: str) -> list[str]:
    spaced = re.sub(r"([a-z0-9])([A-Z])", r"\1 \2", key)
    return [s for s in re.split(r"[\s_\-.]+", spaced.lower()) if s]


def looks_like_secret_key(key: str) -> bool:
    segments = _segments(key)
    if any(s in _SECRET_SEGMENTS for s in segments):
        return True
    return any(pair in _SECRET_SUFFIXES for pair in itertools.pairwise(segments))


_JSON_SCALARS = (str, int, bool, type(None))


def _walk_values(value: Any, path: KeyPath) -> Iterator[Finding]:
    if isinstance(value, float) and not math.isfinite(value):
        yield path, "must be a finite number (values become JSON in the rendered code)"
    elif not isinstance(value, (dict, list, float, *_JSON_SCALARS)):
        # PyYAML turns 2026-01-01 into a date; JSON (and the template) cannot hold one.
        yield (
            path,
            (
                f"must be a string, number, boolean, null, list or mapping, not a "
                f"{type(value).__name__}; quote it"
            ),
        )
    elif isinstance(value, dict):
        for key, item in value.items():
            child = (*path, str(key))
            if not isinstance(key, str):
                yield child, "mapping keys in values must be strings; quote the key"
            elif looks_like_secret_key(key):
                yield (
                    child,
                    (
                        "looks like a secret written inline; template values are rendered into "
                        "committed code. Declare it under the action's 'secrets' as the NAME of "
                        "an environment variable and read it from event.secrets"
                    ),
                )
            else:
                yield from _walk_values(item, child)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _walk_values(item, (*path, index))


def check_values(config: TenantConfig) -> Iterator[Finding]:
    for name, env in config.environments.items():
        yield from _walk_values(env.values, ("environments", name, "values"))
    for index, action in enumerate(config.actions):
        yield from _walk_values(action.values, ("actions", index, "values"))
    for index, rule in enumerate(config.legacy_rules):
        yield from _walk_values(rule.values, ("legacy_rules", index, "values"))
    for index, module in enumerate(config.modules):
        yield from _walk_values(module.values, ("modules", index, "values"))


def _template_problem(templates_dir: Path, template: str) -> str | None:
    relative = PurePosixPath(template)
    if relative.is_absolute() or ".." in relative.parts:
        return "must be a path inside rules_templates/"
    if not template.endswith(".js.j2"):
        return "must name a .js.j2 template"
    if not (templates_dir / relative).is_file():
        return f"template not found: rules_templates/{template}"
    return None


def check_units(config: TenantConfig, templates_dir: Path) -> Iterator[Finding]:
    """Names unique, orders unique, templates present."""
    sections: list[tuple[str, Sequence[ActionSpec | LegacyRuleSpec]]] = [
        ("actions", config.actions),
        ("legacy_rules", config.legacy_rules),
    ]
    for section, units in sections:
        names: dict[str, int] = {}
        orders: dict[tuple[str, int], int] = {}
        for index, unit in enumerate(units):
            base: KeyPath = (section, index)
            if unit.name in names:
                yield (
                    (*base, "name"),
                    (f"duplicate name '{unit.name}' (also {section}[{names[unit.name]}])"),
                )
            names.setdefault(unit.name, index)
            trigger = getattr(unit, "trigger", "rules")
            if (trigger, unit.order) in orders:
                other = orders[(trigger, unit.order)]
                yield (
                    (*base, "order"),
                    (f"order {unit.order} is already taken by {section}[{other}] in {trigger}"),
                )
            orders.setdefault((trigger, unit.order), index)
            if isinstance(unit, ActionSpec):
                yield from _trigger_limits(units, index, base, unit)
            problem = _template_problem(templates_dir, unit.template)
            if problem:
                yield (*base, "template"), problem


def _trigger_limits(
    units: Sequence[ActionSpec | LegacyRuleSpec], index: int, base: KeyPath, unit: ActionSpec
) -> Iterator[Finding]:
    """The trigger's own limit on bound actions, reported at the first action past it."""
    limit = registry.get(unit.trigger).max_actions
    same = [i for i, u in enumerate(units) if getattr(u, "trigger", None) == unit.trigger]
    if len(same) > limit and index == same[limit]:
        yield (
            (*base, "trigger"),
            f"{unit.trigger} binds at most {limit} action{'s' if limit > 1 else ''} "
            f"({len(same)} are declared)",
        )


def check_record_keys(policy: ConsentPolicy) -> Iterator[Finding]:
    """Record properties must not share a name, nor clash with the signup field.

    Paths are relative to the consent policy; a clash is reported at the key
    the user wrote, not at a default they never saw.
    """
    metadata = policy.metadata
    keys = metadata.resolved_keys()
    explicit = metadata.keys.model_dump(exclude_none=True)
    owner: dict[str, str] = {}
    for field, name in keys.items():
        if name not in owner:
            owner[name] = field
            continue
        other = owner[name]
        culprit = field if field in explicit else other if other in explicit else None
        where: KeyPath = ("metadata", "keys", culprit) if culprit else ("metadata", "layout")
        yield where, f"record properties '{other}' and '{field}' would both be stored as '{name}'"
    taken = set(keys.values()) if metadata.layout == "root" else {metadata.object_key}
    if policy.signup.field in taken:
        yield (
            ("signup", "field"),
            (
                f"'{policy.signup.field}' is also a key of the consent record; the signup "
                "form's raw value needs a key of its own"
            ),
        )


def check_positions(config: TenantConfig) -> Iterator[Finding]:
    """``actions[].position``: what can be told without the tenant (docs/tenant-yaml.md).

    A before:/after: naming a managed action must agree with ``order``, one
    naming an action of another trigger is a mistake, and positions must not
    exclude each other (no place left for some unmanaged binding). Names only
    the tenant knows are checked by the planner.
    """
    triggers: dict[str, list[tuple[int, ActionSpec]]] = {}
    for index, action in enumerate(config.actions):
        triggers.setdefault(action.trigger, []).append((index, action))
    trigger_of = {action.name: action.trigger for action in config.actions}
    for entries in triggers.values():
        entries.sort(key=lambda entry: (entry[1].order, entry[0]))
        placed = [
            Placed(a.name, Position.parse(a.position) if a.position else None) for _, a in entries
        ]
        for rank, (index, action) in enumerate(entries):
            where: KeyPath = ("actions", index, "position")
            position = placed[rank].position
            if position is None:
                continue
            target = position.target
            if target is not None and trigger_of.get(target, action.trigger) != action.trigger:
                yield (
                    where,
                    f"'{position}' names {target}, an action of trigger {trigger_of[target]}; "
                    f"a position compares actions of {action.trigger} only",
                )
                continue
            conflict = order_conflict(placed, rank)
            if conflict:
                yield where, conflict
        # Names tenant.yaml does not declare are the unmanaged ones; None stands for any.
        unmanaged = {p.position.target for p in placed if p.position and p.position.target}
        reported: set[tuple[str | None, str | None]] = set()
        for name in [None, *sorted(unmanaged - trigger_of.keys())]:
            bounds = bounds_for(placed, name)
            if bounds.empty and (bounds.low_by, bounds.high_by) not in reported:
                reported.add((bounds.low_by, bounds.high_by))
                index = next(i for i, a in entries if a.name == bounds.low_by)
                yield ("actions", index, "position"), contradiction(bounds, name)


def check_modules(config: TenantConfig, templates_dir: Path) -> Iterator[Finding]:
    """Module names unique, templates present, every module an action requires declared."""
    names: dict[str, int] = {}
    for index, module in enumerate(config.modules):
        base: KeyPath = ("modules", index)
        if module.name in names:
            yield (
                (*base, "name"),
                f"duplicate name '{module.name}' (also modules[{names[module.name]}])",
            )
        names.setdefault(module.name, index)
        problem = _template_problem(templates_dir, module.template)
        if problem:
            yield (*base, "template"), problem
    for index, action in enumerate(config.actions):
        seen: set[str] = set()
        for position, name in enumerate(action.modules):
            where: KeyPath = ("actions", index, "modules", position)
            if name in seen:
                yield where, f"module '{name}' is listed twice"
            elif name not in names:
                known = ", ".join(sorted(names)) or "none are declared"
                yield where, f"no module named '{name}' under 'modules' (known: {known})"
            seen.add(name)
