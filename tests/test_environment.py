"""open_environment: one way for every command to open an environment of tenant.yaml."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from auth0_actions.config import load_tenant
from auth0_actions.emulator.tenant import LocalTenant
from auth0_actions.environment import open_environment
from auth0_actions.errors import ConfigError, SecretError
from auth0_actions.served_credentials import read_published

DEV = {"AUTH0_DEV_CLIENT_ID": "dev-client", "AUTH0_DEV_CLIENT_SECRET": "dev-secret-0123456789"}


def test_the_local_environment_opens_the_embedded_tenant(project: Path) -> None:
    environment = open_environment(load_tenant(Path("tenant.yaml")), "local", {})
    assert environment.name == "local"
    assert environment.target.embedded
    assert environment.state_dir.resolve() == project / ".auth0-local"
    assert environment.credential_source == "the embedded local tenant's own client"
    assert set(environment.secret_values()) == {"CONSENT_LEDGER_SECRET", "CONSENT_SESSION_SECRET"}
    assert environment.local_secrets().load()  # generated into the state directory
    with environment.tenant_client() as client:
        assert client.base_url.startswith("http://127.0.0.1:")
        assert client.list_actions() == []


@pytest.mark.remote_envs
def test_credentials_are_described_by_where_they_come_from_never_their_values(
    project: Path,
) -> None:
    tenant = load_tenant(Path("tenant.yaml"))
    dev = open_environment(tenant, "dev", DEV)
    assert dev.credential_source.startswith("$AUTH0_DEV_CLIENT_ID and $AUTH0_DEV_CLIENT_SECRET")
    assert "dev-secret" not in dev.credential_source
    assert (
        dev.target.domain_source == "environments.dev.domain = acme-dev.eu.auth0.com in tenant.yaml"
    )
    ci = open_environment(
        tenant,
        "prod",
        {"AUTH0_CLIENT_ID": "ci", "AUTH0_CLIENT_SECRET": "ci-secret-0123456789",
         "AUTH0_DOMAIN": "acme-staging.eu.auth0.com"},
    )  # fmt: skip
    assert ci.credential_source == "$AUTH0_CLIENT_ID and $AUTH0_CLIENT_SECRET (the CI overrides)"
    assert ci.target.domain_source == "$AUTH0_DOMAIN = acme-staging.eu.auth0.com"


@pytest.mark.remote_envs
def test_missing_credentials_fail_naming_the_variables_now_or_when_the_tenant_is_opened(
    project: Path,
) -> None:
    tenant = load_tenant(Path("tenant.yaml"))
    with pytest.raises(SecretError, match="AUTH0_DEV_CLIENT_ID, AUTH0_DEV_CLIENT_SECRET"):
        open_environment(tenant, "dev", {})
    settings_only = open_environment(tenant, "dev", {}, require_credentials=False)
    assert settings_only.target.client_id is None
    with pytest.raises(SecretError, match="AUTH0_DEV_CLIENT_ID"):
        settings_only.tenant_client()


def test_an_unknown_environment_is_named(project: Path) -> None:
    with pytest.raises(ConfigError, match="staging"):
        open_environment(load_tenant(Path("tenant.yaml")), "staging", {})


def test_the_published_credentials_have_one_reader(project: Path) -> None:
    assert read_published(project) is None
    with LocalTenant.open(project) as local:
        path = local.write_credentials()
        published = read_published(project)
        assert published is not None
        assert published.base_url == local.base_url
        assert published.client_id == local.client_id
        assert published.client_secret == local.client_secret
        assert local.client_secret.reveal() not in repr(published)
    path.write_text("{not json", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"credentials\.json: unreadable"):
        read_published(project)
    path.write_text(json.dumps(["a", "list"]), encoding="utf-8")
    with pytest.raises(ConfigError, match="must be a JSON object"):
        read_published(project)
