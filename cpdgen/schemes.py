"""The schemes a member belongs to besides the IBMS diploma, as pure functions of the record and a date.

The Science Council's yearly CPD standards (CSci, RSci, RSciTech) and the HCPC's standards
for CPD, judged from the same activities as the diploma (docs/guide/registrations.md).
Nothing here reads files or the clock. Where a scheme publishes no figure (how many
activities), cpdgen says "guidance" and never fails a check on it.
"""

from __future__ import annotations

import calendar
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from typing import Literal

from cpdgen.rules import window_start
from cpdgen.words import date_range, long_date, plural

SCHEMES = ("ibms", "hcpc", "science-council")
SC_CATEGORIES = 3  # "activities across at least three ... of the five categories"
SC_EXCEPTIONAL_CATEGORIES = 2  # "... (exceptionally two)"
HCPC_TYPES = 2  # "at least two types of learning activity"
HCPC_GUIDANCE = (12, 50)  # "around 12 to 50" activities in a profile's list: guidance, not a rule
GAP_MONTHS = 3  # a gap of three or more consecutive months without CPD must be explained
STANDARD_TEXT = {3: "benefit to the quality of your practice", 4: "benefit to the users of your work"}

Severity = Literal["error", "warning", "note"]
Status = Literal["met", "exceptionally", "not-met"]


@dataclass(frozen=True)
class Entry:
    """What the schemes need to know of one activity."""

    id: str
    date: date
    category: str
    has_reflection: bool
    draft: bool = False
    standards: frozenset[int] = frozenset()


@dataclass(frozen=True)
class Period:
    """Days from ``start`` to ``end``, both included."""

    start: date
    end: date

    def holds(self, day: date) -> bool:
        return self.start <= day <= self.end

    @property
    def text(self) -> str:
        """``1 January to 31 December 2026``, for people."""
        return date_range(self.start, self.end, spaced=" to ")


@dataclass(frozen=True)
class Finding:
    """One thing a scheme's lens says: ``error`` (not met), ``warning`` (met, but look), ``note`` (guidance)."""

    severity: Severity
    code: str
    message: str


@dataclass(frozen=True)
class Gap:
    """Days without any CPD activity: ``first`` to ``last``, both included."""

    first: date
    last: date

    @property
    def months(self) -> int:
        """Whole months the gap lasts, counted from its first day (as the HCPC profile counts them)."""
        n = 0
        while add_months(self.first, n + 1) <= self.last + timedelta(days=1):
            n += 1
        return n


# --- dates -----------------------------------------------------------------------------------


def add_months(day: date, months: int) -> date:
    """The same day ``months`` later (or earlier); a day the month lacks becomes its last (31 → 30)."""
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    return date(year, month + 1, min(day.day, calendar.monthrange(year, month + 1)[1]))


def declaration_year(year: int) -> Period:
    """A Science Council declaration year: 1 January to 31 December (declarations are due by 31 December)."""
    return Period(date(year, 1, 1), date(year, 12, 31))


def twelve_month_periods(start: date, end: date) -> list[Period]:
    """``start`` to ``end`` cut into consecutive periods of twelve months from ``start``; the last ends on ``end``."""
    periods = []
    first, years = start, 0
    while first <= end:
        years += 1
        following = add_months(start, 12 * years)
        if (start.month, start.day) == (2, 29):  # from 29 February: each twelve months end with February
            following = date(start.year + years, 3, 1)
        periods.append(Period(first, min(end, following - timedelta(days=1))))
        first = following
    return periods


def renewal_window(on_or_after: date) -> Period:
    """The HCPC's renewal window for biomedical scientists (1 September to 30 November of an odd year)
    that is open on ``on_or_after`` or opens next."""
    year = on_or_after.year
    while year % 2 == 0 or date(year, 11, 30) < on_or_after:
        year += 1
    return Period(date(year, 9, 1), date(year, 11, 30))


def is_gap(first: date, last: date, months: int = GAP_MONTHS) -> bool:
    """Whether the days from ``first`` to ``last`` (both included) make ``months`` months or more.

    Counted from the first day without CPD, the same for check, the dashboard, the calendar
    and the HCPC profile: 30 November to 27 February is three months (to the end of February).
    """
    return first <= last and add_months(first, months) <= last + timedelta(days=1)


def no_cpd_from(dates: Iterable[date]) -> date | None:
    """The day three months pass without CPD after the latest of ``dates`` (None when there is none):
    the last day of the first stretch after it that is a gap."""
    latest = max(dates, default=None)
    if latest is None:
        return None
    return add_months(latest + timedelta(days=1), GAP_MONTHS) - timedelta(days=1)


def cpd_gaps(dates: Iterable[date], period: Period, months: int = GAP_MONTHS) -> tuple[Gap, ...]:
    """Every stretch of ``months`` months or more inside ``period`` without an activity.

    The days before the period are unknown, so a stretch at its start counts from its first
    day; one at its end counts up to its last day.
    """
    days = sorted({d for d in dates if period.holds(d)})
    bounds = [period.start - timedelta(days=1), *days, period.end + timedelta(days=1)]
    gaps = []
    for before, after in zip(bounds, bounds[1:], strict=False):
        if is_gap(before + timedelta(days=1), after - timedelta(days=1), months):
            gaps.append(Gap(before + timedelta(days=1), after - timedelta(days=1)))
    return tuple(gaps)


