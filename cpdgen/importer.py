"""``cpdgen import``: activity files from a CSV, so nobody retypes two years of CPD.

It reads cpdgen's own CSV (a round trip) and other ePortfolio exports, whose headers are
matched by common names (case and punctuation ignored) or named with ``--map``. Each row
becomes ``content/activities/<year>/<date>-<slug>.md`` with a ``## Reflection`` section,
checked with the same models as ``cpdgen check`` before it is written. It never
overwrites a file, and it reports each row it could not import with its row number
(as a spreadsheet numbers it: the header is row 1) and why.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from pydantic import ValidationError

from cpdgen import categories
from cpdgen.csvfile import COLUMNS, NOTE_PATTERN, format_hours, normalise_text, unneutralise
from cpdgen.csvread import (
    decode_csv,
    map_columns,
    normalise_header,
    parse_day,
    parse_flag,
    parse_hours,
    parse_maps,
    parse_standards,
    read_rows,
    split_list,
)
from cpdgen.frontmatter import parse_yaml, split
from cpdgen.fsutil import is_ignored
from cpdgen.models import ActivityFrontMatter
from cpdgen.portfolio import slugify
from cpdgen.problems import CpdgenError, Problem, ReadError, RowError
from cpdgen.sections import split_reflection

MAX_CSV_BYTES = 20_000_000
_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")


@dataclass
class Outcome:
    """What happened to one row."""

    row: int
    status: str  # "written", "would-write", "skipped", "failed"
    message: str
    paths: tuple[str, ...] = ()
    warnings: list[str] = field(default_factory=list)


@dataclass
class ImportResult:
    outcomes: list[Outcome]
    notes: list[str]  # about the whole file: encoding, columns not imported
    dry_run: bool

    def count(self, status: str) -> int:
        return sum(o.status == status for o in self.outcomes)

    @property
    def failed(self) -> int:
        return self.count("failed")


@dataclass
class Planned:
    """An activity ready to be written."""

    row: int
    activity_id: str
    year: int
    text: str
    reflection_text: str | None  # a separate reflection file, when the reflection has its own sections
    title: str
    day: date
    warnings: list[str]
    identity: tuple
    conflict: str | None = None  # the file (or row) that already uses this id


def _yaml_string(text: str) -> str:
    # A JSON string is a valid YAML double-quoted scalar: every value quoted, so nothing is retyped.
    return json.dumps(text, ensure_ascii=False)


def _yaml_list(items: list[str]) -> str:
    return "[" + ", ".join(_yaml_string(item) for item in items) + "]"


def compose(front: dict, description: str, reflection: str | None) -> str:
    """The text of an activity file: front matter in a fixed order, description, reflection."""
    lines = ["---", f"title: {_yaml_string(front['title'])}", f"date: {front['date'].isoformat()}"]
    if front.get("start"):
        lines.append(f"start: {front['start'].isoformat()}")
    if front.get("category"):
        lines.append(f"category: {front['category']}")
    if front.get("type"):
        lines.append(f"type: {front['type']}")
    if front.get("hours") is not None:
        lines.append(f"hours: {format_hours(front['hours'])}")
    for key in ("tags", "evidence"):
        if front.get(key):
            lines.append(f"{key}: {_yaml_list(front[key])}")
    if front.get("standards"):
        lines.append(f"standards: [{', '.join(str(s) for s in front['standards'])}]")
    for key in ("private", "draft"):
        if front.get(key):
            lines.append(f"{key}: true")
    lines.append("---")
    body = description + "\n" if description else ""
    if reflection is not None:
        body += ("\n" if description else "") + "## Reflection\n" + (reflection + "\n" if reflection else "")
    return "\n".join(lines) + "\n" + body


def validate_text(text: str) -> str | None:
    """None when the file would pass ``cpdgen check``'s model; else the first problem."""
    try:
        document = split(text)
        front = parse_yaml(document.front_matter or "", document.front_matter_line + 1)
        ActivityFrontMatter.model_validate(front.data)
    except ReadError as exc:
        return exc.message
    except ValidationError as exc:
        error = exc.errors(include_url=False, include_input=False)[0]
        return f"{'.'.join(str(p) for p in error['loc'])}: {error['msg']}" if error["loc"] else error["msg"]
    return None


