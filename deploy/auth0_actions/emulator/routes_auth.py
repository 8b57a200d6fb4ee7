"""POST /oauth/token (client credentials) and the tenant's JWKS."""

from __future__ import annotations

from auth0_actions.emulator.context import EmulatorApp
from auth0_actions.emulator.http import ApiError, Request, Response


def register(app: EmulatorApp) -> None:
    def token(request: Request) -> Response:
        body = request.json_object()  # form or JSON: the SDKs send both
        grant = body.get("grant_type")
        if grant == "client_credentials":
            issued = app.authority.issue(
                str(body.get("client_id") or ""),
                str(body.get("client_secret") or ""),
                body.get("audience"),
                body.get("scope"),
            )
            return Response(200, issued)
        if grant == "authorization_code" and app.exchange_code is not None:
            return Response(200, app.exchange_code(body))
        raise ApiError(
            403,
            "Unsupported grant type",
            "unsupported_grant_type",
            extra={"error_description": f"Unsupported grant type: {grant}"},
        )

    def jwks(_: Request) -> Response:
        return Response(200, app.authority.jwks())

    app.router.add("POST", "/oauth/token", token)
    app.router.add("GET", "/.well-known/jwks.json", jwks)
