"""``cpdgen import``: activity files from a CSV, so nobody retypes two years of CPD.

It reads cpdgen's own CSV (a round trip) and other ePortfolio exports, whose headers are
matched by common names (case and punctuation ignored) or named with ``--map``. Each row
becomes ``content/activities/<year>/<date>-<slug>.md`` with a ``## Reflection`` section,
checked with the same models as ``cpdgen check`` before it is written. It never
overwrites a file, and it reports each row it could not import with its row number
(as a spreadsheet numbers it: the header is row 1) and why.
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from pydantic import ValidationError
from pydantic_core import PydanticCustomError

from cpdgen import categories
from cpdgen.csvfile import COLUMNS, NOTE_PATTERN, format_hours, normalise_text, unneutralise
from cpdgen.frontmatter import ReadError, parse_yaml, split
from cpdgen.loader import is_ignored, slugify
from cpdgen.models import ActivityFrontMatter, parse_date
from cpdgen.problems import CpdgenError
from cpdgen.sections import split_reflection

MAX_CSV_BYTES = 50_000_000
MAX_CELL_CHARS = 2_000_000  # an activity file may be up to 2 MB
FIELDS = (
    "id", "title", "date", "start", "category", "type", "hours", "tags", "standards",
    "evidence", "private", "draft", "description", "reflection", "ignore",
)  # fmt: skip
TEXT_FIELDS = {"description", "reflection"}  # several columns may feed one, joined by a blank line

# Header names, once lower-cased with punctuation turned to spaces, and the field each means.
HEADER_NAMES: dict[str, tuple[str, ...]] = {
    "id": ("id", "activity id"),
    "title": ("title", "activity", "activity title", "activity name", "name", "cpd activity", "activity undertaken"),
    "date": (
        "date", "date completed", "completed", "completed on", "completion date", "date of completion",
        "date of activity", "activity date", "end date", "date to", "to", "finish date", "date finished",
    ),
    "start": ("start", "start date", "date from", "from", "date started", "started", "from date"),
    "category": ("category", "cpd category", "activity category", "category of activity", "learning category"),
    "type": ("type", "activity type", "type of activity", "pre defined activity", "predefined activity"),
    "hours": ("hours", "duration", "duration hours", "time spent", "time spent hours", "hours spent", "cpd hours"),
    "description": ("description", "details", "activity description", "activity details", "summary", "what did you do"),
    "reflection": (
        "reflection", "reflections", "reflective statement", "reflective account", "reflective notes",
        "learning", "what did you learn", "learning outcomes", "reflection and learning",
    ),
    "tags": ("tags", "tag", "keywords"),
    "evidence": ("evidence", "supporting documents", "supporting evidence", "attachments", "files"),
    "standards": ("standards", "hcpc standards", "cpd standards"),
    "private": ("private",),
    "draft": ("draft",),
    "ignore": ("diploma", "counts", "reason"),  # cpdgen's own judgements: recomputed, never imported
}  # fmt: skip
_HEADER_FIELD = {name: f for f, names in HEADER_NAMES.items() for name in names}
_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")
_MONTHS = {m[:3].lower(): n for n, m in enumerate(
    "January February March April May June July August September October November December".split(), start=1
)}  # fmt: skip
_TIME = r"(?:[ T]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?: ?[AaPp][Mm])?(?:Z|[+-]\d{2}:?\d{2})?)?"


def normalise_header(text: str) -> str:
    return " ".join(re.sub(r"[^a-z0-9]+", " ", text.casefold()).split())


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


# --- reading the CSV --------------------------------------------------------------------------


def decode_csv(data: bytes) -> tuple[str, list[str]]:
    """The text of a CSV file and notes on how it was read: UTF-8 (with or without BOM), UTF-16, or Windows-1252."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16"), []
    if data.startswith(b"PK\x03\x04") or b"\x00" in data[:4096]:
        raise CpdgenError(
            "this is not a CSV file (an Excel workbook or another binary file?); save it as 'CSV UTF-8' first"
        )
    try:
        return data.decode("utf-8-sig"), []
    except UnicodeDecodeError as exc:
        try:
            text = data.decode("cp1252")
        except UnicodeDecodeError:
            raise CpdgenError(
                f"the file is not UTF-8 (byte {exc.start}); save it as 'CSV UTF-8' and import it again"
            ) from None
        return text, ["the file is not UTF-8, so it was read as Windows-1252 (Excel's 'CSV'); check accents"]


