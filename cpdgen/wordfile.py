"""The HCPC CPD profile as a Word document (.docx), for a member to edit or paste into the HCPC's form.

python-docx writes it. The member's Markdown is rendered to safe HTML once (``render.py``)
and walked into Word paragraphs: headings, paragraphs, lists, quotes, code, tables, bold and
italic, links written out. The same profile gives the same bytes: the document's dates are
the audit date, never the clock, and the zip's entries get a fixed date and order.
"""

from __future__ import annotations

import io
import re
import zipfile
from datetime import UTC, datetime
from html.parser import HTMLParser
from typing import TYPE_CHECKING

from cpdgen import __version__
from cpdgen.hcpc import Profile, plain_facts, row_facts
from cpdgen.portfolio import MemberText
from cpdgen.problems import MarkdownTooComplex, Problem
from cpdgen.render import render_markdown
from cpdgen.words import long_date, short_date

if TYPE_CHECKING:
    from docx.document import Document
    from docx.table import Table
    from docx.text.paragraph import Paragraph

# What XML 1.0, and so Word's file, cannot hold: control characters (a member may paste one from
# another program; it is invisible) and the non-characters U+FFFE and U+FFFF.
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
ZIP_DATE = (1980, 1, 1, 0, 0, 0)  # the earliest date a zip entry can hold: no clock in the file
TABLE_STYLE = "Table Grid"
MARGIN = 20  # millimetres, on A4
TEXT_WIDTH = 210 - 2 * MARGIN


def profile_docx(profile: Profile, problems: list[Problem] | None = None) -> bytes:
    """The Word document of the profile; a text too complex to render is added to ``problems``."""
    import docx

    document = docx.Document()
    _a4(document)
    facts = plain_facts(profile)
    writer = _Writer(document, problems if problems is not None else [])
    _cover(document, facts)
    _summary(document, writer, profile, facts)
    _activities(document, writer, profile, facts)
    _statement(document, writer, profile, facts)
    _selected(document, writer, profile)
    _evidence(document, profile, number="5" if profile.selected else "4")
    footer = document.sections[0].footer.paragraphs[0]
    footer.text = f"{profile.name} · HCPC CPD profile · draft: keep it private, and send only what the HCPC asks for"
    _properties(document, profile, facts)
    buffer = io.BytesIO()
    document.save(buffer)
    return fixed_zip(buffer.getvalue())


def fixed_zip(data: bytes) -> bytes:
    """The same zip with every entry dated ``ZIP_DATE`` and no file-system attributes, in the same order."""
    source = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            fixed = zipfile.ZipInfo(info.filename, date_time=ZIP_DATE)
            fixed.compress_type = zipfile.ZIP_DEFLATED
            fixed.create_system = 0
            fixed.external_attr = 0
            target.writestr(fixed, source.read(info.filename))
    return out.getvalue()


def _properties(document: Document, profile: Profile, facts: dict) -> None:
    when = datetime(profile.period.end.year, profile.period.end.month, profile.period.end.day, tzinfo=UTC)
    core = document.core_properties
    core.title = facts["meta"]["title"]
    core.subject = facts["meta"]["subject"]
    core.author = profile.name
    core.last_modified_by = profile.name
    core.keywords = ", ".join(facts["meta"]["keywords"])
    core.comments = f"Draft made with cpdgen {__version__} from the member's own CPD record"
    core.category = "CPD profile"
    core.language = "en-GB"
    core.revision = 1
    core.created = when
    core.modified = when


def _table(
    document: Document, header: list[str] | None, rows: list[list[str]], widths: tuple[int, ...] | None = None
) -> Table:
    """A table with a bold header row (if any); ``widths`` in millimetres, adding up to ``TEXT_WIDTH``."""
    from docx.shared import Mm

    table = document.add_table(rows=0, cols=len(header or rows[0]))
    table.style = TABLE_STYLE
    if header:
        cells = table.add_row().cells
        for cell, text in zip(cells, header, strict=True):
            cell.text = ""
            cell.paragraphs[0].add_run(text).bold = True
    for row in rows:
        for cell, text in zip(table.add_row().cells, row, strict=True):
            cell.text = text
    if widths:
        table.autofit = False
        for column, width in zip(table.columns, widths, strict=True):
            column.width = Mm(width)
            for cell in column.cells:  # Word reads each cell's width, LibreOffice the column's
                cell.width = Mm(width)
    return table


def _facts_table(document: Document, caption: str, rows: list[tuple[str, str]]) -> None:
    document.add_heading(caption, level=2)
    table = _table(document, None, [[label, value] for label, value in rows], (55, TEXT_WIDTH - 55))
    for row in table.rows:
        for run in row.cells[0].paragraphs[0].runs:
            run.bold = True


