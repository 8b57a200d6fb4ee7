"""Opening a client for an environment's tenant: embedded, served locally, or real.

The embedded local tenant is served on loopback while the block runs and
reached over HTTP like any other; its state persists in ``.auth0-local/``.
A tenant served over TLS by a private CA is trusted through
``AUTH0_CA_BUNDLE`` or, for the local environment, the ``ca_path`` the
served local tenant published. Commands open environments through
:func:`auth0_actions.environment.open_environment`, which comes here.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator, Mapping
from pathlib import Path

from auth0_actions.config import EnvironmentView, Project
from auth0_actions.served_credentials import PublishedCredentials, read_published
from auth0_actions.target import Target, resolve_target
from auth0_actions.tenant_client.client import TenantClient
from auth0_actions.tenant_client.failures import CA_BUNDLE_VARIABLE
from auth0_actions.tenant_client.retry import DEFAULT_POLICY, RetryPolicy


@contextlib.contextmanager
def connect(
    project: Project,
    target: Target,
    environ: Mapping[str, str] | None = None,
    *,
    local: bool,
    retry: RetryPolicy = DEFAULT_POLICY,
    timeout: float | None = None,
    command: str | None = None,
) -> Iterator[TenantClient]:
    """A client for a resolved target, for the duration of the block.

    ``local``: the target is the project's local environment, so a served
    local tenant's published audience and CA apply to it.
    """
    if target.embedded:
        from auth0_actions.emulator.tenant import LocalTenant

        with LocalTenant.open(project.root, serve=True) as tenant:
            served = Target(
                target.environment,
                tenant.domain,
                tenant.base_url,
                tenant.client_id,
                tenant.client_secret,
                target.origins,
                target.rate_limit,
            )
            client = TenantClient.for_target(
                served, audience=tenant.audience, retry=retry, timeout=timeout, command=command
            )
            with client:
                yield client
        return
    published = read_published(project.root) if local else None
    with TenantClient.for_target(
        target,
        audience=published.audience if published is not None else None,
        retry=retry,
        timeout=timeout,
        ca_bundle=ca_bundle(project, target, published, environ),
        command=command,
    ) as client:
        yield client


@contextlib.contextmanager
def open_tenant_client(
    tenant: Project,
    view: EnvironmentView,
    environ: Mapping[str, str] | None = None,
    *,
    retry: RetryPolicy = DEFAULT_POLICY,
    timeout: float | None = None,
) -> Iterator[TenantClient]:
    """A client for the environment's tenant, for the duration of the block."""
    target = resolve_target(tenant, view, environ)
    with connect(
        tenant, target, environ, local=view.is_local, retry=retry, timeout=timeout
    ) as client:
        yield client


def ca_bundle(
    project: Project,
    target: Target,
    published: PublishedCredentials | None,
    environ: Mapping[str, str] | None,
) -> Path | None:
    """The CA bundle to trust: AUTH0_CA_BUNDLE, else the served local tenant's CA."""
    env = os.environ if environ is None else environ
    named = env.get(CA_BUNDLE_VARIABLE)
    if named:
        return project.root / Path(named).expanduser()  # an absolute path stays as it is
    if published is None or published.ca_path is None:
        return None
    served_by_it = published.base_url == target.base_url
    if served_by_it and (target.base_url or "").startswith("https"):
        return project.root / published.ca_path
    return None
