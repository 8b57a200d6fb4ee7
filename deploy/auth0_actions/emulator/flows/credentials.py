"""The client-credentials exchange's trigger run: credentials-exchange.

``/oauth/token`` (``grant_type=client_credentials``) calls
:func:`run_credentials_exchange` once it has checked the client, its grant for
the audience and the scopes it may have, and before it signs the token
(https://auth0.com/docs/customize/actions/explore-triggers/machine-to-machine-trigger):

- ``denial`` set: answer ``{"error": denial.code, "error_description":
  denial.reason}`` (``api.access.deny(code, reason)``: the code is one of
  OAuth2's, ``invalid_scope``, ``invalid_request``, ``server_error``, ...)
  with 403 (400 for ``invalid_request``), and issue nothing;
- otherwise add ``claims`` (the custom claims the actions set; the ones
  Auth0 would not issue are already dropped) to the access token.

An action that throws, or a runtime failure, denies with ``server_error``
(Auth0 fails the exchange when an action fails). Each run is an execution;
the exchange is a log event (``seccft``, or ``feccft`` when denied).

:func:`exchange_hook` is what ``/oauth/token`` hands to
:meth:`AuthorizationServer.client_credentials`: None when no deployed action
is bound to the trigger (the grant then costs nothing more), else a callable
that runs them and raises the denial as an :class:`OAuthError`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from auth0_actions.emulator.backends.logs import FlowContext
from auth0_actions.emulator.context import EmulatorApp
from auth0_actions.emulator.flows.context import Origin
from auth0_actions.emulator.oauth import CredentialsExchange, OAuthError
from auth0_actions.sandbox.deps import redact_paths
from auth0_actions.triggers.credentials_exchange import TRIGGER as CREDENTIALS_EXCHANGE

_FAILED = "An action could not be run."


@dataclass(frozen=True)
class Denial:
    code: str  # the OAuth2 error the client receives
    reason: str

    @property
    def status(self) -> int:
        return 400 if self.code == "invalid_request" else 403

    def body(self) -> dict[str, str]:
        return {"error": self.code, "error_description": self.reason}


@dataclass
class CredentialsOutcome:
    claims: dict[str, Any] = field(default_factory=dict)
    denial: Denial | None = None
    execution_id: str | None = None


def run_credentials_exchange(
    app: EmulatorApp,
    client: Mapping[str, Any],
    audience: str,
    scopes: Sequence[str],
    origin: Origin | None = None,
) -> CredentialsOutcome:
    """Run the credentials-exchange actions for a token about to be issued.

    client: ``client_id``, ``name`` and ``client_metadata`` (or ``metadata``) of
    the client; scopes: the ones it is being granted.
    """
    flows = app.flows
    origin = origin or Origin(hostname=app.domain)
    client_id = str(client.get("client_id") or "")
    event = CREDENTIALS_EXCHANGE.build_event(
        {
            "client": {
                "client_id": client_id,
                "name": str(client.get("name") or ""),
                "metadata": dict(client.get("client_metadata") or client.get("metadata") or {}),
            },
            "request": {
                **origin.request_event(),
                "body": {
                    "grant_type": "client_credentials",
                    "client_id": client_id,
                    "audience": audience,
                    **({"scope": " ".join(scopes)} if scopes else {}),
                },
            },
            "resource_server": {"identifier": audience},
            "tenant": {"id": app.domain.split(".")[0]},
        }
    )
    event["accessToken"] = {"customClaims": {}, "scope": list(scopes)}
    event["transaction"] = {"correlation_id": None, "requested_scopes": list(scopes)}
    run = flows.runner.run(CREDENTIALS_EXCHANGE.id, event)
    outcome = CredentialsOutcome(execution_id=run.execution_id)
    if run.status == "denied":
        deny = run.deny
        outcome.denial = Denial(
            str(deny.get("code") or "access_denied"), str(deny.get("reason") or "")
        )
    elif run.status == "error":
        error = (run.result or {}).get("error") or {}
        message = redact_paths(str(error.get("message") or "").strip().split("\n", 1)[0])
        outcome.denial = Denial("server_error", message or _FAILED)
    else:
        outcome.claims = dict((run.result or {}).get("access_token_claims") or {})
    context = FlowContext(
        client_id=client_id,
        client_name=str(client.get("name") or "") or None,
        ip=origin.ip,
        hostname=origin.hostname or None,
        audience=audience,
        scope=" ".join(scopes),
    )
    executions = [run.execution_id] if run.execution_id else []
    if outcome.denial is None:
        flows.logs.add_event("seccft", context, executions=executions)
    else:
        flows.logs.add_event(
            "feccft", context, description=outcome.denial.reason, executions=executions
        )
    return outcome


def exchange_hook(app: EmulatorApp, origin: Origin) -> CredentialsExchange | None:
    """The credentials-exchange step of a client-credentials grant; None when nothing is bound."""
    if not app.flows.runner.bound(CREDENTIALS_EXCHANGE.id):
        return None

    def exchange(client: Mapping[str, Any], audience: str, scopes: list[str]) -> dict[str, Any]:
        origin.client_id = str(client.get("client_id") or "")
        origin.client_name = str(client.get("name") or "") or origin.client_name
        outcome = run_credentials_exchange(app, client, audience, scopes, origin)
        if outcome.denial is not None:
            denial = outcome.denial
            raise OAuthError(denial.status, denial.code, denial.reason)
        return outcome.claims

    return exchange
