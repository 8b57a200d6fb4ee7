"""A database signup: pre-user-registration, the new user, then post-user-registration.

As Auth0 runs it (https://auth0.com/docs/customize/actions/explore-triggers/signup-and-login-triggers):

1. the pre-user-registration actions run before the user exists; a deny
   (``api.access.deny``) or ``api.validation.error`` refuses the signup, and the
   metadata they set is what the user is created with;
2. the user is created through :meth:`UsersBackend.create`, the method
   ``POST /api/v2/users`` uses (so the same checks and the same stored shape);
3. the post-user-registration actions run; they are non-blocking ("the
   Action's outcome does not affect the Auth0 transaction"), so their failure
   never undoes the signup. They run before the answer here, so a test sees
   their execution as soon as the signup returns.

Both the Authentication API's ``POST /dbconnections/signup`` and the signup
page call :func:`sign_up`. Each run is an execution; the signup is a log
event (``ss``, or ``fs`` when refused) naming them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from auth0_actions.emulator.backends.logs import LogsBackend
from auth0_actions.emulator.backends.users import DEFAULT_CONNECTION, UsersBackend, connection_id
from auth0_actions.emulator.flows.context import Origin
from auth0_actions.emulator.flows.errors import AuthApiError, action_refusal, bad_signup
from auth0_actions.emulator.flows.runner import TriggerRun, TriggerRunner
from auth0_actions.emulator.http import ApiError
from auth0_actions.sandbox.deps import redact_paths
from auth0_actions.triggers.post_user_registration import TRIGGER as POST_REGISTRATION
from auth0_actions.triggers.pre_user_registration import TRIGGER as PRE_REGISTRATION

PROFILE_FIELDS = ("username", "given_name", "family_name", "name", "nickname", "picture")
# /dbconnections/signup: "user_metadata ... no more than ten properties. Property
# names can have a maximum of 100 characters, and property values must be
# strings of no more than 500 characters."
# (https://auth0.com/docs/api/authentication/signup/create-a-new-user)
SIGNUP_METADATA_FIELDS = 10
SIGNUP_METADATA_NAME = 100
SIGNUP_METADATA_VALUE = 500
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_REFUSED = "The signup could not be completed because an action failed to run."


@dataclass
class SignupRequest:
    """A parsed, checked signup (the password never reaches an event or a log)."""

    connection: str
    email: str
    password: str
    profile: dict[str, str] = field(default_factory=dict)
    user_metadata: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def parse(cls, body: dict[str, Any]) -> SignupRequest:
        """The Authentication API's body; ``invalid_signup`` / ``invalid_password`` when wrong."""
        connection = body.get("connection")
        if not isinstance(connection, str) or not connection:
            raise bad_signup("invalid_signup", "Missing required parameter: connection")
        if connection != DEFAULT_CONNECTION:
            raise bad_signup("invalid_signup", f"The connection {connection!r} does not exist.")
        email = body.get("email")
        if not isinstance(email, str) or not _EMAIL.match(email):
            raise bad_signup("invalid_signup", "Invalid sign up")
        password = body.get("password")
        if not isinstance(password, str) or not password:
            # The connection's policy is Auth0's default, "none": at least 1 character
            # (https://auth0.com/docs/authenticate/database-connections/password-strength).
            raise AuthApiError(
                400,
                {
                    "name": "PasswordStrengthError",
                    "message": "Password is too weak",
                    "code": "invalid_password",
                    "description": {
                        "rules": [
                            {
                                "message": "At least %d characters in length",
                                "format": [1],
                                "code": "lengthAtLeast",
                                "verified": False,
                            }
                        ],
                        "verified": False,
                    },
                    "policy": "* At least 1 character in length",
                    "statusCode": 400,
                },
            )
        profile = {}
        for name in PROFILE_FIELDS:
            value = body.get(name)
            if value is None or value == "":
                continue
            if not isinstance(value, str):
                raise bad_signup("invalid_signup", f"{name} must be a string")
            profile[name] = value
        return cls(connection, email.lower(), password, profile, _signup_metadata(body))

    def event_body(self, extra: dict[str, Any]) -> dict[str, Any]:
        """``event.request.body``: what was posted, without the password."""
        return {"email": self.email, "connection": self.connection, **self.profile, **extra}


