"""``cpdgen check`` and ``cpdgen types`` through ``main(argv)``, and once as a real process."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest

from conftest import activity_text
from cpdgen.cli import main

REPO = Path(__file__).resolve().parents[1]


def test_eligible_portfolio_passes(portfolio, run_check):
    portfolio.many(24)
    code, out = run_check("--as-of", "2025-07-01")
    assert code == 0
    assert "24 activities count (24 needed), in 3 categories (3 needed)" in out
    assert "Ready to submit for validation: it meets the diploma rules." in out
    assert out.rstrip().endswith("Check passed.")


def test_not_eligible_fails_and_says_what_is_missing(portfolio, run_check):
    portfolio.many(21, categories=("other", "formal-educational"))
    code, out = run_check("--as-of", "2025-07-01")
    assert code == 1
    assert "Not eligible yet: it needs 3 more activities and 1 more category." in out
    assert out.rstrip().endswith("Check failed.")


def test_content_only_passes_mid_cycle(portfolio, run_check):
    portfolio.many(3)
    assert run_check("--as-of", "2025-07-01", "--content-only")[0] == 0
    portfolio.activity("bad", activity_text(category="nope"))
    assert run_check("--as-of", "2025-07-01", "--content-only")[0] == 1


def test_problems_come_first_sorted_by_path_and_line(portfolio, run_check):
    portfolio.many(24)
    portfolio.activity("b", "---\ntitle: T\ndate: 2024-02-30\ncategory: nope\n---\n")
    portfolio.activity("a", "---\ntitle: T\n---\n")
    code, out = run_check("--as-of", "2025-07-01")
    lines = out.splitlines()
    assert code == 1
    assert lines[0].startswith("content/activities/a.md:1: error: add a 'category'")
    assert lines[1] == "content/activities/a.md:1: error: 'date' is missing [missing-field]"
    assert lines[2].startswith("content/activities/b.md:3: error: date: '2024-02-30' is not a date")
    assert lines[3].startswith("content/activities/b.md:4: error: category 'nope' is not a CPD category")
    assert "Traceback" not in out


def test_warnings_fail_only_under_strict(portfolio, run_check):
    portfolio.many(24)
    portfolio.activity("short", activity_text(date="2025-03-01", reflection="Brief."))
    assert run_check("--as-of", "2025-07-01")[0] == 0
    code, out = run_check("--as-of", "2025-07-01", "--strict")
    assert code == 1
    assert "warning:" in out and "[short-reflection]" in out


def test_missing_content_folder_is_exit_2(tmp_path, capsys):
    assert main(["check", "--root", str(tmp_path)]) == 2
    assert "no content/ folder" in capsys.readouterr().err


def test_missing_portfolio_yaml_is_exit_2_but_still_reports_activities(portfolio, run_check):
    (portfolio.content / "portfolio.yaml").unlink()
    portfolio.activity("a", "---\ntitle: T\n---\n")
    code, out = run_check()
    assert code == 2
    assert "[no-portfolio]" in out and "[missing-field]" in out


@pytest.mark.parametrize("argv", [["check", "--as-of", "2025-02-30"], ["check", "--format", "xml"], ["nope"], []])
def test_usage_errors_are_exit_2(argv, capsys):
    assert main(argv) == 2


def test_help_and_version(capsys):
    assert main(["--version"]) == 0
    assert capsys.readouterr().out.startswith("cpdgen ")
    assert main(["check", "--help"]) == 0
    assert "--content-only" in capsys.readouterr().out


def test_quiet_prints_only_problems(portfolio, run_check):
    portfolio.many(24)
    assert run_check("--as-of", "2025-07-01", "-q") == (0, "")


def test_github_format_annotates_lines(portfolio, run_check):
    portfolio.activity("a", "---\ntitle: T\ndate: 2024-01-01\ncategory: nope, really\n---\n")
    code, out = run_check("--format", "github", "--as-of", "2025-07-01")
    assert code == 1
    first = out.splitlines()[0]
    assert first.startswith("::error file=content/activities/a.md,line=4,title=unknown-category::")
    assert "'nope%2C really'" not in first  # commas are escaped only in properties, not the message
    assert (
        "::warning title=CPD Diploma 1::0 activities count (24 needed), in 0 categories (3 needed); "
        "not eligible yet: needs 24 more activities and 3 more categories." in out
    )


def test_json_matches_the_contract(portfolio, run_check):
    portfolio.settings(
        "member:\n  name: A\ndiplomas:\n  - start: 2023-01-01\n    submitted: 2024-06-01\n    issued: 2024-07-01\n"
        "  - start: 2024-07-01\n"
    )
    portfolio.many(17, start="2025-08-04", categories=("formal-educational", "work-based-learning"))
    portfolio.activity("2023-10-12-eqa", activity_text(date="2023-10-12", draft=True))
    portfolio.activity("bad", activity_text(category="formal edu"))
    code, out = run_check("--format", "json", "--as-of", "2026-11-28")
    data = json.loads(out)
    assert code == 1 and data["ok"] is False
    assert data["schema_version"] == 1
    assert data["as_of"] == "2026-11-28"
    assert data["eligible"] is False
    assert data["current_diploma"] == "diploma-2"
    d1, d2 = data["diplomas"]
    assert d1["status"] == "issued" and d1["evaluated_on"] == "2024-06-01"
    assert d1["activities"] == [
        {
            "id": "2023-10-12-eqa",
            "date": "2023-10-12",
            "category": "work-based-learning",
            "counted": False,
            "reason": "draft",
            "leaves_window_on": None,
        }
    ]
    assert {
        k: d2[k]
        for k in (
            "id",
            "status",
            "start",
            "evaluated_on",
            "eligible",
            "counted",
            "required",
            "categories",
            "required_categories",
        )
    } == {
        "id": "diploma-2",
        "status": "open",
        "start": "2024-07-01",
        "evaluated_on": "2026-11-28",
        "eligible": False,
        "counted": 17,
        "required": 24,
        "categories": ["formal-educational", "work-based-learning"],
        "required_categories": 3,
    }
    assert data["problems"] == [
        {
            "severity": "error",
            "code": "unknown-category",
            "file": "content/activities/bad.md",
            "line": 4,
            "column": None,
            "publishes": True,
            "message": "category 'formal edu' is not a CPD category; did you mean 'formal-educational'?",
        }
    ]


def test_json_reason_values_are_the_documented_ones(portfolio, run_check):
    portfolio.settings(
        "member:\n  name: A\ndiplomas:\n  - start: 2023-01-01\n    submitted: 2024-06-01\n    issued: 2024-07-01\n"
        "  - start: 2024-07-01\n"
    )
    portfolio.activity("before", activity_text(date="2022-12-01"))
    portfolio.activity("after", activity_text(date="2024-06-15"))
    portfolio.activity("draft", activity_text(date="2025-01-01", draft=True))
    portfolio.activity("future", activity_text(date="2027-01-01"))
    portfolio.activity("bare", activity_text(date="2025-01-02", reflection=None))
    portfolio.settings(
        "member:\n  name: A\ndiplomas:\n  - start: 2023-01-01\n    submitted: 2024-06-01\n    issued: 2024-07-01\n"
        "  - start: 2024-07-01\n"
    )
    data = json.loads(run_check("--format", "json", "--as-of", "2026-11-28")[1])
    reasons = {a["id"]: a["reason"] for d in data["diplomas"] for a in d["activities"]}
    assert reasons == {
        "before": "before-start",
        "after": "after-submission",
        "draft": "draft",
        "future": "future",
        "bare": "no-reflection",
    }


def test_types_says_where_its_list_comes_from_and_has_the_hcpc_and_ibms_examples(capsys):
    assert main(["types"]) == 0
    out = capsys.readouterr().out
    assert out.startswith(
        "Pre-defined activity types: the HCPC's examples of CPD activities, in the HCPC's categories;"
    )
    assert "the IBMS's own learning products [IBMS]" in out
    assert "journal-based-learning      IBMS Journal-Based Learning (JBL) exercise  [IBMS]" in out
    assert main(["types", "--format", "json"]) == 0
    types = {t["id"]: (t["category"], t["source"]) for t in json.loads(capsys.readouterr().out)}
    assert {
        "branch-meeting": ("professional-activity", "hcpc"),
        "wider-work": ("work-based-learning", "hcpc"),
        "visiting-departments": ("work-based-learning", "hcpc"),
        "self-assessment": ("work-based-learning", "hcpc"),
        "accredited-course": ("formal-educational", "hcpc"),
        "expert-witness": ("professional-activity", "hcpc"),
        "promotion": ("professional-activity", "hcpc"),
        "journal-based-learning": ("self-directed-learning", "ibms"),
        "ibms-congress": ("formal-educational", "ibms"),
        "webinar": ("formal-educational", "ibms"),
    }.items() <= types.items()


def test_a_new_type_gives_its_category_in_an_activity(portfolio, run_check):
    portfolio.activity("a", activity_text(category=None, type="Journal-Based Learning"))
    portfolio.activity("b", activity_text(category=None, type="IBMS Congress"))
    portfolio.activity("c", activity_text(category=None, type="branch meeting"))
    data = json.loads(run_check("--format", "json", "--as-of", "2026-02-01")[1])
    assert data["problems"] == []
    found = {a["id"]: a["category"] for a in data["diplomas"][0]["activities"]}
    assert found == {"a": "self-directed-learning", "b": "formal-educational", "c": "professional-activity"}


def test_types_lists_the_catalogue(capsys):
    assert main(["types"]) == 0
    out = capsys.readouterr().out
    assert "journal-club" in out and "Work-based learning (work-based-learning)" in out
    assert main(["types", "--format", "json"]) == 0
    types = json.loads(capsys.readouterr().out)
    assert len(types) >= 30
    assert {"id": "journal-club", "label": "Journal club", "category": "work-based-learning", "source": "hcpc"} in types


def test_real_process_json_and_no_traceback(portfolio):
    portfolio.many(24)
    portfolio.activity("broken", b"---\ntitle: \x92\n---\n")
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    result = subprocess.run(
        [sys.executable, "-m", "cpdgen", "check", "--format", "json", "--as-of", "2025-07-01"],
        cwd=portfolio.root,
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    data = json.loads(result.stdout)
    assert data["ok"] is False and data["eligible"] is True
    assert [(p["file"], p["line"], p["code"]) for p in data["problems"]] == [
        ("content/activities/broken.md", 2, "not-utf8")
    ]


def test_source_date_epoch_sets_today(portfolio, run_check, monkeypatch):
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1743463800")  # 2025-03-31T23:30Z: already 1 April in London
    data = json.loads(run_check("--format", "json")[1])
    assert data["as_of"] == "2025-04-01"


INSIDE_THE_WINDOW = (
    "member:\n  name: A\ndiplomas:\n  - start: 2023-01-01\n    submitted: 2025-04-14\n    issued: 2025-06-16\n"
    "  - start: 2025-06-16\n"
)


def test_a_diploma_started_inside_the_window_counts_from_its_start(portfolio, run_check):
    portfolio.settings(INSIDE_THE_WINDOW)
    portfolio.many(3, start="2025-07-07")
    out = run_check("--as-of", "2026-11-28")[1]
    assert "Counted: activities from 16 June 2025 to 28 November 2026 with a reflection." in out
    github = run_check("--format", "github", "--as-of", "2026-11-28")[1]
    assert "Counted: activities from 16 June 2025 to 28 November 2026 with a reflection." in github
    d1, d2 = json.loads(run_check("--format", "json", "--as-of", "2026-11-28")[1])["diplomas"]
    assert (d2["window_start"], d2["counts_from"]) == ("2024-11-28", "2025-06-16")
    assert (d1["window_start"], d1["counts_from"]) == ("2023-04-14", "2023-04-14")  # the window starts later


def test_a_diploma_without_a_start_counts_from_the_window(portfolio, run_check):
    portfolio.many(2)
    (diploma,) = json.loads(run_check("--format", "json", "--as-of", "2025-07-01")[1])["diplomas"]
    assert diploma["start"] is None and diploma["counts_from"] == diploma["window_start"] == "2023-07-01"


def test_the_report_names_diplomas_and_statuses_in_the_ibms_words(portfolio, run_check):
    portfolio.settings(INSIDE_THE_WINDOW)
    portfolio.many(24, start="2023-05-01")
    portfolio.many(24, start="2025-07-07")
    out = run_check("--as-of", "2026-11-28", "--verbose")[1]
    assert "Diploma 1 (validated and issued on 16 June 2025), judged on 14 April 2025:" in out
    assert "Diploma 2 (open since 16 June 2025), judged on 28 November 2026:" in out
    assert "Ready to submit for validation: it meets the diploma rules." in out
    assert "24 activities count (24 needed), in 3 categories (3 needed): Formal / educational" in out
    assert " of 24 " not in out and "Diploma diploma-" not in out
    data = json.loads(run_check("--format", "json", "--as-of", "2026-11-28")[1])
    assert [(d["status"], d["status_text"]) for d in data["diplomas"]] == [
        ("issued", "Validated and issued"),
        ("open", "Ready to submit for validation"),
    ]


def test_a_submitted_diploma_says_submitted_for_validation(portfolio, run_check):
    portfolio.settings("member:\n  name: A\ndiplomas:\n  - start: 2024-01-01\n    submitted: 2025-06-01\n")
    portfolio.many(2, start="2025-01-06")
    out = run_check("--as-of", "2025-07-01")[1]
    assert "Diploma 1 (submitted for validation on 1 June 2025), judged on 1 June 2025:" in out
    assert "2 activities count (24 needed), in 2 categories (3 needed)" in out
    assert "Not eligible: on the day it was submitted it needed 22 more activities and 1 more category." in out
    (diploma,) = json.loads(run_check("--format", "json", "--as-of", "2025-07-01")[1])["diplomas"]
    assert (diploma["status"], diploma["status_text"]) == ("submitted", "Submitted for validation")


def test_a_mistake_in_cpdgen_itself_is_a_message_and_exit_70(portfolio, capsys, monkeypatch):
    import cpdgen.report

    def broken(*args, **kwargs):
        raise KeyError("added-after-submission")

    monkeypatch.setattr(cpdgen.report, "text_report", broken)
    monkeypatch.delenv("CPDGEN_DEBUG", raising=False)
    code = main(["check", "--root", str(portfolio.root)])
    err = capsys.readouterr().err
    assert code == 70
    assert "this is a mistake in cpdgen, not in your files (KeyError: 'added-after-submission')" in err
    assert "Traceback" not in err and "CPDGEN_DEBUG=1" in err
    monkeypatch.setenv("CPDGEN_DEBUG", "1")
    with pytest.raises(KeyError):
        main(["check", "--root", str(portfolio.root)])


def test_a_diploma_whose_start_is_written_in_advance_has_not_started(portfolio, run_check):
    from cpdgen.site.build import build_site

    portfolio.settings(
        {
            "member": {"name": "A"},
            "diplomas": [
                {"id": "d1", "start": "2024-01-01", "submitted": "2026-11-20"},
                {"id": "d2", "start": "2027-01-01"},
            ],
        }
    )
    portfolio.many(3, start="2025-01-06")
    code, out = run_check("--as-of", "2026-11-30")
    assert "Diploma d2 (starts on 1 January 2027), judged on 30 November 2026:" in out
    assert "Not started yet: activities count from 1 January 2027, the day it starts." in out
    assert "Counted: activities from 1 January 2027" not in out  # never a period that ends before it begins
    result = build_site(portfolio.root, as_of=date(2026, 11, 30), pdf=False)
    dashboard = (result.out / "index.html").read_text()
    assert "Not started yet: activities count from 1 January 2027" in dashboard
    assert "chart-timeline" not in dashboard  # no timeline of days that cannot count yet
    assert "from 1 January 2027, the day it starts" in (result.out / "diplomas/d2/index.html").read_text()
