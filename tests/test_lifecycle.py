"""A diploma over its life: open, eligible, submitted and frozen, edited, issued, the next one.

Each step runs the real commands (``submit``, ``issue``, ``check --format json``, ``build``)
on files in tmp_path, and reads back what a member would: the JSON, the site's pages, the
PDF's text and the CSV. Once a diploma is submitted with its lock, no edit to any file
changes its verdict; every edit that would is reported, and a damaged lock is an error
with its line that loses nothing.
"""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, date, datetime, timedelta

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import pdfread
from conftest import PORTFOLIO, Builder
from cpdgen import rules
from cpdgen.cli import main
from cpdgen.loader import load_portfolio

TODAY = date(2027, 3, 1)
START = "2025-03-03"


@pytest.fixture(autouse=True)
def _today(monkeypatch):
    """'Today' for every command: SOURCE_DATE_EPOCH is the one clock cpdgen reads."""
    noon = datetime(TODAY.year, TODAY.month, TODAY.day, 12, tzinfo=UTC)
    monkeypatch.setenv("SOURCE_DATE_EPOCH", str(int(noon.timestamp())))


def settings_with(**diploma) -> dict:
    return {**PORTFOLIO, "diplomas": [{"id": "diploma-1", "start": date.fromisoformat(START), **diploma}]}


def run(capsys, *args: str) -> tuple[int, str]:
    code = main(list(args))
    captured = capsys.readouterr()
    return code, captured.out + captured.err


def check_json(portfolio: Builder, capsys, *extra: str) -> dict:
    code, out = run(capsys, "check", "--root", str(portfolio.root), "--format", "json", *extra)
    report = json.loads(out)
    report["exit_code"] = code
    return report


def diploma(report: dict, diploma_id: str) -> dict:
    return next(d for d in report["diplomas"] if d["id"] == diploma_id)


def codes(report: dict) -> list[tuple[str, str]]:
    return sorted((p["code"], p["file"]) for p in report["problems"])


def eligible_record(portfolio: Builder, n: int = 25) -> list[str]:
    """``n`` counting activities a fortnight apart from START; their ids."""
    ids = []
    first = date.fromisoformat(START)
    for i in range(n):
        day = first + timedelta(days=14 * i)
        activity_id = f"{day.isoformat()}-a{i}"
        portfolio.activity(
            activity_id,
            title=f"Activity {i}",
            date=day.isoformat(),
            category=("work-based-learning", "formal-educational", "other")[i % 3],
        )
        ids.append(activity_id)
    return ids


