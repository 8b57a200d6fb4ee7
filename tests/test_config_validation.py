"""tenant.yaml validation: every error names file, line and key, and never echoes a secret.

Each bad input is one edit of the tenant.yaml `init` writes, with the dev and
prod environments of a deployed repository added (the ``project`` fixture with
``remote_envs``), so the cases stay realistic and drift with the scaffold.
Expected line numbers are computed from the edited text, never hard-coded.
"""

from __future__ import annotations

import json
import re
import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest

from auth0_actions.config import load_tenant
from auth0_actions.errors import ConfigError

REPO = Path(__file__).resolve().parent.parent
# The published schema is part of the tool, not of the project it manages.
SCHEMA_FILE = REPO / "schema" / "tenant.schema.json"

pytestmark = pytest.mark.remote_envs

# Fragments of the copied tenant.yaml that the edits below rely on.
LOCAL_CONSENT_URL = "      consent_page_url: http://127.0.0.1:8766/consent\n"
DEV_CONSENT_URL = "      consent_page_url: https://consent.dev.example.com/consent\n"
TOP_CONSENT_URL = "  consent_page_url: https://consent.example.com/consent\n"
PROD_DOMAIN = "    domain: acme.eu.auth0.com\n"
DEV_DOMAIN = "    domain: acme-dev.eu.auth0.com\n"
LOCAL_DOMAIN = "    domain: local\n"
LOCAL_VALUES = "    domain: local\n    values:\n"
PROD_VALUES = "      CONSENT_LEDGER_SECRET: CONSENT_LEDGER_SECRET_PROD\n    values:\n"
FIRST_ACTION_END = (
    "    order: 1\n    secrets:\n      CONSENT_LEDGER_SECRET: CONSENT_LEDGER_SECRET\n"
    "  - name: consent-redirect\n"
)
SECOND_ACTION_TEMPLATE = "    template: consent-redirect.js.j2\n"
ACTION_SECRET = "    secrets:\n      CONSENT_SESSION_SECRET: CONSENT_SESSION_SECRET\n"


# --------------------------------------------------------------------------- helpers


def edit(project: Path, old: str, new: str, name: str = "tenant.yaml") -> str:
    """Replace the one occurrence of old in the project's tenant.yaml; return the new text."""
    source = project / "tenant.yaml"
    text = source.read_text(encoding="utf-8")
    assert text.count(old) == 1, f"{old!r} must occur exactly once in tenant.yaml"
    edited = text.replace(old, new)
    (project / name).write_text(edited, encoding="utf-8")
    return edited


def line_of(text: str, anchor: str) -> int:
    """1-based line on which the single occurrence of anchor starts."""
    assert text.count(anchor) == 1, f"{anchor!r} must occur exactly once in the edited file"
    return text[: text.index(anchor)].count("\n") + 1


def problem_pattern(file: str, line: int, key: str | None, says: str) -> str:
    """One reported problem: '<file>:<line>:<col>: <key>: ...<says>...'."""
    where = rf"{re.escape(file)}:{line}:\d+: "
    key_part = f"{re.escape(key)}: " if key else ""
    return rf"^\s*{where}{key_part}.*{re.escape(says)}"


def assert_reported(err: str, pattern: str) -> None:
    assert re.search(pattern, err, re.MULTILINE), f"expected /{pattern}/ in stderr:\n{err}"


def problem_lines(err: str, file: str = "tenant.yaml") -> list[str]:
    return [ln for ln in err.splitlines() if re.match(rf"\s*{re.escape(file)}:\d+:\d+: ", ln)]


@dataclass(frozen=True)
class Bad:
    """One invalid edit and the problem it must produce."""

    old: str  # text of tenant.yaml to replace (must occur once)
    new: str  # replacement
    key: str | None  # dotted key path the problem must name (None: YAML syntax)
    at: str  # text of the edited file that starts on the line the problem must name
    says: str  # fragment of the message


def case(id: str, bad: Bad) -> object:
    return pytest.param(bad, id=id)


ELEVEN_DEPENDENCIES = "".join(
    f"      - name: pkg{i}\n        version: 1.0.{i}\n" for i in range(11)
)

