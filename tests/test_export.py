"""``cpdgen export pdf|csv``: the complete record, written outside site/, never over a file cpdgen did not write."""

from __future__ import annotations

import csv
import io
import json
from datetime import date
from pathlib import Path

import pytest

import pdfread
from conftest import REPO, Builder, profile_portfolio
from cpdgen.cli import main
from cpdgen.export import export_records
from cpdgen.loader import load_portfolio

AS_OF = "2025-07-01"
TWO_DIPLOMAS = {
    "member": {"name": "Alex Morgan"},
    "diplomas": [
        {"id": "diploma-1", "start": "2022-01-01", "submitted": "2024-01-10"},
        {"id": "diploma-2", "start": "2024-02-01"},
    ],
}


def run(portfolio: Builder, capsys, *args: str) -> tuple[int, str]:
    code = main(["export", "--root", str(portfolio.root), "--as-of", AS_OF, *args])
    captured = capsys.readouterr()
    return code, captured.out + captured.err


@pytest.fixture
def small(portfolio: Builder) -> Builder:
    portfolio.activity("2025-03-01-shown", title="Shown activity", date="2025-03-01")
    portfolio.activity("2025-03-02-private", title="Private activity", date="2025-03-02", private=True)
    portfolio.activity("2025-03-03-draft", title="Draft activity", date="2025-03-03", draft=True)
    return portfolio


def test_csv_export_is_the_complete_record_in_a_git_ignored_records_folder(small, capsys):
    code, out = run(small, capsys, "csv")
    assert code == 0, out
    records = small.root / "records"
    assert "wrote: " in out and "activities.csv" in out
    assert (records / ".gitignore").read_text(encoding="utf-8").endswith("\n*\n")
    assert sorted(p.name for p in records.iterdir()) == [
        ".cpdgen-records.json",
        ".gitignore",
        "activities.csv",
        "diploma-1.csv",
    ]
    rows = list(csv.DictReader(io.StringIO((records / "diploma-1.csv").read_bytes().decode("utf-8-sig"))))
    assert [r["title"] for r in rows] == ["Shown activity", "Private activity", "Draft activity"]
    manifest = json.loads((records / ".cpdgen-records.json").read_text(encoding="utf-8"))
    assert set(manifest["files"]) == {"activities.csv", "diploma-1.csv"}
    code, out = run(small, capsys, "csv")
    assert code == 0 and "unchanged: " in out


def test_pdf_export_renders_once_then_comes_from_the_cache(small, capsys):
    calls: list[tuple] = []
    result = export_records(small.root, "pdf", as_of=date(2025, 7, 1),
                            progress=lambda *a: calls.append(a))  # fmt: skip
    pdf = small.root / "records" / "diploma-1.pdf"
    assert [w.status for w in result.written] == ["made", "written"]
    text = pdfread.text(pdf.read_bytes())
    assert "Private activity" in text and "Draft activity" in text and "Complete record." in text
    export_records(small.root, "pdf", as_of=date(2025, 7, 1), progress=lambda *a: calls.append(a))
    assert calls == [(1, 1, "diploma-1", False), (1, 1, "diploma-1", True)]
    assert not (small.root / ".cpdgen-cache").exists()  # caches live outside the portfolio


@pytest.mark.parametrize("folder", ["site", "content", "content/evidence", "templates", ".git"])
def test_export_refuses_to_write_into_the_portfolios_own_folders(small, capsys, folder):
    target = small.root / folder
    code, out = run(small, capsys, "csv", "--out", str(target))
    assert code == 2
    assert (
        f"refusing to write the complete record to {folder}: it would mix it with your {folder.split('/')[0]}/ folder"
        in out
    )
    assert not (target / "activities.csv").exists()


def test_a_file_cpdgen_did_not_write_is_never_overwritten_without_force(small, capsys):
    records = small.root / "records"
    records.mkdir()
    mine = records / "activities.csv"
    mine.write_text("my own spreadsheet\n", encoding="utf-8")
    code, out = run(small, capsys, "csv")
    assert code == 2
    assert "were not written by cpdgen (or were changed since), so they are left alone" in out
    assert str(mine) in out
    assert mine.read_text(encoding="utf-8") == "my own spreadsheet\n"
    assert not (records / "diploma-1.csv").exists()  # nothing written when anything is in the way
    code, out = run(small, capsys, "csv", "--force")
    assert code == 0
    assert "replaced (it was not written by cpdgen): " in out
    assert mine.read_bytes().startswith(b"\xef\xbb\xbfid,title")