def test_a_diploma_over_its_life(portfolio: Builder, capsys):
    root = str(portfolio.root)
    portfolio.settings(settings_with())
    ids = eligible_record(portfolio, 20)

    # Open, not eligible: submitting is refused, and says what is missing.
    report = check_json(portfolio, capsys)
    assert diploma(report, "diploma-1")["status"] == "open" and not report["eligible"]
    code, out = run(capsys, "submit", "--root", root)
    assert code == 2 and "is not eligible on 1 March 2027" not in out and "not eligible on 2027-03-01" in out
    assert "4 more activities" in out
    assert not (portfolio.content / "diplomas").exists()

    # Eligible: submit records the date in portfolio.yaml, comments kept, and writes the lock.
    ids += eligible_record(portfolio, 26)[20:]
    yaml_text = (portfolio.content / "portfolio.yaml").read_text()
    (portfolio.content / "portfolio.yaml").write_text("# my CPD record\n" + yaml_text.rstrip("\n") + "  # mine\n")
    code, out = run(capsys, "submit", "--root", root, "--on", "2027-02-20")
    assert code == 0, out
    assert "diploma-1 submitted for validation on 20 February 2027: 26 activities count" in out
    settings_text = (portfolio.content / "portfolio.yaml").read_text()
    assert settings_text.startswith("# my CPD record\n") and "# mine" in settings_text
    assert yaml.safe_load(settings_text)["diplomas"][0]["submitted"] == date(2027, 2, 20)
    lock = portfolio.content / "diplomas" / "diploma-1.lock"
    lock_bytes = lock.read_bytes()
    report = check_json(portfolio, capsys)
    frozen = diploma(report, "diploma-1")["frozen"]
    assert frozen["lock"] == "content/diplomas/diploma-1.lock" and len(frozen["set_sha256"]) == 64
    assert diploma(report, "diploma-1")["counted"] == 26 and report["problems"] == []

    # Edits after submission: each is reported; the verdict stays as submitted.
    counted = [a for a in ids if a.startswith("2025")]
    emptied, deleted, moved, recategorised, drafted, retitled = counted[:6]
    portfolio.activity(emptied, title="Activity 0", date=emptied[:10], reflection="")
    (portfolio.content / "activities" / f"{deleted}.md").unlink()
    portfolio.activity(moved, title="Activity 2", date="2025-01-01", category="other")
    portfolio.activity(recategorised, title="Activity 3", date=recategorised[:10], category="professional-activity")
    portfolio.activity(drafted, title="Activity 4", date=drafted[:10], category="work-based-learning", draft=True)
    portfolio.activity(retitled, title="Activity 5, renamed", date=retitled[:10], category="other")
    portfolio.activity("2026-06-01-forgotten", title="Forgotten", date="2026-06-01")
    report = check_json(portfolio, capsys)
    assert report["exit_code"] == 1
    found = codes(report)
    assert ("frozen-activity-missing", "content/diplomas/diploma-1.lock") in found
    for changed in (emptied, moved, recategorised, drafted):
        assert ("frozen-activity-changed", f"content/activities/{changed}.md") in found
    assert ("frozen-activity-edited", f"content/activities/{retitled}.md") in found
    held = diploma(report, "diploma-1")
    assert held["counted"] == 26 and held["eligible"] and held["frozen"]["set_sha256"] == frozen["set_sha256"]
    forgotten = next(a for a in held["activities"] if a["id"] == "2026-06-01-forgotten")
    assert (forgotten["counted"], forgotten["reason"]) == (False, "added-after-submission")
    assert lock.read_bytes() == lock_bytes  # check never touches the lock

    # The build goes ahead, says so, and publishes the verdict as submitted.
    code, out = run(capsys, "build", "--root", root)
    assert code == 0, out
    assert "[frozen-activity-missing]" in out
    site = portfolio.root / "site" / "diplomas" / "diploma-1"
    page = (site / "index.html").read_text()
    assert "Frozen as submitted" in page and frozen["set_sha256"][:12] in page
    assert "no longer in the record" in page
    text = pdfread.text((site / "diploma-1.pdf").read_bytes())
    assert frozen["set_sha256"] in text.replace("\n", "") and "26 activities count" in text
    assert deleted in text.replace("\n", "")  # named as submitted and no longer in the record
    rows = list(csv.DictReader(io.StringIO((site / "diploma-1.csv").read_text(encoding="utf-8-sig"))))
    by_id = {row["id"]: row for row in rows}
    assert by_id[moved]["counts"] == "yes", by_id[moved]
    assert (by_id["2026-06-01-forgotten"]["counts"], by_id["2026-06-01-forgotten"]["reason"]) == (
        "no", "added-after-submission",
    )  # fmt: skip

    # Undo the edits the verdict depends on; issue; the next diploma opens on the issue day.
    for changed in (emptied, moved, recategorised, drafted):
        i = int(changed.rsplit("-a", 1)[1])
        portfolio.activity(changed, title=f"Activity {i}", date=changed[:10],
                           category=("work-based-learning", "formal-educational", "other")[i % 3])  # fmt: skip
    i = int(deleted.rsplit("-a", 1)[1])
    portfolio.activity(deleted, title=f"Activity {i}", date=deleted[:10], category="formal-educational")
    report = check_json(portfolio, capsys)
    assert [c for c, _ in codes(report)] == ["frozen-activity-edited"]
    code, out = run(capsys, "issue", "--root", root, "--on", "2027-02-27")
    assert code == 0 and "diploma-2 starts on 27 February 2027" in out
    listed = yaml.safe_load((portfolio.content / "portfolio.yaml").read_text())["diplomas"]
    assert listed[1] == {"id": "diploma-2", "start": date(2027, 2, 27)}
    report = check_json(portfolio, capsys)
    assert diploma(report, "diploma-1")["status"] == "issued" and report["current_diploma"] == "diploma-2"

    # The next diploma: its own activities only; the forgotten one never moves into it.
    for n in range(24):
        portfolio.activity(f"2027-02-27-next-{n}", title=f"Next {n}", date="2027-02-27",
                           category=("work-based-learning", "formal-educational", "other")[n % 3])  # fmt: skip
    report = check_json(portfolio, capsys)
    assert diploma(report, "diploma-2")["counted"] == 24 and report["eligible"]
    assert "2026-06-01-forgotten" not in {a["id"] for a in diploma(report, "diploma-2")["activities"]}
    code, out = run(capsys, "submit", "--root", root)
    assert code == 0 and (portfolio.content / "diplomas" / "diploma-2.lock").is_file()
    assert diploma(check_json(portfolio, capsys), "diploma-2")["status"] == "submitted"


