"""The JSON Schema of tenant.yaml, for editor completion and validation."""

from __future__ import annotations

import json
from typing import Any

from auth0_actions import __version__
from auth0_actions.config.model import TenantConfig


def tenant_schema() -> dict[str, Any]:
    schema = TenantConfig.model_json_schema(mode="validation")
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "auth0-actions tenant.yaml",
        "description": f"Configuration for auth0-actions {__version__}: environments, "
        "consent policy and the actions (every trigger) rendered from templates.",
        **{k: v for k, v in schema.items() if k not in ("title", "description")},
    }


def tenant_schema_json() -> str:
    """Deterministic text, so the committed copy can be checked for staleness."""
    return json.dumps(tenant_schema(), indent=2, sort_keys=True, ensure_ascii=False) + "\n"
