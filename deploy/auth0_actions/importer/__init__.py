"""`auth0-actions import`: bring a live tenant's actions and modules under management.

* :mod:`.kinds` -- what is imported, kind by kind (actions, Actions Modules)
* :mod:`.live` -- reading the tenant: deployed code, bindings, order; what is skipped
* :mod:`.modules` -- which modules come in, at the version the imported actions pin
* :mod:`.verbatim` -- templates that render byte-identical to the live code
* :mod:`.tenant_yaml` -- editing tenant.yaml with its comments and layout kept
* :mod:`.characterise` -- a starter scenario pinning what each action does today
* :mod:`.differences` -- a later environment compared with the render, unit by unit
* :mod:`.run` -- the whole import: check, write, render, characterise
"""

from auth0_actions.importer.run import ImportResult, import_environment

__all__ = ["ImportResult", "import_environment"]