BAD_INPUTS = [
    # YAML itself
    case(
        "yaml-syntax",
        Bad(
            "  privacy_url: https://example.com/legal/privacy\n",
            "  privacy_url: https://example.com/legal/privacy: 2026\n",
            None,
            "  privacy_url: https://example.com/legal/privacy: 2026",
            "mapping values are not allowed here",
        ),
    ),
    # unknown keys
    case(
        "unknown-top-level",
        Bad(
            "\nactions:\n",
            "\nlegacy_rule: []\nactions:\n",
            "legacy_rule",
            "legacy_rule:",
            "unknown key; did you mean 'legacy_rules'?",
        ),
    ),
    case(
        "unknown-in-environment",
        Bad(
            PROD_DOMAIN,
            PROD_DOMAIN + "    region: eu\n",
            "environments.prod.region",
            "    region: eu",
            "unknown key",
        ),
    ),
    case(
        "unknown-in-environment-suggests",
        Bad(
            PROD_DOMAIN,
            PROD_DOMAIN + "    clent_id_env: AUTH0_PROD_CLIENT_ID\n",
            "environments.prod.clent_id_env",
            "    clent_id_env:",
            "unknown key; did you mean 'client_id_env'?",
        ),
    ),
    case(
        "unknown-in-consent",
        Bad(
            "  token_ttl_seconds: 600\n",
            "  token_ttl_seconds: 600\n  privacy_ulr: '3'\n",
            "consent.privacy_ulr",
            "  privacy_ulr:",
            "unknown key; did you mean 'privacy_url'?",
        ),
    ),
    case(
        "unknown-in-consent-metadata",
        Bad(
            "    object_key: consent\n",
            "    object_key: consent\n    objekt_key: consent\n",
            "consent.metadata.objekt_key",
            "    objekt_key:",
            "unknown key; did you mean 'object_key'?",
        ),
    ),
    case(
        "unknown-in-action",
        Bad(
            SECOND_ACTION_TEMPLATE,
            SECOND_ACTION_TEMPLATE + "    tmplate: consent-redirect.js.j2\n",
            "actions[1].tmplate",
            "    tmplate:",
            "unknown key; did you mean 'template'?",
        ),
    ),
    case(
        "unknown-in-environment-consent-override",
        Bad(
            DEV_CONSENT_URL,
            DEV_CONSENT_URL + "      token_ttl_secs: 60\n",
            "environments.dev.consent.token_ttl_secs",
            "      token_ttl_secs:",
            "unknown key; did you mean 'token_ttl_seconds'?",
        ),
    ),
    # missing required keys
    case(
        "missing-purpose-retention",
        Bad(
            "      lawful_basis: contract\n      retention: P3Y\n",
            "      lawful_basis: contract\n",
            "consent.purposes[0].retention",
            "    - id: terms\n",
            "required key is missing",
        ),
    ),
    case(
        "missing-action-order",
        Bad(
            "    trigger: post-login\n    order: 1\n",
            "    trigger: post-login\n",
            "actions[0].order",
            "- name: consent-on-first-login\n",
            "required key is missing",
        ),
    ),
    case(
        "missing-client-secret-env",
        Bad(
            "    client_secret_env: AUTH0_PROD_CLIENT_SECRET\n",
            "",
            "environments.prod.client_secret_env",
            "  prod:",
            "required: the NAME of the environment variable",
        ),
    ),
    # wrong types
    case(
        "purpose-version-unquoted-number",
        Bad(
            '      required: true\n      version: "2026-11-01"\n',
            "      required: true\n      version: 1.10\n",
            "consent.purposes[0].version",
            "      version: 1.10",
            "quote it in YAML",
        ),
    ),
    case(
        "ttl-as-string",
        Bad(
            "  token_ttl_seconds: 600\n",
            "  token_ttl_seconds: '600'\n",
            "consent.token_ttl_seconds",
            "  token_ttl_seconds:",
            "valid integer",
        ),
    ),
    case(
        "boolean-as-string",
        Bad(
            "    field: terms_accepted",
            "    field: terms_accepted\n    remove_field: 'yes'",
            "consent.signup.remove_field",
            "    remove_field:",
            "valid boolean",
        ),
    ),
    case(
        "unsupported-format-version",
        Bad("version: 1\n", "version: 2\n", "version", "version: 2", "Input should be 1"),
    ),
    # enums
    case(
        "layout",
        Bad(
            "    layout: nested ",
            "    layout: flat ",
            "consent.metadata.layout",
            "    layout: flat",
            "'root' or 'nested'",
        ),
    ),
    case(
        "ask-who",
        Bad(
            "    who: without-valid-consent\n",
            "    who: everyone\n",
            "consent.ask.who",
            "    who: everyone",
            "'without-valid-consent', 'social' or 'connections'",
        ),
    ),
    case(
        "on-withdrawn-action",
        Bad(
            "  on_withdrawn:\n    action: ask\n",
            "  on_withdrawn:\n    action: ignore\n",
            "consent.on_withdrawn.action",
            "    action: ignore",
            "'ask' or 'deny'",
        ),
    ),
    case(
        "when-redirect-impossible-action",
        Bad(
            "  when_redirect_impossible:\n    action: deny\n",
            "  when_redirect_impossible:\n    action: ask\n",
            "consent.when_redirect_impossible.action",
            "    action: ask\n    reason: Please sign in",
            "'deny' or 'allow'",
        ),
    ),
    case(
        "runtime",
        Bad(
            FIRST_ACTION_END,
            "    order: 1\n    runtime: node18\n  - name: consent-redirect\n",
            "actions[0].runtime",
            "    runtime: node18",
            "'node22'",
        ),
    ),
    case(
        "trigger",
        Bad(
            "    trigger: post-login\n    order: 2\n",
            "    trigger: post-lgin\n    order: 2\n",
            "actions[1].trigger",
            "    trigger: post-lgin",
            "unknown trigger 'post-lgin'; known: post-login",
        ),
    ),
    # ask policy
    case(
        "who-connections-without-list",
        Bad(
            "    who: without-valid-consent\n",
            "    who: connections\n",
            "consent.ask",
            "  ask:\n",
            "who: connections needs a non-empty 'connections' list",
        ),
    ),
    case(
        "connections-with-other-who",
        Bad(
            "    who: without-valid-consent\n",
            "    who: social\n    connections: [google-oauth2]\n",
            "consent.ask",
            "  ask:\n",
            "'connections' is only used with who: connections",
        ),
    ),
    # consent record keys
    case(
        "metadata-key-with-dot",
        Bad(
            "    object_key: consent\n",
            "    object_key: consent.v1\n",
            "consent.metadata.object_key",
            "    object_key: consent.v1",
            "should match pattern",
        ),
    ),
    case(
        "metadata-key-with-dollar",
        Bad(
            "    object_key: consent\n",
            "    object_key: consent\n    keys:\n      date: $date\n",
            "consent.metadata.keys.date",
            "      date: $date",
            "should match pattern",
        ),
    ),
    case(
        "two-record-keys-share-a-name",
        Bad(
            "    object_key: consent\n",
            "    object_key: consent\n    keys:\n      date: given\n",
            "consent.metadata.keys.date",
            "      date: given",
            "record properties 'given' and 'date' would both be stored as 'given'",
        ),
    ),
    case(
        "signup-field-collides-with-record-object",
        Bad(
            "    field: terms_accepted",
            "    field: consent",
            "consent.signup.field",
            "    field: consent",
            "'consent' is also a key of the consent record",
        ),
    ),
    # ranges and limits
    case(
        "token-ttl-too-long",
        Bad(
            "  token_ttl_seconds: 600\n",
            "  token_ttl_seconds: 7200\n",
            "consent.token_ttl_seconds",
            "  token_ttl_seconds:",
            "less than or equal to 3600",
        ),
    ),
    case(
        "token-ttl-too-short",
        Bad(
            "  token_ttl_seconds: 600\n",
            "  token_ttl_seconds: 10\n",
            "consent.token_ttl_seconds",
            "  token_ttl_seconds:",
            "greater than or equal to 60",
        ),
    ),
    case(
        "more-than-ten-dependencies",
        Bad(
            FIRST_ACTION_END,
            "    order: 1\n    dependencies:\n"
            + ELEVEN_DEPENDENCIES
            + "  - name: consent-redirect\n",
            "actions[0].dependencies",
            "    dependencies:",
            "at most 10 items",
        ),
    ),
    # URLs, per environment
    case(
        "http-consent-page-for-dev",
        Bad(
            DEV_CONSENT_URL,
            "      consent_page_url: http://consent.dev.example.com/consent\n",
            "environments.dev.consent.consent_page_url",
            "      consent_page_url: http://consent.dev",
            "must use https (environment dev)",
        ),
    ),
    case(
        "http-non-loopback-for-local",
        Bad(
            LOCAL_CONSENT_URL,
            "      consent_page_url: http://consent.example.net/consent\n",
            "environments.local.consent.consent_page_url",
            "      consent_page_url: http://consent.example.net",
            "must use https (environment local)",
        ),
    ),
    case(
        "http-loopback-only-for-local",
        Bad(
            TOP_CONSENT_URL,
            "  consent_page_url: http://127.0.0.1:9000/consent\n",
            "consent.consent_page_url",
            "  consent_page_url: http://127.0.0.1:9000",
            "http is allowed on loopback for the local environment only) (environment prod)",
        ),
    ),
    case(
        "override-makes-bad-enum",
        Bad(
            DEV_CONSENT_URL,
            DEV_CONSENT_URL + "      metadata:\n        layout: flat\n",
            "environments.dev.consent.metadata.layout",
            "        layout: flat",
            "'root' or 'nested'",
        ),
    ),
    case(
        "override-out-of-range",
        Bad(
            DEV_CONSENT_URL,
            DEV_CONSENT_URL + "      token_ttl_seconds: 5\n",
            "environments.dev.consent.token_ttl_seconds",
            "      token_ttl_seconds: 5",
            "greater than or equal to 60",
        ),
    ),
    # domains and credentials
    case(
        "local-domain-on-dev",
        Bad(
            DEV_DOMAIN,
            "    domain: local\n",
            "environments.dev.domain",
            "local\n    client_id_env: AUTH0_DEV_CLIENT_ID",
            "only for the local environment",
        ),
    ),
    case(
        "local-env-non-loopback-url",
        Bad(
            LOCAL_DOMAIN,
            "    domain: https://tenant.example.com\n",
            "environments.local.domain",
            "    domain: https://tenant.example.com",
            "of the local environment must be 'local' or a loopback URL",
        ),
    ),
    case(
        "local-env-tenant-hostname",
        Bad(
            LOCAL_DOMAIN,
            "    domain: acme-local.eu.auth0.com\n",
            "environments.local.domain",
            "    domain: acme-local.eu.auth0.com",
            "of the local environment must be 'local' or a loopback URL",
        ),
    ),
    case(
        "local-env-client-id-env",
        Bad(
            LOCAL_DOMAIN,
            LOCAL_DOMAIN + "    client_id_env: AUTH0_LOCAL_CLIENT_ID\n",
            "environments.local.client_id_env",
            "    client_id_env: AUTH0_LOCAL_CLIENT_ID",
            "remove this key",
        ),
    ),
    case(
        "local-env-secrets",
        Bad(
            LOCAL_DOMAIN,
            LOCAL_DOMAIN + "    secrets:\n      CONSENT_SESSION_SECRET: LOCAL_SECRET\n",
            "environments.local.secrets",
            "    secrets:\n      CONSENT_SESSION_SECRET: LOCAL_SECRET",
            "remove this key",
        ),
    ),
    case(
        "invalid-hostname",
        Bad(
            PROD_DOMAIN,
            "    domain: acme_eu\n",
            "environments.prod.domain",
            "    domain: acme_eu",
            "must be a tenant domain such as example.eu.auth0.com, or a URL",
        ),
    ),
    case(
        "domain-url-with-path",
        Bad(
            PROD_DOMAIN,
            "    domain: https://acme.eu.auth0.com/api/v2\n",
            "environments.prod.domain",
            "    domain: https://acme.eu.auth0.com/api/v2",
            "no path",
        ),
    ),
    case(
        "domain-http-non-loopback",
        Bad(
            PROD_DOMAIN,
            "    domain: http://acme.eu.auth0.com\n",
            "environments.prod.domain",
            "    domain: http://acme.eu.auth0.com",
            "must use https",
        ),
    ),
    # secrets
    case(
        "override-of-undeclared-secret",
        Bad(
            "      CONSENT_SESSION_SECRET: CONSENT_SESSION_SECRET_PROD\n",
            "      CONSENT_SESSION_SECRET: CONSENT_SESSION_SECRET_PROD\n"
            "      SMTP_SECRET: SMTP_SECRET_PROD\n",
            "environments.prod.secrets.SMTP_SECRET",
            "      SMTP_SECRET:",
            "no action or module secret or legacy rule configuration key has this name",
        ),
    ),
    # actions
    case(
        "duplicate-action-name",
        Bad(
            "  - name: consent-redirect\n",
            "  - name: consent-on-first-login\n",
            "actions[1].name",
            "consent-on-first-login\n    template: consent-redirect.js.j2",
            "duplicate name 'consent-on-first-login' (also actions[0])",
        ),
    ),
    case(
        "duplicate-order-in-trigger",
        Bad(
            "    order: 2\n    secrets:\n      CONSENT_SESSION_SECRET",
            "    order: 1\n    secrets:\n      CONSENT_SESSION_SECRET",
            "actions[1].order",
            "    order: 1\n    secrets:\n      CONSENT_SESSION_SECRET",
            "order 1 is already taken by actions[0] in post-login",
        ),
    ),
    case(
        "template-missing",
        Bad(
            SECOND_ACTION_TEMPLATE,
            "    template: consent-missing.js.j2\n",
            "actions[1].template",
            "    template: consent-missing.js.j2",
            "template not found: rules_templates/consent-missing.js.j2",
        ),
    ),
    case(
        "template-escapes-directory",
        Bad(
            SECOND_ACTION_TEMPLATE,
            "    template: ../rules_templates/consent-redirect.js.j2\n",
            "actions[1].template",
            "    template: ../rules_templates",
            "must be a path inside rules_templates/",
        ),
    ),
    case(
        "template-absolute-path",
        Bad(
            SECOND_ACTION_TEMPLATE,
            "    template: /etc/consent-redirect.js.j2\n",
            "actions[1].template",
            "    template: /etc/",
            "must be a path inside rules_templates/",
        ),
    ),
    case(
        "template-not-js-j2",
        Bad(
            SECOND_ACTION_TEMPLATE,
            "    template: consent-redirect.js\n",
            "actions[1].template",
            "    template: consent-redirect.js\n",
            "must name a .js.j2 template",
        ),
    ),
]


