"""``cpdgen import``: cpdgen's own CSV and other ePortfolio exports become activity files that pass ``check``."""

from __future__ import annotations

import csv
import io
import tempfile
from datetime import date
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import REFLECTION, Builder, pdf_document
from cpdgen.cli import main
from cpdgen.csvfile import activities_csv
from cpdgen.loader import load_portfolio
from cpdgen.sections import REFLECTION_NAMES, is_reflection_name

AS_OF = date(2026, 11, 28)


def write_csv(
    path: Path, headers: list[str], rows: list[list[str]], encoding: str = "utf-8-sig", delimiter=","
) -> Path:
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, delimiter=delimiter, lineterminator="\r\n")
    writer.writerow(headers)
    writer.writerows(rows)
    path.write_bytes(buffer.getvalue().encode(encoding))
    return path


def run_import(portfolio: Builder, capsys, *args: str) -> tuple[int, str]:
    code = main(["import", "--root", str(portfolio.root), *args])
    captured = capsys.readouterr()
    return code, captured.out + captured.err


def check_content(portfolio: Builder, capsys) -> tuple[int, str]:
    code = main(["check", "--root", str(portfolio.root), "--content-only", "--as-of", AS_OF.isoformat()])
    captured = capsys.readouterr()
    return code, captured.out + captured.err


def written(portfolio: Builder) -> dict[str, str]:
    folder = portfolio.content / "activities"
    return {p.relative_to(folder).as_posix(): p.read_text(encoding="utf-8") for p in sorted(folder.rglob("*.md"))}


@pytest.mark.parametrize(
    "headers",
    [
        ["Title", "Date", "Category", "Description", "Reflection"],
        ["Activity", "Date completed", "CPD category", "Activity description", "Reflective statement"],
        ["ACTIVITY TITLE", "Completion date", "Category of activity", "Details", "Learning outcomes"],
        ["activity_name", "date_of_activity", "cpd-category", "summary", "What did you learn?"],
    ],
)
def test_each_header_variant_imports_and_passes_check(portfolio, capsys, tmp_path, headers):
    source = write_csv(
        tmp_path / "export.csv",
        headers,
        [
            ["Journal club: sepsis markers", "21/03/2024", "Work-based learning", "We read a paper.", REFLECTION],
            ["Haematology webinar", "2024-04-02", "Formal / Educational", "", "Short."],
        ],
    )
    code, out = run_import(portfolio, capsys, str(source))
    assert code == 0, out
    assert "2 activities imported." in out
    files = written(portfolio)
    assert sorted(files) == ["2024/2024-03-21-journal-club-sepsis-markers.md", "2024/2024-04-02-haematology-webinar.md"]
    first = files["2024/2024-03-21-journal-club-sepsis-markers.md"]
    assert first.startswith(
        '---\ntitle: "Journal club: sepsis markers"\ndate: 2024-03-21\ncategory: work-based-learning\n---\n'
    )
    assert first.endswith(f"We read a paper.\n\n## Reflection\n{REFLECTION}\n")
    assert check_content(portfolio, capsys)[0] == 0
    activities = load_portfolio(portfolio.root).activities
    assert [a.category for a in activities] == ["work-based-learning", "formal-educational"]
    assert activities[0].reflection == REFLECTION


def test_map_names_unusual_columns(portfolio, capsys, tmp_path):
    source = write_csv(
        tmp_path / "x.csv",
        ["What I did", "When", "Kind", "Thoughts", "Minutes"],
        [["Bench rotation", "5 June 2024", "work based", "I learnt a lot about the analyser.", "90 min"]],
    )
    code, out = run_import(portfolio, capsys, str(source))
    assert code == 2
    assert "no column holds the activity's title" in out and "What I did" in out
    code, out = run_import(
        portfolio, capsys, str(source), "--map", "what i did=title", "--map", "When=date", "--map", "KIND=category",
        "--map", "Thoughts=reflection", "--map", "Minutes=hours",
    )  # fmt: skip
    assert code == 0, out
    text = written(portfolio)["2024/2024-06-05-bench-rotation.md"]
    assert "hours: 1.5\n" in text and "## Reflection\nI learnt a lot about the analyser.\n" in text


def test_unknown_columns_are_reported_not_lost_silently(portfolio, capsys, tmp_path):
    source = write_csv(
        tmp_path / "x.csv", ["Title", "Date", "Category", "Assessor"], [["A", "2024-01-02", "other", "Dr X"]]
    )
    code, out = run_import(portfolio, capsys, str(source))
    assert code == 0
    assert "column 'Assessor' is not imported; to keep it, add --map 'Assessor=FIELD'" in out


