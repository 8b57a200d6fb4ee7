"""Actions, versions, triggers and bindings on the wire: parse, call the backend, render.

Wire format: docs/reference/management-api.md §1 and the recordings in
tests/conformance/recordings (TestAcc*Action*, go_TestActionManager_*). The
stored actions and Auth0's rules for them are
:class:`~auth0_actions.emulator.backends.actions.ActionsBackend`'s; a test run
is :class:`~auth0_actions.emulator.backends.action_tests.ActionTests`'.
"""

from __future__ import annotations

import copy
from typing import Any

from auth0_actions.emulator.actions_spec import TRIGGER_IDS, TRIGGERS
from auth0_actions.emulator.context import EmulatorApp
from auth0_actions.emulator.http import Request, Response, bad_request


def _page(
    request: Request, key: str, items: list[dict[str, Any]], default_per_page: int
) -> dict[str, Any]:
    """Auth0's envelope: zero-valued keys omitted; an empty page past the end."""
    page = request.int_arg("page", 0, low=0, high=100_000)
    per_page = request.int_arg("per_page", default_per_page, low=1, high=100)
    chunk = items[page * per_page : (page + 1) * per_page]
    out: dict[str, Any] = {key: chunk}
    if chunk:
        out["total"] = len(items)
    if page:
        out["page"] = page
    out["per_page"] = per_page
    return out


def _trigger_id(request: Request) -> str:
    trigger_id = request.params["triggerId"]
    if trigger_id not in TRIGGER_IDS:
        raise bad_request(
            f"Path validation error: 'No enum match for: \"{trigger_id}\"' on property triggerId.",
            "invalid_uri",
        )
    return trigger_id


# ---- actions ---------------------------------------------------------------
def list_actions(app: EmulatorApp, request: Request) -> Response:
    trigger_id = request.arg("triggerId")
    if trigger_id is not None and trigger_id not in TRIGGER_IDS:
        raise bad_request(
            f"Query validation error: 'No enum match for: \"{trigger_id}\"' on property triggerId.",
            "invalid_query_string",
        )
    items = app.backends.actions.list_actions(
        name=request.arg("actionName"),
        trigger_id=trigger_id,
        deployed=request.bool_arg("deployed"),
        installed=request.bool_arg("installed"),
    )
    return Response(200, _page(request, "actions", items, 50))


def _with_modules(app: EmulatorApp, body: dict[str, Any]) -> dict[str, Any]:
    """The body with its module references completed from the versions they name."""
    if isinstance(body.get("modules"), list):
        return {**body, "modules": app.backends.modules.resolve_references(body["modules"])}
    return body


def create_action(app: EmulatorApp, request: Request) -> Response:
    actions = app.backends.actions
    doc = actions.create(_with_modules(app, request.json_object()))
    return Response(201, actions.render_action(doc, status="pending"))


def get_action(app: EmulatorApp, request: Request) -> Response:
    actions = app.backends.actions
    return Response(200, actions.render_action(actions.get(request.params["id"])))


def update_action(app: EmulatorApp, request: Request) -> Response:
    actions = app.backends.actions
    doc = actions.update(request.params["id"], _with_modules(app, request.json_object()))
    return Response(200, actions.render_action(doc, status="pending"))


def delete_action(app: EmulatorApp, request: Request) -> Response:
    app.backends.actions.delete(request.params["id"], force=bool(request.bool_arg("force")))
    return Response(204)


def deploy_action(app: EmulatorApp, request: Request) -> Response:
    return Response(200, app.backends.actions.deploy(request.params["id"]))


def test_action(app: EmulatorApp, request: Request) -> Response:
    record = app.backends.action_tests.run(request.params["id"], request.json_object()["payload"])
    return Response(200, {"payload": record})


# ---- versions --------------------------------------------------------------
def list_versions(app: EmulatorApp, request: Request) -> Response:
    items = app.backends.actions.versions(request.params["actionId"])
    return Response(200, _page(request, "versions", items, 50))


def get_version(app: EmulatorApp, request: Request) -> Response:
    out = app.backends.actions.version(request.params["actionId"], request.params["id"])
    return Response(200, out)


def deploy_version(app: EmulatorApp, request: Request) -> Response:
    """Rollback: a new version N+1 made from an older one, deployed at once."""
    body = request.json() if request.body.strip() else None
    out = app.backends.actions.rollback(
        request.params["actionId"],
        request.params["id"],
        update_draft=bool((body or {}).get("update_draft")),
    )
    return Response(200, out)


# ---- triggers and bindings -------------------------------------------------
def list_triggers(app: EmulatorApp, _: Request) -> Response:
    return Response(200, {"triggers": copy.deepcopy(TRIGGERS)})


def get_bindings(app: EmulatorApp, request: Request) -> Response:
    items = app.backends.bindings.bindings(_trigger_id(request))
    return Response(200, _page(request, "bindings", items, 50))


def update_bindings(app: EmulatorApp, request: Request) -> Response:
    trigger_id = _trigger_id(request)
    bindings = app.backends.bindings.set_bindings(trigger_id, request.json_object())
    return Response(200, {"bindings": bindings})
