"""auth0-actions import: bring ENV's live actions under management."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from auth0_actions.cli.state import environment_option, output_option, state
from auth0_actions.errors import EXIT_ERROR, EXIT_OK

if TYPE_CHECKING:
    # The importer brings the Auth0 SDK: imported when the command runs.
    from auth0_actions.importer import ImportResult


@click.command("import")
@environment_option("The environment whose tenant to import from (exactly one).")
@click.option(
    "--action",
    "actions",
    multiple=True,
    metavar="NAME",
    help="Import only this live action (repeatable). An unknown name is an error.",
)
@click.option("--dry-run", is_flag=True, help="List what would be written; write nothing.")
@output_option
def import_command(env: str, actions: tuple[str, ...], dry_run: bool) -> int:
    """Import ENV's live actions and modules: tenant.yaml, templates, renders, scenarios.

    Each action's deployed code becomes a template that renders byte-identical
    to it (`header: false`), its entry in tenant.yaml (trigger, order among
    the imported actions, runtime, dependencies, secret names) and its live id
    under environments.ENV.adopted; then every environment is rendered and a
    starter scenario pins what the action does today. Nothing is overwritten:
    if a file exists, import names it and writes nothing (exit 1). Actions
    tenant.yaml already declares, imported from another environment, are
    compared with ENV's render: identical ones are recorded as adopted, the
    others reported with their differences (exit 1). The Actions Modules the
    imported actions pin come in at the version they pin (without --action,
    every other module at its latest version); a module whose next plan is
    not empty (an older version pinned, an unpublished draft) is reported
    (exit 1). Secret values never leave Auth0: set the environment variables
    it names.
    """
    from auth0_actions.importer import import_environment

    app = state()
    result = import_environment(app.tenant(), env, actions, dry_run=dry_run)
    app.emit(result.as_dict(), _text(result))
    return EXIT_ERROR if result.differing or result.pending else EXIT_OK


def _text(result: ImportResult) -> str:
    env = result.environment
    lines: list[str] = []
    verb = "would write" if result.dry_run else "wrote"
    for path in result.files:
        lines.append(f"{'~' if path.endswith('tenant.yaml') else '+'} {path}")
    for name in result.imported:
        lines.append(f"imported {name} from {env}")
    for name in result.imported_modules:
        lines.append(f"imported module {name} from {env}")
    for name in result.adopted:
        lines.append(f"{name}: {env}'s live code equals its render; recorded as adopted")
    for name in result.adopted_modules:
        lines.append(f"module {name}: {env}'s live code equals its render; recorded as adopted")
    for found in result.differing:
        if found.kind == "module":
            lines.append(f"module {found.name}: {env}'s live module differs from its render")
        else:
            lines.append(
                f"{found.name} ({found.trigger}): {env}'s live action differs from its render"
            )
        for name, values in found.fields.items():
            lines.append(f"  {name}: live {values['live']}, rendered {values['desired']}")
        if found.diff:
            lines.extend(f"  {line}" for line in found.diff.splitlines())
    for skipped in result.skipped:
        lines.append(f"skipped {skipped.name}: {skipped.reason}")
    lines.extend(f"note: {note}" for note in result.notes)
    if result.env_vars:
        lines.append(
            "Secret values never leave Auth0: before plan and apply, set (values from your "
            "secret store):"
        )
        lines.extend(f"  {var}  (secret {secret})" for var, secret in result.env_vars.items())
    for pending in result.pending:
        lines.append(f"module {pending['module']}: {pending['next_apply']}")
    actions = [d for d in result.differing if d.kind == "action"]
    modules = [d for d in result.differing if d.kind == "module"]
    if actions:
        lines.append(
            f"{len(actions)} action(s) differ in {env}: review, then bring them in line with "
            f"`auth0-actions apply --env {env} --adopt NAME`"
        )
    if modules:
        lines.append(
            f"{len(modules)} module(s) differ in {env}: review; to make the template win, "
            f"record the module's live id under environments.{env}.adopted.modules "
            "(the next apply then publishes the render and re-pins the actions using it)"
        )
    if result.pending:
        lines.append(
            f"{len(result.pending)} module(s) imported as they run, but not as the next plan "
            f"leaves them: review `auth0-actions plan --env {env}` before applying"
        )
    lines.append(f"{verb} {len(result.files)} file(s)")
    if not result.dry_run and result.imported:
        lines.append(f"Next: auth0-actions render --check && auth0-actions plan --env {env}")
    return "\n".join(lines)
