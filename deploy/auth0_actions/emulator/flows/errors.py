"""Authentication API errors: their own body shape, not the Management API's.

``/dbconnections/*`` answer ``{"name", "code", "description", "statusCode"}``
(a duplicate signup: ``{"name":"BadRequestError","code":"user_exists",
"description":"The user already exists.","statusCode":400}``, as Lock's users
report it, https://github.com/auth0/lock/issues/2321; the codes:
https://auth0.com/docs/libraries/error-messages). An Action's refusal is the
OAuth pair ``{"error", "error_description"}`` (a pre-user-registration deny:
400 ``extensibility_error``, https://community.auth0.com/t/89653).
"""

from __future__ import annotations

from typing import Any

from auth0_actions.emulator.http import Response


class AuthApiError(Exception):
    """An Authentication API error, rendered as its body says."""

    def __init__(self, status: int, body: dict[str, Any]) -> None:
        super().__init__(str(body.get("description") or body.get("error_description") or ""))
        self.status = status
        self.body = body

    @property
    def message(self) -> str:
        """What a page shows the user."""
        description = self.body.get("description", self.body.get("error_description"))
        if isinstance(description, str):
            return description
        return str(self.body.get("message") or "The request was refused.")

    def response(self) -> Response:
        return Response(self.status, self.body)


def bad_signup(code: str, description: str, name: str = "BadRequestError") -> AuthApiError:
    return AuthApiError(
        400, {"name": name, "code": code, "description": description, "statusCode": 400}
    )


def action_refusal(error: str, description: str) -> AuthApiError:
    return AuthApiError(400, {"error": error, "error_description": description})
