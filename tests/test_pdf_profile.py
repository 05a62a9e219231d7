"""The HCPC profile as a PDF: read back with pypdf, tagged, evidence attached and cleaned, the same bytes each time."""

from __future__ import annotations

import io
import re
from datetime import date

import pytest
from PIL import Image
from PIL.PngImagePlugin import PngInfo

import pdfread
from conftest import PROFILE_AUDIT, Builder, profile_portfolio
from cpdgen.hcpc import gather_profile
from cpdgen.loader import load_portfolio
from cpdgen.pdf.profile import prepare_profile_pdf, render_profile_pdf

pytestmark = pytest.mark.slow
TODAY = date(2026, 11, 30)


def png_with_metadata() -> bytes:
    info = PngInfo()
    info.add_text("Comment", "taken at 51.5072N 0.1276W")
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), "steelblue").save(buffer, "PNG", pnginfo=info)
    return buffer.getvalue()


@pytest.fixture
def loaded(portfolio: Builder):
    profile_portfolio(portfolio)
    portfolio.write("evidence/bench.png", png_with_metadata())
    portfolio.activity(
        "2024-06-20-photo", title="Bench photo", date="2024-06-20", category="other", evidence=["bench.png"]
    )
    return load_portfolio(portfolio.root)


def profile_of(loaded, **options):
    return gather_profile(loaded, date.fromisoformat(PROFILE_AUDIT), TODAY, **options)


def test_the_pdf_reads_back_with_every_part_and_its_evidence_attached(loaded):
    data = render_profile_pdf(loaded, profile_of(loaded, select=["2024-02-05-a4"]))
    text = pdfread.text(data)
    for phrase in (
        "CONTINUING PROFESSIONAL DEVELOPMENT PROFILE",  # the kicker, in capitals
        "Alex Morgan",
        "Profession Biomedical scientist",
        "HCPC registration number BS12345",
        "HCPC reference",
        "1 September 2023 to 1 September 2025",
        "1. Summary of practice history",
        "I am a biomedical scientist in blood sciences.",
        "2. CPD activities",
        "Activity number 6",  # private: the profile is the member's own document
        "Bench photo",
        "Types of learning",
        "Run the EQA scheme",  # the plan's goal the list's fifth activity worked towards
        "without CPD, after “Activity number 13”, and none since",
        "I was on parental leave.",
        "3. Personal statement",
        "I reviewed EQA results (E1) and changed our procedure.",
        "4. The activities in the statement",
        "WHAT IT WAS",  # h3, in capitals
        "Description of activity 4.",
        "So what: I found two steps",
        "5. Evidence",
        "eqa-summary.pdf (attached as E1-eqa-",  # the name wraps in its column
        "Statement (cited)",
    ):
        assert phrase in text, phrase
    assert "prompt" not in text
    reader = pdfread.reader(data)
    assert sorted(reader.attachments) == ["E1-eqa-summary.pdf", "E3-bench.png"]
    photo = reader.attachments["E3-bench.png"][0]
    assert b"51.5072N" not in photo and Image.open(io.BytesIO(photo)).size == (8, 8)  # metadata removed
    assert reader.metadata["/Title"] == "HCPC CPD profile: Alex Morgan, 1 September 2023 to 1 September 2025"
    assert reader.metadata["/Author"] == "Alex Morgan"
    root = reader.trailer["/Root"]
    assert root["/MarkInfo"]["/Marked"] and "/StructTreeRoot" in root  # tagged, as the diploma record


def test_the_same_profile_gives_the_same_pdf(loaded):
    first = render_profile_pdf(loaded, profile_of(loaded))
    second = render_profile_pdf(loaded, profile_of(loaded))
    assert first == second


def test_an_image_the_statement_names_must_be_in_content(loaded, portfolio):
    portfolio.write("hcpc/statement.md", "I did it. ![chart](https://example.org/chart.png)\n")
    job = prepare_profile_pdf(load_portfolio(portfolio.root), profile_of(load_portfolio(portfolio.root)))
    assert [(p.path, p.line, p.code) for p in job.errors] == [("content/hcpc/statement.md", 1, "pdf-image-remote")]


def test_a_long_word_in_a_title_wraps_inside_the_page(loaded, portfolio):
    """A title with no space to break at (a pasted web address, a long code) must wrap in its
    table cell and its heading, not run off the page over the next column."""
    long_word = "X" * 400
    portfolio.activity(
        "2024-06-21-long", title=f"Read {long_word}", date="2024-06-21", category="other", body="Read it."
    )
    loaded = load_portfolio(portfolio.root)
    data = render_profile_pdf(loaded, profile_of(loaded, select=["2024-06-21-long"]))
    runs = [len(run) for page in pdfread.page_texts(data) for run in re.findall("X+", page)]
    assert sum(runs) >= 2 * len(long_word)  # the list and the statement's activities show it whole
    assert max(runs) < 100, "the title runs past its column in one line"
