"""auth0-actions emulator serve | reset | seed: the project's local tenant."""

from __future__ import annotations

import signal
import sys
import threading
from pathlib import Path

import click

from auth0_actions.cli.state import AppState, output_option, state
from auth0_actions.emulator.faults import RATE_PROFILES
from auth0_actions.emulator.tenant import LocalTenant, load_users
from auth0_actions.errors import ConfigError
from auth0_actions.secrets import LOCAL_STATE_DIR
from auth0_actions.served_credentials import LOCAL_CREDENTIALS_FILE


def _project_root() -> Path:
    """The directory of tenant.yaml (as --config finds it), else the current one."""
    try:
        return state().config_path().resolve().parent
    except ConfigError:
        return Path.cwd()


@click.group("emulator")
def emulator_group() -> None:
    """The local tenant: an Auth0-compatible Management API on loopback.

    State lives in .auth0-local/ (SQLite), so it persists across runs.
    """


@emulator_group.command("serve")
@click.option(
    "--port",
    type=click.IntRange(0, 65535),
    default=0,
    show_default=True,
    help="Port on 127.0.0.1 (0: any free port).",
)
@click.option("--tls", is_flag=True, help="HTTPS with a locally generated CA (.auth0-local/tls/).")
@click.option(
    "--latency-ms",
    type=click.FloatRange(0, 60_000),
    default=0.0,
    show_default=True,
    help="Delay added to every request.",
)
@click.option(
    "--rate-profile",
    type=click.Choice(list(RATE_PROFILES)),
    default="none",
    show_default=True,
    help="Rate limiting as Auth0's plans apply it (429 with x-ratelimit-* headers).",
)
@click.option(
    "--build-seconds",
    type=click.FloatRange(0, 600),
    default=0.0,
    show_default=True,
    help="How long an action takes to go pending -> building -> built.",
)
@output_option
def serve_command(
    port: int, tls: bool, latency_ms: float, rate_profile: str, build_seconds: float
) -> None:
    """Serve the local tenant on 127.0.0.1 until Ctrl-C.

    Writes .auth0-local/credentials.json (base URL, domain, CA path, client id
    and secret with every Management API scope) and prints the same: it is
    your own local tenant, so the secret is shown.
    """
    app = state()
    root = _project_root()
    # SIGTERM asks for the same clean stop as Ctrl-C. Its handler is in place before
    # credentials.json (what scripts wait for) exists, and only sets a flag: a stop
    # asked for while the credentials are being written and printed comes after them.
    stop = threading.Event()
    previous = signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        _serve(app, root, stop, port, tls, latency_ms, rate_profile, build_seconds)
    except KeyboardInterrupt:
        stop.set()
    finally:
        signal.signal(signal.SIGTERM, previous)
    if app.output == "text":
        click.echo("Stopped.", err=True)


def _serve(
    app: AppState,
    root: Path,
    stop: threading.Event,
    port: int,
    tls: bool,
    latency_ms: float,
    rate_profile: str,
    build_seconds: float,
) -> None:
    """Serve until ``stop`` is set (SIGTERM) or Ctrl-C; the tenant is closed either way."""
    with LocalTenant.open(
        root,
        port=port,
        tls=tls,
        latency_ms=latency_ms,
        rate_profile=rate_profile,
        build_seconds=build_seconds,
    ) as tenant:
        path = tenant.write_credentials()
        data = {**tenant.credentials(), "credentials_file": str(path)}
        lines = [
            f"Local tenant at {tenant.base_url} (Ctrl-C to stop)",
            f"  domain         {tenant.domain}",
            f"  audience       {tenant.audience}",
            f"  client_id      {tenant.client_id}",
            f"  client_secret  {tenant.client_secret.reveal()}",
            "  login application (authorization code; callbacks:"
            f" {', '.join(tenant.credentials()['login_callbacks'])})",
            f"  login_client_id      {tenant.login_client.client_id}",
            f"  login_client_secret  {tenant.login_client.client_secret.reveal()}",
        ]
        if tenant.ca_path is not None:
            lines.append(f"  ca_path        {tenant.ca_path}")
        lines.append(f"  written to     {Path(LOCAL_STATE_DIR) / LOCAL_CREDENTIALS_FILE}")
        app.emit(data, "\n".join(lines))
        sys.stdout.flush()
        while not stop.wait(0.5):  # a timeout, so Ctrl-C is seen promptly too
            pass


@emulator_group.command("reset")
@output_option
def reset_command() -> None:
    """Wipe the local tenant's data (actions, users, rules, jobs).

    The client credentials, signing key and local CA are kept.
    """
    root = _project_root()
    with LocalTenant.open(root, serve=False) as tenant:
        removed = tenant.reset()
    total = sum(removed.values())
    state().emit(
        {"ok": True, "removed": removed},
        f"Local tenant reset: {total} object(s) removed"
        + (f" ({', '.join(f'{k}: {v}' for k, v in removed.items())})" if removed else ""),
    )


@emulator_group.command("seed")
@click.argument("users_file", type=click.Path(dir_okay=False, path_type=Path))
@output_option
def seed_command(users_file: Path) -> None:
    """Load the users in USERS_FILE into the local tenant.

    USERS_FILE is a YAML list of users: email and connection (required),
    password, user_metadata, app_metadata, email_verified, name, ... Every
    problem is reported with file:line, and then nothing is loaded.
    """
    users, document = load_users(users_file)
    root = _project_root()
    with LocalTenant.open(root, serve=False) as tenant:
        created = tenant.seed(users, document)
    state().emit(
        {
            "ok": True,
            "loaded": len(created),
            "users": [{"user_id": u["user_id"], "email": u["email"]} for u in created],
        },
        f"Loaded {len(created)} user(s) into the local tenant"
        + "".join(f"\n  {u['user_id']}  {u['email']}" for u in created),
    )