def test_bad_dates_and_unknown_categories_are_reported_by_row(portfolio, capsys, tmp_path):
    source = write_csv(
        tmp_path / "x.csv",
        ["Title", "Date", "Category", "Reflection"],
        [
            ["Good", "2024-01-10", "other", "fine"],
            ["Feb 31", "31/02/2024", "other", ""],
            ["Month 13", "2024-13-01", "other", ""],
            ["Short year", "21/03/24", "other", ""],
            ["Words", "yesterday", "other", ""],
            ["Typo", "2024-01-11", "Formal edu", ""],
            ["Gardening", "2024-01-12", "Gardening", ""],
            ["", "2024-01-13", "other", ""],
            ["Predefined", "2024-01-14", "Journal club", ""],
        ],
    )
    code, out = run_import(portfolio, capsys, str(source))
    assert code == 1
    lines = out.splitlines()
    assert "x.csv: row 3: not imported: date '31/02/2024' is not a date: February 2024 has 29 days" in lines
    assert "x.csv: row 4: not imported: date '2024-13-01' is not a date: there is no month 13" in lines
    assert any(line.startswith("x.csv: row 5: not imported: date '21/03/24' has a two-digit year") for line in lines)
    assert any(line.startswith("x.csv: row 6: not imported: date 'yesterday' is not a date") for line in lines)
    assert any(
        "row 7: not imported: category 'Formal edu' is not a CPD category; did you mean" in line for line in lines
    )
    assert any("row 8: not imported: category 'Gardening' is not a CPD category; use one of" in line for line in lines)
    assert "x.csv: row 9: not imported: it has no title" in lines
    assert "2 activities imported; 7 rows not imported." in out
    files = written(portfolio)
    assert sorted(files) == ["2024/2024-01-10-good.md", "2024/2024-01-14-predefined.md"]
    assert "type: journal-club\n" in files["2024/2024-01-14-predefined.md"]
    assert check_content(portfolio, capsys)[0] == 0


def test_dates_as_excel_writes_them_are_read(portfolio, capsys, tmp_path):
    dates = ["21-May-25", "21-May-2025", "21 May 2025", "21st May 2025", "May 21, 2025", "21/05/2025", "2025-05-21"]
    rows = [[f"Activity {n}", day, "other", "What I learnt."] for n, day in enumerate(dates)]
    source = write_csv(tmp_path / "excel.csv", ["Title", "Date", "Category", "Reflection"], rows)
    code, out = run_import(portfolio, capsys, str(source))
    assert code == 0, out
    files = written(portfolio)
    assert len(files) == len(dates)
    assert all(name.startswith("2025/2025-05-21-activity-") for name in files)
    assert all("\ndate: 2025-05-21\n" in text for text in files.values())
    assert check_content(portfolio, capsys)[0] == 0


def test_category_names_read_as_check_reads_them(portfolio, capsys, tmp_path):
    names = {
        "Self-directed learning activities": "self-directed-learning",
        "Work-based learning activities": "work-based-learning",
        "Formal and educational": "formal-educational",
        "Formal/Educational activities": "formal-educational",
        "Professional activities": "professional-activity",
        "Other activities": "other",
    }
    rows = [[f"Activity {n}", f"2025-05-{n + 10}", name, "What I learnt."] for n, name in enumerate(names)]
    source = write_csv(tmp_path / "cats.csv", ["Title", "Date", "CPD category", "Reflection"], rows)
    code, out = run_import(portfolio, capsys, str(source))
    assert code == 0, out
    found = [text.split("\ncategory: ")[1].split("\n")[0] for text in written(portfolio).values()]
    assert found == list(names.values())


def test_duplicate_rows_and_reimport_are_skipped(portfolio, capsys, tmp_path):
    row = ["Audit of blood films", "2024-02-01", "work-based-learning", "desc", "refl"]
    source = write_csv(tmp_path / "x.csv", ["Title", "Date", "Category", "Description", "Reflection"], [row, row])
    code, out = run_import(portfolio, capsys, str(source))
    assert code == 0
    assert "x.csv: row 3: skipped: the same activity as row 2" in out
    assert len(written(portfolio)) == 1
    code, out = run_import(portfolio, capsys, str(source))
    assert code == 0
    assert (
        "x.csv: row 2: skipped: already imported as content/activities/2024/2024-02-01-audit-of-blood-films.md" in out
    )
    assert len(written(portfolio)) == 1


