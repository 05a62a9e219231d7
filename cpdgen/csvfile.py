"""The CSV record: one row per activity, for Excel, LibreOffice and ``cpdgen import``.

UTF-8 with a byte-order mark (so Excel shows accents), CRLF line ends, RFC 4180 quoting,
and text cells that a spreadsheet would run as a formula neutralised with a leading
apostrophe (docs/developers/security.md). Markdown is kept as the member wrote it.
"""

from __future__ import annotations

import csv
import io
import re

from cpdgen.portfolio import Activity, Portfolio
from cpdgen.record import Selection, select
from cpdgen.rules import Assessment
from cpdgen.sections import strip_comments

# The columns, in order. docs/reference/csv.md documents each one; add columns at the end.
COLUMNS: tuple[str, ...] = (
    "id",
    "title",
    "start",
    "date",
    "category",
    "type",
    "hours",
    "tags",
    "standards",
    "private",
    "draft",
    "diploma",
    "counts",
    "reason",
    "description",
    "reflection",
    "evidence",
)
LIST_SEPARATOR = "; "  # tags and standards
EVIDENCE_SEPARATOR = "\n"  # one evidence file or link a line: names and links may hold ';' or ','

# A cell a spreadsheet would evaluate: it starts with = + - @, a tab, CR, LF or NUL, or with
# spaces before = + - @. Apostrophes first are looked through, so the escape can be undone exactly.
_TRIGGER = re.compile(r"'*(?:[=+\-@\t\r\n\x00]| +[=+\-@])")


def neutralise(text: str) -> str:
    """A text cell that no spreadsheet runs as a formula: prefix ``'`` when it could be one."""
    return "'" + text if _TRIGGER.match(text) else text


def unneutralise(text: str) -> str:
    """Undo :func:`neutralise` (also the ``'`` that other tools put before a formula-like cell)."""
    return text[1:] if text.startswith("'") and _TRIGGER.match(text[1:]) else text


def normalise_text(text: str) -> str:
    """Markdown as written, without the blank lines and spaces at its ends (the same on export and import)."""
    return text.replace("\r\n", "\n").replace("\r", "\n").strip("\n").rstrip()


def format_hours(hours: float | None) -> str:
    if hours is None:
        return ""
    return f"{hours:.2f}".rstrip("0").rstrip(".")


def _yes(flag: bool) -> str:
    return "yes" if flag else "no"


def activity_cells(
    activity: Activity, diploma_id: str, counted: bool, reason: str | None, *, public: bool = False
) -> dict[str, str]:
    """The cells of one activity, before neutralisation. A public record leaves out HTML comments
    (notes to self and ``cpdgen new``'s prompts), as the site's pages do."""
    meta = activity.meta
    description, reflection = activity.description, activity.reflection or ""
    if public:
        description, reflection = strip_comments(description), strip_comments(reflection)
    return {
        "id": activity.id,
        "title": meta.title,
        "start": meta.start.isoformat() if meta.start else "",
        "date": meta.date.isoformat(),
        "category": activity.category,
        "type": meta.type or "",
        "hours": format_hours(meta.hours),
        "tags": LIST_SEPARATOR.join(meta.tags),
        "standards": LIST_SEPARATOR.join(str(s) for s in meta.standards),
        "private": _yes(meta.private),
        "draft": _yes(meta.draft),
        "diploma": diploma_id,
        "counts": _yes(counted),
        "reason": reason or "",
        "description": normalise_text(description),
        "reflection": normalise_text(reflection),
        "evidence": EVIDENCE_SEPARATOR.join(e.ref for e in activity.evidence),
    }


def selection_csv(selection: Selection, lines: dict | None = None) -> bytes:
    """The CSV bytes of a record's rows; a public record ends with a note row saying what it left out.

    ``lines`` keeps each row's CSV text between calls, so the several CSVs of one judged
    portfolio (a build writes one per diploma and one of everything) format each row once.
    """
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, lineterminator="\r\n", quoting=csv.QUOTE_MINIMAL)
    writer.writerow(COLUMNS)
    lines = lines if lines is not None else {}
    for row in selection.rows:
        # Everything a row's cells are made of (the activity is the same one in every record).
        key = (
            row.activity.id, row.diploma.id, row.judgement.counted, row.judgement.reason, selection.withheld,
            selection.public,
        )  # fmt: skip
        line = lines.get(key)
        if line is not None:
            buffer.write(line)
            continue
        start = buffer.tell()
        cells = activity_cells(
            row.activity, row.diploma.id, row.judgement.counted, row.judgement.reason, public=selection.public
        )
        writer.writerow([neutralise(cells[column]) for column in COLUMNS])
        buffer.seek(start)
        lines[key] = buffer.read()
    note = selection.left_out_sentence()
    if note:
        writer.writerow(["", note] + [""] * (len(COLUMNS) - 2))
    return buffer.getvalue().encode("utf-8-sig")


def activities_csv(
    portfolio: Portfolio,
    assessment: Assessment,
    activities: list[Activity] | None = None,
    *,
    public: bool,
    lines: dict | None = None,
) -> bytes:
    """The CSV of ``activities`` (default: every activity), oldest first."""
    return selection_csv(select(portfolio, assessment, activities=activities, public=public), lines)


def diploma_csv(
    portfolio: Portfolio, assessment: Assessment, diploma_id: str, *, public: bool, lines: dict | None = None
) -> bytes:
    """The CSV of one diploma's activities."""
    return selection_csv(select(portfolio, assessment, diploma_id, public=public), lines)


# The note row that ends a public record (``Selection.left_out_sentence``), so import skips it.
NOTE_PATTERN = re.compile(
    r"^(?=.)(?:\d+ (?:private activit|draft)[^.]* left out of this public record\.)?"
    r"(?: ?(?:Reflections and evidence are|Reflections are|Evidence is) not published\.)?$"
)
