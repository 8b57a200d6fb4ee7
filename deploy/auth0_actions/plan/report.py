"""The plan for people (text, coloured on a terminal), for CI (JSON) and for a PR (Markdown)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import click

from auth0_actions.plan.changes import Change, Plan
from auth0_actions.plan.consent_impact import PurposeImpact, impact_lines


def summary_line(plan: Plan) -> str:
    n = plan.counts()
    bindings = n["bind"] + n["reorder"] + n["unbind"]
    adopt = f"{n['adopt']} to adopt, " if n["adopt"] else ""
    line = (
        f"Plan: {adopt}{n['create']} to create, {n['update']} to update, {n['deploy']} to deploy, "
        f"{bindings} to bind/reorder/unbind, {n['delete']} to delete"
    )
    modules = [
        f"{n['module-' + verb]} to {verb}"
        for verb in ("create", "update", "publish", "delete")
        if n["module-" + verb]
    ]
    return line + (f"; modules: {', '.join(modules)}" if modules else "")


def _values(change: Change) -> list[str]:
    data = change.data
    values = data.get("values") or {}
    lines = [
        f"{name}: {json.dumps(v['live'])} -> {json.dumps(v['desired'])}"
        for name, v in values.items()
    ]
    secrets = data.get("secrets")
    if isinstance(secrets, dict):  # an adoption: the secret names it replaces
        live, desired = set(secrets["live"]), set(secrets["desired"])
        added, removed = sorted(desired - live), sorted(live - desired)
        kept = sorted(live & desired)
        lines.append(
            "secret names: "
            + (", ".join([*(f"+{n}" for n in added), *(f"-{n}" for n in removed)]) or "unchanged")
            + (f" (kept: {', '.join(kept)}; values are pushed again)" if kept else "")
        )
    return lines


def interleaving_warnings(plan: Plan) -> list[str]:
    """One line per unmanaged binding that will run between two managed ones."""
    return [
        f"warning: {trigger}: {found['action']} (not managed by auth0-actions) runs between "
        f"{found['after']} and {found['before']}; pin where it may run with "
        "actions[].position in tenant.yaml (first, last, before:NAME, after:NAME)"
        for trigger, lists in plan.bindings.items()
        for found in lists.get("interleaved", [])
    ]


def _side_by_side(trigger: str, lists: dict[str, Any]) -> list[str]:
    """The live and the planned order in two columns; unmanaged bindings marked *."""
    managed = set(lists.get("managed", []))

    def column(names: list[str]) -> list[str]:
        return [f"{i}. {n}{'' if n in managed else ' *'}" for i, n in enumerate(names, 1)]

    live, planned = column(lists["live"]) or ["(none)"], column(lists["planned"]) or ["(none)"]
    width = max(len("live"), *(len(cell) for cell in live)) + 4
    rows = [f"  {'live':<{width}}planned"]
    for index in range(max(len(live), len(planned))):
        left = live[index] if index < len(live) else ""
        right = planned[index] if index < len(planned) else ""
        rows.append(f"  {left:<{width}}{right}".rstrip())
    return [f"Bindings {trigger} (* not managed by auth0-actions):", *rows]


def _bindings_text(plan: Plan) -> list[str]:
    lines: list[str] = []
    for trigger, lists in plan.bindings.items():
        lines.append("")
        managed = set(lists.get("managed", []))
        everything = [*lists["live"], *lists["planned"]]
        if lists["live"] != lists["planned"] or any(n not in managed for n in everything):
            lines.extend(_side_by_side(trigger, lists))
        else:
            lines.append(f"Bindings {trigger}: {' -> '.join(lists['planned']) or '(none)'}")
    warned = interleaving_warnings(plan)
    if warned:
        lines.append("")
        lines.extend(click.style(line, fg="yellow", bold=True) for line in warned)
    return lines


def _colour_diff(diff: str) -> str:
    out = []
    for line in diff.rstrip("\n").split("\n"):
        if line.startswith(("+++", "---")):
            out.append(click.style(line, bold=True))
        elif line.startswith("+"):
            out.append(click.style(line, fg="green"))
        elif line.startswith("-"):
            out.append(click.style(line, fg="red"))
        elif line.startswith("@@"):
            out.append(click.style(line, fg="cyan"))
        else:
            out.append(line)
    return "\n".join(out)


def text_report(plan: Plan, consent: Sequence[PurposeImpact] = ()) -> str:
    """ANSI-styled; click.echo drops the styles when stdout is not a terminal."""
    lines = [click.style(f"Environment {plan.environment}", bold=True)]
    if plan.changes:
        lines.append("")
        for change in plan.changes:
            lines.append(click.style(f"{change.symbol} {change.describe()}", fg=change.colour))
            lines.extend(f"    {v}" for v in _values(change))
            diff = change.data.get("diff")
            if diff:
                lines.append(_colour_diff(diff))
    if plan.drift:
        lines.append("")
        lines.append(click.style("Drift (changed in the tenant by hand):", fg="magenta", bold=True))
        for drift in plan.drift:
            where = f"{drift.trigger}/{drift.action}" if drift.action else drift.trigger
            lines.append(click.style(f"! {drift.kind} {where}: {drift.detail}", fg="magenta"))
            if drift.diff:
                lines.append(_colour_diff(drift.diff))
    if plan.unmanaged:
        lines.append("")
        lines.append("Unmanaged (not in tenant.yaml; never changed):")
        for action in plan.unmanaged:
            note = " [orphan: carries the auth0-actions header]" if action.orphan else ""
            lines.append(f"  {action.name} ({', '.join(action.triggers) or 'no trigger'}){note}")
    lines.extend(_bindings_text(plan))
    if consent:
        lines.append("")
        lines.append(click.style("Consent impact:", fg="yellow", bold=True))
        lines.extend(click.style(f"  {line}", fg="yellow") for line in impact_lines(consent))
    lines.append("")
    summary = summary_line(plan)
    if not plan.changes:
        summary += ". No changes: the tenant matches tenant.yaml."
    lines.append(click.style(summary, bold=True))
    return "\n".join(lines)


def json_report(plan: Plan, consent: Sequence[PurposeImpact] = ()) -> str:
    data = {**plan.data, "consent_impact": [impact.data for impact in consent]}
    return json.dumps(data, indent=2, sort_keys=True)


def _fence(diff: str) -> list[str]:
    # A diff line could hold ``` itself: use a longer fence than any run inside.
    longest = max((len(run) for run in diff.split("\n") if set(run) == {"`"}), default=0)
    fence = "`" * max(3, longest + 1)
    return [f"{fence}diff", diff.rstrip("\n"), fence]


def markdown_report(plan: Plan, consent: Sequence[PurposeImpact] = ()) -> str:
    """For a pull-request comment: a summary, a table of changes, diffs in ```diff fences."""
    lines = [f"### auth0-actions plan: `{plan.environment}`", "", f"**{summary_line(plan)}**", ""]
    if plan.changes:
        lines += ["| # | change | details |", "|---|---|---|"]
        for index, change in enumerate(plan.changes, 1):
            details = "; ".join(_values(change)) or ""
            row = [str(index), change.describe(), details]
            lines.append("| " + " | ".join(cell.replace("|", "\\|") for cell in row) + " |")
        lines.append("")
        for change in plan.changes:
            diff = change.data.get("diff")
            if diff:
                lines += [
                    "<details>",
                    f"<summary>{change.kind} {change.action}: code diff</summary>",
                    "",
                    *_fence(diff),
                    "",
                    "</details>",
                    "",
                ]
    else:
        lines += ["No changes: the tenant matches tenant.yaml.", ""]
    if plan.drift:
        lines += ["#### Drift", ""]
        for drift in plan.drift:
            where = f"{drift.trigger}/{drift.action}" if drift.action else drift.trigger
            lines.append(f"- **{drift.kind}** `{where}`: {drift.detail}")
            if drift.diff:
                lines += ["", *(f"  {line}" for line in _fence(drift.diff)), ""]
        lines.append("")
    if plan.unmanaged:
        lines += ["#### Unmanaged actions (never changed)", ""]
        for action in plan.unmanaged:
            note = " (orphan: carries the auth0-actions header)" if action.orphan else ""
            lines.append(f"- `{action.name}` ({', '.join(action.triggers)}){note}")
        lines.append("")
    for trigger, lists in plan.bindings.items():
        planned = " → ".join(f"`{n}`" for n in lists["planned"]) or "(none)"
        if lists["live"] != lists["planned"]:
            live = " → ".join(f"`{n}`" for n in lists["live"]) or "(none)"
            lines.append(f"Bindings `{trigger}` now: {live}  ")
        lines.append(f"Bindings `{trigger}` after apply: {planned}")
    if consent:
        lines += ["", "#### Consent impact", "", *(f"- {line}" for line in impact_lines(consent))]
    warned = interleaving_warnings(plan)
    if warned:
        lines += ["", *(f"> **{line}**" for line in warned)]
    return "\n".join(lines).rstrip("\n") + "\n"
