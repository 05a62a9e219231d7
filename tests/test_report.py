"""check's reports in the forges' own ways: a GitHub job summary (Markdown) and a GitLab Code Quality report."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import markdown
import pytest

from conftest import activity_text

SCHEMA = json.loads((Path(__file__).parent / "schemas" / "gitlab-code-quality.schema.json").read_text("utf-8"))
TRICKY = "Audit | <script>alert(1)</script> *bold* [link](https://example.org)"


def summary_html(text: str) -> str:
    return markdown.markdown(text, extensions=["tables"])


@pytest.fixture
def summary_file(tmp_path, monkeypatch) -> Path:
    path = tmp_path / "step-summary.md"
    path.write_text("## An earlier step's summary\n", encoding="utf-8")
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(path))
    return path


def test_job_summary_is_appended_with_each_diploma_and_what_leaves_the_window(portfolio, run_check, summary_file):
    portfolio.settings(
        "member:\n  name: A\ndiplomas:\n  - start: 2023-01-01\n    submitted: 2024-06-01\n    issued: 2024-07-01\n"
    )
    portfolio.many(20, start="2024-12-02")
    portfolio.activity("2024-12-01-tricky", title=TRICKY, date="2024-12-01")
    code, out = run_check("--as-of", "2026-09-20", "--format", "github")
    assert code == 1 and "::warning title=CPD Diploma 2::" in out  # the annotations are still printed
    text = summary_file.read_text(encoding="utf-8")
    assert text.startswith("## An earlier step's summary\n## CPD check: failed\n")  # appended, never replaced
    html = summary_html(text.split("\n", 1)[1])
    rows = [row for row in html.split("<tr>")[2:]]
    assert len(rows) == 2  # one row per diploma, five cells each: a title with "|" does not add cells
    assert all(row.count("<td>") == 5 for row in rows)
    assert "Diploma 1</td>\n<td>issued on 1 July 2024</td>" in html
    assert "<td>21 (24 needed)</td>\n<td>3 (3 needed)</td>\n<td>Not eligible yet: needs 3 more activities</td>" in html
    assert "Leaving the two-year window in the next 90 days (4):" in html
    assert "<li>17 December 2026: An activity</li>" in html and "24 December 2026" not in html
    # the member's title is text, never markup
    assert "<script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<strong>" not in html.split("Leaving")[1] and "<a href" not in html
    assert "<li>2 December 2026: Audit &#124; &lt;script&gt;" in html


def test_job_summary_lists_the_problems_and_is_written_whatever_the_format(portfolio, run_check, summary_file):
    portfolio.many(24)
    portfolio.activity("bad", activity_text(category="nope"))
    code, _ = run_check("--as-of", "2025-07-01", "--format", "json")
    assert code == 1
    html = summary_html(summary_file.read_text(encoding="utf-8"))
    assert "<h3>1 error, 0 warnings</h3>" in html
    assert "<td><code>content/activities/bad.md</code></td>\n<td>4</td>\n<td>error</td>" in html
    assert "(<code>unknown-category</code>)" in html
    assert "No counted activity leaves the two-year window in the next 90 days." in html


def test_job_summary_is_not_written_without_the_variable(portfolio, run_check, tmp_path, monkeypatch):
    monkeypatch.delenv("GITHUB_STEP_SUMMARY", raising=False)
    portfolio.many(3)
    run_check("--as-of", "2025-07-01")
    assert not list(tmp_path.glob("*.md"))


def test_an_unwritable_job_summary_is_a_warning_not_a_changed_verdict(portfolio, run_check, tmp_path, monkeypatch):
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(tmp_path / "no-such-folder" / "summary.md"))
    portfolio.many(24)
    code, out = run_check("--as-of", "2025-07-01")
    assert code == 0 and "cpdgen: warning: the job summary could not be written to" in out


# --- GitLab Code Quality ---------------------------------------------------------------------------


def code_quality(run_check, *args: str) -> tuple[int, list[dict]]:
    code, out = run_check("--format", "gitlab", *args)
    entries = json.loads(out)
    jsonschema.validate(entries, SCHEMA)
    return code, entries


def test_code_quality_report_matches_gitlabs_fields(portfolio, run_check):
    portfolio.many(10)
    portfolio.activity("bad", activity_text(category="nope"))
    portfolio.activity("short", activity_text(date="2025-03-01", reflection="Brief."))
    code, entries = code_quality(run_check, "--as-of", "2025-07-01")
    assert code == 1
    by_check = {e["check_name"]: e for e in entries}
    assert set(by_check) == {"unknown-category", "short-reflection", "diploma-not-eligible"}
    problem = by_check["unknown-category"]
    assert problem["severity"] == "major" and problem["location"] == {
        "path": "content/activities/bad.md",
        "lines": {"begin": 4},
    }
    assert problem["description"].startswith("category 'nope' is not a CPD category")
    assert by_check["short-reflection"]["severity"] == "minor"
    diploma = by_check["diploma-not-eligible"]
    assert diploma["description"].startswith("Diploma 1: Not eligible yet: needs 13 more activities")
    assert diploma["location"]["path"] == "content/portfolio.yaml"
    assert len({e["fingerprint"] for e in entries}) == len(entries)


def test_code_quality_fingerprints_survive_edits_elsewhere(portfolio, run_check):
    portfolio.many(10)
    portfolio.activity("bad", activity_text(category="nope"))
    _, before = code_quality(run_check, "--as-of", "2025-07-01")
    # the problem moves down two lines, and one more activity changes the diploma's counts
    portfolio.activity("bad", activity_text(category="nope").replace("---\n", "---\n# a note\n# another\n", 1))
    portfolio.activity("2025-06-01-new", date="2025-06-01")
    _, after = code_quality(run_check, "--as-of", "2025-07-01")
    lines = {e["check_name"]: e["location"]["lines"]["begin"] for e in after}
    assert (
        lines["unknown-category"]
        != {e["check_name"]: e["location"]["lines"]["begin"] for e in before}["unknown-category"]
    )
    assert sorted(e["fingerprint"] for e in before) == sorted(e["fingerprint"] for e in after)


def test_code_quality_same_message_twice_gives_two_fingerprints(portfolio, run_check):
    portfolio.many(24)
    portfolio.activity("twice", activity_text(body="Patient 943 476 5919 seen.\n\nAgain 943 476 5919."))
    _, entries = code_quality(run_check, "--as-of", "2025-07-01")
    messages = [(e["location"]["path"], e["description"]) for e in entries]
    assert len(messages) > len(set(messages))  # one file, one message, twice
    assert len({e["fingerprint"] for e in entries}) == len(entries)


def test_code_quality_content_only_and_a_passing_record(portfolio, run_check):
    portfolio.many(3)
    code, entries = code_quality(run_check, "--as-of", "2025-07-01", "--content-only")
    assert (code, entries) == (0, [])
    portfolio.many(24)
    assert code_quality(run_check, "--as-of", "2025-07-01") == (0, [])


def test_the_schema_check_can_fail():
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate([{"description": "x", "check_name": "c", "fingerprint": "f", "severity": "error"}], SCHEMA)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(
            [
                {
                    "description": "x",
                    "check_name": "c",
                    "fingerprint": "f",
                    "severity": "major",
                    "location": {"path": "/abs/a.md", "lines": {"begin": 0}},
                }
            ],
            SCHEMA,
        )