# --------------------------------------------------------------------------- one error each


@pytest.mark.parametrize("bad", BAD_INPUTS)
def test_each_error_names_file_line_and_key(project: Path, cli, bad: Bad) -> None:
    text = edit(project, bad.old, bad.new)

    run = cli("config", "validate")

    assert run.code == 1
    assert run.out == ""
    assert_reported(
        run.err, problem_pattern("tenant.yaml", line_of(text, bad.at), bad.key, bad.says)
    )


@pytest.mark.parametrize(
    ("old", "new", "first", "second"),
    [
        pytest.param(
            "version: 1\n",
            "version: 1\nversion: 1\n",
            "version: 1\nversion",
            "version: 1\n\n",
            id="top-level",
        ),
        pytest.param(
            PROD_DOMAIN,
            PROD_DOMAIN + "    domain: acme-eu.eu.auth0.com\n",
            "    domain: acme.eu",
            "    domain: acme-eu",
            id="in-environment",
        ),
        pytest.param(
            "    order: 2\n    secrets:",
            "    order: 2\n    order: 3\n    secrets:",
            "    order: 2\n    order: 3",
            "    order: 3",
            id="in-action",
        ),
    ],
)
def test_duplicate_key_names_both_lines(
    project: Path, cli, old: str, new: str, first: str, second: str
) -> None:
    text = edit(project, old, new)
    key = first.split(":")[0].strip()

    run = cli("config", "validate")

    assert run.code == 1
    says = f"duplicate key '{key}' (first defined on line {line_of(text, first)})"
    assert_reported(run.err, problem_pattern("tenant.yaml", line_of(text, second), None, says))


