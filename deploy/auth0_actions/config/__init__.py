"""tenant.yaml: model, validation and the published JSON Schema."""

from auth0_actions.config.load import EnvironmentView, Project, load_tenant
from auth0_actions.config.model import (
    ActionSpec,
    ConsentPolicy,
    LegacyRuleSpec,
    SafetyThresholds,
    TenantConfig,
)
from auth0_actions.layout import DEFAULT_CONFIG

__all__ = [
    "DEFAULT_CONFIG",
    "ActionSpec",
    "ConsentPolicy",
    "EnvironmentView",
    "LegacyRuleSpec",
    "Project",
    "SafetyThresholds",
    "TenantConfig",
    "load_tenant",
]