def test_a_file_cpdgen_wrote_but_the_member_changed_is_left_alone(small, capsys):
    assert run(small, capsys, "csv")[0] == 0
    edited = small.root / "records" / "diploma-1.csv"
    edited.write_bytes(edited.read_bytes() + b"my note\r\n")
    code, out = run(small, capsys, "csv")
    assert code == 2 and "diploma-1.csv" in out
    assert edited.read_bytes().endswith(b"my note\r\n")


def test_export_refuses_while_a_file_is_invalid(small, capsys):
    small.activity("broken", "---\ntitle: T\ndate: 2025-02-30\ncategory: other\n---\n")
    code, out = run(small, capsys, "csv")
    assert code == 1
    assert "content/activities/broken.md:3: error:" in out
    assert "Nothing exported: fix the 1 problem(s) above first." in out
    assert not (small.root / "records").exists()


def test_export_without_portfolio_yaml_is_a_setup_error(small, capsys):
    (small.content / "portfolio.yaml").unlink()
    assert run(small, capsys, "csv")[0] == 2


def test_a_missing_image_stops_the_pdf_with_the_activitys_file(small, capsys):
    small.activity("2025-04-01-image", date="2025-04-01", body="A chart:\n\n![chart](chart.png)")
    code, out = run(small, capsys, "pdf")
    assert code == 1
    assert "content/activities/2025-04-01-image.md:8: error: image 'chart.png' not found" in out
    assert not (small.root / "records").exists()


def test_out_may_name_one_file_and_diploma_picks_one(portfolio, capsys, tmp_path):
    portfolio.settings(TWO_DIPLOMAS)
    portfolio.activity("2023-05-01-old", date="2023-05-01")
    portfolio.activity("2025-03-01-new", date="2025-03-01")
    code, out = run(portfolio, capsys, "pdf", "--out", str(tmp_path / "out" / "one.pdf"))
    assert code == 2 and "add --diploma ID" in out
    code, out = run(portfolio, capsys, "csv", "--diploma", "nope")
    assert code == 2 and "no diploma is called 'nope' (diplomas: diploma-1, diploma-2)" in out
    code, out = run(portfolio, capsys, "csv", "--diploma", "diploma-1", "--out", str(tmp_path / "out" / "old.csv"))
    assert code == 0, out
    rows = list(csv.DictReader(io.StringIO((tmp_path / "out" / "old.csv").read_bytes().decode("utf-8-sig"))))
    assert [r["id"] for r in rows] == ["2023-05-01-old"]
    code, out = run(portfolio, capsys, "csv", "--out", str(tmp_path / "folder"))
    assert code == 0
    assert sorted(p.name for p in (tmp_path / "folder").glob("*.csv")) == [
        "activities.csv",
        "diploma-1.csv",
        "diploma-2.csv",
    ]


def test_export_needs_pdf_or_csv(portfolio, capsys):
    assert main(["export", "--root", str(portfolio.root), "html"]) == 2
    assert "invalid choice: 'html'" in capsys.readouterr().err