class Importer:
    """Turns rows into planned files; knows the portfolio's existing ids and what it has planned."""

    def __init__(self, root: Path, mapping: dict[int, str], own_format: bool):
        self.root = root
        self.content = root / "content"
        self.mapping = mapping
        self.own_format = own_format
        self.taken: dict[str, str] = self._existing_ids()  # id casefolded -> where
        self.seen: dict[tuple, int] = {}

    def _existing_ids(self) -> dict[str, str]:
        found: dict[str, str] = {}
        folder = self.content / "activities"
        if folder.is_dir():
            for dirpath, dirnames, filenames in os.walk(folder):
                dirnames.sort()
                for name in sorted(filenames):
                    if not name.endswith(".md") or is_ignored(name):
                        continue
                    path = Path(dirpath) / name
                    activity_id = path.parent.name if name == "index.md" else path.stem
                    found.setdefault(slugify(activity_id).casefold(), path.relative_to(self.root).as_posix())
        return found

    def cells(self, cells: list[str]) -> dict[str, str]:
        values: dict[str, list[str]] = {}
        for index, target in self.mapping.items():
            value = unneutralise(cells[index]) if index < len(cells) else ""
            values.setdefault(target, []).append(normalise_text(value))
        return {k: "\n\n".join(v for v in vs if v) for k, vs in values.items()}

    def plan(self, number: int, cells: list[str]) -> Planned:
        values = self.cells(cells)
        warnings: list[str] = []
        title = " ".join(values.get("title", "").split())
        if not title:
            raise RowError("it has no title")
        if not values.get("date", "").strip():
            raise RowError("it has no date")
        day = parse_day(values["date"], "date")
        start = parse_day(values["start"], "start date") if values.get("start", "").strip() else None
        if start and start > day:
            raise RowError(f"the start date ({start}) is after the date ({day})")
        if start == day:
            start = None
        description = values.get("description", "")
        category, type_id = self._category(values, warnings)
        if type_id is None and values.get("type", "").strip():
            description = _append(description, f"Activity type (imported): {values['type'].strip()}")
        evidence, unresolved = self._evidence(values.get("evidence", ""), day.year)
        if unresolved:
            warnings.append(
                f"evidence {', '.join(repr(e) for e in unresolved)} not found in content/; listed in the description. "
                "Copy the files into content/evidence/ and add them to 'evidence:'"
            )
            description = _append(
                description, "Evidence listed in the imported record:\n" + "\n".join(f"- {e}" for e in unresolved)
            )
        front = {
            "title": title,
            "date": day,
            "start": start,
            "category": category,
            "type": type_id,
            "hours": parse_hours(values.get("hours", "")),
            "tags": split_list(values.get("tags", "")),
            "evidence": evidence,
            "standards": parse_standards(values.get("standards", "")),
            "private": parse_flag(values.get("private", ""), "private"),
            "draft": parse_flag(values.get("draft", ""), "draft"),
        }
        reflection = values.get("reflection", "")
        identity = tuple(sorted(values.items()))  # a row identical to an earlier one, cell for cell
        if identity in self.seen:
            raise _Skip(f"the same activity as row {self.seen[identity]}")
        activity_id, text, reflection_text = self._choose_id(
            values.get("id", ""), front, description, reflection, warnings
        )
        problem = validate_text(text)
        if problem:
            raise RowError(problem)
        self.seen[identity] = number
        key = slugify(activity_id).casefold()
        conflict = self.taken.get(key)
        self.taken.setdefault(key, f"row {number}")
        return Planned(number, activity_id, day.year, text, reflection_text, title, day, warnings, identity, conflict)

    def _category(self, values: dict[str, str], warnings: list[str]) -> tuple[str | None, str | None]:
        raw_category = " ".join(values.get("category", "").split())
        raw_type = " ".join(values.get("type", "").split())
        type_id = categories.resolve_type(raw_type) if raw_type else None
        category = categories.resolve_category(raw_category) if raw_category else None
        if raw_category and category is None:
            as_type = categories.resolve_type(raw_category)
            if as_type is None:
                guess = categories.suggest_category(raw_category)
                known = ", ".join(c.id for c in categories.CATEGORIES)
                hint = f"; did you mean '{guess}'?" if guess else f"; use one of: {known}"
                raise RowError(f"category '{raw_category}' is not a CPD category{hint}")
            type_id = type_id or as_type
            category = categories.TYPE_BY_ID[as_type].category
        if raw_type and type_id is None:
            warnings.append(f"activity type '{raw_type}' is not one cpdgen knows; kept in the description")
        if category is None and type_id is None:
            raise RowError("it has no category")
        if type_id and category == categories.TYPE_BY_ID[type_id].category:
            category = None  # the type says it
        return category, type_id

    def _evidence(self, text: str, year: int) -> tuple[list[str], list[str]]:
        lines = [line.strip() for line in text.split("\n") if line.strip()]
        if len(lines) == 1 and ";" in lines[0] and not re.fullmatch(r"https://\S+", lines[0]):
            lines = [part.strip() for part in lines[0].split(";") if part.strip()]
        kept: list[str] = []
        unresolved: list[str] = []
        folder = self.content / "activities" / str(year)
        for ref in lines:
            if re.match(r"^https://\S+$", ref):
                kept.append(ref)
                continue
            posix = ref.replace("\\", "/")
            safe = not re.match(r"^[A-Za-z][A-Za-z0-9+.-]*:", ref) and not posix.startswith(("/", "~"))
            safe = safe and ".." not in posix.split("/")
            found = safe and any(
                (base / posix).is_file() and (base / posix).resolve().is_relative_to(self.content.resolve())
                for base in (folder, self.content / "evidence")
            )
            (kept if found else unresolved).append(ref)
        return kept, unresolved

    def _choose_id(
        self, given: str, front: dict, description: str, reflection: str, warnings: list[str]
    ) -> tuple[str, str, str | None]:
        """The id (the file name) and the file texts. A generated id skips ids in use, unless the
        file there is exactly this activity (imported before)."""
        given = given.strip()
        if given and (not _ID.match(given) or given == "index"):
            warnings.append(f"id '{given}' cannot be a file name; a new one is made from the date and title")
            given = ""
        day: date = front["date"]
        if given:
            return (given, *self._texts(front, description, reflection, given))
        words = slugify(front["title"])
        if len(words) > 60:
            words = words[:60].rsplit("-", 1)[0] if "-" in words[:60] else words[:60]
        base, n = f"{day.isoformat()}-{words}", 1
        while True:
            candidate = base if n == 1 else f"{base}-{n}"
            text, reflection_text = self._texts(front, description, reflection, candidate)
            owner = self.taken.get(slugify(candidate).casefold())
            target = self.content / "activities" / str(day.year) / f"{candidate}.md"
            if owner is None or (not owner.startswith("row ") and _holds(target, text)):
                return candidate, text, reflection_text
            n += 1

    def _texts(self, front: dict, description: str, reflection: str, activity_id: str) -> tuple[str, str | None]:
        text = compose(front, description, reflection)
        body = split(text).body
        sections = split_reflection(body)
        if sections.extra_headings:
            raise RowError("the description has its own 'Reflection' heading; keep one reflection")
        if (normalise_text(sections.description), sections.reflection or "") == (description, reflection):
            return text, None
        # The reflection has sections of its own (or the description ends with one): keep it in its own file.
        text = compose(front, description, None)
        sections = split_reflection(split(text).body)
        if sections.reflection is not None or normalise_text(sections.description) != description:
            raise RowError("the description has a 'Reflection' heading of its own; rename that heading")
        separate = f"---\nactivity: {_yaml_string(activity_id)}\n---\n{reflection}\n"
        return text, separate


