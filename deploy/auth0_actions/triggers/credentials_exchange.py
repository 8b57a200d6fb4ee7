"""credentials-exchange (v2): an access token is issued through the Client Credentials Flow.

Auth0's reference: https://auth0.com/docs/customize/actions/explore-triggers/machine-to-machine-trigger
(event: .../machine-to-machine-trigger/credentials-exchange-event-object; api:
.../machine-to-machine-trigger/credentials-exchange-api-object). The event is a
realistic M2M token request: a back-end client asking for an access token to
an API with ``POST /oauth/token`` (``grant_type=client_credentials``). The api
(deny with an OAuth2 error code, custom access-token claims, the cache) is in
credentials_exchange.js.

Custom claims follow Auth0's rules for custom claims
(https://auth0.com/docs/secure/tokens/json-web-tokens/create-custom-claims):
a restricted claim, an Auth0 namespace, or a non-namespaced claim on a token
for an Auth0 API is not added to the token, and the exchange does not fail.
The run reports such claims in ``dropped_claims``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from auth0_actions.sandbox.results import (
    ProtocolViolation,
    list_field,
    object_field,
    own_entries,
)
from auth0_actions.triggers.base import Trigger

CLIENT_ID = "8mQz3Lr5Tx9Wk2Pb7Nc4Hd6Gf0Jsa1Y"
AUDIENCE = "https://api.example.com/orders"
SCOPES = ["read:orders", "write:orders"]

EVENT: dict[str, Any] = {
    "accessToken": {"customClaims": {}, "scope": list(SCOPES)},
    "client": {
        "client_id": CLIENT_ID,
        "name": "Acme Billing Service",
        "metadata": {},
    },
    # Optional in the event reference: absent unless the tenant has a custom
    # domain / the request names an organization; null here, as post-login's.
    "custom_domain": None,
    "organization": None,
    "request": {
        # The POST body of the token request. Auth0 keeps the client's secret
        # out of it (undocumented; the SDK typings show a body without one).
        "body": {
            "grant_type": "client_credentials",
            "client_id": CLIENT_ID,
            "audience": AUDIENCE,
            "scope": " ".join(SCOPES),
        },
        "geoip": {
            "cityName": "Frankfurt am Main",
            "continentCode": "EU",
            "countryCode": "DE",
            "countryCode3": "DEU",
            "countryName": "Germany",
            "latitude": 50.1109,
            "longitude": 8.6821,
            "subdivisionCode": "HE",
            "subdivisionName": "Hesse",
            "timeZone": "Europe/Berlin",
        },
        "hostname": "acme.eu.auth0.com",
        "ip": "198.51.100.24",
        "language": "en",
        "method": "POST",
        "user_agent": "node-fetch/1.0 (+https://github.com/bitinn/node-fetch)",
    },
    "resource_server": {"identifier": AUDIENCE},
    "secrets": {},
    "tenant": {"id": "acme"},
    "transaction": {"correlation_id": None, "requested_scopes": list(SCOPES)},
}


class CredentialsExchange(Trigger):
    id = "credentials-exchange"
    version = "v2"
    title = "Machine to Machine"
    docs = "https://auth0.com/docs/customize/actions/explore-triggers/machine-to-machine-trigger"
    handlers = ("onExecuteCredentialsExchange",)
    script = "credentials_exchange.js"
    event = EVENT
    # Each action sees the claims the earlier ones set (event.accessToken.customClaims).
    carries: ClassVar[tuple[str, ...]] = ("access_token_claims", "cache")

    def initial_state(self, event: Mapping[str, Any], request: Mapping[str, Any]) -> dict[str, Any]:
        token = event.get("accessToken") or {}
        claims = token.get("customClaims") if isinstance(token, Mapping) else None
        return {
            "access_token_claims": dict(claims) if isinstance(claims, Mapping) else {},
            "cache": dict(request.get("cache") or {}),
        }

    def initial_result(self) -> dict[str, Any]:
        return {**super().initial_result(), "dropped_claims": []}

    def check(self, result: Mapping[str, Any], name: str) -> None:
        super().check(result, name)
        object_field(result, "access_token_claims")
        for dropped in own_entries(result, "dropped_claims", "action", name):
            if not isinstance(dropped.get("name"), str):
                raise ProtocolViolation("a dropped claim has no name")

    def carry(
        self, combined: dict[str, Any], state: dict[str, Any], result: Mapping[str, Any]
    ) -> None:
        super().carry(combined, state, result)
        combined["dropped_claims"].extend(list_field(result, "dropped_claims"))


TRIGGER = CredentialsExchange()
