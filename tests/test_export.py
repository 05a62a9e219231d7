"""``cpdgen export pdf|csv``: the complete record, written outside site/, never over a file cpdgen did not write."""

from __future__ import annotations

import csv
import io
import json
from datetime import date
from pathlib import Path

import pytest

import pdfread
from conftest import Builder
from cpdgen.cli import main
from cpdgen.export import export_records

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
    assert [w.status for w in result.written] == ["written"]
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
