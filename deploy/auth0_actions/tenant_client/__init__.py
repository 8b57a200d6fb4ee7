"""The tenant client, by API area: one port to a tenant's Management API.

* :mod:`.transport` -- the httpx client, the token exchange, the retry loop, TLS trust
* :mod:`.retry` -- the retry policy and timeouts
* :mod:`.failures` -- what an error says: the cause and what to check
* :mod:`.scopes` -- the Management API scopes each command needs
* :mod:`.values` -- the frozen values the client returns
* :mod:`.module_values` -- the frozen values of Actions Modules
* :mod:`.actions`, :mod:`.modules`, :mod:`.users`, :mod:`.jobs` -- the API areas
* :mod:`.client` -- :class:`TenantClient`, all areas over one transport
* :mod:`.connect` -- opening a client for an environment's tenant
"""

from auth0_actions.tenant_client.actions import (
    BINDINGS_PER_PAGE,
    DEFAULT_TRIGGER_VERSION,
    PER_PAGE,
    TRIGGER_VERSIONS,
)
from auth0_actions.tenant_client.client import TenantClient, provenance_of
from auth0_actions.tenant_client.connect import connect, open_tenant_client
from auth0_actions.tenant_client.failures import CA_BUNDLE_VARIABLE, Provenance
from auth0_actions.tenant_client.jobs import Download, ExportJob
from auth0_actions.tenant_client.module_values import LiveModule, LiveModuleVersion
from auth0_actions.tenant_client.retry import RetryBudget, RetryPolicy
from auth0_actions.tenant_client.scopes import COMMAND_SCOPES, scopes_for
from auth0_actions.tenant_client.transport import TOKEN_LEEWAY_S, ClientCredentials, trust
from auth0_actions.tenant_client.users import UserPage
from auth0_actions.tenant_client.values import (
    BindingRef,
    Dependencies,
    LiveAction,
    LiveBinding,
    LiveVersion,
    ModulePin,
)

__all__ = [
    "BINDINGS_PER_PAGE",
    "CA_BUNDLE_VARIABLE",
    "COMMAND_SCOPES",
    "DEFAULT_TRIGGER_VERSION",
    "PER_PAGE",
    "TOKEN_LEEWAY_S",
    "TRIGGER_VERSIONS",
    "BindingRef",
    "ClientCredentials",
    "Dependencies",
    "Download",
    "ExportJob",
    "LiveAction",
    "LiveBinding",
    "LiveModule",
    "LiveModuleVersion",
    "LiveVersion",
    "ModulePin",
    "Provenance",
    "RetryBudget",
    "RetryPolicy",
    "TenantClient",
    "UserPage",
    "connect",
    "open_tenant_client",
    "provenance_of",
    "scopes_for",
    "trust",
]