# --- what the schemes judge ------------------------------------------------------------------


def _in(entries: Iterable[Entry], period: Period, evaluated_on: date) -> tuple[list[Entry], list[Entry]]:
    """The activities of ``period`` up to ``evaluated_on`` (drafts never count), and those dated after it."""
    held = sorted((e for e in entries if not e.draft and period.holds(e.date)), key=lambda e: (e.date, e.id))
    return [e for e in held if e.date <= evaluated_on], [e for e in held if e.date > evaluated_on]


def _showing(entries: list[Entry], standard: int) -> tuple[str, ...]:
    return tuple(e.id for e in entries if standard in e.standards)


def _status(findings: Iterable[Finding], exceptional: bool) -> Status:
    if any(f.severity == "error" for f in findings):
        return "not-met"
    return "exceptionally" if exceptional else "met"


@dataclass(frozen=True)
class ScienceCouncilYear:
    """One 12-month period judged on the Science Council's CPD standards."""

    period: Period
    as_of: date  # "today"
    evaluated_on: date  # the period's last day, or "today" while it runs
    declaration_due: date | None  # 31 December, for a declaration year
    activities: tuple[str, ...]
    categories: tuple[str, ...]
    without_reflection: tuple[str, ...]
    standard_3: tuple[str, ...]
    standard_4: tuple[str, ...]
    not_yet: tuple[str, ...]  # dated in the period after evaluated_on
    status: Status
    findings: tuple[Finding, ...]

    @property
    def met(self) -> bool:
        """Met, or met exceptionally (two categories)."""
        return self.status != "not-met"

    @property
    def complete(self) -> bool:
        """The period is over: "today" is after its last day."""
        return self.as_of > self.period.end

    @property
    def required_categories(self) -> int:
        return SC_CATEGORIES


def assess_science_council_year(entries: Iterable[Entry], period: Period, as_of: date) -> ScienceCouncilYear:
    """Judge one period: at least three categories (two exceptionally), a reflection on every activity,
    and standards 3 and 4 each shown by an activity. No minimum number of activities is published."""
    evaluated_on = min(period.end, max(as_of, period.start - timedelta(days=1)))
    held, later = _in(entries, period, evaluated_on)
    categories = tuple(sorted({e.category for e in held}))
    without = tuple(e.id for e in held if not e.has_reflection)
    shows = {n: _showing(held, n) for n in STANDARD_TEXT}
    findings: list[Finding] = []
    n_categories = plural(len(categories), "category", "categories")
    if len(categories) < SC_EXCEPTIONAL_CATEGORIES:
        findings.append(
            Finding(
                "error",
                "sc-categories",
                f"activities in {n_categories}: the Science Council asks for at least {SC_CATEGORIES} of the five "
                f"(exceptionally {SC_EXCEPTIONAL_CATEGORIES})",
            )
        )
    elif len(categories) < SC_CATEGORIES:
        findings.append(
            Finding(
                "warning",
                "sc-two-categories",
                f"activities in {n_categories}: the Science Council accepts two only exceptionally; "
                f"it asks for at least {SC_CATEGORIES} of the five",
            )
        )
    if without:
        findings.append(
            Finding(
                "error",
                "sc-no-reflection",
                f"{plural(len(without), 'activity has', 'activities have')} no reflection: the Science Council "
                "asks for a reflection on every activity",
            )
        )
    for number, text in STANDARD_TEXT.items():
        if not shows[number]:
            findings.append(
                Finding(
                    "error",
                    f"sc-no-standard-{number}",
                    f"no activity shows standard {number} ({text}): add {number} to the 'standards' of an activity "
                    "whose reflection says how",
                )
            )
    findings.append(
        Finding(
            "note",
            "sc-count",
            f"{plural(len(held), 'activity', 'activities')}; the Science Council publishes no minimum number, "
            "so cpdgen sets none",
        )
    )
    return ScienceCouncilYear(
        period=period,
        as_of=as_of,
        evaluated_on=evaluated_on,
        declaration_due=period.end if period == declaration_year(period.start.year) else None,
        activities=tuple(e.id for e in held),
        categories=categories,
        without_reflection=without,
        standard_3=shows[3],
        standard_4=shows[4],
        not_yet=tuple(e.id for e in later),
        status=_status(findings, len(categories) == SC_EXCEPTIONAL_CATEGORIES),
        findings=tuple(findings),
    )


@dataclass(frozen=True)
class ScienceCouncilAssessment:
    register: str | None  # CSci, RSci or RSciTech; None when judged with --scheme alone
    years: tuple[ScienceCouncilYear, ...]

    @property
    def met(self) -> bool:
        return all(year.met for year in self.years)