def test_out_path_relative_to_the_current_folder(small, capsys, monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    code, out = run(small, capsys, "csv", "--out", "mine")
    assert code == 0
    assert "wrote: mine/activities.csv" in out
    assert Path(tmp_path / "mine" / "activities.csv").is_file()


# --- cpdgen hcpc-profile -------------------------------------------------------------------


def profile_run(root: Path, capsys, *args: str) -> tuple[int, str]:
    code = main(["hcpc-profile", "--root", str(root), *args])
    captured = capsys.readouterr()
    return code, captured.out + captured.err


@pytest.mark.slow
def test_the_example_portfolios_profile_for_its_2025_audit(tmp_path, capsys):
    import shutil

    import docx

    shutil.copytree(REPO / "content", tmp_path / "content")
    selected = "2023-11-15-massive-haemorrhage-drill,2024-03-21-wbit-root-cause-analysis"
    code, out = profile_run(tmp_path, capsys, "--audit-date", "2025-09-01", "--select", selected)
    assert code == 0, out
    assert (
        "HCPC CPD profile of 1 September 2023 to 1 September 2025 (from two years before the audit date; your last "
        "renewal, 14 October 2025, is not before it): 21 activities in 5 types of learning, no gap of three months "
        "or more, 8 evidence items." in out
    )
    assert "The statement draws on 3, 7." in out
    records = tmp_path / "records"
    assert sorted(p.name for p in records.iterdir()) == [
        ".cpdgen-records.json", ".gitignore", "hcpc-profile-2025-09-01.docx", "hcpc-profile-2025-09-01.pdf",
    ]  # fmt: skip
    text = pdfread.text((records / "hcpc-profile-2025-09-01.pdf").read_bytes())
    assert "Webinar on the laboratory diagnosis of iron deficiency" in text  # counts for no diploma
    assert "Significant event analysis: delayed release of emergency group O red cells" in text  # private
    assert "IBMS Congress 2023" in text and "Temperature mapping of the blood bank refrigerator" in text
    assert "Planned:" not in text and "Advanced transfusion practice" not in text  # future-dated
    document = docx.Document(str(records / "hcpc-profile-2025-09-01.docx"))
    [activities] = [t for t in document.tables if t.rows[0].cells[0].text == "No." and len(t.rows) > 3]
    assert len(activities.rows) == 1 + 21
    assert activities.rows[20].cells[2].text == "Webinar on the laboratory diagnosis of iron deficiency"
    code, out = profile_run(tmp_path, capsys, "--audit-date", "2025-09-01", "--select", selected)
    assert code == 0 and "unchanged: " in out


def test_the_profile_is_refused_while_the_statement_holds_an_nhs_number(portfolio, capsys):
    profile_portfolio(portfolio)
    portfolio.write("hcpc/statement.md", "I reviewed the case.\nThe request for 943 476 5919 was late.\n")
    code, out = profile_run(portfolio.root, capsys, "--audit-date", "2025-09-01")
    assert code == 1
    assert "content/hcpc/statement.md:2:17: error: NHS number 943 *** ****" in out and "[nhs-number]" in out
    assert "5919" not in out
    assert "Nothing written: fix the 1 problem(s) above first." in out
    assert not (portfolio.root / "records").exists()


def test_the_draft_is_written_while_it_lacks_something_and_the_exit_code_says_so(portfolio, capsys, monkeypatch):
    monkeypatch.chdir(portfolio.root)
    portfolio.activity("2024-01-10-a", date="2024-01-10")
    portfolio.activity("2024-02-10-b", date="2024-02-10", category="other", standards=[3])
    code, out = profile_run(portfolio.root, capsys, "--audit-date", "2025-09-01", "--out", "drafts")
    assert code == 1
    assert "content/hcpc/summary.md: error: your summary of practice history is not written yet" in out
    assert "content/hcpc/gaps.md: error: no CPD for" in out
    assert "content/activities: warning: 2 activities from 1 September 2023" in out
    assert "No activity selected for the statement yet" in out
    assert "  * 2024-02-10-b  An activity" in out and "    2024-01-10-a  An activity" in out
    assert "Draft written, but not ready to send: fix the 4 errors above." in out
    assert (portfolio.root / "drafts" / "hcpc-profile-2025-09-01.docx").is_file()


def test_an_unknown_selected_activity_writes_nothing(portfolio, capsys):
    profile_portfolio(portfolio)
    code, out = profile_run(portfolio.root, capsys, "--audit-date", "2025-09-01", "--select", "2024-02-05-a44")
    assert code == 1
    assert (
        "content/activities: error: --select names '2024-02-05-a44', which is not an activity; did you mean "
        "'2024-02-05-a4'? [hcpc-unknown-activity]" in out
    )
    assert not (portfolio.root / "records").exists()


@pytest.mark.parametrize(
    "args, message",
    [
        (["--audit-date", "2025-13-01"], "'2025-13-01' is not a date"),
        (["--audit-date", "01/09/2025"], "write dates as YYYY-MM-DD"),
        (["--audit-date", "2025-09-01", "--since", "2025-10-01"], "--since 2025-10-01 is after the audit date"),
        (["--select", " , "], "give activity ids separated by commas"),
        (["--out", "profile.pdf"], "names a file; give a folder"),
    ],
)
def test_bad_options_are_a_clear_message_and_exit_2(portfolio, capsys, args, message):
    portfolio.activity("2024-01-10-a", date="2024-01-10")
    code, out = profile_run(portfolio.root, capsys, *args)
    assert code == 2 and message in out
    assert "Traceback" not in out


def test_the_profile_is_never_written_into_the_site_or_where_git_would_commit_it(portfolio, capsys):
    import subprocess

    profile_portfolio(portfolio)
    root = portfolio.root
    for folder in ("site", "content", "templates"):
        code, out = profile_run(root, capsys, "--out", str(root / folder))
        assert code == 2 and f"refusing to write the complete record to {folder}" in out
    (root / "public").mkdir()
    (root / "public" / ".cpdgen-output").write_text("a site cpdgen builds\n")
    code, out = profile_run(root, capsys, "--out", str(root / "public"))
    assert code == 2 and "is a site cpdgen builds" in out
    subprocess.run(["git", "init", "-q", str(root)], check=True)
    (root / "notes").mkdir()
    (root / "notes" / "mine.md").write_text("tracked notes")
    code, out = profile_run(root, capsys, "--out", str(root / "notes"))
    assert code == 2 and "git would commit it" in out
    assert sorted(p.name for p in (root / "notes").iterdir()) == ["mine.md"]
    assert not (root / "site").exists()


def test_start_creates_the_members_files_with_prompts_and_never_overwrites(portfolio, capsys, monkeypatch):
    from cpdgen.hcpc import gather_profile

    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1756684800")  # 1 September 2025, the default audit date
    portfolio.activity("2024-01-10-a", date="2024-01-10")
    portfolio.activity("2024-01-10-b", date="2024-01-10", category="other")
    portfolio.write("hcpc/summary.md", "I wrote this myself.\n")
    code, out = profile_run(portfolio.root, capsys, "--start")
    assert code == 0
    assert "kept (it exists; cpdgen never writes over it): " in out and "created: " in out
    hcpc = portfolio.content / "hcpc"
    assert (hcpc / "summary.md").read_text() == "I wrote this myself.\n"
    statement = (hcpc / "statement.md").read_text()
    assert statement.startswith("<!--") and statement.rstrip().endswith("-->")
    assert "standard 3" in statement and 'written as "I"' in statement
    gaps = (hcpc / "gaps.md").read_text()
    assert "## 2023-09-01 to 2024-01-09\n" in gaps and "## 2024-01-11 to 2025-09-01\n" in gaps
    # The prompts are no text: the profile still says the statement and the gaps are to write.
    loaded = load_portfolio(portfolio.root)
    assert loaded.problems == []  # the files are known: no not-read warning
    profile = gather_profile(loaded, date(2025, 9, 1), date(2025, 9, 1))
    assert {(p.path, p.code) for p in profile.errors} == {
        ("content/hcpc/statement.md", "hcpc-text-missing"),
        ("content/hcpc/gaps.md", "hcpc-gap-unexplained"),
    }
    before = {p.name: p.read_bytes() for p in hcpc.iterdir()}
    code, out = profile_run(portfolio.root, capsys, "--start")
    assert code == 0 and out.count("kept (it exists") == 3
    assert {p.name: p.read_bytes() for p in hcpc.iterdir()} == before


@pytest.mark.slow
def test_a_link_left_out_of_the_profiles_pdf_is_reported(portfolio, capsys):
    """As for the diploma record, a link the PDF cannot hold is left out with a warning, never silently."""
    profile_portfolio(portfolio)
    portfolio.write(
        "hcpc/statement.md", "I reviewed the [EQA results](javascript:alert(1)) and changed our procedure.\n"
    )
    code, out = profile_run(portfolio.root, capsys, "--audit-date", "2025-09-01")
    assert code == 0, out
    assert (
        "content/hcpc/statement.md:1: warning: link 'javascript:alert(1)' is left out of the PDF" in out
        and "[pdf-link-refused]" in out
    )


def test_start_does_not_write_through_a_linked_hcpc_folder(portfolio, capsys, tmp_path_factory):
    """content/hcpc/ as a link to a folder elsewhere: --start would create the member's files there,
    outside the portfolio, where cpdgen then refuses to read them."""
    elsewhere = tmp_path_factory.mktemp("elsewhere")
    (portfolio.content / "hcpc").symlink_to(elsewhere, target_is_directory=True)
    code, out = profile_run(portfolio.root, capsys, "--start")
    assert code == 2
    assert "content/hcpc is a link" in out and "Traceback" not in out
    assert list(elsewhere.iterdir()) == []


def test_a_records_folder_the_member_made_gets_advice_that_does_not_send_them_back_to_it(portfolio, capsys):
    """records/ made by hand (without cpdgen's .gitignore) in a git portfolio: the refusal must not
    advise "use records/", the very folder refused."""
    import subprocess

    profile_portfolio(portfolio)
    subprocess.run(["git", "init", "-q", str(portfolio.root)], check=True)
    (portfolio.root / "records").mkdir()
    code, out = profile_run(portfolio.root, capsys, "--audit-date", "2025-09-01")
    assert code == 2
    assert "use records/" not in out
    assert "add records/ to your .gitignore" in out and "cpdgen did not make it" in out
