"""The command table: every top-level command, where it lives, and its one-line summary.

Commands are imported only when run (``auth0-actions --help`` lists them from
this table), so starting the tool costs click and this package's root, not
the Auth0 SDK or pydantic. A command is added here once; the
summary must equal the first line of the command's docstring (a test checks).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class CommandEntry:
    module: str  # under auth0_actions.cli
    attribute: str  # the click command or group in that module
    summary: str  # the first line of its docstring, shown by --help


COMMANDS: dict[str, CommandEntry] = {
    "init": CommandEntry(
        "commands_init",
        "init_command",
        "Start a config repository in DIR (default: the current directory).",
    ),
    "config": CommandEntry(
        "commands_config", "config_group", "Validate tenant.yaml and publish its JSON Schema."
    ),
    "render": CommandEntry(
        "commands_render", "render_command", "Render the templates into actions/<env>/<name>.js."
    ),
    "test": CommandEntry(
        "commands_test",
        "test_command",
        "Run every scenario in rules_templates/*.scenarios.yaml in the sandbox.",
    ),
    "sandbox": CommandEntry(
        "commands_sandbox", "sandbox_group", "Run action code in the isolated Node 22 sandbox."
    ),
    "node": CommandEntry(
        "commands_node",
        "node_group",
        "Provision the project's Node 22 (nodeenv) under .auth0-actions/node/.",
    ),
    "doctor": CommandEntry(
        "commands_node",
        "doctor_command",
        "Show the Node in use (path, version, where it came from) and the sandbox isolation.",
    ),
    "import": CommandEntry(
        "commands_import",
        "import_command",
        "Import ENV's live actions and modules: tenant.yaml, templates, renders, scenarios.",
    ),
    "plan": CommandEntry(
        "commands_plan",
        "plan_command",
        "Show what would change in ENV's tenant: creates, updates, deploys, bindings, deletes.",
    ),
    "apply": CommandEntry(
        "commands_apply",
        "apply_command",
        "Apply the plan to ENV's tenant: create/update, build, deploy, bind, verify.",
    ),
    "promote": CommandEntry(
        "commands_promote",
        "promote_command",
        "Apply to --to what --from runs: refused unless --from's tenant matches its render.",
    ),
    "history": CommandEntry(
        "commands_release",
        "history_command",
        "The versions of ACTION in ENV's tenant, newest first, and which one is live.",
    ),
    "rollback": CommandEntry(
        "commands_release",
        "rollback_command",
        "Deploy an earlier version of ACTION again: an emergency lever.",
    ),
    "secrets": CommandEntry(
        "commands_secrets",
        "secrets_group",
        "Rotate the local environment's secret values (never shown).",
    ),
    "emulator": CommandEntry(
        "commands_emulator",
        "emulator_group",
        "The local tenant: an Auth0-compatible Management API on loopback.",
    ),
    "consent": CommandEntry(
        "commands_consent",
        "consent_group",
        "Show, grant, withdraw, audit, verify and export users' consent; give receipts.",
    ),
    "consent-page": CommandEntry(
        "commands_consent_page",
        "consent_page_group",
        "The consent page the consent-redirect Action sends users to.",
    ),
}
