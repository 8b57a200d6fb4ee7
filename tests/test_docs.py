"""The documentation cannot drift from the code, and no text cites a file that is not here.

- every command of the CLI has a section in docs/cli.md, and that section names every
  option of the command (an option documented under another command does not count);
- every field of tenant.yaml (walked from the model's JSON Schema) is named in
  docs/tenant-yaml.md by its full path, e.g. ``environments.<name>.client_id_env``;
- every repository path cited in a comment, a docstring or a Markdown page exists, and
  every relative Markdown link (and its ``#anchor``) resolves.

Modelled on sqlite-utils' tests/test_docs.py: the failure lists everything missing, so one
run says what to write.
"""

from __future__ import annotations

import ast
import functools
import io
import re
import tokenize
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click
import pytest

from auth0_actions.cli.main import cli
from auth0_actions.config.model import TenantConfig

REPO = Path(__file__).resolve().parent.parent
DOCS = REPO / "docs"
CLI_DOC = DOCS / "cli.md"
TENANT_DOC = DOCS / "tenant-yaml.md"
PROGRAM = "auth0-actions"

# ---------------------------------------------------------------------------------------
# Markdown structure


@dataclass(frozen=True)
class Heading:
    level: int
    text: str
    line: int  # 0-based index into the page's lines


FENCE = re.compile(r"^\s*(```|~~~)")
HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")
CODE_SPAN = re.compile(r"`([^`]+)`")


def headings(lines: list[str]) -> list[Heading]:
    """ATX headings outside fenced code (a `# comment` in a sh block is not a heading)."""
    found: list[Heading] = []
    fenced = False
    for number, line in enumerate(lines):
        if FENCE.match(line):
            fenced = not fenced
            continue
        match = None if fenced else HEADING.match(line)
        if match:
            found.append(Heading(len(match.group(1)), match.group(2), number))
    return found


def code_spans(page: str) -> set[str]:
    """The inline code spans of a page, outside fenced code (whose fences would pair up)."""
    prose: list[str] = []
    fenced = False
    for line in page.splitlines():
        if FENCE.match(line):
            fenced = not fenced
        elif not fenced:
            prose.append(line)
    return {span.strip() for span in CODE_SPAN.findall("\n".join(prose))}