@pytest.mark.parametrize(
    "content",
    [
        pytest.param("- environments\n- consent\n- actions\n", id="list"),
        pytest.param("just a string\n", id="scalar"),
        pytest.param("", id="empty"),
    ],
)
def test_top_level_must_be_a_mapping(project: Path, cli, content: str) -> None:
    (project / "tenant.yaml").write_text(content, encoding="utf-8")

    run = cli("config", "validate")

    assert run.code == 1
    assert_reported(run.err, problem_pattern("tenant.yaml", 1, None, "must hold a mapping of keys"))


@pytest.mark.parametrize(
    ("new", "says"),
    [
        pytest.param(
            "    object_key: consent\n    keys:\n      date: given\n",
            "would both be stored as 'given'",
            id="record-keys",
        ),
        pytest.param(
            "    object_key: terms_accepted\n",
            "'terms_accepted' is also a key of the consent record",
            id="signup-field",
        ),
    ],
)
def test_record_key_collisions_are_detected(project: Path, new: str, says: str) -> None:
    """Detected through the library API too, for every environment's resolved policy."""
    edit(project, "    object_key: consent\n", new)

    with pytest.raises(ConfigError) as raised:
        load_tenant(Path("tenant.yaml"))

    messages = [p.message for p in raised.value.problems]
    assert any(says in m for m in messages), messages


