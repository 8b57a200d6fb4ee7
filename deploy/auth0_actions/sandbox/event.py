"""The post-login ``event`` a scenario starts from, and its Rules equivalent.

The default is a realistic login (fields as in Auth0's post-login event
reference and the sample event of @auth0/actions, see
docs/reference/actions-runtime.md §1): a database user logging in to a
regular web application over OIDC. Scenarios override any part of it; a
mapping in an override is merged into the default, anything else replaces.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Mapping
from typing import Any

TENANT = "acme"
HOSTNAME = "acme.eu.auth0.com"

DEFAULT_EVENT: dict[str, Any] = {
    "authentication": {
        "methods": [{"name": "pwd", "timestamp": "2026-11-27T09:00:00.000Z"}],
        "riskAssessment": {"confidence": "high", "version": "1", "assessments": {}},
    },
    "authorization": {"roles": []},
    "client": {
        "client_id": "3b1Zq9m8Xk2pLw7vRt5yNc4Hd6Gf0Jsa",
        "name": "Acme Web",
        "metadata": {},
    },
    "connection": {
        "id": "con_8yHmLw2pQ5rT9vXb",
        "name": "Username-Password-Authentication",
        "strategy": "auth0",
        "metadata": {},
    },
    "organization": None,
    "request": {
        "ip": "203.0.113.10",
        "method": "GET",
        "hostname": HOSTNAME,
        "language": "en",
        "user_agent": (
            "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 Chrome/130.0 Safari/537.36"
        ),
        "query": {
            "client_id": "3b1Zq9m8Xk2pLw7vRt5yNc4Hd6Gf0Jsa",
            "redirect_uri": "https://app.example.com/callback",
            "response_type": "code",
            "scope": "openid profile email",
            "state": "app-state-9f8e7d",
        },
        "body": {},
        "geoip": {
            "cityName": "Dublin",
            "continentCode": "EU",
            "countryCode": "IE",
            "countryCode3": "IRL",
            "countryName": "Ireland",
            "latitude": 53.3331,
            "longitude": -6.2489,
            "subdivisionCode": "L",
            "subdivisionName": "Leinster",
            "timeZone": "Europe/Dublin",
        },
    },
    "resource_server": {"identifier": "https://api.example.com"},
    "secrets": {},
    "session": {"id": "sess_5mX2kP9qL3vT7wYb", "clients": [], "device": {}},
    "stats": {"logins_count": 3},
    "tenant": {"id": TENANT},
    "transaction": {
        "id": "tx_7Qk3Lm9Pz2Wr5Tx8",
        "protocol": "oidc-basic-profile",
        "redirect_uri": "https://app.example.com/callback",
        "requested_scopes": ["openid", "profile", "email"],
        "ui_locales": [],
        "locale": "en",
        "state": "app-state-9f8e7d",
        "prompt": [],
        "response_mode": "query",
        "response_type": ["code"],
        "acr_values": [],
        "login_hint": None,
        "correlation_id": None,
        "metadata": {},
    },
    "user": {
        "user_id": "auth0|6543210fedcba98765432100",
        "email": "jane.doe@example.com",
        "email_verified": True,
        "username": None,
        "name": "Jane Doe",
        "nickname": "jane.doe",
        "given_name": "Jane",
        "family_name": "Doe",
        "picture": "https://s.gravatar.com/avatar/0000?s=480&r=pg&d=mp",
        "phone_number": None,
        "phone_verified": False,
        "created_at": "2026-01-15T10:00:00.000Z",
        "updated_at": "2026-11-20T10:00:00.000Z",
        "last_password_reset": None,
        "multifactor": [],
        "enrolledFactors": [],
        "app_metadata": {},
        "user_metadata": {},
        "identities": [
            {
                "connection": "Username-Password-Authentication",
                "isSocial": False,
                "provider": "auth0",
                "user_id": "6543210fedcba98765432100",
                "profileData": {},
            }
        ],
    },
}


def merge(base: Mapping[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    """Override merged into base: mappings recursively, anything else replaced."""
    out = copy.deepcopy(dict(base))
    _merge_into(out, override)
    return out


def _merge_into(out: dict[str, Any], override: Mapping[str, Any]) -> None:
    # Copies each value once (copying the base again at every level made a
    # scenario's event cost more than its action's execution).
    for key, value in override.items():
        current = out.get(key)
        if isinstance(value, Mapping) and isinstance(current, Mapping):
            if not isinstance(current, dict):
                current = out[key] = dict(current)
            _merge_into(current, value)
        else:
            out[key] = copy.deepcopy(value)


_DEFAULT_EVENT_JSON = json.dumps(DEFAULT_EVENT)


def build_event(*overrides: Mapping[str, Any]) -> dict[str, Any]:
    # A JSON round trip copies the (JSON-only) default several times faster
    # than deepcopy; scenario runs build one event per case.
    event: dict[str, Any] = json.loads(_DEFAULT_EVENT_JSON)
    for override in overrides:
        _merge_into(event, override)
    return event


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
