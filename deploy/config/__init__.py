"""tenant.yaml: model, validation and the published JSON Schema."""

from deploy.config.load import DEFAULT_CONFIG, EnvironmentView, Tenant, load_tenant
from deploy.config.model import (
    ActionSpec,
    ConsentPolicy,
    LegacyRuleSpec,
    SafetyThresholds,
    TenantConfig,
)

__all__ = [
    "DEFAULT_CONFIG",
    "ActionSpec",
    "ConsentPolicy",
    "EnvironmentView",
    "LegacyRuleSpec",
    "SafetyThresholds",
    "Tenant",
    "TenantConfig",
    "load_tenant",
]
