"""Which Management API calls a verified token may make.

An application's token (client credentials) needs one of the call's scopes;
``*current_user*`` scopes mean nothing without a user, so they never count
for it. A user's token (from a login with the Management API as audience)
may only read its own user and update that user's ``user_metadata``, with the
current-user scopes Auth0 issues to users
(https://auth0.com/docs/secure/tokens/access-tokens/management-api-access-tokens/get-management-api-tokens-for-single-page-applications);
every other call is refused, whatever scopes the token claims.
"""

from __future__ import annotations

from auth0_actions.emulator.auth import Principal
from auth0_actions.emulator.http import ApiError, Request, Route
from auth0_actions.emulator.management_scopes import CURRENT_USER_SCOPES

_USER_PATH = "/api/v2/users/{id}"
# The current-user scopes that let a user write their own user_metadata.
_METADATA_WRITES = frozenset(
    ("update:current_user_metadata", "create:current_user_metadata", "delete:current_user_metadata")
)


def _insufficient(route: Route) -> ApiError:
    return ApiError(
        403,
        f"Insufficient scope, expected any of: {','.join(route.scopes)}",
        "insufficient_scope",
    )


def check_call(principal: Principal, route: Route, request: Request) -> None:
    """Raise Auth0's 403 unless ``principal`` may make this call."""
    if principal.is_client:
        if not (principal.scopes - CURRENT_USER_SCOPES) & set(route.scopes):
            raise _insufficient(route)
        return
    if route.template != _USER_PATH or request.params.get("id") != principal.subject:
        raise _insufficient(route)
    if request.method == "GET" and "read:current_user" in principal.scopes:
        return
    if request.method == "PATCH" and principal.scopes & _METADATA_WRITES:
        body = request.json()
        if isinstance(body, dict) and set(body) <= {"user_metadata"}:
            return
    raise _insufficient(route)