@dataclass(frozen=True)
class HcpcAssessment:
    """The record of the two years before ``period.end`` as the HCPC's standards for CPD read it."""

    period: Period
    activities: tuple[str, ...]
    categories: tuple[str, ...]
    without_reflection: tuple[str, ...]
    standard_3: tuple[str, ...]
    standard_4: tuple[str, ...]
    gaps: tuple[Gap, ...]
    renewal: Period  # the renewal window open on the day judged, or the next one
    status: Status
    findings: tuple[Finding, ...]
    from_registration: bool = False  # the period starts at the registration, less than two years ago

    @property
    def met(self) -> bool:
        return self.status != "not-met"


def assess_hcpc(entries: Iterable[Entry], as_of: date, registered_since: date | None = None) -> HcpcAssessment:
    """The two years to ``as_of`` (from ``registered_since`` when later, as the HCPC profile: no
    gap before a registration to explain): types of learning (at least two), gaps of three months
    or more, standards 3 and 4, and how many activities against the HCPC's guidance of around 12 to 50."""
    start = window_start(as_of)
    from_registration = registered_since is not None and start < registered_since <= as_of
    period = Period(registered_since if registered_since is not None and from_registration else start, as_of)
    held, _ = _in(entries, period, as_of)
    categories = tuple(sorted({e.category for e in held}))
    gaps = cpd_gaps((e.date for e in held), period)
    findings: list[Finding] = []
    if len(categories) < HCPC_TYPES:
        findings.append(
            Finding(
                "error",
                "hcpc-types",
                f"activities of {plural(len(categories), 'type')} of learning in the two years: the HCPC asks for "
                f"a mixture, at least {HCPC_TYPES}",
            )
        )
    for gap in gaps:
        findings.append(
            Finding(
                "warning",
                "hcpc-gap",
                f"no CPD from {long_date(gap.first)} to {long_date(gap.last)} ({plural(gap.months, 'month')}): "
                "if you are audited, the HCPC asks you to explain a gap of three months or more",
            )
        )
    for number, text in STANDARD_TEXT.items():
        if not _showing(held, number):
            findings.append(
                Finding(
                    "warning",
                    f"hcpc-no-standard-{number}",
                    f"no activity shows standard {number} ({text}): a profile's statement rests on standards 3 and 4",
                )
            )
    low, high = HCPC_GUIDANCE
    if not low <= len(held) <= high:
        findings.append(
            Finding(
                "note",
                "hcpc-count",
                f"{plural(len(held), 'activity', 'activities')} in the two years; a profile usually lists around "
                f"{low} to {high} (the HCPC's guidance, not a rule)",
            )
        )
    return HcpcAssessment(
        period=period,
        activities=tuple(e.id for e in held),
        categories=categories,
        without_reflection=tuple(e.id for e in held if not e.has_reflection),
        standard_3=_showing(held, 3),
        standard_4=_showing(held, 4),
        gaps=gaps,
        renewal=renewal_window(as_of),
        status=_status(findings, False),
        findings=tuple(findings),
        from_registration=from_registration,
    )


# --- which schemes a check judges ------------------------------------------------------------


@dataclass(frozen=True)
class Lenses:
    """The schemes judged: the IBMS diploma, the HCPC, the Science Council (with its register)."""

    ibms: bool = True
    hcpc: bool = False
    science_council: bool = False
    register: str | None = None
    listed: bool = False  # registrations: was written (or --scheme given): reports name the schemes

    @property
    def judged(self) -> list[str]:
        return [name for name, on in zip(SCHEMES, (self.ibms, self.hcpc, self.science_council), strict=True) if on]

    def only(self, scheme: str) -> Lenses:
        """Just ``scheme`` (``--scheme``)."""
        if scheme not in SCHEMES:
            raise ValueError(scheme)
        return replace(
            self,
            ibms=scheme == "ibms",
            hcpc=scheme == "hcpc",
            science_council=scheme == "science-council",
            listed=True,
        )


@dataclass(frozen=True)
class SchemesAssessment:
    """What the lenses that are on say, besides the diploma (judged by ``rules``)."""

    lenses: Lenses
    hcpc: HcpcAssessment | None = None
    science_council: ScienceCouncilAssessment | None = None
    failed: list[str] = field(default_factory=list)  # the schemes whose lens fails check: science-council


def assess_schemes(
    entries: Iterable[Entry],
    lenses: Lenses,
    as_of: date,
    periods: list[Period] | None = None,
    registered_since: date | None = None,
) -> SchemesAssessment:
    """Judge every lens that is on. The Science Council's periods default to the declaration year of ``as_of``.

    A Science Council period that is not met fails ``check``, as a diploma that is not
    eligible does; the HCPC's lens is reported only (the HCPC judges a profile when it
    audits, not a yearly figure).
    """
    entries = list(entries)
    hcpc = assess_hcpc(entries, as_of, registered_since) if lenses.hcpc else None
    science = None
    if lenses.science_council:
        chosen = periods or [declaration_year(as_of.year)]
        science = ScienceCouncilAssessment(
            lenses.register, tuple(assess_science_council_year(entries, p, as_of) for p in chosen)
        )
    failed = ["science-council"] if science is not None and not science.met else []
    return SchemesAssessment(lenses, hcpc, science, failed)
