"""A diploma's life as commands: ``cpdgen submit`` and ``cpdgen issue``.

``submit`` records the day a member submitted a diploma for validation in
``portfolio.yaml`` and freezes the record as it stood that day in a lock
(:mod:`cpdgen.lock`). ``issue`` records the day the IBMS validated and issued it, and opens
the next diploma on that day, as the IBMS does. Both edit ``portfolio.yaml`` in place, one
line at a time, so its comments and layout stay as the member wrote them, and both check
the result before writing anything.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import date
from functools import partial
from pathlib import Path

from cpdgen import rules
from cpdgen.fsutil import atomic_write_bytes, write_new_file
from cpdgen.lock import Lock, file_sha256, lock_file, make_lock, render_lock
from cpdgen.portfolio import Portfolio, resolve_as_of
from cpdgen.problems import CpdgenError, ReadError
from cpdgen.rules import describe_needs
from cpdgen.words import plural


@dataclass(frozen=True)
class Submitted:
    diploma: rules.DiplomaAssessment
    lock: Lock | None
    files: tuple[str, ...]  # written, relative to the portfolio root


@dataclass(frozen=True)
class Issued:
    diploma: str
    on: date
    next_diploma: str | None  # opened by this command, or None when already listed
    files: tuple[str, ...]


# --- editing portfolio.yaml -------------------------------------------------------------------

_KEY = re.compile(r"^(?P<lead>[ \t]*(?:-[ \t]+)?)(?P<key>[A-Za-z_]+)[ \t]*:")
_BREAK = re.compile(r"(\r\n|\r|\n|\x85|\u2028|\u2029)")  # what YAML counts as a line break


def _code_and_comment(line: str) -> tuple[str, str]:
    """A YAML line split where its comment starts (a ``#`` after a space, outside quotes)."""
    quote = ""
    for i, char in enumerate(line):
        if quote:
            if char == quote:
                quote = ""  # a doubled '' inside single quotes closes and reopens: the same
            elif char == "\\" and quote == '"':
                continue
        elif char in "\"'":
            quote = char
        elif char == "#" and (i == 0 or line[i - 1] in " \t"):
            return line[:i], line[i:]
    return line, ""


def _quoted_positions(code: str) -> set[int]:
    """The positions in ``code`` inside quoted strings, the quotes included."""
    inside: set[int] = set()
    quote, escaped = "", False
    for i, char in enumerate(code):
        if quote:
            inside.add(i)
            if escaped:
                escaped = False
            elif char == "\\" and quote == '"':
                escaped = True
            elif char == quote:
                quote = ""
        elif char in "\"'":
            quote = char
            inside.add(i)
    return inside


def _unquoted(code: str, wanted: str) -> list[int]:
    """Where each character of ``wanted`` stands in ``code`` outside quoted strings."""
    quoted = _quoted_positions(code)
    return [i for i, char in enumerate(code) if char in wanted and i not in quoted]


class YamlEdit:
    """``portfolio.yaml``'s text, changed a line at a time where the parser says each key is.

    Each line keeps its own line ending (a file may mix them) and a byte-order mark stays.
    What the edit means is checked afterwards (:func:`_check_edit`): a layout this cannot
    edit exactly is refused, never written wrong.
    """

    def __init__(self, text: str, lines: dict, path: str):
        self.bom = text.startswith("\ufeff")
        parts = _BREAK.split(text[1:] if self.bom else text)
        self.lines = parts[0::2]
        self.ends = [*parts[1::2], ""]  # each line's own ending; the last line may have none
        endings = [end for end in self.ends if end]
        self.newline = max(set(endings), key=endings.count) if endings else "\n"
        self.keys = dict(lines)  # (key, index, key) -> line, as the loader recorded them
        self.path = path

    def text(self) -> str:
        return ("\ufeff" if self.bom else "") + "".join(
            line + end for line, end in zip(self.lines, self.ends, strict=True)
        )

    def _refuse(self, what: str) -> CpdgenError:
        return CpdgenError(
            f"cpdgen cannot edit {self.path} here ({what}); add the dates by hand, as "
            "docs/reference/portfolio-yaml.md shows, then run the command again"
        )

    def _insert(self, row: int, new: list[str]) -> None:
        """Lines put before 0-based ``row``; every key below moves down."""
        if row == len(self.lines) or (row > 0 and not self.ends[row - 1]):
            self.ends[row - 1] = self.ends[row - 1] or self.newline  # the last line gains an ending
            ends = [self.newline] * (len(new) - 1) + [""] if row == len(self.lines) else [self.newline] * len(new)
        else:
            ends = [self.newline] * len(new)
        self.lines[row:row] = new
        self.ends[row:row] = ends
        self.keys = {loc: line + len(new) if line - 1 >= row else line for loc, line in self.keys.items()}

    def set_diploma_date(self, index: int, key: str, day: date) -> None:
        """Give diploma ``index`` its ``key`` date, on its own line (or inside its ``{…}``)."""
        value = day.isoformat()
        existing = self.keys.get(("diplomas", index, key))
        if existing is not None:
            row = existing - 1
            code, comment = _code_and_comment(self.lines[row])
            quoted = _quoted_positions(code)
            keys = re.finditer(rf"(?:^|(?<=[\s{{,-])){key}[ \t]*:", code)
            colon = next((m.end() for m in keys if m.start() not in quoted), None)
            if colon is None:
                raise self._refuse(f"its '{key}' line")
            stops = [i for i in _unquoted(code, ",}") if i >= colon]
            end = stops[0] if stops else len(code)
            tail = code[end:]
            new = code[:colon] + " " + value + (" " if tail and tail[0] not in ",}" else "") + tail.lstrip(" \t")
            if comment and not new.endswith((" ", "\t")):
                new += " "
            self.lines[row] = new + comment
            return
        own = [line for loc, line in self.keys.items() if loc[:2] == ("diplomas", index) and len(loc) == 3]
        if not own:
            raise self._refuse("a diploma with no keys")
        first, last = min(own) - 1, max(own) - 1
        code, comment = _code_and_comment(self.lines[last])
        if _unquoted(_code_and_comment(self.lines[first])[0], "{"):
            closes = _unquoted(code, "}")
            if not closes:
                raise self._refuse("a diploma written over several lines in braces")
            close = closes[-1]
            self.lines[last] = f"{code[:close].rstrip()}, {key}: {value}{code[close:]}{comment}"
            return
        match = _KEY.match(self.lines[first])
        if match is None:
            raise self._refuse("an unusual layout")
        indent = " " * len(match.group("lead").expandtabs())
        self._insert(last + 1, [f"{indent}{key}: {value}"])
        self.keys[("diplomas", index, key)] = last + 2  # 1-based, like the parser's

    def add_diploma(self, diploma_id: str, start: date | None, submitted: date | None = None) -> None:
        """Add a diploma at the end of the list (making the list when there is none)."""
        body = [f"id: {diploma_id}"]
        if start is not None:
            body.append(f"start: {start.isoformat()}")
        if submitted is not None:
            body.append(f"submitted: {submitted.isoformat()}")
        if ("diplomas",) not in self.keys:
            while len(self.lines) > 1 and self.lines[-1] == "":
                self.lines.pop()
                self.ends.pop()
            self._insert(len(self.lines), ["diplomas:", f"  - {body[0]}", *[f"    {b}" for b in body[1:]], ""])
            return
        header = self.lines[self.keys[("diplomas",)] - 1]
        if _unquoted(_code_and_comment(header)[0], "["):
            raise self._refuse("diplomas written on one line")
        entries = sorted({loc[1] for loc in self.keys if loc[:1] == ("diplomas",) and len(loc) >= 2})
        if not entries:
            raise self._refuse("an empty list of diplomas")
        lines = [line for loc, line in self.keys.items() if loc[:2] == ("diplomas", entries[-1]) and len(loc) >= 3]
        if not lines:
            raise self._refuse("an unusual layout")
        first_key = min(lines) - 1
        row = first_key
        while row >= 0 and not _code_and_comment(self.lines[row])[0].lstrip().startswith("-"):
            row -= 1  # the item's dash: on the key's line, or alone on a line above it
        if row < 0:
            raise self._refuse("an unusual layout")
        dash_line = self.lines[row]
        lead = dash_line[: len(dash_line) - len(dash_line.lstrip())]
        if row == first_key:  # "- id: …" or "- {id: …}": the keys line up after the dash
            after_dash = re.match(r"^[ \t]*-[ \t]+", dash_line)
            column = len(after_dash.group().expandtabs()) if after_dash else len(lead) + 2
        else:  # a dash alone on its line: the keys' own indentation
            column = len(self.lines[first_key]) - len(self.lines[first_key].lstrip())
        gap = max(1, column - len(lead.expandtabs()) - 1)
        indent = " " * column
        self._insert(max(lines), [f"{lead}-{' ' * gap}{body[0]}", *[f"{indent}{b}" for b in body[1:]]])


def _settings_text(portfolio: Portfolio) -> tuple[Path, str]:
    path = portfolio.content / "portfolio.yaml"
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise CpdgenError(f"cannot read content/portfolio.yaml: {exc.strerror or exc}") from None
    try:
        return path, data.decode("utf-8")
    except UnicodeDecodeError:
        raise CpdgenError("content/portfolio.yaml is not UTF-8 text; save it as UTF-8") from None


def _check_edit(original: str, edited: str, change: Callable[[dict], None]) -> None:
    """The edited settings must mean exactly the original plus ``change``, and load cleanly.

    Comments and layout are the member's; an edit that changed anything else (a date put in
    a comment, an id altered) is refused before it is written.
    """
    from cpdgen.frontmatter import parse_yaml
    from cpdgen.models import PortfolioFile, check_diplomas

    refused = CpdgenError(
        "cpdgen cannot edit content/portfolio.yaml exactly here (its layout is unusual); nothing was written. "
        "Add the dates by hand, as docs/reference/portfolio-yaml.md shows, then run the command again"
    )
    try:
        before = parse_yaml(original.removeprefix("\ufeff")).data
        after = parse_yaml(edited.removeprefix("\ufeff")).data
    except ReadError:
        raise refused from None
    expected = copy.deepcopy(before)
    if not isinstance(expected, dict):
        raise refused
    change(expected)
    if after != expected:
        raise refused
    try:
        settings = PortfolioFile.model_validate(after)
    except ValueError:  # pydantic's ValidationError is a ValueError
        raise refused from None
    problems = check_diplomas(settings.diplomas)
    if problems:
        _, _, message = problems[0]
        raise CpdgenError(f"that would make content/portfolio.yaml wrong: {message}; nothing was written")


def _loaded(root: Path) -> Portfolio:
    from cpdgen.loader import load_portfolio

    portfolio = load_portfolio(root)
    if portfolio.setup_failed or portfolio.settings is None or portfolio.diplomas is None:
        raise CpdgenError("content/portfolio.yaml has errors: fix what 'cpdgen check' reports first")
    return portfolio


def _errors(portfolio: Portfolio) -> list[str]:
    return sorted({p.path for p in portfolio.problems if p.severity == "error"})


# --- submit ----------------------------------------------------------------------------------


def submit(root: Path, diploma_id: str | None, on: date | None, with_lock: bool = True) -> Submitted:
    """Record ``diploma_id`` (default: the open one) as submitted for validation ``on`` (default: today)."""
    portfolio = _loaded(root)
    today = resolve_as_of(portfolio.timezone, None)
    if on is not None and on > today:
        raise CpdgenError(f"{on.isoformat()} is in the future: give the day you submitted it (today or before)")
    listed = list(portfolio.diplomas or [])
    periods = rules.effective_diplomas(listed, today)
    if diploma_id is None:
        open_ones = [d for d in periods if d.submitted is None]
        unlocked = [d for d in periods if d.submitted is not None and d.id not in portfolio.frozen]
        if not open_ones and not unlocked:
            raise CpdgenError("every diploma is already submitted and locked")
        diploma_id = open_ones[0].id if open_ones else unlocked[-1].id
    index = next((n for n, d in enumerate(periods) if d.id == diploma_id), None)
    if index is None:
        names = ", ".join(d.id for d in periods)
        raise CpdgenError(f"there is no diploma '{diploma_id}' (diplomas: {names})")
    diploma = periods[index]
    written = listed[index].submitted if index < len(listed) else None
    if written is not None and written > today:
        raise CpdgenError(
            f"content/portfolio.yaml already gives {diploma.id} a submission date in the future "
            f"({written.isoformat()}); correct it first"
        )
    if index > 0 and periods[index - 1].submitted is None:
        raise CpdgenError(f"submit {periods[index - 1].id} first: diplomas are submitted in order")
    day = on or diploma.submitted or today
    lock_path = lock_file(portfolio.content, diploma.id)
    lock_rel = lock_path.relative_to(portfolio.root).as_posix()
    if diploma.submitted is not None:
        if portfolio.frozen.get(diploma.id) is not None or lock_path.exists():
            raise CpdgenError(
                f"{diploma.id} was already submitted on {diploma.submitted.isoformat()}, and {lock_rel} keeps it"
            )
        if not with_lock:
            raise CpdgenError(f"{diploma.id} is already recorded as submitted on {diploma.submitted.isoformat()}")
        if on is not None and on != diploma.submitted:
            raise CpdgenError(
                f"{diploma.id} is recorded as submitted on {diploma.submitted.isoformat()}, not {on.isoformat()}; "
                "to lock it, run the command without --on"
            )
    if diploma.start is not None and day < diploma.start:
        raise CpdgenError(f"{diploma.id} starts on {diploma.start.isoformat()}: it cannot be submitted before that")
    if index > 0:
        before = periods[index - 1]
        last = before.issued or before.submitted
        if last is not None and day < last:
            raise CpdgenError(f"{before.id} was submitted or issued on {last.isoformat()}: give a later day")
    if with_lock and lock_path.exists():
        raise CpdgenError(
            f"{lock_rel} already exists, though {diploma.id} is not recorded as submitted; if it is right, add "
            f"'submitted:' to {diploma.id} in content/portfolio.yaml, otherwise move it away yourself"
        )

    # The diploma as it stood on that day: judged with the submission recorded.
    changed = [replace(d, submitted=day) if d.id == diploma.id else d for d in periods if not d.assumed]
    if diploma.assumed:
        changed.append(replace(diploma, submitted=day, assumed=False))
    assessment = rules.assess(changed, portfolio.entries(), today, portfolio.frozen)
    judged = next(d for d in assessment.diplomas if d.id == diploma.id)

    lock = None
    if with_lock:
        broken = _errors(portfolio)
        if broken:
            raise CpdgenError(
                f"{plural(len(broken), 'file has', 'files have')} errors ({', '.join(broken[:3])}"
                f"{', …' if len(broken) > 3 else ''}): fix what 'cpdgen check' reports first, so the lock keeps "
                "the record as it really is"
            )
        if not judged.eligible:
            raise CpdgenError(
                f"{diploma.id} is not eligible on {day.isoformat()}: it needs {describe_needs(judged)}. The IBMS "
                "validates only an eligible diploma. To record a diploma you submitted before keeping this record, "
                "use --no-lock"
            )
        activities = {a.id: a for a in portfolio.activities}
        hasher = partial(file_sha256, content=portfolio.content)
        lock = make_lock(lock_rel, judged, activities, portfolio.texts, portfolio.root, hasher)

    files: list[str] = []
    settings_path, text = _settings_text(portfolio)
    edit = YamlEdit(text, portfolio.settings_lines, "content/portfolio.yaml")
    if diploma.submitted is None:
        iso = day.isoformat()
        if diploma.assumed or not listed:
            edit.add_diploma(diploma.id, diploma.start, day)
            entry = {
                "id": diploma.id,
                **({"start": diploma.start.isoformat()} if diploma.start else {}),
                "submitted": iso,
            }

            def change(data: dict) -> None:
                data.setdefault("diplomas", [])
                data["diplomas"] = [*(data["diplomas"] or []), entry]

        else:
            edit.set_diploma_date(index, "submitted", day)

            def change(data: dict) -> None:
                data["diplomas"][index]["submitted"] = iso

        _check_edit(text, edit.text(), change)

    if lock is not None:
        lock_path.parent.mkdir(parents=True, exist_ok=True)
        write_new_file(lock_path, render_lock(lock).encode("utf-8"))
        files.append(lock_rel)
    if diploma.submitted is None:
        try:
            atomic_write_bytes(settings_path, edit.text().encode("utf-8"))
        except OSError:
            if lock is not None:
                lock_path.unlink(missing_ok=True)  # ours, written a moment ago: no lock without its date
            raise
        files.insert(0, "content/portfolio.yaml")
    return Submitted(judged, lock, tuple(files))


# --- issue -------------------------------------------------------------------------------------


def issue(root: Path, diploma_id: str | None, on: date) -> Issued:
    """Record ``diploma_id`` (default: the submitted one) as validated and issued ``on``; open the next."""
    portfolio = _loaded(root)
    today = resolve_as_of(portfolio.timezone, None)
    if on > today:
        raise CpdgenError(f"{on.isoformat()} is in the future: give the day the IBMS issued it (today or before)")
    listed = list(portfolio.diplomas or [])
    if diploma_id is None:
        waiting = [d for d in listed if d.submitted is not None and d.issued is None]
        if not waiting:
            raise CpdgenError("no diploma is submitted and waiting to be issued; submit one first (cpdgen submit)")
        diploma_id = waiting[0].id
    index = next((n for n, d in enumerate(listed) if d.id == diploma_id), None)
    if index is None:
        raise CpdgenError(f"there is no diploma '{diploma_id}' in content/portfolio.yaml")
    diploma = listed[index]
    if diploma.submitted is None:
        raise CpdgenError(f"{diploma.id} is not submitted yet: cpdgen submit {diploma.id} first")
    if diploma.issued is not None:
        raise CpdgenError(f"{diploma.id} was already issued on {diploma.issued.isoformat()}")
    if on < diploma.submitted:
        raise CpdgenError(
            f"{diploma.id} was submitted on {diploma.submitted.isoformat()}: it cannot be issued before that"
        )
    settings_path, text = _settings_text(portfolio)
    edit = YamlEdit(text, portfolio.settings_lines, "content/portfolio.yaml")
    edit.set_diploma_date(index, "issued", on)
    next_id = None
    if index == len(listed) - 1:
        taken = {d.id for d in listed}
        n = len(listed) + 1
        while f"diploma-{n}" in taken:
            n += 1
        next_id = f"diploma-{n}"
        edit.add_diploma(next_id, on)

    def change(data: dict) -> None:
        data["diplomas"][index]["issued"] = on.isoformat()
        if next_id is not None:
            data["diplomas"].append({"id": next_id, "start": on.isoformat()})

    _check_edit(text, edit.text(), change)
    atomic_write_bytes(settings_path, edit.text().encode("utf-8"))
    return Issued(diploma.id, on, next_id, ("content/portfolio.yaml",))