# --------------------------------------------------------------------------- secrets never echoed

INLINE_SECRET = "s3cr3t-Value-123"
NAME_NOT_VALUE = "must be the NAME of an environment variable"

SECRET_INPUTS = [
    pytest.param(
        Bad(
            ACTION_SECRET,
            f"    secrets:\n      CONSENT_SESSION_SECRET: {INLINE_SECRET}\n",
            "actions[1].secrets.CONSENT_SESSION_SECRET",
            f"      CONSENT_SESSION_SECRET: {INLINE_SECRET}",
            NAME_NOT_VALUE,
        ),
        INLINE_SECRET,
        id="action-secret-inline",
    ),
    pytest.param(
        Bad(
            "      CONSENT_SESSION_SECRET: CONSENT_SESSION_SECRET_DEV\n",
            "      CONSENT_SESSION_SECRET: correcthorsebatterystaple\n",
            "environments.dev.secrets.CONSENT_SESSION_SECRET",
            "      CONSENT_SESSION_SECRET: correcthorse",
            NAME_NOT_VALUE,
        ),
        "correcthorsebatterystaple",
        id="environment-secret-lowercase",
    ),
    pytest.param(
        Bad(
            "\nactions:\n",
            "\nlegacy_rules:\n  - name: consent-redirect-rule\n"
            "    template: consent-redirect.js.j2\n    order: 1\n"
            f"    configuration:\n      CONSENT_SESSION_SECRET: {INLINE_SECRET}\nactions:\n",
            "legacy_rules[0].configuration.CONSENT_SESSION_SECRET",
            f"      CONSENT_SESSION_SECRET: {INLINE_SECRET}",
            NAME_NOT_VALUE,
        ),
        INLINE_SECRET,
        id="legacy-rule-configuration-inline",
    ),
    pytest.param(
        Bad(
            "    client_secret_env: AUTH0_PROD_CLIENT_SECRET\n",
            "    client_secret_env: xK9-q7Lp.Zr2_w8Mv\n",
            "environments.prod.client_secret_env",
            "    client_secret_env: xK9",
            NAME_NOT_VALUE,
        ),
        "xK9-q7Lp.Zr2_w8Mv",
        id="client-secret-env-inline",
    ),
    pytest.param(
        Bad(
            "    client_id_env: AUTH0_DEV_CLIENT_ID\n",
            "    client_id_env: aBcD1234eFgH5678\n",
            "environments.dev.client_id_env",
            "    client_id_env: aBcD1234",
            NAME_NOT_VALUE,
        ),
        "aBcD1234eFgH5678",
        id="client-id-env-inline",
    ),
    pytest.param(
        Bad(
            TOP_CONSENT_URL,
            "  consent_page_url: https://admin:hunter2-Pa55word@consent.example.com/consent\n",
            "consent.consent_page_url",
            "  consent_page_url: https://admin:",
            "must not carry credentials (user:password@)",
        ),
        "hunter2-Pa55word",
        id="consent-url-with-password",
    ),
    pytest.param(
        Bad(
            DEV_CONSENT_URL,
            "      consent_page_url: https://admin:hunter2-Pa55word@consent.dev.example.com/c\n",
            "environments.dev.consent.consent_page_url",
            "      consent_page_url: https://admin:",
            "must not carry credentials (user:password@)",
        ),
        "hunter2-Pa55word",
        id="override-url-with-password",
    ),
    pytest.param(
        Bad(
            PROD_DOMAIN,
            "    domain: https://admin:hunter2-Pa55word@acme.eu.auth0.com\n",
            "environments.prod.domain",
            "    domain: https://admin:",
            "must not carry credentials (user:password@)",
        ),
        "hunter2-Pa55word",
        id="domain-url-with-password",
    ),
    pytest.param(
        Bad(
            LOCAL_VALUES,
            LOCAL_VALUES + f"      api_key: {INLINE_SECRET}\n",
            "environments.local.values.api_key",
            "      api_key:",
            "looks like a secret written inline",
        ),
        INLINE_SECRET,
        id="secret-in-template-values",
    ),
]


