"""auth0-actions consent-page serve: the reference consent page on loopback."""

from __future__ import annotations

import signal
import sys
import threading

import click

from auth0_actions.cli.state import environment_option, state
from auth0_actions.consent_page.self_service import SelfService
from auth0_actions.consent_page.self_service_settings import self_service_for_environment
from auth0_actions.consent_page.server import ConsentPageServer
from auth0_actions.consent_page.settings import settings_for_environment
from auth0_actions.errors import Auth0ActionsError
from auth0_actions.network import is_loopback_host


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


@click.group("consent-page")
def consent_page_group() -> None:
    """The consent page the consent-redirect Action sends users to."""


@consent_page_group.command("serve")
@environment_option("Environment whose CONSENT_SESSION_SECRET and tenant the page uses.")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option(
    "--port", type=click.IntRange(0, 65535), default=8766, show_default=True, help="Port."
)
@click.option(
    "--tenant-url",
    metavar="URL",
    help="Base URL of the tenant whose /continue receives the answer (default: the "
    "environment's domain; for local, the served local tenant from .auth0-local/).",
)
@click.option(
    "--issuer",
    metavar="HOST",
    help="The iss the session tokens carry (default: the tenant's hostname; set it when "
    "the tenant uses a custom domain).",
)
@click.option(
    "--allow-non-loopback",
    is_flag=True,
    help="Listen on a non-loopback address. Put TLS in front: the page itself speaks HTTP.",
)
@click.option("--quiet", is_flag=True, help="No access log.")
def serve_command(
    env: str,
    host: str,
    port: int,
    tenant_url: str | None,
    issuer: str | None,
    allow_non_loopback: bool,
    quiet: bool,
) -> None:
    """Serve the consent page at http://HOST:PORT/consent until Ctrl-C.

    Checks each session token (HS256 with the environment's
    CONSENT_SESSION_SECRET, exp, iss, sub, the purposes asked, state),
    accepts each token once, shows one choice per purpose in the browser's
    language with the texts from consent_texts/, refuses cross-site posts,
    and sends the browser on to the tenant's /continue with a signed answer
    (decisions, versions, text hashes, language). The access log shows paths
    only, never tokens.

    Also serves the self-service page at http://HOST:PORT/account, where
    users signed in through the tenant see their consent and withdraw or
    give it (docs/consent.md, "Self-service page and receipts").
    """
    if not is_loopback_host(host):
        if not allow_non_loopback:
            raise Auth0ActionsError(
                f"--host {host} is not a loopback address; pass --allow-non-loopback "
                "to listen there (behind TLS)"
            )
        click.secho(
            f"warning: listening on {host}, reachable from other machines; the page "
            "speaks plain HTTP, so put TLS in front of it",
            fg="yellow",
            err=True,
        )
    tenant = state().tenant()
    settings = settings_for_environment(tenant, env, tenant_url=tenant_url, issuer=issuer)
    account = self_service_for_environment(tenant, env, tenant_url=tenant_url)
    try:
        server = ConsentPageServer(
            settings,
            host,
            port,
            quiet=quiet,
            account=SelfService(account) if account is not None else None,
        )
    except OSError as exc:
        raise Auth0ActionsError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    click.echo(
        f"Consent page for environment {env} at {server.base_url}/consent "
        f"(tokens from {settings.issuer}; Ctrl-C to stop)"
    )
    if account is not None:
        click.echo(
            f"Self-service page at {server.base_url}/account (published as {account.page_url})"
        )
    else:
        click.echo(
            f"No self-service page: environments.{env} names no self_service_client_id_env "
            "and self_service_client_secret_env"
        )
    sys.stdout.flush()
    previous = signal.signal(signal.SIGTERM, _interrupt)
    worker = threading.Thread(target=server.serve_forever, args=(0.02,), daemon=True)
    worker.start()
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        click.echo("Stopped.", err=True)
    finally:
        signal.signal(signal.SIGTERM, previous)
        server.shutdown()
        server.server_close()
