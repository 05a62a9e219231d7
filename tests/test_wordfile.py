"""The HCPC profile as a Word document: opened with python-docx, its text as written, the same bytes each time."""

from __future__ import annotations

import io
import zipfile
from datetime import date

import docx
import pytest

from conftest import PROFILE_AUDIT, Builder, profile_portfolio
from cpdgen.hcpc import gather_profile
from cpdgen.loader import load_portfolio
from cpdgen.wordfile import ZIP_DATE, profile_docx

TODAY = date(2026, 11, 30)


@pytest.fixture
def made(portfolio: Builder) -> bytes:
    profile_portfolio(portfolio)
    profile = gather_profile(
        load_portfolio(portfolio.root), date.fromisoformat(PROFILE_AUDIT), TODAY, select=["2024-02-05-a4"]
    )
    return profile_docx(profile)


def all_text(document) -> str:
    parts = [p.text for p in document.paragraphs]
    for table in document.tables:
        parts += [" | ".join(cell.text for cell in row.cells) for row in table.rows]
    return "\n".join(parts)


def test_the_word_document_holds_every_part_of_the_profile(made):
    document = docx.Document(io.BytesIO(made))
    headings = [(p.style.name, p.text) for p in document.paragraphs if p.style.name.startswith(("Heading", "Title"))]
    assert [text for _, text in headings if _ in ("Title", "Heading 1")] == [
        "Continuing professional development profile",
        "1. Summary of practice history",
        "2. CPD activities",
        "3. Personal statement",
        "4. The activities in the statement",
        "5. Evidence",
    ]
    text = all_text(document)
    # The cover, with a blank field for the HCPC's reference.
    assert "Profession | Biomedical scientist" in text and "HCPC registration number | BS12345" in text
    assert "HCPC reference | \n" in text + "\n"
    assert "Period | 1 September 2023 to 1 September 2025 (from two years before the audit date)" in text
    assert "Evidence | 2 items (E1 to E2)" in text
    # The member's Markdown, as paragraphs and list items; comments (the prompts) never shown.
    summary = next(p for p in document.paragraphs if "blood sciences" in p.text)
    assert summary.text == "I am a biomedical scientist in blood sciences."
    assert [r.text for r in summary.runs if r.bold] == ["biomedical scientist"]
    assert "prompt" not in text
    bullets = [p.text for p in document.paragraphs if p.style.name == "List Bullet"]
    assert bullets == ["I listed the deviations.", "I wrote a summary."]
    assert "See the IBMS (https://www.ibms.org/)." in text
    # The list, in date order, with evidence numbers; the private activity is on it.
    assert "1 | 5 Oct 2023 | Activity number 0 | Work-based learning | " in text
    assert "5 | 5 Feb 2024 | Activity number 4 | Formal / educational | E1, E2" in text
    assert "7 | 5 Apr 2024 | Activity number 6 | Work-based learning" in text
    assert "Self-directed learning | 4" in text  # the types of learning
    assert "Run the EQA scheme | Done | 30 Jun 2024 | 5" in text  # the plan's goal, with its activity's number
    # The gap and its explanation; the chosen activity, what it was, then its reflection.
    assert "6 November 2024 to 1 September 2025 (9 months without CPD, after “Activity number 13”, and none since)" in (
        text
    )
    assert "I was on parental leave." in text
    assert "5. Activity number 4" in text and "HCPC standards | 3, 4" in text and "Hours | 2 h" in text
    assert "Description of activity 4." in text and "So what: I found two steps" in text
    # The evidence index, cross-referenced.
    assert "E1 | eqa-summary.pdf | 5. Activity number 4 (5 Feb 2024) | Statement (cited)" in text
    assert "E2 | https://www.ibms.org/ (web link) | 5. Activity number 4 (5 Feb 2024) | Statement" in text


def test_the_word_document_has_fixed_dates_and_is_the_same_bytes_each_time(portfolio):
    profile_portfolio(portfolio)
    loaded = load_portfolio(portfolio.root)
    first = profile_docx(gather_profile(loaded, date.fromisoformat(PROFILE_AUDIT), TODAY))
    second = profile_docx(gather_profile(load_portfolio(portfolio.root), date.fromisoformat(PROFILE_AUDIT), TODAY))
    assert first == second
    properties = docx.Document(io.BytesIO(first)).core_properties
    assert properties.created == properties.modified
    assert properties.created.date() == date.fromisoformat(PROFILE_AUDIT)
    assert (properties.author, properties.last_modified_by) == ("Alex Morgan", "Alex Morgan")
    assert properties.title == "HCPC CPD profile: Alex Morgan, 1 September 2023 to 1 September 2025"
    assert all(info.date_time == ZIP_DATE for info in zipfile.ZipFile(io.BytesIO(first)).infolist())
    assert zipfile.ZipFile(io.BytesIO(first)).namelist()[0] == "[Content_Types].xml"


def test_a_profile_with_nothing_written_says_what_is_missing(portfolio):
    portfolio.activity("2024-01-10-a", date="2024-01-10")
    profile = gather_profile(load_portfolio(portfolio.root), date.fromisoformat(PROFILE_AUDIT), TODAY)
    text = all_text(docx.Document(io.BytesIO(profile_docx(profile))))
    assert "Not written yet: write it in content/hcpc/summary.md." in text
    assert "Not written yet: write it in content/hcpc/statement.md." in text
    assert "None selected yet: choose the activities your statement is built on (usually 4 to 6)." in text
    assert "Not explained yet: explain it in content/hcpc/gaps.md." in text
    assert "No evidence listed for the activities in this period." in text
    assert "Evidence | none listed" in text


def test_control_characters_in_the_members_words_are_left_out_of_the_word_document(portfolio):
    """A control character (pasted from another program) is invisible, and Word's XML cannot hold
    it: python-docx refused it and the profile ended in 'a mistake in cpdgen' (exit code 70)."""
    profile_portfolio(portfolio)
    portfolio.write(
        "hcpc/statement.md",
        "I did a \x01thing\x0b and \x1b[31mmore\x7f \ufffe.\n\n| a\x02 | b |\n|---|---|\n| c | d |\n",
    )
    portfolio.activity(
        "2024-02-05-a4", title="Activity number 4", date="2024-02-05", category="other", body="Bell \x07 here."
    )
    profile = gather_profile(
        load_portfolio(portfolio.root), date.fromisoformat(PROFILE_AUDIT), TODAY, select=["2024-02-05-a4"]
    )
    text = all_text(docx.Document(io.BytesIO(profile_docx(profile))))
    assert "I did a thing and [31mmore" in text and "Bell here." in text
    assert "a | b" in text


def test_a_non_character_in_a_title_is_an_error_at_its_line(portfolio):
    """U+FFFE written as a YAML escape is no character at all: refused like a control character,
    with its line, rather than reaching the Word document (where it ended in exit code 70)."""
    portfolio.activity(
        "2024-02-06-x", '---\ntitle: "Odd \\uFFFE title"\ndate: 2024-02-06\ncategory: other\n---\nBody.\n'
    )
    found = [(p.line, p.code, p.message) for p in load_portfolio(portfolio.root).problems]
    assert (2, "invalid-value", "title: this holds an invisible control character (U+FFFE); delete it") in found
