"""One way to open an environment of tenant.yaml, for every command.

An :class:`Environment` holds what a command needs to act on one
environment: the project and its view of the environment, the resolved
target (where the tenant is, and where its credentials came from), the local
state directory, the environment's secret values, and a way to open a client
for its tenant. Commands get one from :func:`open_environment` instead of
combining config, target, secrets and client themselves, so every command
reaches a tenant, and explains a failure to reach it, the same way.
"""

from __future__ import annotations

from collections.abc import Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from auth0_actions.config import ConsentPolicy, EnvironmentView, Project
from auth0_actions.secrets import (
    LocalSecretStore,
    Secret,
    local_state_dir,
    resolve_secret_values,
)
from auth0_actions.served_credentials import PublishedCredentials, read_published
from auth0_actions.target import Target, resolve_target

if TYPE_CHECKING:
    # The client brings the Auth0 SDK (a few hundred ms to import): opened on
    # first use, so `config validate --env` and friends never pay for it.
    from auth0_actions.tenant_client.client import TenantClient
    from auth0_actions.tenant_client.retry import RetryPolicy


@dataclass(frozen=True)
class Environment:
    """One environment of a project, resolved: its settings, tenant, credentials, state."""

    project: Project
    view: EnvironmentView
    target: Target
    environ: Mapping[str, str] | None  # None: the process environment
    credentials_checked: bool  # False when opened without requiring the credentials

    @property
    def name(self) -> str:
        return self.view.name

    @property
    def is_local(self) -> bool:
        return self.view.is_local

    @property
    def consent(self) -> ConsentPolicy:
        return self.view.consent

    @property
    def state_dir(self) -> Path:
        """The project's ``.auth0-local/`` (local secrets, the local tenant's state)."""
        return local_state_dir(self.project)

    @property
    def credential_source(self) -> str:
        """Where the client credentials come from (variable names or a file, never values)."""
        return self.target.credential_source

    def local_secrets(self) -> LocalSecretStore:
        return LocalSecretStore(self.state_dir)

    def secret_values(self) -> dict[str, Secret]:
        """The values of the secrets the environment's actions declare."""
        return resolve_secret_values(self.project, self.view, self.environ)

    def published(self) -> PublishedCredentials | None:
        """What a served local tenant published in ``.auth0-local/credentials.json``."""
        return read_published(self.project.root)

    def tenant_client(
        self,
        *,
        retry: RetryPolicy | None = None,
        timeout: float | None = None,
        command: str | None = None,
    ) -> AbstractContextManager[TenantClient]:
        """``with env.tenant_client() as client:`` -- the tenant, for the block's duration.

        ``command`` (default: the CLI command running) names the Management
        API scopes a 403 asks for.
        """
        from auth0_actions.tenant_client.connect import connect
        from auth0_actions.tenant_client.retry import DEFAULT_POLICY

        target = self.target
        if not self.credentials_checked:  # fail naming the missing variables
            target = resolve_target(self.project, self.view, self.environ)
        return connect(
            self.project,
            target,
            self.environ,
            local=self.view.is_local,
            retry=retry or DEFAULT_POLICY,
            timeout=timeout,
            command=command,
        )


def open_environment(
    project: Project,
    name: str,
    environ: Mapping[str, str] | None = None,
    *,
    require_credentials: bool = True,
) -> Environment:
    """The environment ``name`` of ``project``; an unknown name or (with
    ``require_credentials``) a missing credential variable fails naming it."""
    view = project.environment(name)
    target = resolve_target(project, view, environ, require_credentials=require_credentials)
    return Environment(project, view, target, environ, require_credentials)
