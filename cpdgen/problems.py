"""Problems found in a portfolio, and the two kinds of failure cpdgen knows."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Literal

Severity = Literal["error", "warning"]


class CpdgenError(Exception):
    """A mistake of the user's or of their set-up: shown as a message, never a traceback.

    ``exit_code`` is 2 for usage and set-up errors (the SPEC's convention) and 1 when
    the content itself failed.
    """

    def __init__(self, message: str, exit_code: int = 2):
        super().__init__(message)
        self.message = message
        self.exit_code = exit_code


@dataclass(frozen=True, order=True)
class Problem:
    """One thing wrong with one place in the portfolio."""

    path: str  # relative to the portfolio root, with forward slashes
    line: int | None
    severity: Severity
    code: str
    message: str
    column: int | None = None
    # False when the place is not published by the site (a private or draft activity, or a
    # part the member chose not to publish): the site build may go ahead despite it.
    publishes: bool = True

    def sort_key(self) -> tuple:
        return (self.path, self.line or 0, self.column or 0, self.code, self.message)

    def to_dict(self) -> dict:
        return {
            "severity": self.severity,
            "code": self.code,
            "file": self.path,
            "line": self.line,
            "column": self.column,
            "message": self.message,
            "publishes": self.publishes,
        }


def sort_problems(problems: Iterable[Problem]) -> list[Problem]:
    """Problems in reading order: by file, then line, then column; duplicates dropped."""
    return sorted(set(problems), key=Problem.sort_key)


def has_errors(problems: Iterable[Problem], strict: bool = False) -> bool:
    """True when any problem fails a check (warnings count only under ``strict``)."""
    return any(p.severity == "error" or strict for p in problems)


def blocks_publishing(problems: Iterable[Problem], strict: bool = False) -> list[Problem]:
    """The problems that must stop a site build: errors (and, under ``strict``, warnings) in published places."""
    return [p for p in problems if p.publishes and (p.severity == "error" or strict)]


def format_text(problem: Problem) -> str:
    """``path:line: severity: message [code]``, the form editors and CI logs understand."""
    where = problem.path
    if problem.line is not None:
        where += f":{problem.line}"
        if problem.column is not None:
            where += f":{problem.column}"
    return f"{where}: {problem.severity}: {problem.message} [{problem.code}]"


def _escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(text: str) -> str:
    return _escape_data(text).replace(":", "%3A").replace(",", "%2C")


def format_github(problem: Problem) -> str:
    """A GitHub Actions workflow command, so the problem shows on the pull request's line."""
    props = [f"file={_escape_property(problem.path)}"]
    if problem.line is not None:
        props.append(f"line={problem.line}")
        if problem.column is not None:
            props.append(f"col={problem.column}")
    props.append(f"title={_escape_property(problem.code)}")
    return f"::{problem.severity} {','.join(props)}::{_escape_data(problem.message)}"