# --- the verdict of a locked diploma never changes ------------------------------------------


EDITS = ["date", "category", "empty-reflection", "draft", "delete", "private", "title", "evidence", "add-dated-inside"]


def _locked(tmp_path_factory) -> tuple[Builder, dict]:
    portfolio = Builder(tmp_path_factory.mktemp("locked"))
    portfolio.settings(settings_with())
    eligible_record(portfolio, 26)
    assert main(["submit", "--root", str(portfolio.root), "--on", "2026-06-01", "--quiet"]) == 0
    verdict = _verdict(portfolio)
    return portfolio, verdict


def _verdict(portfolio: Builder) -> dict:
    assessment = load_portfolio(portfolio.root).assess(TODAY)
    assert assessment is not None
    first = assessment.diplomas[0]
    return {
        "counted": first.counted,
        "eligible": first.eligible,
        "categories": first.categories,
        "judgements": {j.id: (j.counted, j.reason, j.category, j.date) for j in first.judgements if j.counted},
    }


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.tuples(st.sampled_from(EDITS), st.integers(0, 25), st.dates(date(2024, 1, 1), date(2027, 2, 1))),
                min_size=1, max_size=6))  # fmt: skip
def test_no_edit_to_the_files_changes_a_locked_verdict(tmp_path_factory, edits):
    portfolio, verdict = _locked(tmp_path_factory)
    files = sorted((portfolio.content / "activities").glob("*.md"))
    for kind, index, day in edits:
        path = files[index % len(files)]
        if not path.exists():
            continue
        text = path.read_text()
        if kind == "delete":
            path.unlink()
        elif kind == "add-dated-inside":
            portfolio.activity(f"{day.isoformat()}-late-{index}", date=day.isoformat(), title="Late")
        else:
            front, body = text.split("---\n", 2)[1:]
            data = yaml.safe_load(front)
            if kind == "date":
                data["date"] = day
            elif kind == "category":
                data["category"] = "self-directed-learning"
            elif kind == "empty-reflection":
                body = body.split("## Reflection")[0]
            elif kind in ("draft", "private"):
                data[kind] = True
            elif kind == "title":
                data["title"] += " (edited)"
            elif kind == "evidence":
                (path.parent / "note.txt").write_text(f"evidence {index}")
                data["evidence"] = ["note.txt"]
            path.write_text("---\n" + yaml.safe_dump(data, sort_keys=False) + "---\n" + body)
    assert _verdict(portfolio) == verdict


# --- damaged locks --------------------------------------------------------------------------


def _lock_text(tmp_path_factory) -> tuple[Builder, str]:
    portfolio, _ = _locked(tmp_path_factory)
    return portfolio, (portfolio.content / "diplomas" / "diploma-1.lock").read_text()