class _Skip(Exception):
    """A row that is already imported: nothing to do, nothing wrong."""


def _append(text: str, extra: str) -> str:
    return f"{text}\n\n{extra}" if text else extra


def import_csv(
    root: Path, csv_path: Path, *, maps: list[str] | None = None, dry_run: bool = False, allow_errors: bool = False
) -> ImportResult:
    """Read ``csv_path`` and write one activity file per row under ``root/content``."""
    content = root / "content"
    if not content.is_dir():
        raise CpdgenError(f"no content/ folder in {root}; run cpdgen in your portfolio's folder, or give --root")
    try:
        if csv_path.exists() and not csv_path.is_file():
            raise CpdgenError(f"cannot read {csv_path}: it is not a file (a folder, pipe or device)")
        with open(csv_path, "rb") as handle:
            data = handle.read(MAX_CSV_BYTES + 1)  # bounded: a file that never ends is stopped here
    except OSError as exc:
        raise CpdgenError(f"cannot read {csv_path}: {exc.strerror or exc}") from None
    if len(data) > MAX_CSV_BYTES:
        raise CpdgenError(
            f"{csv_path} is larger than {MAX_CSV_BYTES:,} bytes; a CPD record that large is not one cpdgen "
            "can import at once: split it into several files (for example one per year)"
        )
    text, notes = decode_csv(data)
    headers, rows = read_rows(text)
    mapping, column_notes = map_columns(headers, parse_maps(maps or [], headers))
    notes += column_notes
    own_format = [normalise_header(h) for h in headers] == list(COLUMNS)
    importer = Importer(root, mapping, own_format)
    outcomes: list[Outcome] = []
    planned: list[Planned] = []
    for number, cells in rows:
        if own_format and not cells[0].strip() and NOTE_PATTERN.match(cells[1].strip() if len(cells) > 1 else ""):
            continue  # the note that ends a public record
        try:
            plan = importer.plan(number, cells)
        except RowError as exc:
            outcomes.append(Outcome(number, "failed", f"not imported: {exc}"))
            continue
        except _Skip as exc:
            outcomes.append(Outcome(number, "skipped", f"skipped: {exc}"))
            continue
        planned.append(plan)
    found = _check_planned(root, planned)
    for plan in planned:
        errors = [p for p in found.get(plan.row, []) if p.severity == "error"]
        plan.warnings += [_problem_text(p) for p in found.get(plan.row, []) if p.severity == "warning"]
        if errors and not allow_errors:
            listed = "; ".join(_problem_text(p) for p in errors)
            outcomes.append(Outcome(plan.row, "failed", f"not imported, as 'cpdgen check' would refuse it: {listed}"))
            continue
        if errors:
            plan.warnings += [f"written with an error (--allow-errors): {_problem_text(p)}" for p in errors]
        outcomes.append(_write(root, plan, dry_run))
    outcomes.sort(key=lambda o: o.row)
    return ImportResult(outcomes, notes, dry_run)


