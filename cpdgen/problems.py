"""Problems found in a portfolio, how they are printed, every exception cpdgen raises, and exit codes.

The exceptions, all here so the vocabulary is drawn once::

    Exception
     ├── CpdgenError            a member's mistake or set-up: a message, never a traceback;
     │    │                     carries the outcome that decides the exit code
     │    ├── BuildLocked          another build holds the output folder          (usage)
     │    ├── ProblemsFound        problems that stop a record or a PDF; lists them (failed)
     │    ├── RenderFailed         WeasyPrint did not finish: too slow, out of memory (failed)
     │    └── MarkdownTooComplex   a text Python-Markdown would take too long on     (failed)
     ├── ReadError              one file cannot be read as front matter + Markdown; has a
     │                          code, line and column, and becomes a Problem where it is caught
     ├── Refused                a file the PDF may not read (outside content/, too large, …);
     │                          has a code and becomes a Problem
     └── RowError               one CSV row that cannot be imported; reported with its row

Anything else that escapes is a bug in cpdgen. Only ``cli.py`` catches ``CpdgenError`` and
turns it into a message; ``ReadError``, ``Refused`` and ``RowError`` never leave the module
that catches them. A few modules keep a private exception for their own control flow
(``images._Corrupt``, ``importer._Skip``, ``layout._Alarm``); none of them escapes.

Outcomes and exit codes, for every command (``EXIT_CODES``)::

    ok           0   success (for ``check``: content valid and the current diploma eligible)
    failed       1   the check failed: invalid content, or the current diploma not eligible
    usage        2   usage or set-up error: bad option, no content/, unsafe output folder
    interrupted  130 Ctrl-C
    broken-pipe  141 the reader of the output went away
    bug          70  a mistake in cpdgen itself: a message saying so, never a traceback
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

Severity = Literal["error", "warning"]
Outcome = Literal["ok", "failed", "usage", "interrupted", "broken-pipe", "bug"]

EXIT_CODES: dict[Outcome, int] = {
    "ok": 0, "failed": 1, "usage": 2, "interrupted": 130, "broken-pipe": 141, "bug": 70,  # EX_SOFTWARE
}  # fmt: skip


def exit_code(outcome: Outcome) -> int:
    """The process exit code of an outcome: the one map every command uses."""
    return EXIT_CODES[outcome]


class CpdgenError(Exception):
    """A mistake of the user's or of their set-up: shown as a message, never a traceback.

    ``outcome`` is "usage" for usage and set-up errors and "failed" when the content itself failed.
    """

    default_outcome: Outcome = "usage"

    def __init__(self, message: str, outcome: Outcome | None = None):
        super().__init__(message)
        self.message = message
        self.outcome: Outcome = outcome or self.default_outcome

    @property
    def exit_code(self) -> int:
        return exit_code(self.outcome)


class BuildLocked(CpdgenError):
    """Another cpdgen build is writing the same output folder."""


class RenderFailed(CpdgenError):
    """WeasyPrint did not finish: too slow, out of memory, or stopped."""

    default_outcome: Outcome = "failed"


class MarkdownTooComplex(CpdgenError):
    """A text that Python-Markdown would take too long to render."""

    default_outcome: Outcome = "failed"


class ReadError(Exception):
    """A file that cannot be read as front matter plus Markdown; carries where and why."""

    def __init__(self, code: str, message: str, line: int | None = None, column: int | None = None):
        super().__init__(message)
        self.code = code
        self.message = message
        self.line = line
        self.column = column


class Refused(Exception):
    """A file the PDF may not read, with a problem code and a message for the member."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


class RowError(Exception):
    """Why a row of a CSV cannot be imported."""


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
            "file": _UNDECODED.sub("\ufffd", self.path),
            "line": self.line,
            "column": self.column,
            "message": _UNDECODED.sub("\ufffd", self.message),
            "publishes": self.publishes,
        }


class ProblemsFound(CpdgenError):
    """Problems that stop a record from being written (a missing image, a refused file)."""

    default_outcome: Outcome = "failed"

    def __init__(self, problems: Iterable[Problem], outcome: Outcome | None = None):
        self.problems = sort_problems(problems)
        super().__init__("\n".join(format_text(p) for p in self.problems), outcome)


def sort_problems(problems: Iterable[Problem]) -> list[Problem]:
    """Problems in reading order: by file, then line, then column; duplicates dropped."""
    return sorted(set(problems), key=Problem.sort_key)


def has_errors(problems: Iterable[Problem], strict: bool = False) -> bool:
    """True when any problem fails a check (warnings count only under ``strict``)."""
    return any(p.severity == "error" or strict for p in problems)


def blocks_publishing(problems: Iterable[Problem], strict: bool = False) -> list[Problem]:
    """The problems that must stop a site build: errors (and, under ``strict``, warnings) in published places."""
    return [p for p in problems if p.publishes and (p.severity == "error" or strict)]


_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
_UNDECODED = re.compile(r"[\udc80-\udcff]")  # a file name's bytes that were not UTF-8


def printable(text: str) -> str:
    """``text`` with control characters written as escapes (``\\x1b``), so none reaches a terminal
    raw, and the bytes of a file name that were not UTF-8 as U+FFFD, so it can be printed."""
    return _UNDECODED.sub("\ufffd", _CONTROL.sub(lambda m: m.group().encode("unicode_escape").decode("ascii"), text))


def format_text(problem: Problem) -> str:
    """``path:line: severity: message [code]``, the form editors and CI logs understand."""
    where = printable(problem.path)
    if problem.line is not None:
        where += f":{problem.line}"
        if problem.column is not None:
            where += f":{problem.column}"
    return f"{where}: {problem.severity}: {printable(problem.message)} [{problem.code}]"


def _escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(text: str) -> str:
    return _escape_data(text).replace(":", "%3A").replace(",", "%2C")


def format_github(problem: Problem) -> str:
    """A GitHub Actions workflow command, so the problem shows on the pull request's line."""
    props = [f"file={_escape_property(printable(problem.path))}"]
    if problem.line is not None:
        props.append(f"line={problem.line}")
        if problem.column is not None:
            props.append(f"col={problem.column}")
    props.append(f"title={_escape_property(problem.code)}")
    return f"::{problem.severity} {','.join(props)}::{_escape_data(printable(problem.message))}"