def _delimiter(text: str) -> str:
    first = text.split("\n", 1)[0]
    counts = {d: first.count(d) for d in (",", ";", "\t")}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] else ","


def read_rows(text: str) -> tuple[list[str], list[tuple[int, list[str]]]]:
    """Headers and ``(row number, cells)`` of every non-empty row; the header is row 1."""
    csv.field_size_limit(max(csv.field_size_limit(), MAX_CELL_CHARS))  # long reflections are normal
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=_delimiter(text))
    try:
        records = list(reader)
    except csv.Error as exc:
        raise CpdgenError(f"the file is not a readable CSV: {exc}") from None
    if not records or not any(cell.strip() for cell in records[0]):
        raise CpdgenError("the file has no header row: the first row must name the columns (Title, Date, …)")
    headers = [h.strip() for h in records[0]]
    rows = [(n, cells) for n, cells in enumerate(records[1:], start=2) if any(c.strip() for c in cells)]
    return headers, rows


def parse_maps(maps: list[str], headers: list[str]) -> dict[str, str]:
    """``--map COLUMN=FIELD`` options as {normalised header: field}; a CpdgenError for a bad one."""
    known = {normalise_header(h): h for h in headers}
    result: dict[str, str] = {}
    for item in maps:
        column, sep, target = item.rpartition("=")
        if not sep or not column.strip():
            raise CpdgenError(f"--map '{item}' should be COLUMN=FIELD, e.g. --map 'Date completed=date'")
        target = target.strip().lower()
        if target not in FIELDS:
            raise CpdgenError(f"--map '{item}': '{target}' is not a field; use one of: {', '.join(FIELDS)}")
        key = normalise_header(column)
        if key not in known:
            raise CpdgenError(f"--map '{item}': there is no column '{column.strip()}' (columns: {', '.join(headers)})")
        result[key] = target
    return result


def map_columns(headers: list[str], maps: dict[str, str]) -> tuple[dict[int, str], list[str]]:
    """{column index: field}, and notes on columns left out. A CpdgenError when a field is ambiguous or missing."""
    mapping: dict[int, str] = {}
    notes: list[str] = []
    for index, header in enumerate(headers):
        key = normalise_header(header)
        target = maps.get(key) or _HEADER_FIELD.get(key)
        if target is None:
            if header:
                notes.append(f"column '{header}' is not imported; to keep it, add --map '{header}=FIELD'")
            continue
        if target != "ignore":
            mapping[index] = target
    by_field: dict[str, list[str]] = {}
    for index, target in mapping.items():
        by_field.setdefault(target, []).append(headers[index])
    for target, columns in by_field.items():
        if len(columns) > 1 and target not in TEXT_FIELDS:
            choices = " ".join(f"--map '{c}={'ignore' if i else target}'" for i, c in enumerate(columns))
            raise CpdgenError(
                f"columns {', '.join(repr(c) for c in columns)} all look like the {target}; choose one, e.g. {choices}"
            )
    missing = [name for name in ("title", "date") if name not in by_field]
    if "category" not in by_field and "type" not in by_field:
        missing.append("category")
    if missing:
        fields = " and ".join(missing) if len(missing) < 3 else "title, date and category"
        example = " ".join(f"--map 'COLUMN={name}'" for name in missing)
        raise CpdgenError(
            f"no column holds the activity's {fields} (columns: {', '.join(headers)}); name them with {example}"
        )
    return mapping, notes


# --- one row ------------------------------------------------------------------------------------


class RowError(Exception):
    """Why a row cannot be imported."""


