"""``cpdgen calendar``: the days a member's CPD depends on, as an iCalendar file to import or subscribe to.

Each counted activity's last day in the two-year window, the day the current diploma stops
being eligible if nothing is added, three months after the latest activity, the HCPC's
renewal windows and the Science Council's declarations (for the schemes ``registrations:``
lists), and the review and target dates of open goals of the plan.

It is the member's own file, like ``cpdgen export``: private activities and goals are in
it, so it is written to ``records/`` (which git ignores), never into the site. Every event's
UID is made from what it is about (its kind and the activity, diploma, goal or year),
never from its date: importing the file again moves an event whose day changed rather than
adding a second one. The same record on the same day gives the same bytes: DTSTAMP is
"today" (``--as-of``, SOURCE_DATE_EPOCH, or the clock in the portfolio's time zone) at
midnight UTC, and nothing else reads a clock.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

from cpdgen import export
from cpdgen.portfolio import Portfolio, resolve_as_of
from cpdgen.rules import Assessment
from cpdgen.schemes import declaration_year, no_cpd_from, renewal_window
from cpdgen.words import diploma_name, long_date

DEFAULT_NAME = "cpd-calendar.ics"
PRODID = "-//cpdgen//CPD calendar//EN"


@dataclass(frozen=True)
class CalendarEvent:
    """One all-day event."""

    kind: str  # what it is: leaves-window, eligible-until, no-cpd, hcpc-opens, hcpc-closes, ...
    key: str  # what it is about: an activity, diploma or goal id, or a year
    day: date
    summary: str
    description: str

    @property
    def uid(self) -> str:
        """The same for the same kind and subject, whatever the day: a re-import updates the event."""
        digest = hashlib.sha256(f"{self.kind}\0{self.key}".encode("utf-8", "surrogatepass")).hexdigest()
        return f"{digest[:32]}@cpdgen"


def calendar_events(portfolio: Portfolio, assessment: Assessment) -> list[CalendarEvent]:
    """Every event of the member's calendar on ``assessment.as_of``, in date order."""
    as_of = assessment.as_of
    titles = {a.id: a.title for a in portfolio.activities}
    events: list[CalendarEvent] = []
    lenses = portfolio.lenses
    # The diploma's dates only for a member who takes it (registrations: ibms: false leaves it out).
    for diploma in assessment.diplomas if lenses.ibms else ():
        name = diploma_name(diploma.id)
        for judgement in diploma.judgements:
            if not (judgement.counted and judgement.leaves_window_on):
                continue
            title = titles.get(judgement.id, judgement.id)
            events.append(
                CalendarEvent(
                    "leaves-window",
                    judgement.id,
                    judgement.leaves_window_on,
                    f"CPD: '{title}' no longer counts",
                    f"From today, '{title}' ({long_date(judgement.date)}) is more than two years old and no "
                    f"longer counts towards {name}.",
                )
            )
    current = assessment.current_diploma if lenses.ibms else None
    if current is not None and current.eligible_until is not None:
        name = diploma_name(current.id)
        events.append(
            CalendarEvent(
                "eligible-until",
                current.id,
                current.eligible_until + timedelta(days=1),
                f"CPD: {name} is no longer eligible unless you add activities",
                f"{name} was eligible until yesterday ({long_date(current.eligible_until)}) with the activities "
                "recorded when this calendar was made. Add activities, or submit it before this day.",
            )
        )
    done = [a.date for a in portfolio.activities if not a.draft and a.date <= as_of]
    quiet = no_cpd_from(done)
    if quiet is not None:
        events.append(
            CalendarEvent(
                "no-cpd",
                "latest-activity",
                quiet,
                "CPD: three months without an activity",
                f"Your latest activity is dated {long_date(max(done))}. From today there are three months without "
                "CPD in your record: the HCPC asks you to explain any such gap in a profile.",
            )
        )
    if lenses.hcpc:
        window = renewal_window(as_of)
        for period in (window, renewal_window(window.end + timedelta(days=1))):
            which = str(period.start.year)
            what = f"The HCPC's renewal window for biomedical scientists runs {period.text}."
            events.append(
                CalendarEvent(
                    "hcpc-opens",
                    which,
                    period.start,
                    "HCPC renewal window opens",
                    f"{what} If you are selected for audit, you have weeks to send your CPD profile.",
                )
            )
            events.append(CalendarEvent("hcpc-closes", which, period.end, "HCPC renewal window closes", what))
    if lenses.science_council:
        register = f" ({lenses.register})" if lenses.register else ""
        for year in (as_of.year, as_of.year + 1):
            period = declaration_year(year)
            events.append(
                CalendarEvent(
                    "science-council-declaration",
                    str(year),
                    period.end,
                    f"Science Council{register}: declare your CPD for {year}",
                    f"The declaration of your CPD from {period.text} is due today. "
                    f"cpdgen check --scheme science-council --year {year} says where it stands.",
                )
            )
    for goal in portfolio.goals:
        if goal.status != "open":
            continue
        if goal.meta.review is not None:
            events.append(
                CalendarEvent(
                    "goal-review",
                    goal.id,
                    goal.meta.review,
                    f"Review your goal: {goal.title}",
                    f"Look again at '{goal.title}' ({goal.path}): what you have done towards it, and what next.",
                )
            )
        if goal.meta.target is not None:
            events.append(
                CalendarEvent(
                    "goal-target",
                    goal.id,
                    goal.meta.target,
                    f"Goal due: {goal.title}",
                    f"The target date of '{goal.title}' ({goal.path}).",
                )
            )
    return sorted(events, key=lambda e: (e.day, e.kind, e.key))


def generate_ics(portfolio: Portfolio, assessment: Assessment) -> bytes:
    """The calendar as iCalendar bytes: the same record on the same day gives the same bytes."""
    from icalendar import Calendar, Event

    assert portfolio.settings is not None
    stamp = datetime.combine(assessment.as_of, time(0, 0), tzinfo=UTC)
    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", "PUBLISH")
    calendar.add("x-wr-calname", f"CPD: {portfolio.settings.member.name}")
    calendar.add("x-wr-caldesc", "Dates of your CPD record, made by cpdgen calendar. Private: keep it to yourself.")
    for item in calendar_events(portfolio, assessment):
        event = Event()
        event.add("uid", item.uid)
        event.add("dtstamp", stamp)
        event.add("dtstart", item.day)
        event.add("dtend", item.day + timedelta(days=1))
        event.add("summary", item.summary)
        event.add("description", item.description)
        event.add("categories", ["CPD"])
        event.add("transp", "TRANSPARENT")  # a reminder, not a busy day
        calendar.add_component(event)
    return calendar.to_ical()


def write_calendar(
    root: Path, out: Path | None = None, *, as_of: date | None = None, force: bool = False
) -> tuple[list[export.Written], int]:
    """Load and check the portfolio, make its calendar, and write it (default ``records/cpd-calendar.ics``).

    ``out`` is a file ending in ``.ics`` or a folder; like ``cpdgen export``, it must be
    kept out of git and of the site, and a file cpdgen did not write is replaced only with
    ``force``. Returns what was written and how many events the calendar holds.
    """
    portfolio = export.load_checked(root)
    assessment = portfolio.assess(resolve_as_of(portfolio.timezone, as_of))
    assert assessment is not None  # load_checked refused a portfolio.yaml too broken to judge
    target = out if out is not None else portfolio.root / "records"
    path = target if target.suffix.lower() == ".ics" else target / DEFAULT_NAME
    data = generate_ics(portfolio, assessment)
    return export.write_files(portfolio.root, {path: data}, force=force), data.count(b"BEGIN:VEVENT")
