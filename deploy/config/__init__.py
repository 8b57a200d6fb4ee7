"""tenant.yaml: model, validation and the published JSON Schema."""

from deploy.config.load import DEFAULT_CONFIG, EnvironmentView, Tenant, load_tenant
from deploy.config.model import ActionSpec, ConsentPolicy, LegacyRuleSpec, TenantConfig

__all__ = [
    "DEFAULT_CONFIG",
    "ActionSpec",
    "ConsentPolicy",
    "EnvironmentView",
    "LegacyRuleSpec",
    "Tenant",
    "TenantConfig",
    "load_tenant",
]
