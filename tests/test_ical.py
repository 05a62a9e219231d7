"""``cpdgen calendar``: an iCalendar file that parses, names every event for good, and never changes by itself."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from icalendar import Calendar

from conftest import activity_text
from cpdgen.cli import main

AS_OF = "2026-11-28"
REGISTERED = {
    "member": {"name": "Alex Morgan"},
    "registrations": {"hcpc": True, "science-council": {"register": "CSci"}},
}


def goal(title: str, **front: str) -> str:
    return "---\n" + f"title: {title}\n" + "".join(f"{k}: {v}\n" for k, v in front.items()) + "---\n"


@pytest.fixture
def member(portfolio):
    """A registered member with an eligible diploma, a private activity and two goals."""
    portfolio.settings(REGISTERED)
    portfolio.many(24, start="2025-06-02")
    portfolio.activity(
        "2026-11-10-private", activity_text(title="A private case review", date="2026-11-10", private=True)
    )
    portfolio.activity("2026-11-20-draft", activity_text(title="Draft", date="2026-11-20", draft=True))
    portfolio.write("plan/senior.md", goal("Senior role", review="2027-01-27", target="2027-11-12"))
    portfolio.write("plan/done.md", goal("Done goal", review="2026-12-01", status="done"))
    return portfolio


def make(portfolio, capsys, *args: str) -> tuple[int, str, bytes]:
    code = main(["calendar", "--root", str(portfolio.root), "--as-of", AS_OF, *args])
    out = capsys.readouterr()
    path = portfolio.root / "records" / "cpd-calendar.ics"
    return code, out.out + out.err, path.read_bytes() if path.is_file() else b""


def events(data: bytes) -> list:
    return list(Calendar.from_ical(data).walk("VEVENT"))


def by_summary(data: bytes) -> dict[str, object]:
    return {str(e["SUMMARY"]): e for e in events(data)}


def test_the_calendar_parses_and_every_event_has_uid_dtstart_summary(member, capsys):
    code, out, data = make(member, capsys)
    assert code == 0 and "wrote (" in out and "records/cpd-calendar.ics" in out
    calendar = Calendar.from_ical(data)
    assert str(calendar["VERSION"]) == "2.0" and str(calendar["X-WR-CALNAME"]) == "CPD: Alex Morgan"
    found = events(data)
    assert found
    for event in found:
        for key in ("UID", "DTSTART", "DTEND", "SUMMARY", "DTSTAMP"):
            assert key in event, (key, event)
        assert isinstance(event.decoded("DTSTART"), date) and not isinstance(event.decoded("DTSTART"), datetime)
        assert event.decoded("DTSTAMP") == datetime(2026, 11, 28, tzinfo=UTC)  # "today", no clock
    assert len({str(e["UID"]) for e in found}) == len(found)
    days = [e.decoded("DTSTART") for e in found]
    assert days == sorted(days)


def test_the_calendar_holds_every_kind_of_date(member, capsys):
    _, _, data = make(member, capsys)
    found = by_summary(data)
    day = {summary: event.decoded("DTSTART") for summary, event in reversed(found.items())}
    leaving = sorted(
        e.decoded("DTSTART") for e in events(data) if str(e["SUMMARY"]) == "CPD: 'An activity' no longer counts"
    )
    assert len(leaving) == 24 and leaving[0] == date(2027, 6, 3)  # 2025-06-02, two years and a day later
    # 25 count (the private one too): eligible until the second one leaves, a week after the first.
    assert day["CPD: Diploma 1 is no longer eligible unless you add activities"] == date(2027, 6, 10)
    assert day["CPD: three months without an activity"] == date(2027, 2, 10)  # the private one counts; drafts do not
    assert day["Science Council (CSci): declare your CPD for 2026"] == date(2026, 12, 31)
    assert day["Science Council (CSci): declare your CPD for 2027"] == date(2027, 12, 31)
    assert day["Review your goal: Senior role"] == date(2027, 1, 27)
    assert day["Goal due: Senior role"] == date(2027, 11, 12)
    assert "Review your goal: Done goal" not in day  # only open goals
    assert "CPD: 'A private case review' no longer counts" in day  # the member's own file
    hcpc = sorted(e.decoded("DTSTART") for e in events(data) if str(e["SUMMARY"]).startswith("HCPC"))
    assert hcpc == [date(2027, 9, 1), date(2027, 11, 30), date(2029, 9, 1), date(2029, 11, 30)]


def test_without_registrations_there_is_no_hcpc_or_science_council_date(member, capsys):
    member.settings({"member": {"name": "Alex Morgan"}})
    _, _, data = make(member, capsys)
    summaries = " ".join(by_summary(data))
    assert "HCPC" not in summaries and "Science Council" not in summaries
    assert "Review your goal: Senior role" in summaries


def test_with_ibms_false_there_is_no_diploma_date(member, capsys):
    """registrations: lists the schemes whose dates go in the calendar: a member who does not take
    the diploma gets no reminder that it stops being eligible, nor of activities leaving its window."""
    member.settings({"member": {"name": "Alex Morgan"}, "registrations": {"ibms": False, "hcpc": True}})
    _, _, data = make(member, capsys)
    summaries = " ".join(by_summary(data))
    assert "Diploma" not in summaries and "no longer counts" not in summaries
    assert "HCPC renewal window opens" in summaries and "CPD: three months without an activity" in summaries


def test_two_runs_give_the_same_bytes(member, capsys):
    _, _, first = make(member, capsys)
    code, out, second = make(member, capsys)
    assert code == 0 and first == second and "unchanged (" in out


def test_uids_stay_when_another_file_changes_and_when_an_event_moves(member, capsys):
    _, _, first = make(member, capsys)
    before = {str(e["SUMMARY"]): str(e["UID"]) for e in events(first)}
    member.activity("2026-11-25-new", activity_text(title="A new one", date="2026-11-25", category="other"))
    member.write("plan/senior.md", goal("Senior role", review="2027-02-15", target="2027-11-12"))
    _, _, second = make(member, capsys)
    after = {str(e["SUMMARY"]): (str(e["UID"]), e.decoded("DTSTART")) for e in events(second)}
    moved = after["Review your goal: Senior role"]
    assert moved == (before["Review your goal: Senior role"], date(2027, 2, 15))  # updated, not duplicated
    assert after["CPD: three months without an activity"][0] == before["CPD: three months without an activity"]
    for summary, uid in before.items():
        if summary in after:
            assert after[summary][0] == uid, summary


def test_source_date_epoch_is_today_for_dtstamp(member, capsys, monkeypatch):
    monkeypatch.setenv("SOURCE_DATE_EPOCH", str(int(datetime(2026, 11, 28, 12, tzinfo=UTC).timestamp())))
    assert main(["calendar", "--root", str(member.root)]) == 0
    data = (member.root / "records" / "cpd-calendar.ics").read_bytes()
    assert {e.decoded("DTSTAMP") for e in events(data)} == {datetime(2026, 11, 28, tzinfo=UTC)}


def test_out_names_a_file_or_a_folder_kept_out_of_git(member, capsys, tmp_path):
    outside = tmp_path.parent / f"{tmp_path.name}-cal"
    assert main(["calendar", "--root", str(member.root), "--as-of", AS_OF, "--out", str(outside / "me.ics")]) == 0
    assert (outside / "me.ics").is_file() and (outside / ".gitignore").read_text().endswith("*\n")
    assert main(["calendar", "--root", str(member.root), "--as-of", AS_OF, "--out", str(outside)]) == 0
    assert (outside / "cpd-calendar.ics").is_file()


@pytest.mark.parametrize("where", ["content/cal.ics", "templates", "."])
def test_the_calendar_is_never_written_into_the_portfolio_s_own_folders(member, capsys, where):
    (member.root / "templates").mkdir(exist_ok=True)
    code = main(["calendar", "--root", str(member.root), "--as-of", AS_OF, "--out", str(member.root / where)])
    assert code == 2 and "refusing to write" in capsys.readouterr().err


def test_a_file_cpdgen_did_not_write_is_replaced_only_with_force(member, capsys):
    mine = member.root / "records" / "cpd-calendar.ics"
    mine.parent.mkdir()
    (mine.parent / ".gitignore").write_text("*\n")
    mine.write_text("my own calendar\n")
    code, out, _ = make(member, capsys)
    assert code == 2 and "left alone" in out and mine.read_text() == "my own calendar\n"
    code, out, data = make(member, capsys, "--force")
    assert code == 0 and "replaced (" in out and events(data)


def test_invalid_content_writes_no_calendar(member, capsys):
    member.activity("bad", "---\ntitle: T\ndate: 2026-02-30\ncategory: other\n---\n")
    code, out, data = make(member, capsys)
    assert code == 1 and "[invalid-date]" in out and "No calendar written" in out and data == b""
    assert "Traceback" not in out


def test_a_pipe_in_the_way_is_named_as_what_it_is(member, capsys):
    """A named pipe where the calendar goes: refused without blocking, and called neither a link nor a
    folder, nor blamed on 'cpdgen export'."""
    import os

    records = member.root / "records"
    records.mkdir()
    (records / ".gitignore").write_text("*\n")
    os.mkfifo(records / "cpd-calendar.ics")
    code, out, _ = make(member, capsys, "--force")
    assert code == 2
    assert "records/cpd-calendar.ics is not a plain file (a link, a folder, a pipe or a device)" in out
    assert "cpdgen export" not in out