def _target(root: Path, plan: Planned) -> list[tuple[Path, str]]:
    """The files a row becomes: its activity, and its reflection file when it has one."""
    files = [(root / "content" / "activities" / str(plan.year) / f"{plan.activity_id}.md", plan.text)]
    if plan.reflection_text is not None:
        files.append((root / "content" / "reflections" / f"{plan.activity_id}.md", plan.reflection_text))
    return files


def _check_planned(root: Path, planned: list[Planned]) -> dict[int, list[Problem]]:
    """What ``cpdgen check`` would say of each planned file (privacy included), by row."""
    from cpdgen.loader import load_portfolio

    root = root.resolve()
    overlay: dict[Path, str] = {}
    rows: dict[str, int] = {}
    for plan in planned:
        files = _target(root, plan)
        if plan.conflict or any(path.exists() or path.is_symlink() for path, _ in files):
            continue  # _write says why it is not written
        for path, text in files:
            overlay[path] = text
            rows[path.relative_to(root).as_posix()] = plan.row
    if not overlay:
        return {}
    found: dict[int, list[Problem]] = {}
    for problem in load_portfolio(root, overlay=overlay).problems:
        row = rows.get(problem.path)
        if row is not None:
            found.setdefault(row, []).append(problem)
    return found


def _problem_text(problem: Problem) -> str:
    where = f"{problem.path}:{problem.line}" if problem.line else problem.path
    return f"{where}: {problem.message} [{problem.code}]"


def _holds(path: Path, text: str) -> bool:
    try:
        return path.read_text(encoding="utf-8") == text
    except (OSError, UnicodeDecodeError):
        return False


def _write(root: Path, plan: Planned, dry_run: bool) -> Outcome:
    files = _target(root, plan)
    shown = tuple(path.relative_to(root).as_posix() for path, _ in files)
    present = [(path, text) for path, text in files if path.exists() or path.is_symlink()]
    if present:
        if len(present) == len(files) and all(_holds(path, text) for path, text in files):
            return Outcome(plan.row, "skipped", f"skipped: already imported as {shown[0]}", shown)
        where = present[0][0].relative_to(root).as_posix()
        return Outcome(plan.row, "failed", f"not imported: {where} is in the way (cpdgen never overwrites a file)")
    if plan.conflict:
        return Outcome(
            plan.row, "failed", f"not imported: the id '{plan.activity_id}' is already used by {plan.conflict}; "
            "if it is the same activity, leave the row out; otherwise empty its id cell",
        )  # fmt: skip
    if dry_run:
        return Outcome(plan.row, "would-write", f"would write {' and '.join(shown)}", shown, plan.warnings)
    written: list[Path] = []
    try:
        for path, text in files:
            path.parent.mkdir(parents=True, exist_ok=True)
            with open(path, "x", encoding="utf-8", newline="\n") as handle:
                handle.write(text)
            written.append(path)
    except FileExistsError:
        for path in written:  # ours, from a moment ago
            path.unlink()
        return Outcome(plan.row, "failed", "not imported: a file appeared in the way while writing (never overwritten)")
    return Outcome(plan.row, "written", f"wrote {' and '.join(shown)}", shown, plan.warnings)