def _signup_metadata(body: dict[str, Any]) -> dict[str, Any]:
    metadata = body.get("user_metadata")
    if metadata is None:
        return {}
    if not isinstance(metadata, dict):
        raise bad_signup("invalid_signup", "user_metadata must be an object")
    if len(metadata) > SIGNUP_METADATA_FIELDS:
        raise bad_signup(
            "invalid_signup",
            f"user_metadata may have at most {SIGNUP_METADATA_FIELDS} properties",
        )
    for key, value in metadata.items():
        if len(key) > SIGNUP_METADATA_NAME:
            raise bad_signup("invalid_signup", "user_metadata property names are at most 100 chars")
        if not isinstance(value, str) or len(value) > SIGNUP_METADATA_VALUE:
            raise bad_signup(
                "invalid_signup",
                f"user_metadata.{key} must be a string of at most {SIGNUP_METADATA_VALUE} chars",
            )
    return dict(metadata)


@dataclass
class SignupOutcome:
    user: dict[str, Any]
    executions: list[str]


class SignupFlow:
    """Runs signups for one tenant."""

    def __init__(self, runner: TriggerRunner, logs: LogsBackend, users: UsersBackend, domain: str):
        self.runner = runner
        self.logs = logs
        self.users = users
        self.domain = domain

    def sign_up(self, request: SignupRequest, origin: Origin) -> SignupOutcome:
        """The new user, or an :class:`AuthApiError` as Auth0 answers (logged ``fs``)."""
        context = origin.log_context(request.connection, {"email": request.email})
        if self.users.find_by_email(request.email, request.connection):
            # Checked before the actions run, so a duplicate never runs them.
            self.logs.add_event("fs", context, description="The user already exists.")
            raise bad_signup("user_exists", "The user already exists.")
        pre = self.runner.run(PRE_REGISTRATION.id, self._pre_event(request, origin))
        executions = [pre.execution_id] if pre.execution_id else []
        refusal = _refusal(pre)
        if refusal is not None:
            self.logs.add_event("fs", context, description=refusal.message, executions=executions)
            raise refusal
        body: dict[str, Any] = {
            "connection": request.connection,
            "email": request.email,
            "password": request.password,
            **request.profile,
        }
        result = pre.result or {}
        if result.get("user_metadata"):
            body["user_metadata"] = result["user_metadata"]
        if result.get("app_metadata"):
            body["app_metadata"] = result["app_metadata"]
        try:
            user = self.users.create(body)
        except ApiError as error:
            description = "The user already exists." if error.status == 409 else error.message
            self.logs.add_event("fs", context, description=description, executions=executions)
            code = "user_exists" if error.status == 409 else "invalid_signup"
            raise bad_signup(code, description) from None
        post = self.runner.run(POST_REGISTRATION.id, self._post_event(user, origin))
        if post.execution_id:
            executions.append(post.execution_id)
        self.logs.add_event(
            "ss", origin.log_context(request.connection, user), executions=executions
        )
        return SignupOutcome(user, executions)

    # -- events ------------------------------------------------------------------
    def _common(self, connection: str, origin: Origin) -> dict[str, Any]:
        return {
            "client": {
                "client_id": origin.client_id or "",
                "name": origin.client_name,
                "metadata": {},
            },
            "connection": {
                "id": connection_id(connection),
                "name": connection,
                "strategy": "auth0",
                "metadata": {},
            },
            "tenant": {"id": self.domain.split(".")[0]},
        }

    def _shape(self, event: dict[str, Any], origin: Origin) -> dict[str, Any]:
        """Drop what exists only behind a custom domain or Cloudflare, or in a login."""
        event.pop("security_context", None)
        if origin.hostname == self.domain:
            event.pop("custom_domain", None)
        tx = origin.transaction
        if tx is None:
            event.pop("transaction", None)
        else:
            event["transaction"] = {
                **event["transaction"],
                "protocol": tx.get("protocol", "oidc-basic-profile"),
                "redirect_uri": tx.get("redirect_uri"),
                "state": tx.get("app_state"),
                "requested_scopes": tx.get("scopes") or [],
                "prompt": tx.get("prompt") or [],
            }
        return event

    def _pre_event(self, request: SignupRequest, origin: Origin) -> dict[str, Any]:
        local = request.email.split("@")[0]
        user = {
            "email": request.email,
            "username": request.profile.get("username"),
            "name": request.profile.get("name") or request.email,
            "nickname": request.profile.get("nickname") or local,
            "given_name": request.profile.get("given_name"),
            "family_name": request.profile.get("family_name"),
            "phone_number": None,
            "picture": request.profile.get("picture"),
            "user_metadata": request.user_metadata,
            "app_metadata": {},
        }
        event = PRE_REGISTRATION.build_event(
            self._common(request.connection, origin),
            {"request": {**origin.request_event(), "body": request.event_body(origin.body)}},
        )
        # Replaced, not merged: the sample's user must not leak into a real signup.
        event["user"] = user
        event["request"]["body"] = request.event_body(origin.body)
        return self._shape(event, origin)

    def _post_event(self, user: dict[str, Any], origin: Origin) -> dict[str, Any]:
        connection = (user.get("identities") or [{}])[0].get("connection", DEFAULT_CONNECTION)
        event = POST_REGISTRATION.build_event(
            self._common(connection, origin), {"request": origin.request_event()}
        )
        event["user"] = {
            "user_id": user["user_id"],
            "email": user.get("email"),
            "email_verified": bool(user.get("email_verified")),
            "username": user.get("username"),
            "name": user.get("name"),
            "nickname": user.get("nickname"),
            "given_name": user.get("given_name"),
            "family_name": user.get("family_name"),
            "phone_number": user.get("phone_number"),
            "phone_verified": bool(user.get("phone_verified")),
            "picture": user.get("picture"),
            "created_at": user.get("created_at"),
            "updated_at": user.get("updated_at"),
            "app_metadata": user.get("app_metadata") or {},
            "user_metadata": user.get("user_metadata") or {},
        }
        event.pop("client", None)  # not part of this trigger's event reference
        return self._shape(event, origin)


def _refusal(run: TriggerRun) -> AuthApiError | None:
    """What refuses the signup: a deny, a validation error, or a failed action."""
    if run.status == "denied":
        deny = run.deny
        if deny.get("command") == "validation.error":
            # "The error code will be ... returned to the application" as the OAuth error.
            return action_refusal(
                str(deny.get("code") or "invalid_signup"), str(deny.get("user_message") or "")
            )
        return action_refusal(
            "extensibility_error", str(deny.get("user_message") or deny.get("reason") or "")
        )
    if run.status == "error":
        error = (run.result or {}).get("error") or {}
        message = redact_paths(str(error.get("message") or "").strip().split("\n", 1)[0])
        return action_refusal("extensibility_error", message or _REFUSED)
    return None


def signup_answer(user: dict[str, Any]) -> dict[str, Any]:
    """The Authentication API's answer to a signup: ``_id`` (no provider prefix) and the profile."""
    out: dict[str, Any] = {
        "_id": str(user["user_id"]).split("|", 1)[-1],
        "email_verified": bool(user.get("email_verified")),
        "email": user.get("email"),
    }
    for name in (*PROFILE_FIELDS, "user_metadata"):
        if user.get(name) not in (None, ""):
            out[name] = user[name]
    return out
