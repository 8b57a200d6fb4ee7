"""One tenant's flows together: the trigger runner, the log, signup, password change."""

from __future__ import annotations

from auth0_actions.emulator.backends.logs import LogsBackend
from auth0_actions.emulator.context import EmulatorApp
from auth0_actions.emulator.flows.password import PasswordFlow
from auth0_actions.emulator.flows.prompt import SignupPrompt
from auth0_actions.emulator.flows.runner import TriggerRunner
from auth0_actions.emulator.flows.signup import SignupFlow


class Flows:
    """What ``app.flows`` holds; the handlers, the login flow and tests use it."""

    def __init__(self, app: EmulatorApp) -> None:
        self.logs = LogsBackend()
        self.runner = TriggerRunner(app, self.logs)
        users = app.backends.users
        self.signup = SignupFlow(self.runner, self.logs, users, app.domain)
        self.password = PasswordFlow(self.runner, self.logs, users, app.domain)
        # Replace to change the signup page (LocalTenant sets it from tenant.yaml).
        self.signup_prompt = SignupPrompt()

    def close(self) -> None:
        self.runner.close()