def _part(document: Document, title: str) -> None:
    """A part of the profile: a level-1 heading that starts a new page (no empty page before it)."""
    document.add_heading(title, level=1).paragraph_format.page_break_before = True


def _a4(document: Document) -> None:
    from docx.shared import Mm

    for section in document.sections:
        section.page_width, section.page_height = Mm(210), Mm(297)
        section.left_margin = section.right_margin = Mm(MARGIN)
        section.top_margin = section.bottom_margin = Mm(MARGIN)


def _note(document: Document, text: str) -> Paragraph:
    paragraph = document.add_paragraph()
    paragraph.add_run(text).italic = True
    return paragraph


def _cover(document: Document, facts: dict) -> None:
    member, period = facts["member"], facts["period"]
    document.add_heading("Continuing professional development profile", level=0)
    document.add_paragraph(f"{member['name']} · {member['profession']} · CPD from {period['start']} to {period['end']}")
    registrant = [
        ("Name", member["name"]),
        ("Profession", member["profession"]),
        ("HCPC registration number", member["hcpc_number"] or ""),
    ]
    if member["registered_since"]:
        registrant.append(("Registered since", member["registered_since"]))
    _facts_table(document, "Registrant", registrant)
    count, kinds = len(facts["rows"]), facts["category_count"]
    evidence = facts["evidence_count"]
    _facts_table(
        document,
        "This profile",
        [
            ("Period", f"{period['start']} to {period['end']} (from {period['why']})"),
            ("CPD activities listed", f"{count}, of {kinds} {'type' if kinds == 1 else 'types'} of learning"),
            ("Gaps of three months or more", str(facts["gap_count"] or "none")),
            ("Evidence", _evidence_range(evidence)),
            ("HCPC reference", ""),  # for the HCPC's reference, written in by hand
        ],
    )
    _note(
        document,
        f"Draft, made from the registrant's own CPD record as of {facts['as_of']}. The summary, the statement "
        "and the explanations of gaps are the registrant's own words; the list of activities, the types of "
        "learning, the descriptions and the evidence index come from the record. It includes private "
        "activities: keep it private, and send only what the HCPC asks for.",
    )


def _evidence_range(count: int) -> str:
    if not count:
        return "none listed"
    return "1 item (E1)" if count == 1 else f"{count} items (E1 to E{count})"


def _words(facts: dict, part: str) -> str:
    count, limit = facts["words"][part], facts["words"][f"{part}_limit"]
    return f"{count} words (the HCPC allows up to {limit})" if count is not None else f"Up to {limit} words"


def _summary(document: Document, writer: _Writer, profile: Profile, facts: dict) -> None:
    _part(document, "1. Summary of practice history")
    _note(document, _words(facts, "summary"))
    writer.member_text(profile.texts.get("summary"), "Not written yet: write it in content/hcpc/summary.md.")


def _activities(document: Document, writer: _Writer, profile: Profile, facts: dict) -> None:
    _part(document, "2. CPD activities")
    period = facts["period"]
    document.add_paragraph(f"Every CPD activity from {period['start']} to {period['end']}, in date order.")
    rows = [[str(r["number"]), r["short_date"], r["title"], r["category"], r["evidence"]] for r in facts["rows"]]
    if rows:
        _table(document, ["No.", "Date", "Activity", "Type of learning", "Evidence"], rows, (12, 22, 78, 34, 24))
    else:
        document.add_paragraph("No CPD activity recorded in this period.")
    document.add_heading("Types of learning", level=2)
    categories = [[c["label"], str(c["count"])] for c in facts["categories"]]
    _table(document, ["Type of learning", "Activities"], categories, (100, 30))
    if facts["goals"]:
        document.add_heading("My development plan", level=2)
        document.add_paragraph("The goals of my plan, and the activities listed above that worked towards each.")
        goals = [[g["title"], g["status"], g["target"], g["activities"]] for g in facts["goals"]]
        _table(document, ["Goal", "Status", "Target", "Activities (No.)"], goals, (76, 18, 22, 54))
    document.add_heading("Gaps of three months or more", level=2)
    if not profile.gaps:
        document.add_paragraph("None: there is no gap of three months or more between the activities in this period.")
    for gap in profile.gaps:
        after = f", after “{gap.after.title}”" if gap.after else ", from the start of the period"
        since = ", and none since" if gap.before is None else ""
        head = document.add_paragraph()
        months = f"{gap.months} {'month' if gap.months == 1 else 'months'}"
        head.add_run(
            f"{long_date(gap.first)} to {long_date(gap.last)} ({months} without CPD{after}{since})"
        ).bold = True
        if not gap.explanations:
            _note(document, "Not explained yet: explain it in content/hcpc/gaps.md.")
        gaps_text = profile.texts.get("gaps")
        for section in gap.explanations:
            writer.markdown(section.text, gaps_text.path if gaps_text else "content/hcpc/gaps.md", section.line + 1)


