"""Sample values the triggers' default events share: one tenant, one app, one browser.

Every trigger's event describes the same fictional tenant (acme), web
application, database connection and browser in Dublin, so a scenario that
spans triggers (a signup, then a login) sees one consistent world. Each
trigger's module composes its event from these and its own documented fields.
Not a trigger (the registry skips modules whose names start with "_").
"""

from __future__ import annotations

from typing import Any

WEB_CLIENT_ID = "3b1Zq9m8Xk2pLw7vRt5yNc4Hd6Gf0Jsa"
WEB_CLIENT: dict[str, Any] = {"client_id": WEB_CLIENT_ID, "name": "Acme Web", "metadata": {}}
DATABASE_CONNECTION: dict[str, Any] = {
    "id": "con_8yHmLw2pQ5rT9vXb",
    "name": "Username-Password-Authentication",
    "strategy": "auth0",
    "metadata": {},
}
# The identity of the database user most events describe (event.user.identities).
DATABASE_IDENTITY: dict[str, Any] = {
    "connection": "Username-Password-Authentication",
    "isSocial": False,
    "provider": "auth0",
    "user_id": "6543210fedcba98765432100",
    "profileData": {},
}
BROWSER_IP = "203.0.113.10"  # TEST-NET-3 (RFC 5737)
USER_AGENT = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 Chrome/130.0 Safari/537.36"
GEOIP: dict[str, Any] = {
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
}
