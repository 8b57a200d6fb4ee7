"""What a change of tenant.yaml's consent purposes means for users, counted on the tenant.

``plan`` compares the purposes the live consent Action carries with the
ones its fresh render (tenant.yaml now) carries, action by action of the
same name:

* a version bump asks again, for that purpose only, everyone who gave the
  old version: "purpose terms 2026-11-01 -> 2027-01-01: about N users will
  be asked again";
* an added purpose is asked of every user at their next login;
* a removed one is no longer asked or claimed (recorded decisions stay in
  the ledgers: nothing is rewritten);
* a purpose becoming required asks everyone who has not given it, and a
  decline then denies; becoming optional asks no one.

**Where the live purposes come from.** The consent Actions render the
purposes as one JSON array, ``const PURPOSES = [...];`` (the ``js`` filter:
JSON, sorted keys, hardened escapes), of objects with ``id``, ``version``
and ``required``. The literal is read with a JSON decoder from the rendered
code and from the live action's deployed code (its draft when nothing is
deployed), the same way on both sides; ``purposes`` inside ``const CONSENT
= {...}`` is read too, and code rendered before purposes existed carries
``termsVersion`` there, read as the record purpose's version. Code without such a
literal, or one that does not parse, gives no impact: never a failed plan.

**Counting.** One user search per figure, ``include_totals`` and one user
per page (the total is all that is read), on the ledger's derived state:
``app_metadata.<ledger key>.state.<purpose>.version:"<old>" AND ...given:true``;
for the record purpose also the users whose ledger has not started and
whose seed record in user_metadata gave that version. Auth0 indexes
metadata for search
(https://auth0.com/docs/manage-users/user-search/user-search-query-syntax),
so a count costs one request whatever the tenant's size. When it cannot be
had (no ``read:users`` scope, search unavailable) the figure is
"unknown (why)", and the plan goes on.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from auth0_actions.config.model import ConsentPolicy
from auth0_actions.errors import TenantError
from auth0_actions.plan.state import DesiredState, LiveState
from auth0_actions.tenant_client import TenantClient

CONSENT_LITERAL = "const CONSENT = "
PURPOSES_LITERAL = "const PURPOSES = "
ImpactKind = Literal["version", "added", "removed", "required", "optional"]


@dataclass(frozen=True)
class LivePurpose:
    version: str
    required: bool | None  # None: the live code does not say


@dataclass(frozen=True)
class Count:
    """A number of users, or why there is none."""

    users: int | None
    unknown: str | None = None

    def text(self) -> str:
        return f"about {self.users:,}" if self.users is not None else f"unknown ({self.unknown})"


@dataclass(frozen=True)
class PurposeImpact:
    purpose: str
    kind: ImpactKind
    before: str | None  # the live version
    after: str | None  # tenant.yaml's version
    count: Count | None  # None: nobody is asked again

    def describe(self) -> str:
        p = f"purpose {self.purpose}"
        n = self.count.text() if self.count is not None else ""
        if self.kind == "version":
            return f"{p} {self.before} -> {self.after}: {n} users will be asked again"
        if self.kind == "added":
            return f"{p} added ({self.after}): every user is asked at their next login ({n} users)"
        if self.kind == "removed":
            return (
                f"{p} removed: no longer asked or claimed; {n} users' recorded decisions stay "
                "in their ledgers"
            )
        if self.kind == "required":
            return (
                f"{p} becomes required: {n} users who have not given it will be asked again, "
                "and denied if they decline"
            )
        return f"{p} becomes optional: no one is asked again; a decline no longer denies"

    @property
    def data(self) -> dict[str, Any]:
        return {
            "purpose": self.purpose,
            "kind": self.kind,
            "before": self.before,
            "after": self.after,
            "users": self.count.users if self.count is not None else None,
            "unknown": self.count.unknown if self.count is not None else None,
            "text": self.describe(),
        }


def _literal(code: str, prefix: str) -> Any:
    """The JSON value rendered after ``prefix`` in action code, or None."""
    start = code.find(prefix)
    if start < 0:
        return None
    try:
        value, _ = json.JSONDecoder().raw_decode(code, start + len(prefix))
    except ValueError:
        return None
    return value


def consent_literal(code: str) -> dict[str, Any] | None:
    """The rendered ``const CONSENT = {...}`` object in action code, or None."""
    value = _literal(code, CONSENT_LITERAL)
    return value if isinstance(value, dict) else None


def _purpose(entry: Any) -> tuple[str, LivePurpose] | None:
    if not isinstance(entry, Mapping):
        return None
    pid, version, required = entry.get("id"), entry.get("version"), entry.get("required")
    if not isinstance(pid, str) or not isinstance(version, str):
        return None
    return pid, LivePurpose(version, required if isinstance(required, bool) else None)


def live_purposes(code: str, record_purpose: str) -> dict[str, LivePurpose] | None:
    """The purposes rendered into live code (see the module docstring), or None."""
    listed = _literal(code, PURPOSES_LITERAL)
    if isinstance(listed, list):
        found = [p for p in (_purpose(e) for e in listed) if p is not None]
        if found:
            return dict(found)
    literal = consent_literal(code)
    if literal is None:
        return None
    entries = literal.get("purposes")
    if isinstance(entries, Mapping):
        entries = [{"id": k, **v} for k, v in entries.items() if isinstance(v, Mapping)]
    if isinstance(entries, list):
        found = [p for p in (_purpose(e) for e in entries) if p is not None]
        return dict(found) if found else None
    legacy = literal.get("termsVersion")
    if isinstance(legacy, str):
        return {record_purpose: LivePurpose(legacy, True)}
    return None


def _live_code(desired: DesiredState, live: LiveState) -> dict[str, str]:
    """Name -> code of the live actions tenant.yaml declares (deployed, else the draft)."""
    names = {a.name for a in desired.actions}
    codes: dict[str, str] = {}
    for action in live.actions:
        if action.name in names and action.name not in codes:
            deployed = action.deployed_version
            codes[action.name] = deployed.code if deployed is not None else action.code
    return codes


class UserCounter:
    """Totals of user searches; the first failure is remembered, not retried per figure."""

    def __init__(self, client: TenantClient) -> None:
        self.client = client
        self.failed: str | None = None

    def count(self, q: str) -> Count:
        if self.failed is not None:
            return Count(None, self.failed)
        try:
            page = self.client.search_users_page(
                q, per_page=1, include_totals=True, fields=("user_id",)
            )
        except TenantError as error:
            self.failed = (
                "the client lacks the read:users scope"
                if error.status == 403
                else f"user search failed: {error.message}"
            )
            return Count(None, self.failed)
        if page.total is None:
            return Count(None, "the tenant sent no total")
        return Count(page.total)


def _quoted(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def gave_query(policy: ConsentPolicy, purpose: str, version: str) -> str:
    """Users whose latest decision on ``purpose`` gave ``version``."""
    state = f"app_metadata.{policy.ledger.key}.state.{purpose}"
    ledger = f"({state}.version:{_quoted(version)} AND {state}.given:true)"
    if purpose != policy.record_purpose.id:
        return ledger
    keys = policy.metadata.resolved_keys()
    base = "user_metadata." + (
        f"{policy.metadata.object_key}." if policy.metadata.layout == "nested" else ""
    )
    seed = (
        f"({base}{keys['terms_version']}:{_quoted(version)} AND {base}{keys['given']}:true "
        f"AND NOT _exists_:app_metadata.{policy.ledger.key})"
    )
    return f"{ledger} OR {seed}"


EVERY_USER = "_exists_:user_id"


def purpose_impacts(
    policy: ConsentPolicy,
    desired: Mapping[str, LivePurpose],
    live: Mapping[str, LivePurpose],
    counter: UserCounter,
) -> list[PurposeImpact]:
    """The impacts, in the desired purposes' order, then the removed ones.

    ``desired`` and ``live`` are what the rendered and the live code carry;
    ``policy`` names the ledger and mirror keys the counts search.
    """
    impacts: list[PurposeImpact] = []
    for pid, after in desired.items():
        before = live.get(pid)
        if before is None:
            impacts.append(
                PurposeImpact(pid, "added", None, after.version, counter.count(EVERY_USER))
            )
            continue
        if before.version != after.version:
            count = counter.count(gave_query(policy, pid, before.version))
            impacts.append(PurposeImpact(pid, "version", before.version, after.version, count))
        if before.required is False and after.required is True:
            every = counter.count(EVERY_USER)
            gave = counter.count(gave_query(policy, pid, after.version))
            if every.users is not None and gave.users is not None:
                count = Count(max(0, every.users - gave.users))
            else:
                count = every if every.users is None else gave
            impacts.append(PurposeImpact(pid, "required", before.version, after.version, count))
        elif before.required is True and after.required is False:
            impacts.append(PurposeImpact(pid, "optional", before.version, after.version, None))
    for pid, before in live.items():
        if pid not in desired:
            decided = counter.count(f"_exists_:app_metadata.{policy.ledger.key}.state.{pid}")
            impacts.append(PurposeImpact(pid, "removed", before.version, None, decided))
    return impacts


def consent_impact(
    policy: ConsentPolicy,
    desired: DesiredState,
    live: LiveState,
    client: TenantClient,
) -> tuple[PurposeImpact, ...]:
    """The consent impact of applying ``desired``: the rendered consent literal against the
    live one (empty when either has none: nothing to compare, or no consent Action)."""
    record = policy.record_purpose.id
    rendered = {a.name: live_purposes(a.code, record) for a in desired.actions}
    live_code = _live_code(desired, live)
    for action in live.actions:
        wanted = rendered.get(action.name)
        code = live_code.get(action.name)
        if wanted is None or code is None:
            continue
        current = live_purposes(code, record)
        if current is not None:
            return tuple(purpose_impacts(policy, wanted, current, UserCounter(client)))
    return ()


def impact_lines(impacts: Sequence[PurposeImpact]) -> list[str]:
    """The report's lines (text and markdown share them)."""
    return [impact.describe() for impact in impacts]
