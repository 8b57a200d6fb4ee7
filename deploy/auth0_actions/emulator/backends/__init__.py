"""The local tenant's backends: one typed class per API area, owning its state and rules.

As moto separates them: a backend keeps its area's documents in the
:class:`~auth0_actions.emulator.store.Store` and applies Auth0's rules to
them (ids, defaults, conflicts, limits, merges), raising
:class:`~auth0_actions.emulator.http.ApiError` with Auth0's bodies; it knows
nothing of HTTP. The handlers (:mod:`auth0_actions.emulator.handlers`), the
login flow and ``emulator seed`` all reach the state through
:class:`Backends`, the app's ``backends``.
"""

from __future__ import annotations

from dataclasses import dataclass

from auth0_actions.emulator.backends.action_tests import ActionTests
from auth0_actions.emulator.backends.actions import ActionsBackend
from auth0_actions.emulator.backends.bindings import BindingsBackend
from auth0_actions.emulator.backends.client_grants import ClientGrants
from auth0_actions.emulator.backends.clients import Clients
from auth0_actions.emulator.backends.connections import ConnectionsBackend
from auth0_actions.emulator.backends.host import BackendHost
from auth0_actions.emulator.backends.jobs import JobsBackend
from auth0_actions.emulator.backends.mfa import OtpBackend
from auth0_actions.emulator.backends.modules import ModulesBackend
from auth0_actions.emulator.backends.resource_servers import ResourceServers
from auth0_actions.emulator.backends.rules import RulesBackend
from auth0_actions.emulator.backends.settings import SettingsBackend
from auth0_actions.emulator.backends.users import UsersBackend


@dataclass(frozen=True)
class Backends:
    """Every area's backend of one tenant."""

    users: UsersBackend
    actions: ActionsBackend
    bindings: BindingsBackend
    action_tests: ActionTests
    rules: RulesBackend
    jobs: JobsBackend
    clients: Clients
    resource_servers: ResourceServers
    client_grants: ClientGrants
    connections: ConnectionsBackend
    modules: ModulesBackend
    mfa: OtpBackend  # the users' one-time-password factors
    settings: SettingsBackend  # the settings singletons written over their defaults

    @classmethod
    def build(cls, host: BackendHost) -> Backends:
        actions = ActionsBackend(host)
        clients = Clients(host.store, host.domain)
        apis = ResourceServers(host.store, host.domain)
        modules = ModulesBackend(host.store)
        return cls(
            users=UsersBackend(host.store),
            actions=actions,
            bindings=BindingsBackend(actions),
            action_tests=ActionTests(host, actions, modules),
            rules=RulesBackend(host.store),
            jobs=JobsBackend(host),
            clients=clients,
            resource_servers=apis,
            client_grants=ClientGrants(host.store, clients, apis),
            # The default connection is enabled for every application until told otherwise.
            connections=ConnectionsBackend(
                host.store, lambda: [str(c["client_id"]) for c in clients.all()]
            ),
            modules=modules,
            mfa=OtpBackend(host.store),
            settings=SettingsBackend(host.store),
        )

    def close(self) -> None:
        """Stop what the backends started (the action-test sandbox pool)."""
        self.action_tests.close()