def anchor(text: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces as dashes."""
    plain = re.sub(r"<[^>]*>", "", text).replace("`", "").strip().lower()
    plain = re.sub(r"&[a-z]+;", "", plain)
    return re.sub(r"[^\w\- ]", "", plain).replace(" ", "-")


def anchors(page: Path) -> set[str]:
    seen: dict[str, int] = {}
    result: set[str] = set()
    for heading in headings(page.read_text(encoding="utf-8").splitlines()):
        slug = anchor(heading.text)
        count = seen.get(slug, 0)
        seen[slug] = count + 1
        result.add(slug if count == 0 else f"{slug}-{count}")
    return result


# ---------------------------------------------------------------------------------------
# The CLI and docs/cli.md


def command_tree() -> dict[str, click.Command]:
    """Every command by its path ("" for the root, "consent export"), loaded the way
    click loads it, so lazily registered subcommands are included."""
    found: dict[str, click.Command] = {}

    def walk(command: click.Command, path: tuple[str, ...], ctx: click.Context) -> None:
        found[" ".join(path)] = command
        if isinstance(command, click.Group):
            for name in command.list_commands(ctx):
                sub = command.get_command(ctx, name)
                if sub is None or sub.hidden:
                    continue
                walk(sub, (*path, name), click.Context(sub, info_name=name, parent=ctx))

    walk(cli, (), click.Context(cli, info_name=PROGRAM))
    return found


def option_names(command: click.Command) -> list[str]:
    """Long names of the command's visible options (both halves of a --x/--no-x flag)."""
    names: list[str] = []
    for param in command.params:
        if not isinstance(param, click.Option) or param.hidden:
            continue
        opts = [*param.opts, *param.secondary_opts]
        long = [opt for opt in opts if opt.startswith("--")]
        names.extend(name for name in (long or opts) if name != "--help")
    return names


def heading_command(text: str, paths: set[str]) -> str | None:
    """The command a heading introduces: its first code span, read as a command line.

    `auth0-actions consent export --format ...` and `consent export` both introduce
    "consent export" (the longest known command path wins); `auth0-actions` alone, or
    followed by options, is the root. Anything else (a command that does not exist yet
    included) is an ordinary heading."""
    span = CODE_SPAN.search(text)
    if span is None:
        return None
    words = span.group(1).split()
    rooted = bool(words) and words[0] == PROGRAM
    if rooted:
        words = words[1:]
    # `auth0-actions` alone or with options is the root; with an unknown word, not a command.
    best: str | None = "" if rooted and (not words or words[0][0] in "-[") else None
    for size in range(1, len(words) + 1):
        candidate = " ".join(words[:size])
        if candidate in paths:
            best = candidate
    return best


def command_sections(page: str, paths: set[str]) -> dict[str, str]:
    """Each command heading's own text: up to the next command heading, or the next
    heading at the same or a higher level (sub-headings such as "Output" belong to it)."""
    lines = page.splitlines()
    found = headings(lines)
    sections: dict[str, str] = {}
    for index, heading in enumerate(found):
        command = heading_command(heading.text, paths)
        if command is None:
            continue
        end = len(lines)
        for later in found[index + 1 :]:
            if later.level <= heading.level or heading_command(later.text, paths) is not None:
                end = later.line
                break
        sections[command] = sections.get(command, "") + "\n".join(lines[heading.line : end])
    return sections


def mentions_option(section: str, option: str) -> bool:
    return re.search(rf"(?<![\w-]){re.escape(option)}(?![\w-])", section) is not None


def describe(path: str) -> str:
    return f"{PROGRAM} {path}".strip()


def test_every_command_has_a_section_in_docs_cli_md() -> None:
    tree = command_tree()
    sections = command_sections(CLI_DOC.read_text(encoding="utf-8"), set(tree))
    missing = [describe(path) for path in sorted(tree) if path not in sections]
    assert not missing, (
        "docs/cli.md has no section (a heading with the command in a code span, e.g. "
        "### `auth0-actions consent export`) for:\n  " + "\n  ".join(missing)
    )


def test_every_option_is_documented_in_its_commands_section() -> None:
    tree = command_tree()
    sections = command_sections(CLI_DOC.read_text(encoding="utf-8"), set(tree))
    missing = [
        f"{describe(path)}: {option}"
        for path, command in sorted(tree.items())
        if path in sections
        for option in option_names(command)
        if not mentions_option(sections[path], option)
    ]
    assert not missing, (
        "docs/cli.md does not name these options in their command's section:\n  "
        + "\n  ".join(missing)
    )


def test_section_parsing_keeps_options_with_their_own_command() -> None:
    page = "\n".join(
        [
            "# CLI",
            "## `auth0-actions` global options",
            "`--config`",
            "## `consent`",
            "### `auth0-actions consent show --email E`",
            "`--email` and `--user-id`",
            "```sh",
            "# a comment, not a heading: --env",
            "```",
            "#### Output",
            "`--output`",
            "### `consent export`",
            "`--format`, not --no-progress",
            "## `auth0-actions init [DIR]`",
            "`--bare`",
        ]
    )
    sections = command_sections(page, {"", "consent", "consent show", "consent export"})
    assert set(sections) == {"", "consent", "consent show", "consent export"}
    assert mentions_option(sections["consent show"], "--output")
    assert mentions_option(sections["consent show"], "--env")
    assert not mentions_option(sections["consent"], "--email")
    assert not mentions_option(sections["consent export"], "--email")
    assert not mentions_option(sections["consent export"], "--progress")
    assert not mentions_option(sections[""], "--email")
    assert not mentions_option(sections[""], "--bare")
    assert not mentions_option(sections["consent export"], "--bare")


# ---------------------------------------------------------------------------------------
# tenant.yaml and docs/tenant-yaml.md


def schema_field_paths(schema: dict[str, Any]) -> list[str]:
    """Every field path of the schema: `consent.metadata.layout`, `environments.<name>.domain`,
    `actions[].dependencies[].name`. Maps keyed by the user's own names (secrets, values)
    end the path: their keys are data, not fields."""
    definitions: dict[str, Any] = schema.get("$defs", {})

    def resolve(node: dict[str, Any]) -> dict[str, Any]:
        while "$ref" in node:
            node = definitions[node["$ref"].rsplit("/", 1)[-1]]
        branches = [b for b in node.get("anyOf", []) if b.get("type") != "null"]
        return resolve(branches[0]) if len(branches) == 1 else node

    paths: list[str] = []

    def walk(node: dict[str, Any], prefix: str) -> None:
        node = resolve(node)
        for name, child in node.get("properties", {}).items():
            path = f"{prefix}.{name}" if prefix else name
            paths.append(path)
            walk(child, path)
        if node.get("type") == "array" and "items" in node:
            walk(node["items"], prefix + "[]")
        keyed = list(node.get("patternProperties", {}).values())
        if isinstance(node.get("additionalProperties"), dict):
            keyed.append(node["additionalProperties"])
        for value in keyed:
            if "properties" in resolve(value):
                walk(value, prefix + ".<name>")

    walk(schema, "")
    return paths


def test_field_paths_are_walked_through_refs_maps_and_lists() -> None:
    paths = schema_field_paths(TenantConfig.model_json_schema())
    for expected in (
        "environments.<name>.client_id_env",
        "environments.<name>.safety.max_deletes",
        "consent.metadata.layout",
        "consent.metadata.keys.withdrawn_reason",
        "actions[].dependencies[].name",
        "legacy_rules[].configuration",
    ):
        assert expected in paths
    assert not [path for path in paths if path.startswith("actions[].secrets.")]


def test_every_tenant_yaml_field_is_documented() -> None:
    spans = code_spans(TENANT_DOC.read_text(encoding="utf-8"))
    missing = [
        path for path in schema_field_paths(TenantConfig.model_json_schema()) if path not in spans
    ]
    assert not missing, (
        "docs/tenant-yaml.md does not name these tenant.yaml fields (as a code span with "
        "the full path, e.g. `consent.metadata.layout`):\n  " + "\n  ".join(missing)
    )


# ---------------------------------------------------------------------------------------
# Citations of files in the repository

# Top-level directories of this repository, plus the two names under which files outside
# it used to be cited (a sibling checkout's shared tree, a bare reference directory): a
# path that starts with one of them, or with ../, is read as a claim that the file is here.
ROOTS = (
    "docs",
    "tests",
    "deploy",
    "bench",
    "examples",
    "schema",
    "rules_templates",
    "shared",
    "reference",
)
SEGMENT = r"[\w.*<>-]+"
CITATION = re.compile(
    # Not inside a URL, a longer path (main/docs/x.mdx), a module or an npm scope.
    r"(?<![\w./@:~$-])"
    rf"((?:\.\./)+{SEGMENT}(?:/{SEGMENT})*/?|(?:{'|'.join(ROOTS)})/(?:{SEGMENT}/?)*)"
)
MARKDOWN_LINK = re.compile(r"\]\(([^)\s]+)\)")
SCANNED_DIRS = ("deploy", "tests", "bench", "examples", "rules_templates", "docs")
SKIPPED_DIRS = {"__pycache__", "node_modules", "recordings"}


def citations(text: str) -> list[str]:
    """Repository paths cited in text, as written (a trailing full stop dropped)."""
    return [match.rstrip(".,") for match in CITATION.findall(text) if match.rstrip(".,/")]


def cited_path_exists(citation: str, citing_file: Path) -> bool:
    """A citation holds when it names something in the repository, from the top or (for
    ../ and Markdown's relative links) from the citing file's directory. Placeholders
    (`actions/<env>/`, `bench/*.py`, `docs/reference/...`) must match something."""
    pattern = re.sub(r"<[^>]*>", "*", citation.replace("...", "*")).rstrip("/")
    bases = [citing_file.parent] if citation.startswith("../") else [REPO, citing_file.parent]
    for base in bases:
        if "*" in pattern:
            if any(base.glob(pattern)):
                return True
        elif (base / pattern).exists() and REPO in (base / pattern).resolve().parents:
            return True
    return False


def python_commentary(source: str) -> str:
    """Comments and docstrings of a Python file: string literals in code are data."""
    parts = [
        token.string
        for token in tokenize.generate_tokens(io.StringIO(source).readline)
        if token.type == tokenize.COMMENT
    ]
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            docstring = ast.get_docstring(node)
            if docstring:
                parts.append(docstring)
    return "\n".join(parts)


JS_COMMENT = re.compile(r"/\*.*?\*/|(?<![:\"'\\])//[^\n]*|\{#.*?#\}", re.S)
CSS_COMMENT = re.compile(r"/\*.*?\*/", re.S)
HTML_COMMENT = re.compile(r"<!--.*?-->|\{#.*?#\}", re.S)
HASH_COMMENT = re.compile(r"(?:^|\s)(#[^\n]*)", re.M)


def commentary(path: Path) -> str | None:
    """The prose of a file that may cite other files; None for files that have none."""
    name = path.name
    kinds: list[tuple[tuple[str, ...], Callable[[str], str]]] = [
        ((".md",), lambda text: text),
        ((".py",), python_commentary),
        ((".js", ".js.j2", ".mjs", ".cjs"), lambda text: "\n".join(JS_COMMENT.findall(text))),
        ((".css",), lambda text: "\n".join(CSS_COMMENT.findall(text))),
        ((".html", ".html.j2"), lambda text: "\n".join(HTML_COMMENT.findall(text))),
        ((".yaml", ".yml", ".toml", ".sh"), lambda text: "\n".join(HASH_COMMENT.findall(text))),
    ]
    for suffixes, prose in kinds:
        if name.endswith(suffixes):
            return prose(path.read_text(encoding="utf-8"))
    return None


def scanned_files() -> Iterator[Path]:
    yield REPO / "README.md"
    for top in SCANNED_DIRS:
        for path in sorted((REPO / top).rglob("*")):
            relative = path.relative_to(REPO).parts
            if path.is_file() and not SKIPPED_DIRS.intersection(relative):
                yield path


@functools.cache
def commentaries() -> tuple[tuple[Path, str], ...]:
    """The commentary of every scanned file that has one (read once for all the tests)."""
    found = ((path, commentary(path)) for path in scanned_files())
    return tuple((path, text) for path, text in found if text is not None)


def test_detector_finds_paths_outside_the_repository() -> None:
    assert citations("see shared/reference/actions-runtime.md §3") == [
        "shared/reference/actions-runtime.md"
    ]
    assert citations("(reference/fidelity-gaps.md, 'Login')") == ["reference/fidelity-gaps.md"]
    assert citations("copied from ../shared/recordings/x.yaml.") == ["../shared/recordings/x.yaml"]
    here = REPO / "deploy" / "auth0_actions" / "emulator" / "server.py"
    for cited in citations(
        "shared/reference/actions-runtime.md, reference/fidelity-gaps.md, "
        "../shared/reference/management-api.md, docs/reference/fidelity-gaps.md, "
        "deploy/node.py, bench/nothing-*.py"
    ):
        assert not cited_path_exists(cited, here), cited


def test_detector_accepts_what_is_here_and_ignores_what_is_not_a_citation() -> None:
    here = REPO / "docs" / "reference" / "actions-runtime.md"
    text = (
        "Its path `main/docs/actions/limitations.mdx` is published at "
        "https://auth0.com/docs/actions/limitations and github.com/auth0/docs/tests/x; "
        "module auth0_actions.tests.docs, the npm scope @auth0/actions, $HOME/docs/x.md. "
        "It is docs/reference/management-api.md (see docs/reference/... §1), "
        "`actions/<env>/`, bench/*.py and tests/conformance/recordings."
    )
    found = citations(text)
    assert found == [
        "docs/reference/management-api.md",
        "docs/reference/",
        "bench/*.py",
        "tests/conformance/recordings",
    ]
    assert all(cited_path_exists(cited, here) for cited in found)


def test_commentary_is_comments_and_docstrings_only() -> None:
    source = (
        '"""Module docstring: docs/a.md."""\n'
        "# comment: tests/b.py\n"
        'TARGET = "../outside/data.js.j2"  # trailing: bench/c.py\n'
        "def f() -> None:\n"
        '    """Docstring: deploy/d.py."""\n'
    )
    assert citations(python_commentary(source)) == [
        "tests/b.py",
        "bench/c.py",
        "docs/a.md",
        "deploy/d.py",
    ]


def test_every_cited_repository_path_exists() -> None:
    missing = []
    for path, text in commentaries():
        for cited in citations(text):
            if not cited_path_exists(cited, path):
                missing.append(f"{path.relative_to(REPO)}: {cited}")
    assert not missing, (
        "these comments and documents cite files that are not in the repository:\n  "
        + "\n  ".join(missing)
    )


# A section of a page, cited as the page's name, an optional comma and the heading in quotes.
SECTION_CITATION = re.compile(r'(?<![\w/.-])(README(?:\.md)?|[\w./-]+\.md),?\s+"([^"]+)"')
# A comment's line breaks and its leading `*`, `#` or `//`, which may split a heading.
COMMENT_BREAK = re.compile(r"\s*\n\s*(?:\*(?!/)|#|//)?\s*")


def section_citations(text: str) -> list[tuple[str, str]]:
    """(page, heading) pairs cited as `page, "Heading"` (README alone is README.md)."""
    flat = COMMENT_BREAK.sub(" ", text)
    return [
        ("README.md" if page == "README" else page, heading)
        for page, heading in SECTION_CITATION.findall(flat)
    ]


def test_section_citations_are_read_across_comment_lines() -> None:
    text = (
        ' * Token contract: README.md, "Consent page\n'
        ' * token contract".\n'
        '# README "tenant.yaml reference" explains it; see docs/consent.md "Consent page".'
    )
    assert section_citations(text) == [
        ("README.md", "Consent page token contract"),
        ("README.md", "tenant.yaml reference"),
        ("docs/consent.md", "Consent page"),
    ]


def test_every_cited_section_exists() -> None:
    missing = []
    for path, text in commentaries():
        for page, heading in section_citations(text):
            target = next(
                (base / page for base in (REPO, path.parent) if (base / page).is_file()), None
            )
            if target is None or anchor(heading) not in anchors(target):
                missing.append(f'{path.relative_to(REPO)}: {page}, "{heading}"')
    assert not missing, (
        "these comments and documents cite a section that is not in the page they name:\n  "
        + "\n  ".join(missing)
    )


def test_every_relative_markdown_link_resolves() -> None:
    broken = []
    pages = [path for path in scanned_files() if path.suffix == ".md"]
    for page in pages:
        for target in MARKDOWN_LINK.findall(page.read_text(encoding="utf-8")):
            if re.match(r"^[a-z][a-z0-9+.-]*:", target):
                continue  # https:, mailto:
            file_part, _, fragment = target.partition("#")
            linked = (page.parent / file_part).resolve() if file_part else page
            where = f"{page.relative_to(REPO)}: {target}"
            if not linked.exists():
                broken.append(f"{where} (no such file)")
            elif fragment and linked.suffix == ".md" and fragment not in anchors(linked):
                broken.append(f"{where} (no such heading)")
    assert not broken, "broken links in the documentation:\n  " + "\n  ".join(broken)


@pytest.mark.parametrize(
    ("heading", "expected"),
    [
        ("Consent page token contract", "consent-page-token-contract"),
        ("`auth0-actions consent export`", "auth0-actions-consent-export"),
        ("Release: history and rollback", "release-history-and-rollback"),
    ],
)
def test_anchors_follow_githubs_rules(heading: str, expected: str) -> None:
    assert anchor(heading) == expected


def test_readme_opens_with_the_two_commands() -> None:
    lines = (REPO / "README.md").read_text(encoding="utf-8").splitlines()
    assert lines[2:6] == [
        "```sh",
        "./dev local   # set up, then run the main job against the built-in local tenant",
        "./dev test    # set up, then run the whole test suite (ruff, mypy --strict, pytest)",
        "```",
    ]
