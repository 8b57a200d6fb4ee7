"""One error hierarchy for expected failures; the CLI maps it to exit codes.

Exit codes (docs/cli.md): 0 ok, 1 an expected failure, 2 changes present
(only where a command documents it), 3 an internal error, 130 interrupted.
Anything not derived from :class:`Auth0ActionsError` is a bug and is
reported as such (exit 3).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_CHANGES = 2
EXIT_INTERNAL = 3
EXIT_INTERRUPTED = 130


@dataclass(frozen=True)
class Location:
    """Where a problem is: file, 1-based line and column, dotted key path."""

    file: Path | None = None
    line: int | None = None
    column: int | None = None
    key: str | None = None

    def __str__(self) -> str:
        parts = [str(self.file) if self.file else "<input>"]
        if self.line is not None:
            parts.append(str(self.line))
            if self.column is not None:
                parts.append(str(self.column))
        where = ":".join(parts)
        return f"{where}: {self.key}" if self.key else where


@dataclass(frozen=True)
class Problem:
    """One finding, e.g. one invalid key in tenant.yaml."""

    location: Location
    message: str

    def __str__(self) -> str:
        return f"{self.location}: {self.message}"

    def as_dict(self) -> dict[str, object]:
        loc = self.location
        return {
            "file": str(loc.file) if loc.file else None,
            "line": loc.line,
            "column": loc.column,
            "key": loc.key,
            "message": self.message,
        }


class Auth0ActionsError(Exception):
    """An expected failure: bad input, a failed check, an unreachable tenant."""

    exit_code = EXIT_ERROR

    def __init__(self, message: str, problems: list[Problem] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.problems: list[Problem] = problems or []

    def __str__(self) -> str:
        if not self.problems:
            return self.message
        lines = [self.message, *(f"  {p}" for p in self.problems)]
        return "\n".join(lines)


class ConfigError(Auth0ActionsError):
    """tenant.yaml (or another input file) is malformed or invalid."""


class RenderError(Auth0ActionsError):
    """A template failed to render, or its output failed a check."""


class StaleRenderError(Auth0ActionsError):
    """Committed files under actions/ differ from a fresh render."""


class NodeError(Auth0ActionsError):
    """No usable Node runtime, or Node itself failed."""


class SecretError(Auth0ActionsError):
    """A secret is missing from the environment (never shows the value)."""


class TenantError(Auth0ActionsError):
    """The tenant refused a request or could not be reached.

    ``status`` is the HTTP status (None when no answer arrived) and
    ``error_code`` Auth0's ``errorCode`` when it sent one. The message never
    carries a token or a secret value.
    """

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        error_code: str | None = None,
        auth0_message: str | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.error_code = error_code
        self.auth0_message = auth0_message

    @property
    def not_found(self) -> bool:
        return self.status == 404
