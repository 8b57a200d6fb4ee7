"""Actions, their versions and the triggers' bindings: one SDK call (plus pages) each."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from auth0.management import (
    ActionBindingRef,
    ActionBindingWithRef,
    ActionModuleReference,
    ActionSecretRequest,
    ActionTrigger,
    ActionVersionDependency,
    DeployActionVersionRequestContent,
)

from auth0_actions.secrets import Secret
from auth0_actions.tenant_client.transport import Transport
from auth0_actions.tenant_client.values import (
    BindingRef,
    LiveAction,
    LiveBinding,
    LiveVersion,
    ModulePin,
    live_action,
    live_binding,
    live_version,
)
from auth0_actions.triggers import registry

# The trigger versions a new action is created for: each trigger module's
# (deploy/auth0_actions/triggers/); v1 for a trigger the registry does not model.
TRIGGER_VERSIONS: dict[str, str] = {t.id: t.version for t in registry.all_triggers()}
DEFAULT_TRIGGER_VERSION = "v1"
PER_PAGE = 50  # actions and versions: Auth0's default and maximum that it documents
BINDINGS_PER_PAGE = 50


def _trigger(trigger_id: str) -> ActionTrigger:
    return ActionTrigger(
        id=trigger_id, version=TRIGGER_VERSIONS.get(trigger_id, DEFAULT_TRIGGER_VERSION)
    )


def _dependencies(pairs: Iterable[tuple[str, str]]) -> list[ActionVersionDependency]:
    return [ActionVersionDependency(name=name, version=version) for name, version in pairs]


def _modules(pins: Iterable[ModulePin]) -> list[ActionModuleReference]:
    """Module versions by id: the one reference that cannot drift to a newer version."""
    return [
        ActionModuleReference(module_id=pin.module_id, module_version_id=pin.version_id)
        for pin in pins
    ]


def _secrets(secrets: Mapping[str, Secret] | None) -> list[ActionSecretRequest]:
    return [
        ActionSecretRequest(name=name, value=value.reveal())
        for name, value in (secrets or {}).items()
    ]


class ActionsApi(Transport):
    """Actions, versions and bindings of one tenant."""

    # -- actions ----------------------------------------------------------------
    def list_actions(self, trigger_id: str | None = None) -> list[LiveAction]:
        """Every action (of one trigger, if given), all pages."""
        actions = self._sdk.actions
        kwargs: dict[str, Any] = {"per_page": PER_PAGE}
        if trigger_id is not None:
            kwargs["trigger_id"] = trigger_id
        found = self._all_pages("list actions", lambda n: actions.list(page=n, **kwargs))
        return [live_action(a) for a in found]

    def get_action(self, action_id: str) -> LiveAction:
        got = self._call(
            f"get action {action_id}",
            lambda: self._sdk.actions.get(action_id),
            idempotent=True,
            not_found=f"no such action: {action_id}",
        )
        return live_action(got)

    def find_action_by_name(self, name: str) -> LiveAction | None:
        actions = self._sdk.actions
        found = self._all_pages(
            f"find action {name!r}",
            lambda n: actions.list(action_name=name, page=n, per_page=PER_PAGE),
        )
        matches = [live_action(a) for a in found if a.name == name]
        return matches[0] if matches else None

    def create_action(
        self,
        name: str,
        trigger_id: str,
        code: str,
        runtime: str | None = None,
        dependencies: Iterable[tuple[str, str]] = (),
        secrets: Mapping[str, Secret] | None = None,
        modules: Iterable[ModulePin] = (),
        *,
        deploy: bool = False,
    ) -> LiveAction:
        """A new action; secret values are revealed only inside the SDK call.

        ``deploy``: Auth0 builds and deploys the new action's first version in
        the same call (``deploy: true``, create only), saving the ``POST .../deploy``;
        its ``deployed_version`` is built some time after the answer.
        """
        kwargs: dict[str, Any] = {
            "name": name,
            "supported_triggers": [_trigger(trigger_id)],
            "code": code,
            "dependencies": _dependencies(dependencies),
        }
        pins = _modules(modules)
        if pins:
            kwargs["modules"] = pins
        if deploy:
            kwargs["deploy"] = True
        if runtime is not None:
            kwargs["runtime"] = runtime
        sent = list((secrets or {}).values())
        created = self._call(
            f"create action {name!r}",
            lambda: self._sdk.actions.create(
                **kwargs, **({"secrets": _secrets(secrets)} if secrets is not None else {})
            ),
            idempotent=False,
            sensitive=sent,
        )
        return live_action(created)

    def update_action(
        self,
        action_id: str,
        *,
        code: str | None = None,
        runtime: str | None = None,
        dependencies: Iterable[tuple[str, str]] | None = None,
        secrets: Mapping[str, Secret] | None = None,
        modules: Iterable[ModulePin] | None = None,
    ) -> LiveAction:
        """Change the draft; what is None is left as it is. ``secrets`` and ``modules``
        replace their lists."""
        kwargs: dict[str, Any] = {}
        if modules is not None:
            kwargs["modules"] = _modules(modules)
        if code is not None:
            kwargs["code"] = code
        if runtime is not None:
            kwargs["runtime"] = runtime
        if dependencies is not None:
            kwargs["dependencies"] = _dependencies(dependencies)
        sent = list((secrets or {}).values())
        updated = self._call(
            f"update action {action_id}",
            lambda: self._sdk.actions.update(
                action_id,
                **kwargs,
                **({"secrets": _secrets(secrets)} if secrets is not None else {}),
            ),
            idempotent=True,
            not_found=f"no such action: {action_id}",
            sensitive=sent,
        )
        return live_action(updated)

    def deploy_action(self, action_id: str) -> LiveVersion:
        """Deploy the draft as a new version (building; not yet ``deployed``)."""
        version = self._call(
            f"deploy action {action_id}",
            lambda: self._sdk.actions.deploy(action_id),
            idempotent=False,
            not_found=f"no such action: {action_id}",
        )
        return live_version(version)

    def delete_action(self, action_id: str, force: bool = False) -> None:
        """Delete; a bound action needs ``force`` (else TenantError with status 409)."""
        self._call(
            f"delete action {action_id}",
            lambda: self._sdk.actions.delete(action_id, **({"force": True} if force else {})),
            idempotent=True,
            not_found=f"no such action: {action_id}",
            gone_ok=True,
        )

    # -- versions -------------------------------------------------------------------
    def list_versions(self, action_id: str) -> list[LiveVersion]:
        """Every kept version of the action, newest first."""
        versions = self._sdk.actions.versions
        found = self._all_pages(
            f"list versions of action {action_id}",
            lambda n: versions.list(action_id, page=n, per_page=PER_PAGE),
            not_found=f"no such action: {action_id}",
        )
        return [live_version(v) for v in found]

    def deploy_version(
        self, action_id: str, version_id: str, update_draft: bool = False
    ) -> LiveVersion:
        """Roll back: deploy an older version again (as a new version N+1)."""
        request = DeployActionVersionRequestContent(update_draft=update_draft)
        version = self._call(
            f"deploy version {version_id} of action {action_id}",
            lambda: self._sdk.actions.versions.deploy(action_id, version_id, request=request),
            idempotent=False,
            not_found=f"no such action or version: {action_id} / {version_id}",
        )
        return live_version(version)

    # -- bindings -------------------------------------------------------------------
    def get_bindings(self, trigger_id: str) -> list[LiveBinding]:
        """The trigger's bindings in execution order, all pages."""
        bindings = self._sdk.actions.triggers.bindings
        found = self._all_pages(
            f"get bindings of {trigger_id}",
            lambda n: bindings.list(trigger_id, page=n, per_page=BINDINGS_PER_PAGE),
        )
        return [live_binding(b) for b in found]

    def set_bindings(self, trigger_id: str, refs: Sequence[BindingRef]) -> list[LiveBinding]:
        """Replace the trigger's whole binding list (one PATCH); returns the new list."""
        body = [
            ActionBindingWithRef(
                ref=ActionBindingRef(type=ref.kind, value=ref.value),
                **({"display_name": ref.display_name} if ref.display_name is not None else {}),
            )
            for ref in refs
        ]
        updated = self._call(
            f"set bindings of {trigger_id}",
            lambda: self._sdk.actions.triggers.bindings.update_many(trigger_id, bindings=body),
            idempotent=True,
        )
        return [live_binding(b) for b in updated.bindings or []]
