"""auth0-actions consent: the Management API side of the consent guide."""

from __future__ import annotations

import click


@click.group("consent")
def consent_group() -> None:
    """Show, grant, withdraw, audit and export users' consent records."""
