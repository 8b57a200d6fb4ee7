"""The Python consent record agrees with the rendered Actions, case by case.

The consent Actions' own functions (readConsentRecord, consentNeeded,
consentRecordUpdate), taken from the freshly rendered
actions/local/consent-redirect.js for each layout, are run in Node 22 on the
same user_metadata as :mod:`auth0_actions.consent.record`; status and PATCH body
must be identical.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from auth0_actions.config import load_tenant
from auth0_actions.consent.record import (
    FLAT_COLUMNS,
    ConsentRecord,
    RecordLayout,
    flat_fields,
    record_status,
    status_of,
)
from auth0_actions.node import find_node

NOW = "2026-03-04T05:06:07.089Z"

# Stored records as the Actions or people may have left them (property names
# in the nested layout; translated for the root layout below).
CASES: list[dict[str, Any] | None] = [
    None,
    {},
    {"given": "true"},  # not a boolean: no record
    {"given": True, "terms_version": "2026-11-01"},
    {"given": True, "terms_version": "2025-01-01"},
    {"given": True, "terms_version": 20261101},
    {"given": False, "terms_version": "2026-11-01"},
    {"given": True, "terms_version": "2026-11-01", "withdrawn_at": "2026-01-01T00:00:00.000Z"},
    {"given": True, "terms_version": "2026-11-01", "withdrawn_at": ""},
    {"given": True, "terms_version": "2026-11-01", "withdrawn_at": 0},
    {"given": True, "terms_version": "2026-11-01", "withdrawn_at": {}},
    {"given": True, "terms_version": "2026-11-01", "withdrawn_at": []},
    {"given": True, "terms_version": None, "ip": "10.0.0.1", "extra": {"x": 1}},
]


def _metadata(layout: RecordLayout, case: dict[str, Any] | None) -> dict[str, Any]:
    base: dict[str, Any] = {"theme": "dark"}
    if case is None:
        return base
    if layout.nested:
        return {**base, layout.object_key: case}
    names = dict(layout.keys)  # nested names are the field names
    return {**base, **{names.get(k, k): v for k, v in case.items()}}


def _js_results(project: Path, cases: list[dict[str, Any]]) -> list[dict[str, Any]]:
    source = (project / "actions" / "local" / "consent-redirect.js").read_text(encoding="utf-8")
    script = (
        "const code = require('fs').readFileSync(0, 'utf8');\n"
        "const [actionCode, casesJson] = JSON.parse(code);\n"
        "const fns = new Function('exports', actionCode + "
        "'\\nreturn {readConsentRecord, consentNeeded, consentRecordUpdate};')({});\n"
        "const out = JSON.parse(casesJson).map(({metadata, now}) => ({\n"
        "  status: fns.consentNeeded(fns.readConsentRecord(metadata)) ?? 'valid',\n"
        "  patch: fns.consentRecordUpdate(metadata, true, 'api', null, now),\n"
        "}));\n"
        "process.stdout.write(JSON.stringify(out));\n"
    )
    node = find_node(project_root=project)
    done = subprocess.run(
        [str(node.path), "-e", script],
        input=json.dumps([source, json.dumps(cases)]),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return list(json.loads(done.stdout))


@pytest.mark.parametrize("layout_name", ["nested", "root"])
def test_status_and_patch_match_the_rendered_actions(
    project: Path, cli: Any, layout_name: str
) -> None:
    path = project / "tenant.yaml"
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace("layout: nested", f"layout: {layout_name}"), encoding="utf-8")
    assert cli("render", "--env", "local").code == 0
    policy = load_tenant(path).environment("local").consent
    layout = RecordLayout.from_policy(policy)
    metadatas = [_metadata(layout, case) for case in CASES]
    js = _js_results(project, [{"metadata": m, "now": NOW} for m in metadatas])

    for metadata, expected in zip(metadatas, js, strict=True):
        assert status_of(metadata, layout, policy.terms_version) == expected["status"], metadata
        record = ConsentRecord(
            given=True,
            date=NOW,
            terms_version=policy.terms_version,
            text_url=policy.terms_url,
            method="api",
        )
        patch = record.to_metadata_patch(metadata, layout)
        assert patch == expected["patch"], metadata


def test_withdrawal_reason_is_only_read_while_withdrawn(scaffolded: Path) -> None:
    policy = load_tenant(scaffolded / "tenant.yaml")
    consent = policy.environment("local").consent
    leftover = {"consent": {"given": True, "terms_version": "x", "withdrawn_reason": "old"}}
    record = ConsentRecord.from_metadata(leftover, consent)
    assert record is not None
    assert record.withdrawn_reason is None
    withdrawn = record.withdrawn(reason="moved")
    assert withdrawn.given is False
    assert record_status(withdrawn, "x") == "withdrawn"
    again = ConsentRecord.from_metadata(withdrawn.to_metadata_patch(leftover, consent), consent)
    assert again == withdrawn


def test_flat_fields_are_ordered_columns() -> None:
    assert list(flat_fields(None)) == list(FLAT_COLUMNS)
    assert flat_fields(None, "v1")["consent.status"] == "missing"
    record = ConsentRecord(given=True, terms_version="v1", method="api")
    flat = flat_fields(record, "v2")
    assert flat["consent.status"] == "outdated"
    assert flat["consent.given"] is True
    assert flat["consent.method"] == "api"
