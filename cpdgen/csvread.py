"""Reading a CSV that someone else made: its encoding, its delimiter, its headers, its cells.

Used by ``cpdgen import``. Headers are matched by common names (case and punctuation
ignored) or named with ``--map``; dates are read day first, as in the UK; hours may be
written ``1:30`` or ``90 min``. A cell that cannot be read raises :class:`RowError`
with a message for the member.
"""

from __future__ import annotations

import csv
import io
import re
from datetime import date

from cpdgen.dates import DateError, read_written
from cpdgen.problems import CpdgenError, RowError
from cpdgen.sections import REFLECTION_NAMES

MAX_CELL_CHARS = 2_000_000  # an activity file may be up to 2 MB
MAX_ROWS = 5_000  # forty years of CPD at a hundred activities a year, twice over
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
    # The names a heading may give the reflection, and a few a column may have but a heading
    # may not ("## Learning outcomes" in a file is as often the course's as the member's).
    "reflection": (*REFLECTION_NAMES, "learning", "what did you learn", "learning outcomes"),
    "tags": ("tags", "tag", "keywords"),
    "evidence": ("evidence", "supporting documents", "supporting evidence", "attachments", "files"),
    "standards": ("standards", "hcpc standards", "cpd standards"),
    "private": ("private",),
    "draft": ("draft",),
    "ignore": ("diploma", "counts", "reason"),  # cpdgen's own judgements: recomputed, never imported
}  # fmt: skip
_HEADER_FIELD = {name: f for f, names in HEADER_NAMES.items() for name in names}


def normalise_header(text: str) -> str:
    return " ".join(re.sub(r"[^a-z0-9]+", " ", text.casefold()).split())


def decode_csv(data: bytes) -> tuple[str, list[str]]:
    """The text of a CSV file and notes on how it was read, with the decoding the privacy scan
    uses for evidence (``privacy.documents.decode_any``): UTF-8, UTF-16 or UTF-32, else Windows-1252."""
    from cpdgen.privacy.documents import decode_any

    text, encoding = decode_any(data)
    if data.startswith(b"PK\x03\x04") or "\x00" in text:
        raise CpdgenError(
            "this is not a CSV file (an Excel workbook or another binary file?); save it as 'CSV UTF-8' first"
        )
    if encoding in ("cp1252", "latin-1"):
        return text, ["the file is not UTF-8, so it was read as Windows-1252 (Excel's 'CSV'); check accents"]
    return text, []


def _delimiter(text: str) -> str:
    first = text.split("\n", 1)[0]
    counts = {d: first.count(d) for d in (",", ";", "\t")}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] else ","


def read_rows(text: str) -> tuple[list[str], list[tuple[int, list[str]]]]:
    """Headers and ``(row number, cells)`` of every non-empty row; the header is row 1."""
    csv.field_size_limit(max(csv.field_size_limit(), MAX_CELL_CHARS))  # long reflections are normal
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=_delimiter(text))
    records = []
    try:
        for record in reader:
            records.append(record)
            if len(records) > MAX_ROWS + 1:
                raise CpdgenError(
                    f"the file has more than {MAX_ROWS:,} rows; a career's CPD fits in far fewer. "
                    "Is it the right file? If so, split it into several files and import each"
                )
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


def parse_day(text: str, what: str) -> date:
    """A date as a spreadsheet writes it: YYYY-MM-DD, DD/MM/YYYY (day first, as in the UK),
    21 May 2025 or Excel's 21-May-25 (a two-digit year is 20YY when the month is named)."""
    value = text.strip()
    written = read_written(value)
    if written is None:
        raise RowError(f"{what} '{value}' is not a date; write it as YYYY-MM-DD or DD/MM/YYYY")
    if written.short_year and written.order != "named":
        # 21/03/24 could as well be 2021-03-24 written year first: refuse to guess.
        raise RowError(f"{what} '{value}' has a two-digit year; write the year in full, e.g. 21/03/2024")
    try:
        return written.as_date()
    except DateError as exc:
        raise RowError(f"{what} '{value}' is not a date: {exc.message}") from None


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