@pytest.mark.parametrize(("bad", "secret"), SECRET_INPUTS)
def test_inline_secret_rejected_and_never_echoed(project: Path, cli, bad: Bad, secret: str) -> None:
    text = edit(project, bad.old, bad.new)
    assert secret in text

    run = cli("config", "validate")
    as_json = cli("config", "validate", "--output", "json")

    assert run.code == 1
    assert_reported(
        run.err, problem_pattern("tenant.yaml", line_of(text, bad.at), bad.key, bad.says)
    )
    assert as_json.code == 1
    for output in (run.out, run.err, as_json.out, as_json.err):
        assert secret not in output


# --------------------------------------------------------------------------- template values

SECRET_LOOKING_NAMES = [
    "api_key",
    "apiKey",
    "clientSecret",
    "password",
    "db-password",
    "private_key",
    "access_token",
]


@pytest.mark.parametrize("name", SECRET_LOOKING_NAMES)
@pytest.mark.parametrize(
    ("old", "new", "key_prefix"),
    [
        pytest.param(
            LOCAL_VALUES, LOCAL_VALUES + "{entry}", "environments.local.values", id="local-values"
        ),
        pytest.param(
            PROD_VALUES, PROD_VALUES + "{entry}", "environments.prod.values", id="prod-values"
        ),
        pytest.param(
            FIRST_ACTION_END,
            "    order: 1\n    values:\n{entry}  - name: consent-redirect\n",
            "actions[0].values",
            id="action-values",
        ),
    ],
)
def test_secret_looking_value_keys_rejected(
    project: Path, cli, name: str, old: str, new: str, key_prefix: str
) -> None:
    text = edit(project, old, new.format(entry=f"      {name}: not-a-reference\n"))

    run = cli("config", "validate")

    assert run.code == 1
    line = line_of(text, f"      {name}:")
    says = "looks like a secret written inline"
    assert_reported(run.err, problem_pattern("tenant.yaml", line, f"{key_prefix}.{name}", says))


def test_secret_looking_key_found_in_nested_values(project: Path, cli) -> None:
    text = edit(
        project,
        LOCAL_VALUES,
        LOCAL_VALUES + "      smtp:\n        host: smtp.example.com\n        password: x\n",
    )

    run = cli("config", "validate")

    assert run.code == 1
    line = line_of(text, "        password: x")
    key = "environments.local.values.smtp.password"
    assert_reported(run.err, problem_pattern("tenant.yaml", line, key, "looks like a secret"))


@pytest.mark.parametrize("name", ["session_token_ttl", "public_key_url", "keyboard_layout"])
def test_harmless_value_keys_accepted(project: Path, cli, name: str) -> None:
    edit(project, LOCAL_VALUES, LOCAL_VALUES + f"      {name}: 600\n")
    edit(
        project,
        FIRST_ACTION_END,
        f"    order: 1\n    values:\n      {name}: 600\n  - name: consent-redirect\n",
    )

    run = cli("config", "validate")

    assert run.code == 0, run.err


# --------------------------------------------------------------------------- accepted variants


@pytest.mark.parametrize(
    ("old", "new"),
    [
        pytest.param(
            LOCAL_CONSENT_URL,
            "      consent_page_url: http://localhost:9000/consent\n",
            id="local-http-localhost",
        ),
        pytest.param(
            LOCAL_CONSENT_URL,
            "      consent_page_url: http://[::1]:9000/consent\n",
            id="local-http-ipv6-loopback",
        ),
        pytest.param(LOCAL_DOMAIN, "    domain: https://127.0.0.1:8443\n", id="local-loopback-url"),
        pytest.param(
            "    who: without-valid-consent\n",
            "    who: connections\n    connections: [Username-Password-Authentication]\n",
            id="who-connections-with-list",
        ),
        pytest.param(
            '      required: true\n      version: "2026-11-01"\n',
            "      required: true\n      version: '2026-11-01'\n",
            id="quoted-version",
        ),
    ],
)
def test_valid_variants_accepted(project: Path, cli, old: str, new: str) -> None:
    edit(project, old, new)

    run = cli("config", "validate")

    assert run.code == 0, run.err


# --------------------------------------------------------------------------- all at once


@pytest.mark.parametrize(
    "edits",
    [
        pytest.param(
            [
                (
                    PROD_DOMAIN,
                    PROD_DOMAIN + "    region: eu\n",
                    "environments.prod.region",
                    "    region: eu",
                ),
                (
                    "    layout: nested ",
                    "    layout: flat ",
                    "consent.metadata.layout",
                    "    layout: flat",
                ),
                (
                    "    trigger: post-login\n    order: 2\n",
                    "    trigger: post-login\n",
                    "actions[1].order",
                    "  - name: consent-redirect\n",
                ),
            ],
            id="schema-errors",
        ),
        pytest.param(
            [
                (
                    DEV_CONSENT_URL,
                    "      consent_page_url: http://consent.dev.example.com/consent\n",
                    "environments.dev.consent.consent_page_url",
                    "      consent_page_url: http://consent.dev",
                ),
                (
                    LOCAL_VALUES,
                    LOCAL_VALUES + "      api_key: abc\n",
                    "environments.local.values.api_key",
                    "      api_key: abc",
                ),
                (
                    "    order: 2\n    secrets:\n      CONSENT_SESSION_SECRET",
                    "    order: 1\n    secrets:\n      CONSENT_SESSION_SECRET",
                    "actions[1].order",
                    "    order: 1\n    secrets:\n      CONSENT_SESSION_SECRET",
                ),
            ],
            id="semantic-errors",
        ),
    ],
)
def test_all_problems_reported_in_one_run(
    project: Path, cli, edits: list[tuple[str, str, str, str]]
) -> None:
    for old, new, _, _ in edits:
        text = edit(project, old, new)

    run = cli("config", "validate")

    assert run.code == 1
    reported = problem_lines(run.err)
    assert len(reported) == 3, run.err
    for _, _, key, at in edits:
        assert_reported(run.err, problem_pattern("tenant.yaml", line_of(text, at), key, ""))
    lines = [int(ln.strip().split(":")[1]) for ln in reported]
    assert lines == sorted(lines), "problems are listed in file order"