def _statement(document: Document, writer: _Writer, profile: Profile, facts: dict) -> None:
    _part(document, "3. Personal statement")
    _note(document, _words(facts, "statement"))
    writer.member_text(profile.texts.get("statement"), "Not written yet: write it in content/hcpc/statement.md.")
    document.add_heading("Activities this statement draws on", level=2)
    rows = [
        [str(r["number"]), r["short_date"], r["title"], r["standards"] or "none given", r["evidence"]]
        for r in (row_facts(item) for item in profile.selected)
    ]
    if rows:
        _table(document, ["No.", "Date", "Activity", "Standards", "Evidence"], rows, (12, 24, 86, 24, 24))
    else:
        _note(document, "None selected yet: choose the activities your statement is built on (usually 4 to 6).")


def _selected(document: Document, writer: _Writer, profile: Profile) -> None:
    if not profile.selected:
        return
    _part(document, "4. The activities in the statement")
    for item in profile.selected:
        facts = row_facts(item)
        activity = item.activity
        document.add_heading(f"{item.number}. {activity.title}", level=2)
        _table(
            document,
            None,
            [
                ["Date", facts["dates"]],
                ["Hours", facts["hours"] or "not recorded"],
                ["Type of learning", facts["category"] + (f" ({facts['type']})" if facts["type"] else "")],
                ["HCPC standards", facts["standards"] or "none given"],
                ["Evidence", facts["evidence"] or "none listed"],
            ],
            (40, TEXT_WIDTH - 40),
        )
        document.add_heading("What it was", level=3)
        if not writer.markdown(activity.description, activity.path, activity.description_line):
            _note(document, "No description recorded.")
        document.add_heading("Reflection", level=3)
        reflection = activity.reflection if activity.has_reflection else None
        where = activity.reflection_path or activity.path
        if reflection is None or not writer.markdown(reflection, where, activity.reflection_line or 1):
            _note(document, "No reflection recorded yet.")


def _evidence(document: Document, profile: Profile, number: str) -> None:
    _part(document, f"{number}. Evidence")
    selected = {item.activity.id for item in profile.selected}
    rows = []
    for item in profile.evidence:
        name = f"{item.evidence.url} (web link)" if item.evidence.url else item.evidence.name
        used = "Statement" if item.cited_in_statement or item.activity.id in selected else "List"
        if item.cited_in_statement:
            used += " (cited)"
        rows.append(
            [item.label, name, f"{item.listed}. {item.activity.title} ({short_date(item.activity.date)})", used]
        )
    if rows:
        _table(document, ["Ref.", "Evidence", "Activity", "Used in"], rows, (14, 60, 66, 30))
    else:
        document.add_paragraph("No evidence listed for the activities in this period.")


# --- the member's Markdown, as Word paragraphs ---------------------------------------------


class _Writer:
    """Writes a member's Markdown into the document, through the same safe HTML the PDF shows."""

    def __init__(self, document: Document, problems: list[Problem]) -> None:
        self.document = document
        self.problems = problems

    def member_text(self, text: MemberText | None, missing: str) -> None:
        if text is None or not self.markdown(text.text, text.path, 1):
            _note(self.document, missing)

    def markdown(self, text: str, path: str, line: int) -> bool:
        """Write ``text``; False when there is nothing to show (or it could not be rendered)."""
        try:
            html = str(render_markdown(text))
        except MarkdownTooComplex as exc:
            self.problems.append(Problem(path, line, "error", "markdown-too-complex", exc.message))
            return False
        if not html.strip():
            return False
        walker = _HtmlToWord(self.document)
        walker.feed(_NOT_XML.sub("", html))
        walker.close()
        return walker.wrote


_HEADING_LEVEL = {"h1": 3, "h2": 3, "h3": 4, "h4": 4, "h5": 4, "h6": 4}  # a member's headings sit under ours
_BLOCKS = {"p", "li", "pre", "blockquote", "ul", "ol", "table", "hr", *_HEADING_LEVEL}


