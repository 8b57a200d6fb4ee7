"""A served local tenant whose actions are deployed and bound through the Management API.

Shared by the tests of the signup, password-change and log flows
(tests/test_emulator_flows.py, tests/test_signup_page.py).
"""

from __future__ import annotations

import time
from typing import Any

import httpx
from emulator_support import login_client

from auth0_actions.emulator.app import Emulator
from auth0_actions.emulator.server import ServerThread

APP = "https://app.example.com/callback"
CONNECTION = "Username-Password-Authentication"


class FlowTenant:
    """An in-memory tenant on loopback; ``api`` holds a token with every management scope.

    The application the tests play, ``app``, is registered with the callback ``APP``
    (Auth0's /authorize refuses unknown clients and callbacks); ``web`` is one
    browser: its cookie jar keeps the transaction cookie /authorize sets.
    """

    def __init__(self) -> None:
        self.app = Emulator()
        self.server = ServerThread(self.app).start()
        self.base = self.server.base_url
        login_client(self.app, [APP])
        client = self.app.oauth.register()
        self.client_id, self.client_secret = client.client_id, client.client_secret
        self.api = httpx.Client(
            base_url=f"{self.base}/api/v2",
            headers={"authorization": f"Bearer {self.token()}"},
            timeout=60,
        )
        self.web = httpx.Client(base_url=self.base, follow_redirects=False, timeout=60)

    def token(self, scopes: tuple[str, ...] | None = None) -> str:
        """A Management API token (of a new client holding ``scopes``, when given)."""
        client_id, secret = self.client_id, self.client_secret
        if scopes is not None:
            client = self.app.oauth.register(scopes=scopes)
            client_id, secret = client.client_id, client.client_secret
        answer = httpx.post(
            f"{self.base}/oauth/token",
            data={
                "grant_type": "client_credentials",
                "client_id": client_id,
                "client_secret": secret,
                "audience": f"https://{self.app.domain}/api/v2/",
            },
        )
        answer.raise_for_status()
        return str(answer.json()["access_token"])

    def bind(
        self,
        trigger: str,
        *actions: tuple[str, str],
        secrets: dict[str, dict[str, str]] | None = None,
    ) -> list[str]:
        """Create, deploy and bind (name, code) actions to ``trigger``, in order; their ids.

        ``secrets``: an action's secret values, by action name.
        """
        ids = []
        for name, code in actions:
            given = (secrets or {}).get(name) or {}
            created = self.api.post(
                "/actions/actions",
                json={
                    "name": name,
                    "supported_triggers": [{"id": trigger, "version": "v2"}],
                    "code": code,
                    "secrets": [{"name": k, "value": v} for k, v in given.items()],
                },
            )
            assert created.status_code == 201, created.text
            action_id = str(created.json()["id"])
            self._settle(f"/actions/actions/{action_id}", lambda b: b.get("status"))
            deployed = self.api.post(f"/actions/actions/{action_id}/deploy")
            assert deployed.status_code == 200, deployed.text
            ids.append(action_id)
        bound = self.api.patch(
            f"/actions/triggers/{trigger}/bindings",
            json={"bindings": [{"ref": {"type": "action_id", "value": i}} for i in ids]},
        )
        assert bound.status_code == 200, bound.text
        return ids

    def _settle(self, path: str, status: Any) -> None:
        deadline = time.monotonic() + 30
        while status(self.api.get(path).json()) in ("pending", "building"):
            assert time.monotonic() < deadline, f"{path} never built"
            time.sleep(0.02)

    def login_transaction(self, **params: str) -> str:
        """Start a login at /authorize; the transaction id its form carries."""
        page = self.web.get(
            "/authorize",
            params={"client_id": "app", "redirect_uri": APP, "state": "s1", **params},
        )
        assert page.status_code == 200, page.text
        return page.text.split('name="tx" value="')[1].split('"')[0]

    def logs(self, **query: str) -> list[dict[str, Any]]:
        answer = self.api.get("/logs", params=query)
        assert answer.status_code == 200, answer.text
        return list(answer.json())

    def execution(self, execution_id: str) -> dict[str, Any]:
        answer = self.api.get(f"/actions/executions/{execution_id}")
        assert answer.status_code == 200, answer.text
        return dict(answer.json())

    def close(self) -> None:
        self.api.close()
        self.web.close()
        self.server.stop()
        self.app.close()


def handler(name: str, body: str) -> str:
    """An action exporting ``name`` with ``body``."""
    return f"exports.{name} = async (event, api) => {{\n{body}\n}};\n"