def test_library_collects_every_problem(project: Path) -> None:
    text = edit(project, PROD_DOMAIN, "    domain: acme_eu\n")
    text = edit(project, SECOND_ACTION_TEMPLATE, "    template: consent-redirect.js\n")

    with pytest.raises(ConfigError) as raised:
        load_tenant(Path("tenant.yaml"))

    found = {(p.location.key, p.location.line) for p in raised.value.problems}
    assert found == {
        ("environments.prod.domain", line_of(text, "    domain: acme_eu")),
        ("actions[1].template", line_of(text, "    template: consent-redirect.js\n")),
    }
    assert all(p.location.file == Path("tenant.yaml") for p in raised.value.problems)
    assert all(p.message for p in raised.value.problems)


# --------------------------------------------------------------------------- json output


def test_json_output_lists_problems(project: Path, cli) -> None:
    text = edit(project, PROD_DOMAIN, PROD_DOMAIN + "    region: eu\n")

    run = cli("config", "validate", "--output", "json")

    assert run.code == 1
    payload = run.json()
    assert payload["ok"] is False
    assert len(payload["problems"]) == 1
    problem = payload["problems"][0]
    assert set(problem) >= {"file", "line", "column", "key", "message"}
    assert problem["file"] == "tenant.yaml"
    assert problem["line"] == line_of(text, "    region: eu")
    assert problem["column"] == len("    ") + 1
    assert problem["key"] == "environments.prod.region"
    assert "unknown key" in problem["message"]


def test_json_output_for_yaml_syntax_error(project: Path, cli) -> None:
    text = edit(project, "version: 1\n", "version: 1: 2\n")

    run = cli("config", "validate", "--output", "json")

    assert run.code == 1
    payload = run.json()
    assert payload["ok"] is False
    [problem] = payload["problems"]
    assert problem["file"] == "tenant.yaml"
    assert problem["line"] == line_of(text, "version: 1: 2")
    assert isinstance(problem["column"], int)
    assert problem["key"] is None
    assert "mapping values are not allowed" in problem["message"]


# --------------------------------------------------------------------------- valid file, paths


def test_repository_tenant_yaml_is_valid(project: Path, cli) -> None:
    run = cli("config", "validate")

    assert run.code == 0, run.err
    assert "tenant.yaml: valid" in run.out


def test_valid_file_json(project: Path, cli) -> None:
    run = cli("config", "validate", "--output", "json")

    assert run.code == 0, run.err
    payload = run.json()
    assert payload["ok"] is True
    assert payload["environments"] == ["dev", "local", "prod"]
    assert payload["actions"] == ["consent-on-first-login", "consent-redirect"]


def test_environment_consent_overrides_are_merged(project: Path) -> None:
    tenant = load_tenant(Path("tenant.yaml"))

    assert tenant.environment("dev").consent.consent_page_url == (
        "https://consent.dev.example.com/consent"
    )
    assert tenant.environment("prod").consent.consent_page_url == (
        "https://consent.example.com/consent"
    )
    assert tenant.environment("dev").consent.record_purpose.version == "2026-11-01"


def test_missing_tenant_yaml(project: Path, cli) -> None:
    (project / "tenant.yaml").unlink()

    run = cli("config", "validate")

    assert run.code == 1
    assert "no tenant.yaml" in run.err
    assert "--config" in run.err


def test_missing_explicit_config(project: Path, cli) -> None:
    run = cli("--config", "absent.yaml", "config", "validate")

    assert run.code == 1
    assert "absent.yaml: file not found" in run.err


def test_config_option_is_honoured(project: Path, cli) -> None:
    text = edit(project, PROD_DOMAIN, "    domain: acme_eu\n", name="other.yaml")

    bad = cli("--config", "other.yaml", "config", "validate")
    default = cli("config", "validate")

    assert bad.code == 1
    pattern = problem_pattern(
        "other.yaml", line_of(text, "    domain: acme_eu"), "environments.prod.domain", "domain"
    )
    assert_reported(bad.err, pattern)
    assert default.code == 0, "tenant.yaml itself is still valid"


def test_config_option_validates_the_named_file(project: Path, cli) -> None:
    shutil.copy(project / "tenant.yaml", project / "other.yaml")
    (project / "tenant.yaml").write_text("not: [valid\n", encoding="utf-8")

    run = cli("--config", "other.yaml", "config", "validate", "--output", "json")

    assert run.code == 0, run.out
    assert run.json()["file"] == "other.yaml"