class _HtmlToWord(HTMLParser):
    """Sanitised HTML (``render.render_markdown``) walked into Word paragraphs and runs."""

    def __init__(self, document: Document) -> None:
        super().__init__(convert_charrefs=True)
        self.document = document
        self.paragraph: Paragraph | None = None
        self.bold = self.italic = self.code = self.pre = self.quote = 0
        self.lists: list[str] = []
        self.links: list[tuple[str, list[str]]] = []  # each open link: its address, and its text so far
        self.table: list[list[str]] | None = None  # rows of cells, while inside a <table>
        self.cell: list[str] | None = None
        self.wrote = False

    def _new(self, style: str | None = None) -> Paragraph:
        if self.quote and style is None:
            style = "Quote"
        self.paragraph = self.document.add_paragraph(style=style)
        return self.paragraph

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if self.table is not None:
            if tag == "tr":
                self.table.append([])
            elif tag in ("td", "th"):
                self.cell = []
            elif tag == "br" and self.cell is not None:
                self.cell.append(" ")
            return
        if tag in _HEADING_LEVEL:
            self.paragraph = self.document.add_heading(level=_HEADING_LEVEL[tag])
        elif tag == "p":
            reuse = self.lists and self.paragraph is not None and not self.paragraph.text
            if not reuse:
                self._new("List Continue" if self.lists else None)
        elif tag in ("ul", "ol"):
            self.lists.append(tag)
            self.paragraph = None
        elif tag == "li":
            depth = min(len(self.lists), 3)
            kind = "List Number" if self.lists and self.lists[-1] == "ol" else "List Bullet"
            self._new(kind if depth <= 1 else f"{kind} {depth}")
        elif tag == "blockquote":
            self.quote += 1
            self.paragraph = None
        elif tag == "pre":
            self.pre += 1
            self._new()
        elif tag == "table":
            self.table = []
            self.paragraph = None
        elif tag in ("strong", "b"):
            self.bold += 1
        elif tag in ("em", "i"):
            self.italic += 1
        elif tag in ("code", "kbd"):
            self.code += 1
        elif tag == "br":
            if self.paragraph is not None:
                self.paragraph.add_run().add_break()
        elif tag == "a":
            self.links.append((values.get("href") or "", []))
        elif tag == "img":
            self._text(f"[image: {values.get('alt') or values.get('src') or ''}]")

    def handle_endtag(self, tag: str) -> None:
        if self.table is not None:
            if tag in ("td", "th") and self.cell is not None:
                if self.table:
                    self.table[-1].append(" ".join("".join(self.cell).split()))
                self.cell = None
            elif tag == "table":
                self._write_table(self.table)
                self.table = None
            return
        if tag in _HEADING_LEVEL or tag in ("p", "li", "pre"):
            if tag == "pre":
                self.pre = max(0, self.pre - 1)
            self.paragraph = None
        elif tag in ("ul", "ol"):
            if self.lists:
                self.lists.pop()
            self.paragraph = None
        elif tag == "blockquote":
            self.quote = max(0, self.quote - 1)
            self.paragraph = None
        elif tag in ("strong", "b"):
            self.bold = max(0, self.bold - 1)
        elif tag in ("em", "i"):
            self.italic = max(0, self.italic - 1)
        elif tag in ("code", "kbd"):
            self.code = max(0, self.code - 1)
        elif tag == "a" and self.links:
            href, words = self.links.pop()
            shown = "".join(words).strip()
            if href and href not in (shown, f"mailto:{shown}") and not href.startswith("#"):
                self._text(f" ({href})")

    def handle_data(self, data: str) -> None:
        if self.table is not None:
            if self.cell is not None:
                self.cell.append(data)
            return
        text = data if self.pre else " ".join(data.split()) if data.strip() else (" " if self.paragraph else "")
        if data[:1].isspace() and not self.pre and data.strip():
            text = " " + text
        if data[-1:].isspace() and not self.pre and data.strip():
            text += " "
        if text:
            self._text(text)

    def _text(self, text: str) -> None:
        if self.paragraph is None:
            if not text.strip():
                return
            self._new()
            text = text.lstrip()
        assert self.paragraph is not None
        for link in self.links:
            link[1].append(text)
        run = self.paragraph.add_run(text)
        run.bold = bool(self.bold) or None
        run.italic = bool(self.italic) or None
        if self.code or self.pre:
            run.font.name = "Courier New"
        if text.strip():
            self.wrote = True

    def _write_table(self, rows: list[list[str]]) -> None:
        rows = [row for row in rows if row]
        if not rows:
            return
        width = max(len(row) for row in rows)
        _table(self.document, None, [row + [""] * (width - len(row)) for row in rows])
        self.wrote = True
