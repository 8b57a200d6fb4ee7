"""One tenant's flows together: the trigger runner, the log, signup, password change,
the client-credentials exchange."""

from __future__ import annotations

from auth0_actions.emulator.backends.logs import LogsBackend
from auth0_actions.emulator.context import EmulatorApp
from auth0_actions.emulator.flows.context import Origin
from auth0_actions.emulator.flows.credentials import exchange_hook
from auth0_actions.emulator.flows.password import PasswordFlow
from auth0_actions.emulator.flows.prompt import SignupPrompt
from auth0_actions.emulator.flows.runner import TriggerRunner
from auth0_actions.emulator.flows.signup import SignupFlow
from auth0_actions.emulator.http import Request
from auth0_actions.emulator.oauth import CredentialsExchange


class Flows:
    """What ``app.flows`` holds; the handlers, the login flow and tests use it."""

    def __init__(self, app: EmulatorApp) -> None:
        self.app = app
        self.logs = LogsBackend()
        self.runner = TriggerRunner(app, self.logs)
        users = app.backends.users
        self.signup = SignupFlow(self.runner, self.logs, users, app.domain)
        self.password = PasswordFlow(self.runner, self.logs, users, app.domain)
        # Replace to change the signup page (LocalTenant sets it from tenant.yaml).
        self.signup_prompt = SignupPrompt()

    def credentials_exchange(self, request: Request) -> CredentialsExchange | None:
        """The credentials-exchange step of ``request``'s client-credentials grant (or None)."""
        return exchange_hook(self.app, Origin.of(request, self.app.domain))

    def close(self) -> None:
        self.runner.close()