# --------------------------------------------------------------------------- schema


def test_schema_command_prints_json_schema(cli) -> None:
    run = cli("config", "schema")

    assert run.code == 0, run.err
    schema = json.loads(run.out)
    assert "json-schema.org" in schema["$schema"]
    assert {"environments", "consent", "actions"} <= set(schema["properties"])
    assert {"environments", "consent", "actions"} <= set(schema["required"])
    assert schema["additionalProperties"] is False, "unknown top-level keys are flagged"


def test_schema_out_writes_the_same_text(tmp_path: Path, cli) -> None:
    printed = cli("config", "schema")
    target = tmp_path / "nested" / "tenant.schema.json"

    written = cli("config", "schema", "--out", str(target))

    assert written.code == 0, written.err
    assert target.read_text(encoding="utf-8") == printed.out


def test_committed_schema_is_current(cli) -> None:
    run = cli("config", "schema")
    assert run.code == 0, run.err
    if not SCHEMA_FILE.is_file():
        pytest.fail(
            f"{SCHEMA_FILE.relative_to(REPO)} is missing; run "
            "`auth0-actions config schema --out schema/tenant.schema.json` and commit it"
        )
    assert SCHEMA_FILE.read_bytes() == run.out.encode("utf-8"), (
        "schema/tenant.schema.json is stale; run "
        "`auth0-actions config schema --out schema/tenant.schema.json` and commit it"
    )


# --------------------------------------------------------------------------- purposes
@pytest.mark.parametrize(
    ("old", "new", "key", "message"),
    [
        pytest.param(
            "  purposes:\n",
            '  terms_version: "2026-11-01"\n  purposes:\n',
            "consent",
            "'terms_version' moved into consent.purposes",
            id="terms-version-moved",
        ),
        pytest.param(
            "    - id: marketing\n",
            "    - id: terms\n",
            "consent",
            "purpose ids must be unique: terms",
            id="duplicate-purpose",
        ),
        pytest.param(
            "      required: true\n",
            "      required: false\n",
            "consent",
            "at least one purpose must be required",
            id="no-required-purpose",
        ),
        pytest.param(
            "        de: Neuigkeiten und Angebote per E-Mail\n",
            "",
            "consent",
            "purpose marketing: title has no text for de",
            id="title-missing-language",
        ),
        pytest.param(
            "  claims_namespace: https://example.com/consent/\n",
            "",
            "consent",
            "claims_namespace is needed when a purpose is optional",
            id="claims-namespace-needed",
        ),
        pytest.param(
            "  claims_namespace: https://example.com/consent/\n",
            "  claims_namespace: https://example.com/consent\n",
            "consent",
            "claims_namespace must be an https URL ending in '/'",
            id="claims-namespace-shape",
        ),
        pytest.param(
            "      retention: P2Y\n",
            "      retention: two years\n",
            "consent.purposes[1].retention",
            "should match pattern",
            id="retention-not-a-duration",
        ),
        pytest.param(
            "      lawful_basis: consent\n",
            "      lawful_basis: because\n",
            "consent.purposes[1].lawful_basis",
            "'consent', 'contract'",
            id="unknown-lawful-basis",
        ),
    ],
)
def test_purpose_problems_named(
    project: Path, cli, old: str, new: str, key: str, message: str
) -> None:
    edit(project, old, new)

    run = cli("config", "validate")

    assert run.code == 1
    assert "tenant.yaml:" in run.err, run.err
    assert f"{key}:" in run.err, run.err
    assert message in run.err, run.err


def test_a_missing_consent_text_names_the_file_and_the_purpose(project: Path, cli) -> None:
    """A purpose whose text is missing in one language is refused, naming the file."""
    (project / "consent_texts" / "marketing-2026-11-01.de.txt").unlink()

    run = cli("config", "validate")

    assert run.code == 1
    assert "consent.purposes[1].text" in run.err
    assert "consent_texts/marketing-2026-11-01.de.txt: the consent text is missing" in run.err


def test_a_version_bump_needs_a_new_text_file(project: Path, cli) -> None:
    """Texts are immutable revisions: a new version points at files that must be written."""
    edit(
        project,
        '      version: "2026-11-01"\n      url: https://example.com/legal/terms/2026-11-01\n',
        '      version: "2027-01-01"\n      url: https://example.com/legal/terms/2027-01-01\n',
    )

    assert cli("config", "validate").code == 1
    for language in ("en", "de"):
        (project / "consent_texts" / f"terms-2027-01-01.{language}.txt").write_text(
            f"Terms 2027 ({language})\n", encoding="utf-8"
        )
    assert cli("config", "validate").code == 0


@pytest.mark.parametrize(
    "content", [b"", b"   \n", b"\xff\xfe terms"], ids=["empty", "blank", "latin"]
)
def test_an_unusable_consent_text_is_refused(project: Path, cli, content: bytes) -> None:
    (project / "consent_texts" / "terms-2026-11-01.en.txt").write_bytes(content)

    run = cli("config", "validate")

    assert run.code == 1
    assert "terms-2026-11-01.en.txt" in run.err
