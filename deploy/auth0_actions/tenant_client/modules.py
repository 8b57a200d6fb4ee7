"""Actions Modules and their published versions: one SDK call (plus pages) each.

https://auth0.com/docs/api/management/v2/actions/get-actions-modules: a module
is created and updated as a draft; ``POST .../versions`` publishes the draft
as an immutable version that actions pin (``modules`` of an action); a module
an action still uses cannot be deleted.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from auth0.management import ActionModuleDependencyRequest, ActionModuleSecretRequest

from auth0_actions.secrets import Secret
from auth0_actions.tenant_client.module_values import (
    LiveModule,
    LiveModuleVersion,
    live_module,
    live_module_version,
)
from auth0_actions.tenant_client.transport import Transport

MODULES_PER_PAGE = 50  # Auth0's documented default page size for modules and their versions


def _dependencies(pairs: Iterable[tuple[str, str]]) -> list[ActionModuleDependencyRequest]:
    return [ActionModuleDependencyRequest(name=name, version=version) for name, version in pairs]


def _secrets(secrets: Mapping[str, Secret]) -> list[ActionModuleSecretRequest]:
    return [
        ActionModuleSecretRequest(name=name, value=value.reveal())
        for name, value in secrets.items()
    ]


class ModulesApi(Transport):
    """Actions Modules of one tenant."""

    def list_modules(self) -> list[LiveModule]:
        """Every module (drafts only: a listing carries no latest version), all pages."""
        modules = self._sdk.actions.modules
        found = self._all_pages(
            "list action modules", lambda n: modules.list(page=n, per_page=MODULES_PER_PAGE)
        )
        return [live_module(m) for m in found]

    def get_module(self, module_id: str) -> LiveModule:
        """One module with its latest published version."""
        got = self._call(
            f"get action module {module_id}",
            lambda: self._sdk.actions.modules.get(module_id),
            idempotent=True,
            not_found=f"no such action module: {module_id}",
        )
        return live_module(got)

    def create_module(
        self,
        name: str,
        code: str,
        dependencies: Iterable[tuple[str, str]] = (),
        secrets: Mapping[str, Secret] | None = None,
        publish: bool = False,
    ) -> LiveModule:
        """A new module, its draft published as version 1 in the same request when ``publish``
        (its ``latest_version`` then set); secret values are revealed only inside the call."""
        kwargs: dict[str, Any] = {
            "name": name,
            "code": code,
            "dependencies": _dependencies(dependencies),
        }
        if publish:
            kwargs["publish"] = True
        if secrets:
            kwargs["secrets"] = _secrets(secrets)
        created = self._call(
            f"create action module {name!r}",
            lambda: self._sdk.actions.modules.create(**kwargs),
            idempotent=False,
            sensitive=list((secrets or {}).values()),
        )
        return live_module(created)

    def update_module(
        self,
        module_id: str,
        *,
        code: str | None = None,
        dependencies: Iterable[tuple[str, str]] | None = None,
        secrets: Mapping[str, Secret] | None = None,
    ) -> LiveModule:
        """Change the draft; what is None is left as it is. ``secrets`` replaces the list."""
        kwargs: dict[str, Any] = {}
        if code is not None:
            kwargs["code"] = code
        if dependencies is not None:
            kwargs["dependencies"] = _dependencies(dependencies)
        if secrets is not None:
            kwargs["secrets"] = _secrets(secrets)
        updated = self._call(
            f"update action module {module_id}",
            lambda: self._sdk.actions.modules.update(module_id, **kwargs),
            idempotent=True,
            not_found=f"no such action module: {module_id}",
            sensitive=list((secrets or {}).values()),
        )
        return live_module(updated)

    def publish_module(self, module_id: str) -> LiveModuleVersion:
        """Publish the draft as the next immutable version."""
        version = self._call(
            f"publish action module {module_id}",
            lambda: self._sdk.actions.modules.versions.create(module_id),
            idempotent=False,
            not_found=f"no such action module: {module_id}",
        )
        return live_module_version(version)

    def list_module_versions(self, module_id: str) -> list[LiveModuleVersion]:
        """Every published version of the module, newest first, all pages."""
        versions = self._sdk.actions.modules.versions
        found = self._all_pages(
            f"list versions of action module {module_id}",
            lambda n: versions.list(module_id, page=n, per_page=MODULES_PER_PAGE),
            not_found=f"no such action module: {module_id}",
        )
        return [live_module_version(v) for v in found]

    def delete_module(self, module_id: str) -> None:
        """Delete a module no action uses any more (Auth0 refuses one in use)."""
        self._call(
            f"delete action module {module_id}",
            lambda: self._sdk.actions.modules.delete(module_id),
            idempotent=True,
            not_found=f"no such action module: {module_id}",
            gone_ok=True,
        )
