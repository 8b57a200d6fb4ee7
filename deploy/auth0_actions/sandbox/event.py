"""The ``event`` a run starts from, and the Rules equivalent of a login.

Each trigger declares its documented event with realistic defaults
(deploy/auth0_actions/triggers/); scenarios and ``sandbox run`` override any
part of it: a mapping in an override is merged into the default, anything
else replaces.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

from auth0_actions.triggers import registry
from auth0_actions.triggers.base import merge_into
from auth0_actions.triggers.post_login import HOSTNAME, TENANT

__all__ = ["HOSTNAME", "TENANT", "build_event", "merge", "rules_inputs"]


def merge(base: Mapping[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    """Override merged into base: mappings recursively, anything else replaced."""
    out = copy.deepcopy(dict(base))
    merge_into(out, override)
    return out


def build_event(*overrides: Mapping[str, Any], trigger: str | None = None) -> dict[str, Any]:
    """A trigger's default event (post-login's unless named) with overrides merged over it."""
    chosen = registry.get(trigger) if trigger else registry.default()
    return chosen.build_event(*overrides)


def rules_inputs(event: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """The (user, context) a legacy Rule sees for the same login.

    Follows the Rules -> Actions mapping (docs/reference/actions-runtime.md §4): context
    fields carry the event's client, connection, protocol, request and stats.
    """
    user = copy.deepcopy(dict(event["user"]))
    request = event.get("request") or {}
    transaction = event.get("transaction") or {}
    connection = event.get("connection") or {}
    client = event.get("client") or {}
    geoip = request.get("geoip") or {}
    context = {
        "tenant": (event.get("tenant") or {}).get("id"),
        "clientID": client.get("client_id"),
        "clientName": client.get("name"),
        "clientMetadata": copy.deepcopy(client.get("metadata") or {}),
        "connectionID": connection.get("id"),
        "connection": connection.get("name"),
        "connectionStrategy": connection.get("strategy"),
        "connectionMetadata": copy.deepcopy(connection.get("metadata") or {}),
        "protocol": transaction.get("protocol"),
        "stats": {"loginsCount": (event.get("stats") or {}).get("logins_count", 0)},
        "sso": {"with_auth0": False, "with_dbconn": False, "current_clients": []},
        "sessionID": (event.get("session") or {}).get("id"),
        "request": {
            "userAgent": request.get("user_agent"),
            "ip": request.get("ip"),
            "hostname": request.get("hostname"),
            "query": copy.deepcopy(request.get("query") or {}),
            "body": copy.deepcopy(request.get("body") or {}),
            "geoip": {
                "country_code": geoip.get("countryCode"),
                "country_code3": geoip.get("countryCode3"),
                "country_name": geoip.get("countryName"),
                "city_name": geoip.get("cityName"),
                "time_zone": geoip.get("timeZone"),
            },
        },
        "idToken": {},
        "accessToken": {"scope": list(transaction.get("requested_scopes") or [])},
        "authorization": {"roles": list((event.get("authorization") or {}).get("roles") or [])},
    }
    return user, context
