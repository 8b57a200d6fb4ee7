"""Environments -> tenants and credentials: overrides for CI, the local tenant, secrets."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest

from auth0_actions.config import load_tenant
from auth0_actions.errors import ConfigError, SecretError
from auth0_actions.secrets import LocalSecretStore, Secret, resolve_secret_values
from auth0_actions.target import resolve_target

pytestmark = pytest.mark.remote_envs

PROD_ENV = {
    "AUTH0_PROD_CLIENT_ID": "prod-client",
    "AUTH0_PROD_CLIENT_SECRET": "prod-secret-value-0123456789",
    "CONSENT_SESSION_SECRET_PROD": "prod-session-secret-0123456789",
    "CONSENT_LEDGER_SECRET_PROD": "prod-ledger-secret-0123456789abcdefg",
}


def test_a_tenant_domain_is_reached_over_https(project: Path) -> None:
    tenant = load_tenant(Path("tenant.yaml"))
    target = resolve_target(tenant, tenant.environment("prod"), PROD_ENV)
    assert target.domain == "acme.eu.auth0.com"
    assert target.base_url == "https://acme.eu.auth0.com"
    assert target.client_id == "prod-client"
    assert target.client_secret == Secret("prod-secret-value-0123456789")
    assert target.origins["client_secret"] == "$AUTH0_PROD_CLIENT_SECRET"


def test_ci_overrides_replace_domain_and_credentials(project: Path) -> None:
    tenant = load_tenant(Path("tenant.yaml"))
    environ = {
        **PROD_ENV,
        "AUTH0_DOMAIN": "https://127.0.0.1:8443",
        "AUTH0_CLIENT_ID": "ci-client",
        "AUTH0_CLIENT_SECRET": "ci-secret-0123456789",
    }
    target = resolve_target(tenant, tenant.environment("prod"), environ)
    assert target.base_url == "https://127.0.0.1:8443"
    assert target.domain == "127.0.0.1:8443"
    assert target.client_id == "ci-client"
    assert target.client_secret == Secret("ci-secret-0123456789")
    assert target.origins == {
        "domain": "$AUTH0_DOMAIN",
        "client_id": "$AUTH0_CLIENT_ID",
        "client_secret": "$AUTH0_CLIENT_SECRET",
    }


def test_an_override_domain_is_validated_like_the_file(project: Path) -> None:
    tenant = load_tenant(Path("tenant.yaml"))
    with pytest.raises(ConfigError, match=r"\$AUTH0_DOMAIN: domain must use https"):
        resolve_target(tenant, tenant.environment("dev"), {"AUTH0_DOMAIN": "http://example.com"})


def test_missing_credentials_name_every_variable(project: Path) -> None:
    tenant = load_tenant(Path("tenant.yaml"))
    with pytest.raises(SecretError) as caught:
        resolve_target(tenant, tenant.environment("dev"), {})
    assert "AUTH0_DEV_CLIENT_ID" in caught.value.message
    assert "AUTH0_DEV_CLIENT_SECRET" in caught.value.message


def test_local_needs_no_environment_variables(project: Path) -> None:
    tenant = load_tenant(Path("tenant.yaml"))
    target = resolve_target(tenant, tenant.environment("local"), {})
    assert target.embedded
    assert target.domain == "local"


def test_a_served_local_tenant_uses_the_credentials_it_wrote(project: Path) -> None:
    state = project / ".auth0-local"
    state.mkdir()
    (state / "credentials.json").write_text(
        json.dumps({"client_id": "emu-client", "client_secret": "emu-secret-0123456789"}),
        encoding="utf-8",
    )
    tenant = load_tenant(Path("tenant.yaml"))
    target = resolve_target(
        tenant, tenant.environment("local"), {"AUTH0_DOMAIN": "https://127.0.0.1:8443"}
    )
    assert target.base_url == "https://127.0.0.1:8443"
    assert target.client_id == "emu-client"
    assert target.client_secret == Secret("emu-secret-0123456789")


def test_secret_wrapper_never_prints_its_value() -> None:
    secret = Secret("hunter2-but-longer")
    assert "hunter2" not in repr(secret)
    assert "hunter2" not in str(secret)
    assert "hunter2" not in f"{secret}"
    assert secret.reveal() == "hunter2-but-longer"


def test_local_secrets_are_generated_once_and_kept_private(project: Path) -> None:
    tenant = load_tenant(Path("tenant.yaml"))
    first = resolve_secret_values(tenant, tenant.environment("local"), {})
    second = resolve_secret_values(tenant, tenant.environment("local"), {})
    assert set(first) == {"CONSENT_LEDGER_SECRET", "CONSENT_SESSION_SECRET"}
    assert first == second
    assert len(first["CONSENT_SESSION_SECRET"].reveal()) >= 32
    path = project / ".auth0-local" / "secrets.json"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    # git must never pick it up.
    ignored = (Path(__file__).resolve().parent.parent / ".gitignore").read_text()
    assert ".auth0-local/" in ignored.splitlines()


def test_a_corrupt_local_secret_store_is_a_clear_error(project: Path) -> None:
    path = project / ".auth0-local" / "secrets.json"
    path.parent.mkdir()
    path.write_text("[1, 2]", encoding="utf-8")
    with pytest.raises(SecretError, match="must map secret names to strings"):
        LocalSecretStore(path.parent).load()


def test_environment_secrets_come_from_their_variables(project: Path) -> None:
    tenant = load_tenant(Path("tenant.yaml"))
    values = resolve_secret_values(tenant, tenant.environment("prod"), PROD_ENV)
    assert values == {
        "CONSENT_SESSION_SECRET": Secret("prod-session-secret-0123456789"),
        "CONSENT_LEDGER_SECRET": Secret("prod-ledger-secret-0123456789abcdefg"),
    }
    with pytest.raises(SecretError, match="CONSENT_SESSION_SECRET_DEV"):
        resolve_secret_values(tenant, tenant.environment("dev"), {})


@pytest.mark.parametrize(
    "value",
    [
        "correct horse battery staple and more",
        "short-key",
        "a-new-key-0123456789abcdefghijklmnop prev1ous-k3y",
    ],
    ids=["passphrase", "short", "short-old-key"],
)
def test_a_ledger_key_that_is_no_keyring_of_strong_keys_is_refused(
    project: Path, value: str
) -> None:
    """CONSENT_LEDGER_SECRET is a keyring (keys separated by spaces): each key 32+ bytes."""
    tenant = load_tenant(Path("tenant.yaml"))
    with pytest.raises(SecretError) as refused:
        resolve_secret_values(
            tenant, tenant.environment("prod"), {**PROD_ENV, "CONSENT_LEDGER_SECRET_PROD": value}
        )
    assert "CONSENT_LEDGER_SECRET_PROD (CONSENT_LEDGER_SECRET) holds" in str(refused.value)
    assert "shorter than 32 bytes" in str(refused.value)
    for word in value.split():
        assert word not in str(refused.value)


def test_preflight_reports_origins_without_values(cli, project, monkeypatch) -> None:
    for name, value in PROD_ENV.items():
        monkeypatch.setenv(name, value)
    run = cli("config", "validate", "--env", "prod", "--output", "json")
    assert run.code == 0, run.err
    target = run.json()["target"]
    assert target["client_secret"] == "set"
    assert target["secrets"] == {
        "CONSENT_LEDGER_SECRET": "$CONSENT_LEDGER_SECRET_PROD (set)",
        "CONSENT_SESSION_SECRET": "$CONSENT_SESSION_SECRET_PROD (set)",
    }
    for value in (
        PROD_ENV["AUTH0_PROD_CLIENT_SECRET"],
        PROD_ENV["CONSENT_SESSION_SECRET_PROD"],
        PROD_ENV["CONSENT_LEDGER_SECRET_PROD"],
    ):
        assert value not in run.out + run.err


def test_preflight_lists_everything_missing_at_once(cli, project) -> None:
    run = cli("config", "validate", "--env", "dev")
    assert run.code == 1
    for name in ("AUTH0_DEV_CLIENT_ID", "AUTH0_DEV_CLIENT_SECRET", "CONSENT_SESSION_SECRET_DEV"):
        assert name in run.err