def parse_day(text: str, what: str) -> date:
    """A date written as YYYY-MM-DD, DD/MM/YYYY (day first, as in the UK) or 21 March 2024."""
    value = text.strip()
    iso = re.fullmatch(r"(\d{4})-(\d{1,2})-(\d{1,2})" + _TIME, value)
    uk = re.fullmatch(r"(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})" + _TIME, value)
    words = re.fullmatch(r"(\d{1,2})(?:st|nd|rd|th)?[ -]([A-Za-z]{3,9})\.?,?[ -](\d{4})" + _TIME, value)
    if iso:
        year, month, day = iso.groups()
    elif uk:
        day, month, year = uk.groups()
    elif words and words.group(2)[:3].lower() in _MONTHS:
        day, month, year = words.group(1), str(_MONTHS[words.group(2)[:3].lower()]), words.group(3)
    elif re.fullmatch(r"\d{1,2}[/.-]\d{1,2}[/.-]\d{2}" + _TIME, value):
        raise RowError(f"{what} '{value}' has a two-digit year; write the year in full, e.g. 21/03/2024")
    else:
        raise RowError(f"{what} '{value}' is not a date; write it as YYYY-MM-DD or DD/MM/YYYY")
    try:
        return parse_date(f"{int(year):04}-{int(month):02}-{int(day):02}")
    except PydanticCustomError as exc:
        message = exc.message().replace(f"'{int(year):04}-{int(month):02}-{int(day):02}'", f"'{value}'")
        raise RowError(f"{what} {message}") from None


def parse_hours(text: str) -> float | None:
    value = text.strip().lower()
    if not value:
        return None
    hm = re.fullmatch(r"(\d+):([0-5]\d)(?::00)?", value)
    if hm:
        return round(int(hm.group(1)) + int(hm.group(2)) / 60, 2)
    minutes = re.fullmatch(r"(\d+(?:\.\d+)?) ?(?:m|min|mins|minutes)", value)
    if minutes:
        return round(float(minutes.group(1)) / 60, 2)
    both = re.fullmatch(r"(\d+) ?(?:h|hr|hrs|hours?) ?(\d+) ?(?:m|min|mins|minutes)?", value)
    if both:
        return round(int(both.group(1)) + int(both.group(2)) / 60, 2)
    plain = re.fullmatch(r"(\d+(?:[.,]\d+)?) ?(?:h|hr|hrs|hours?)?", value)
    if plain:
        return float(plain.group(1).replace(",", "."))
    raise RowError(f"hours '{text.strip()}' is not a number of hours, like 1.5 or 1:30")


def parse_flag(text: str, what: str) -> bool:
    value = text.strip().lower()
    if value in ("", "no", "n", "false", "0", "off"):
        return False
    if value in ("yes", "y", "true", "1", "on"):
        return True
    raise RowError(f"{what} '{text.strip()}' should be yes or no")


def split_list(text: str) -> list[str]:
    """Tags: separated by ';' (cpdgen's CSV), or by ',' when there is no ';'."""
    separator = ";" if ";" in text else ","
    items: list[str] = []
    for part in text.split(separator):
        item = " ".join(part.split())
        if item and item not in items:
            items.append(item)
    return items


def parse_standards(text: str) -> list[int]:
    result: list[int] = []
    for part in re.split(r"[;,\s]+", text.strip()):
        if not part:
            continue
        if not part.isdigit() or not 1 <= int(part) <= 5:
            raise RowError(f"HCPC standard '{part}' is not a number from 1 to 5")
        if int(part) not in result:
            result.append(int(part))
    return sorted(result)


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
        kept, unresolved = [], []
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


def import_csv(root: Path, csv_path: Path, *, maps: list[str] | None = None, dry_run: bool = False) -> ImportResult:
    """Read ``csv_path`` and write one activity file per row under ``root/content``."""
    content = root / "content"
    if not content.is_dir():
        raise CpdgenError(f"no content/ folder in {root}; run cpdgen in your portfolio's folder, or give --root")
    try:
        size = csv_path.stat().st_size
        if size > MAX_CSV_BYTES:
            raise CpdgenError(f"{csv_path} is {size:,} bytes (limit {MAX_CSV_BYTES:,})")
        data = csv_path.read_bytes()
    except OSError as exc:
        raise CpdgenError(f"cannot read {csv_path}: {exc.strerror or exc}") from None
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
    for plan in planned:
        outcomes.append(_write(root, plan, dry_run))
    outcomes.sort(key=lambda o: o.row)
    return ImportResult(outcomes, notes, dry_run)


def _holds(path: Path, text: str) -> bool:
    try:
        return path.read_text(encoding="utf-8") == text
    except (OSError, UnicodeDecodeError):
        return False


def _write(root: Path, plan: Planned, dry_run: bool) -> Outcome:
    target = root / "content" / "activities" / str(plan.year) / f"{plan.activity_id}.md"
    files = [(target, plan.text)]
    if plan.reflection_text is not None:
        files.append((root / "content" / "reflections" / f"{plan.activity_id}.md", plan.reflection_text))
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