BAD_LOCKS = {
    "hand-edited outcome": (lambda t: t.replace("counts: true", "counts: false\n    reason: \"expired\"", 1),
                            "edited by hand or damaged", "set_sha256"),
    "truncated": (lambda t: t[: len(t) // 2].rsplit("\n", 1)[0] + "\n", None, None),
    "newer cpdgen": (lambda t: t.replace("lock: 1", "lock: 2").replace('cpdgen: "', 'cpdgen: "9.'),
                     "Upgrade cpdgen", "lock"),
    "merge conflict": (lambda t: t.replace("activities:\n", "activities:\n<<<<<<< HEAD\n=======\n>>>>>>> other\n", 1),
                       "merge conflict markers", "<<<<<<<"),
    "not a lock": (lambda t: "just some text\n", "not a lock", None),
    "unknown key": (lambda t: t.replace("eligible:", "compliant: true\neligible:"), "'compliant' is not part",
                    "compliant"),
}  # fmt: skip


@pytest.mark.parametrize("name", sorted(BAD_LOCKS))
def test_a_damaged_lock_is_an_error_at_its_line_and_loses_nothing(tmp_path_factory, capsys, name):
    portfolio, text = _lock_text(tmp_path_factory)
    damage, message, marker = BAD_LOCKS[name]
    damaged = damage(text)
    lock = portfolio.content / "diplomas" / "diploma-1.lock"
    lock.write_text(damaged)
    report = check_json(portfolio, capsys)
    [problem] = [p for p in report["problems"] if p["file"] == "content/diplomas/diploma-1.lock"]
    assert problem["severity"] == "error" and problem["code"] == "bad-lock", problem
    if message:
        assert message in problem["message"]
    if marker:
        expected = next(n for n, line in enumerate(damaged.split("\n"), 1) if line.startswith(marker))
        assert problem["line"] == expected
    assert problem["line"] is not None or name == "truncated"
    code, out = run(capsys, "build", "--root", str(portfolio.root), "--no-pdf")
    assert code == 1 and "[bad-lock]" in out and "Traceback" not in out
    assert lock.read_text() == damaged  # never rewritten, never removed
    code, out = run(capsys, "submit", "--root", str(portfolio.root), "diploma-1")
    assert code == 2 and lock.read_text() == damaged


def test_a_lock_without_its_submission_date_is_an_error(portfolio, capsys):
    portfolio.settings(settings_with())
    eligible_record(portfolio, 24)
    assert run(capsys, "submit", "--root", str(portfolio.root), "--on", "2026-06-01")[0] == 0
    portfolio.settings(settings_with())  # the date removed by hand
    report = check_json(portfolio, capsys)
    assert ("lock-without-submission", "content/diplomas/diploma-1.lock") in codes(report)
    portfolio.settings(settings_with(submitted=date(2026, 6, 2)))
    report = check_json(portfolio, capsys)
    [problem] = [p for p in report["problems"] if p["code"] == "bad-lock"]
    assert "locked as submitted on 2026-06-01, but portfolio.yaml says 2026-06-02" in problem["message"]
    assert problem["line"] == 7


# --- submit and issue, and portfolio.yaml as the member wrote it --------------------------------


def test_submit_refuses_while_a_file_has_errors(portfolio, capsys):
    portfolio.settings(settings_with())
    eligible_record(portfolio, 24)
    portfolio.activity("broken", "---\ntitle: Broken\n---\nno date\n")
    code, out = run(capsys, "submit", "--root", str(portfolio.root))
    assert code == 2 and "content/activities/broken.md" in out and "fix what 'cpdgen check' reports" in out
    assert not (portfolio.content / "diplomas").exists()
    assert "submitted" not in (portfolio.content / "portfolio.yaml").read_text()


def test_a_diploma_submitted_before_the_record_is_marked_without_a_lock(portfolio, capsys):
    portfolio.settings(settings_with())
    eligible_record(portfolio, 3)
    code, out = run(capsys, "submit", "--root", str(portfolio.root), "--on", "2025-12-01", "--no-lock")
    assert code == 0 and "without a lock" in out
    assert not (portfolio.content / "diplomas").exists()
    code, out = run(capsys, "check", "--root", str(portfolio.root), "--content-only", "-v")
    assert "Not frozen: judged from your files as they are now" in out
    assert out.count("Not frozen") == 1


def test_submit_writes_the_list_of_diplomas_when_there_is_none(portfolio, capsys):
    eligible_record(portfolio, 24)
    code, out = run(capsys, "submit", "--root", str(portfolio.root), "--on", "2026-06-01")
    assert code == 0, out
    data = yaml.safe_load((portfolio.content / "portfolio.yaml").read_text())
    assert data["diplomas"] == [{"id": "diploma-1", "submitted": date(2026, 6, 1)}]
    assert check_json(portfolio, capsys)["problems"] == []


@pytest.mark.parametrize(
    "layout",
    [
        "diplomas:\n  - id: diploma-1\n    start: 2025-03-03     # when I registered\n# trailing note\n",
        "diplomas:\n- id: diploma-1\n  start: 2025-03-03\n",
        "diplomas:\n  - {id: diploma-1, start: 2025-03-03}  # one line\n",
        "diplomas:\r\n  - id: diploma-1\r\n    start: 2025-03-03\r\n",
    ],
)
def test_submit_and_issue_keep_the_members_layout(portfolio, capsys, layout):
    newline = "\r\n" if "\r\n" in layout else "\n"
    original = f"member:{newline}  name: Alex Morgan   # me{newline}" + layout
    (portfolio.content / "portfolio.yaml").write_bytes(original.encode())
    eligible_record(portfolio, 24)
    assert run(capsys, "submit", "--root", str(portfolio.root), "--on", "2026-06-01")[0] == 0
    assert run(capsys, "issue", "--root", str(portfolio.root), "--on", "2026-07-01")[0] == 0
    text = (portfolio.content / "portfolio.yaml").read_bytes().decode()
    assert "# me" in text and (newline == "\n" or "\n" not in text.replace("\r\n", ""))
    for comment in ("# when I registered", "# trailing note", "# one line"):
        assert (comment in text) == (comment in original)
    data = yaml.safe_load(text)
    assert data["diplomas"] == [
        {"id": "diploma-1", "start": date(2025, 3, 3), "submitted": date(2026, 6, 1), "issued": date(2026, 7, 1)},
        {"id": "diploma-2", "start": date(2026, 7, 1)},
    ]
    assert check_json(portfolio, capsys)["problems"] == []


@pytest.mark.parametrize(
    "args, message",
    [
        (["submit", "--on", "2027-03-02"], "in the future"),
        (["submit", "--on", "2025-01-01"], "starts on 2025-03-03"),
        (["submit", "diploma-9"], "there is no diploma 'diploma-9'"),
        (["issue", "--on", "2027-01-01"], "no diploma is submitted"),
    ],
)
def test_lifecycle_commands_refuse_with_a_reason(portfolio, capsys, args, message):
    portfolio.settings(settings_with())
    eligible_record(portfolio, 24)
    before = (portfolio.content / "portfolio.yaml").read_bytes()
    code, out = run(capsys, *args, "--root", str(portfolio.root))
    assert code == 2 and message in out and "Traceback" not in out
    assert (portfolio.content / "portfolio.yaml").read_bytes() == before


def test_a_second_submit_of_a_locked_diploma_is_refused(portfolio, capsys):
    portfolio.settings(settings_with())
    eligible_record(portfolio, 24)
    assert run(capsys, "submit", "--root", str(portfolio.root), "--on", "2026-06-01")[0] == 0
    code, out = run(capsys, "submit", "--root", str(portfolio.root), "diploma-1")
    assert code == 2 and "already submitted on 2026-06-01" in out


def test_a_diploma_recorded_as_submitted_can_be_frozen_later(portfolio, capsys):
    portfolio.settings(settings_with(submitted=date(2026, 6, 1)))
    eligible_record(portfolio, 24)
    code, out = run(capsys, "submit", "--root", str(portfolio.root))
    assert code == 0 and "is now frozen as the record stands" in out
    assert diploma(check_json(portfolio, capsys), "diploma-1")["frozen"] is not None


def test_every_reason_has_words_everywhere_it_is_shown():
    from cpdgen.pdf.document import SHORT_REASON
    from cpdgen.report import _REASON_SHORT

    reasons = set(rules.Reason.__args__)  # type: ignore[attr-defined]
    assert set(rules.REASON_TEXT) == reasons == set(SHORT_REASON) == set(_REASON_SHORT)


# --- import checks what it would write ---------------------------------------------------------


def test_import_writes_nothing_check_would_refuse_unless_asked(portfolio, capsys, tmp_path):
    source = tmp_path / "records.csv"
    source.write_text(
        "Title,Date,Category,Description,Reflective statement\n"
        'Audit,2025-01-02,Work-based learning,Did an audit,"Patient 943 476 5919 was in it, and I learnt a lot."\n'
        "Course,2025-02-03,Formal/Educational,Went on a course,I learnt about the course and how to apply it.\n"
    )
    for dry in (["--dry-run"], []):
        code, out = run(capsys, "import", "--root", str(portfolio.root), str(source), *dry)
        assert code == 1
        assert "row 2: not imported, as 'cpdgen check' would refuse it" in out and "[nhs-number]" in out
        assert "5919" not in out
    assert sorted(p.name for p in (portfolio.content / "activities").rglob("*.md")) == ["2025-02-03-course.md"]
    code, out = run(capsys, "import", "--root", str(portfolio.root), str(source), "--allow-errors")
    assert code == 0 and "written with an error (--allow-errors)" in out
    assert (portfolio.content / "activities" / "2025" / "2025-01-02-audit.md").is_file()


def test_the_example_portfolio_keeps_its_first_diploma_frozen():
    repo = __import__("pathlib").Path(__file__).resolve().parents[1]
    portfolio = load_portfolio(repo)
    assert "diploma-1" in portfolio.frozen
    assert not [p for p in portfolio.problems if p.code.startswith(("frozen-", "bad-lock", "lock-"))]


# --- found by an adversarial review of the above ------------------------------------------------

MEMBER = "member:\n  name: Alex Morgan\n"


def with_settings(portfolio: Builder, text: str, n: int = 24, start: str = "2025-03-03") -> None:
    (portfolio.content / "portfolio.yaml").write_bytes(text.encode("utf-8"))
    first = date.fromisoformat(start)
    for i in range(n):
        day = first + timedelta(days=14 * i)
        portfolio.activity(f"{day.isoformat()}-a{i}", title=f"Activity {i}", date=day.isoformat(),
                           category=("work-based-learning", "formal-educational", "other")[i % 3])  # fmt: skip


def test_activities_after_the_submission_count_towards_the_next_diploma(portfolio, capsys):
    # Freezing a diploma submitted earlier must not lock in what was done since.
    with_settings(portfolio, MEMBER + "diplomas:\n  - id: diploma-1\n    start: 2024-06-01\n", start="2024-06-03")
    late = [f"2025-08-{4 + 7 * i:02d}-late{i}" for i in range(4)]
    for activity_id in late:
        portfolio.activity(activity_id, title="Later", date=activity_id[:10])
    root = str(portfolio.root)
    assert run(capsys, "submit", "--root", root, "--on", "2025-06-01")[0] == 0
    assert not set(late) & set((portfolio.content / "diplomas" / "diploma-1.lock").read_text().split('"'))
    assert run(capsys, "issue", "--root", root, "--on", "2025-07-01")[0] == 0
    second = diploma(check_json(portfolio, capsys), "diploma-2")
    assert set(late) <= {a["id"] for a in second["activities"] if a["counted"]}


TRICKY_LAYOUTS = {
    "braces-in-a-comment": "diplomas:\n  - id: diploma-1   # my {first} diploma\n    start: 2025-03-03\n",
    "comment-after-braces": "diplomas:\n  - {id: diploma-1, start: 2025-03-03}  # see {notes}\n",
    "braces-in-an-id": 'diplomas:\n  - id: "{one}"\n    start: 2025-03-03\n',
    "key-inside-an-id": 'diplomas:\n  - {id: "submitted:, x", start: 2025-03-03, submitted: ~}\n',
    "empty-placeholder": "diplomas:\n  - id: diploma-1\n    start: 2025-03-03\n    submitted:\n",
    "placeholder-with-comment": "diplomas:\n  - id: diploma-1\n    start: 2025-03-03\n    submitted:    # when sent\n",
    "four-space-dash": "diplomas:\n    -   id: diploma-1\n        start: 2025-03-03\n",
    "dash-alone": "diplomas:\n  -\n    id: diploma-1\n    start: 2025-03-03\n",
    "mixed-line-endings": "diplomas:\r\n  - id: diploma-1\r\n    start: 2025-03-03\n",
    "old-mac-line-endings": "\rdiplomas:\r  - id: diploma-1\r    start: 2025-03-03\r",
    "byte-order-mark": "\ufeff" + "diplomas:\n  - id: diploma-1\n    start: 2025-03-03\n",
}


@pytest.mark.parametrize("name", sorted(TRICKY_LAYOUTS))
def test_submit_and_issue_write_exactly_what_they_say_or_nothing(portfolio, capsys, name):
    layout = TRICKY_LAYOUTS[name]
    if layout.startswith("\ufeff"):
        text = "\ufeff" + MEMBER + layout[1:]
    elif layout.startswith("\r"):
        text = MEMBER.replace("\n", "\r") + layout[1:]
    else:
        text = MEMBER + layout
    with_settings(portfolio, text)
    path = portfolio.content / "portfolio.yaml"
    before = path.read_bytes()
    ids = [d.get("id") for d in yaml.safe_load(before.decode("utf-8-sig"))["diplomas"]]
    code, out = run(capsys, "submit", "--root", str(portfolio.root), "--on", "2026-06-01")
    assert "Traceback" not in out and code in (0, 2), out
    if code == 2:  # refused: nothing written, and the member is told to edit by hand
        assert path.read_bytes() == before and not (portfolio.content / "diplomas").exists()
        assert "add the dates by hand" in out
        return
    code, out = run(capsys, "issue", "--root", str(portfolio.root), "--on", "2026-07-01")
    assert code == 0, out
    after = path.read_bytes()
    assert after.startswith(b"\xef\xbb\xbf") == before.startswith(b"\xef\xbb\xbf")
    data = yaml.safe_load(after.decode("utf-8-sig"))
    assert [d.get("id") for d in data["diplomas"]] == [*ids, "diploma-2"]
    assert (data["diplomas"][0]["submitted"], data["diplomas"][0]["issued"]) == (date(2026, 6, 1), date(2026, 7, 1))
    assert after.decode("utf-8-sig").count("#") == before.decode("utf-8-sig").count("#")  # comments kept
    assert check_json(portfolio, capsys)["problems"] == []


@pytest.mark.parametrize("first, second", [("Diploma 1", "diploma-1"), ("diploma-1", "Diploma_1"), ("!!!", "diploma")])
def test_diploma_ids_that_would_share_a_file_name_are_a_problem(portfolio, capsys, first, second):
    with_settings(portfolio, MEMBER + f'diplomas:\n  - id: "{first}"\n    start: 2025-01-01\n'
                  f'    submitted: 2026-03-01\n  - id: "{second}"\n    start: 2026-04-01\n')  # fmt: skip
    report = check_json(portfolio, capsys)
    [problem] = [p for p in report["problems"] if p["code"] == "duplicate-diploma"]
    assert "would share the name" in problem["message"] and problem["line"] == 7


def test_a_lock_that_is_a_folder_is_a_problem_at_its_name(portfolio, capsys):
    with_settings(portfolio, MEMBER + "diplomas:\n  - id: diploma-1\n    start: 2025-03-03\n")
    assert run(capsys, "submit", "--root", str(portfolio.root), "--on", "2026-06-01")[0] == 0
    lock = portfolio.content / "diplomas" / "diploma-1.lock"
    lock.unlink()
    lock.mkdir()
    report = check_json(portfolio, capsys)
    assert report["exit_code"] == 1
    assert ("not-a-file", "content/diplomas/diploma-1.lock") in codes(report)


def test_a_locked_activity_with_an_error_is_said_to_have_one_not_to_be_gone(portfolio, capsys):
    with_settings(portfolio, MEMBER + "diplomas:\n  - id: diploma-1\n    start: 2025-03-03\n")
    assert run(capsys, "submit", "--root", str(portfolio.root), "--on", "2026-06-01")[0] == 0
    path = portfolio.content / "activities" / "2025-03-03-a0.md"
    path.write_text(path.read_text().replace("date: 2025-03-03", "date: 2025-03-3x"))
    report = check_json(portfolio, capsys)
    [problem] = [p for p in report["problems"] if p["code"].startswith("frozen-")]
    assert problem["code"] == "frozen-activity-changed" and "now has errors" in problem["message"]
    assert problem["file"] == "content/activities/2025-03-03-a0.md"


@pytest.mark.parametrize("old, new", [("eligible: true", "eligible: false"), ("categories: [", 'categories: ["x", ')])
def test_a_lock_whose_figures_were_edited_by_hand_is_refused(portfolio, capsys, old, new):
    with_settings(portfolio, MEMBER + "diplomas:\n  - id: diploma-1\n    start: 2025-03-03\n")
    assert run(capsys, "submit", "--root", str(portfolio.root), "--on", "2026-06-01")[0] == 0
    lock = portfolio.content / "diplomas" / "diploma-1.lock"
    lock.write_text(lock.read_text().replace(old, new, 1))
    assert ("bad-lock", "content/diplomas/diploma-1.lock") in codes(check_json(portfolio, capsys))


def test_a_submission_date_already_written_in_the_future_is_not_overwritten(portfolio, capsys):
    with_settings(
        portfolio, MEMBER + "diplomas:\n  - id: diploma-1\n    start: 2025-03-03\n    submitted: 2027-06-01\n"
    )
    before = (portfolio.content / "portfolio.yaml").read_bytes()
    code, out = run(capsys, "submit", "--root", str(portfolio.root))
    assert code == 2 and "a submission date in the future (2027-06-01)" in out
    assert (portfolio.content / "portfolio.yaml").read_bytes() == before


def test_import_checks_a_reflection_file_even_where_the_folder_is_new(portfolio, capsys, tmp_path):
    source = tmp_path / "records.csv"
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["Title", "Date", "Category", "Description", "Reflective statement"])
    writer.writerow(["Audit", "2025-01-02", "Work-based learning", "Did an audit",
                     "## What happened\n\nPatient 943 476 5919 was late.\n\n## What I learnt\n\nA lot."])  # fmt: skip
    source.write_text(buffer.getvalue())
    code, out = run(capsys, "import", "--root", str(portfolio.root), str(source))
    assert code == 1 and "[nhs-number]" in out
    assert not list(portfolio.content.rglob("*.md"))


@pytest.mark.parametrize("written", ["21 \u017fep 2025", "21 Apr\u0131l 2025"])  # a long s, a dotless i
def test_a_month_written_with_a_look_alike_letter_is_a_message(portfolio, capsys, written):
    portfolio.activity("x", f"---\ntitle: X\ndate: {written}\ncategory: other\n---\nText\n")
    code, out = run(capsys, "check", "--root", str(portfolio.root), "--content-only")
    assert code == 1 and "Traceback" not in out and "[invalid-date]" in out
    code, out = run(capsys, "new", "Thing", "--root", str(portfolio.root), "--category", "other", "--date", written)
    assert code == 2 and "Traceback" not in out