def test_an_existing_file_in_the_way_is_never_overwritten(portfolio, capsys, tmp_path):
    mine = portfolio.write("activities/2024/2024-02-01-audit.md", "my own words\n")
    source = write_csv(tmp_path / "x.csv", ["Title", "Date", "Category", "id"], [["Audit", "2024-02-01", "other", ""]])
    code, out = run_import(portfolio, capsys, str(source))
    # A generated name steps aside from a file that is not this activity.
    assert code == 0, out
    assert mine.read_text(encoding="utf-8") == "my own words\n"
    assert (portfolio.content / "activities/2024/2024-02-01-audit-2.md").is_file()
    # A given id does not step aside: the row is refused and the file kept.
    source = write_csv(
        tmp_path / "y.csv", ["Title", "Date", "Category", "id"], [["Audit", "2024-02-01", "other", "2024-02-01-audit"]]
    )
    code, out = run_import(portfolio, capsys, str(source))
    assert code == 1
    in_the_way = "content/activities/2024/2024-02-01-audit.md is in the way (cpdgen never overwrites a file)"
    assert f"y.csv: row 2: not imported: {in_the_way}" in out
    assert mine.read_text(encoding="utf-8") == "my own words\n"


def test_dry_run_writes_nothing(portfolio, capsys, tmp_path):
    source = write_csv(
        tmp_path / "x.csv", ["Title", "Date", "Category"], [["A", "2024-01-02", "other"], ["B", "bad", "other"]]
    )
    code, out = run_import(portfolio, capsys, str(source), "--dry-run")
    assert code == 1
    assert "x.csv: row 2: would write content/activities/2024/2024-01-02-a.md" in out
    assert "Dry run, nothing written: 1 activity would be imported; 1 row not imported." in out
    assert written(portfolio) == {}


def test_evidence_is_kept_when_found_and_listed_when_not(portfolio, capsys, tmp_path):
    portfolio.write("evidence/certificate.pdf", pdf_document("certificate"))
    source = write_csv(
        tmp_path / "x.csv",
        ["Title", "Date", "Category", "Description", "Evidence"],
        [["Course", "2024-01-02", "formal", "Two days.", "certificate.pdf\nhttps://example.org/course\nlost.pdf"]],
    )
    code, out = run_import(portfolio, capsys, str(source))
    assert code == 0
    assert "warning: evidence 'lost.pdf' not found in content/" in out
    text = written(portfolio)["2024/2024-01-02-course.md"]
    assert 'evidence: ["certificate.pdf", "https://example.org/course"]\n' in text
    assert "Two days.\n\nEvidence listed in the imported record:\n- lost.pdf\n" in text
    assert check_content(portfolio, capsys)[0] == 0


def test_a_reflection_with_its_own_sections_gets_its_own_file(portfolio, capsys, tmp_path):
    reflection = "What happened.\n\n## Context\nIt mattered.\n\n## Next steps\nI will change the SOP."
    source = write_csv(
        tmp_path / "x.csv", ["Title", "Date", "Category", "Reflection"], [["SOP", "2024-01-02", "other", reflection]]
    )
    code, out = run_import(portfolio, capsys, str(source))
    assert code == 0, out
    assert "content/reflections/2024-01-02-sop.md" in out
    assert check_content(portfolio, capsys)[0] == 0
    assert load_portfolio(portfolio.root).activities[0].reflection == reflection


def test_a_reflection_in_stages_stays_in_the_activity_file(portfolio, capsys, tmp_path):
    # Stage headings of a reflective model belong to the reflection: no separate file is needed.
    reflection = "What happened.\n\n## So what\nIt mattered.\n\n## Now what\nI will change the SOP."
    source = write_csv(
        tmp_path / "x.csv", ["Title", "Date", "Category", "Reflection"], [["SOP", "2024-01-02", "other", reflection]]
    )
    code, out = run_import(portfolio, capsys, str(source))
    assert code == 0, out
    assert "content/reflections" not in out
    assert written(portfolio)["2024/2024-01-02-sop.md"].endswith(f"## Reflection\n{reflection}\n")
    assert load_portfolio(portfolio.root).activities[0].reflection == reflection


@pytest.mark.parametrize("name", REFLECTION_NAMES)
def test_the_reflection_column_has_the_names_a_reflection_heading_has(portfolio, capsys, tmp_path, name):
    header = name.title()
    source = write_csv(
        tmp_path / "x.csv", ["Title", "Date", "Category", header], [["T", "2024-01-02", "other", "I learnt."]]
    )
    code, out = run_import(portfolio, capsys, str(source))
    assert code == 0, out
    assert "not imported" not in out
    assert load_portfolio(portfolio.root).activities[0].reflection == "I learnt."
    assert is_reflection_name(header)


def test_utf16_tab_separated_and_windows_1252_files(portfolio, capsys, tmp_path):
    headers = ["Title", "Date", "Category"]
    utf16 = write_csv(
        tmp_path / "u.csv", headers, [["Café – “smart”", "2024-01-02", "other"]], encoding="utf-16", delimiter="\t"
    )
    assert run_import(portfolio, capsys, str(utf16))[0] == 0
    cp1252 = write_csv(tmp_path / "w.csv", headers, [["Patient’s pathway", "2024-01-03", "other"]], encoding="cp1252")
    code, out = run_import(portfolio, capsys, str(cp1252))
    assert code == 0
    assert "read as Windows-1252" in out
    titles = [a.title for a in load_portfolio(portfolio.root).activities]
    assert titles == ["Café – “smart”", "Patient’s pathway"]


def test_no_content_folder_or_missing_file_is_a_setup_error(tmp_path, capsys):
    assert main(["import", "--root", str(tmp_path), str(tmp_path / "x.csv")]) == 2
    (tmp_path / "content").mkdir()
    assert main(["import", "--root", str(tmp_path), str(tmp_path / "missing.csv")]) == 2
    assert "cannot read" in capsys.readouterr().err


def test_a_workbook_or_a_file_without_the_needed_columns_is_refused(portfolio, capsys, tmp_path):
    workbook = tmp_path / "record.xlsx"
    workbook.write_bytes(b"PK\x03\x04" + bytes(200))
    code, out = run_import(portfolio, capsys, str(workbook))
    assert code == 2 and "not a CSV file (an Excel workbook or another binary file?)" in out
    source = write_csv(tmp_path / "x.csv", ["Name", "When", "Notes"], [["A", "2024-01-02", "x"]])
    code, out = run_import(portfolio, capsys, str(source))
    assert code == 2
    assert "no column holds the activity's date and category (columns: Name, When, Notes)" in out
    assert written(portfolio) == {}


def test_public_record_note_row_is_not_an_activity(portfolio, capsys, tmp_path):
    portfolio.many(2)
    portfolio.activity("hidden", date="2025-02-01", private=True)
    loaded = load_portfolio(portfolio.root)
    data = activities_csv(loaded, loaded.assess(AS_OF), public=True)
    assert b"left out of this public record" in data
    other = Builder(tmp_path / "other")
    source = tmp_path / "public.csv"
    source.write_bytes(data)
    code, out = run_import(other, capsys, str(source))
    assert code == 0, out
    assert "2 activities imported." in out


# --- export -> import -> export gives the same file ------------------------------------------------------

TEXT = st.lists(
    st.sampled_from(
        list("abcXYZ éü“”’-=+@,;\"'*_:!?()0123456789\t")
        + ["\n", "\n\n", "\n- ", "**bold**", "\n## Notes\n", "\n### Sub\n", "> ", "\n    code", "```\n## x\n```"]
    ),
    max_size=30,
).map("".join)
TITLE = st.text(alphabet=st.sampled_from(list("abcXYZ éü“”’-=+@,;\"'():&0123456789")), min_size=1, max_size=40).filter(
    lambda t: t.strip()
)
ACTIVITY = st.fixed_dictionaries(
    {
        "title": TITLE,
        "date": st.dates(min_value=date(2024, 1, 1), max_value=date(2026, 12, 31)),
        "category": st.sampled_from(["work-based-learning", "professional-activity", "formal-educational", "other"]),
        "type": st.sampled_from([None, "audit", "webinar", "reading"]),
        "hours": st.one_of(st.none(), st.sampled_from([0.5, 1, 1.25, 7.5, 12])),
        "tags": st.lists(st.sampled_from(["quality", "transfusion", "café", "=sum", "-x"]), max_size=3, unique=True),
        "standards": st.lists(st.integers(1, 5), max_size=3, unique=True),
        "private": st.booleans(),
        "draft": st.booleans(),
        "evidence": st.lists(
            st.sampled_from(["https://example.org/a", "https://example.org/b?x=1;y=2"]), max_size=2, unique=True
        ),
        "body": TEXT,
        "reflection": st.one_of(st.none(), TEXT),
    }
)


def export_csv(root: Path) -> bytes:
    loaded = load_portfolio(root)
    errors = [p for p in loaded.problems if p.severity == "error"]
    assert not errors, errors
    return activities_csv(loaded, loaded.assess(AS_OF), public=False)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(ACTIVITY, min_size=1, max_size=5))
def test_export_import_export_gives_the_same_file(activities):
    with tempfile.TemporaryDirectory() as folder:
        first = Builder(Path(folder) / "first")
        for n, item in enumerate(activities):
            day = item["date"].isoformat()
            skip = ("date", "body", "reflection")
            extra = {k: v for k, v in item.items() if v not in (None, [], False) and k not in skip}
            first.activity(f"{day}-a{n}", date=day, body=item["body"], reflection=item["reflection"], **extra)
        exported = export_csv(first.root)
        source = Path(folder) / "record.csv"
        source.write_bytes(exported)
        second = Builder(Path(folder) / "second")
        assert main(["import", "-q", "--root", str(second.root), str(source)]) == 0
        assert export_csv(second.root) == exported
