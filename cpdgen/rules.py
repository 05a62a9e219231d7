"""The IBMS CPD Diploma rules (docs/guide/diploma-rules.md), as pure functions of the record and a date.

Nothing here reads files or the clock: give it the diplomas, the activities and "today",
and it says which activities count towards which diploma, and why the others do not.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Literal

from cpdgen.words import plural

MIN_YEAR, MAX_YEAR = 1900, 2999  # the years a date may have, in files and as "today"
REQUIRED_ACTIVITIES = 24
REQUIRED_CATEGORIES = 3
WINDOW_YEARS = 2
SOON_DAYS = 90

Reason = Literal[
    "draft", "before-start", "after-submission", "added-after-submission", "future", "expired", "no-reflection"
]
Status = Literal["open", "submitted", "issued"]

REASON_TEXT: dict[str, str] = {
    "draft": "it is a draft",
    "before-start": "it was completed before the diploma started",
    "after-submission": "it was completed after the diploma was submitted and before the next one started",
    "added-after-submission": (
        "it was added to the record after the diploma was submitted for validation; a submitted diploma "
        "cannot be added to, and the activity cannot be carried into the next diploma"
    ),
    "future": "it is dated after the evaluation date",
    "expired": "it is more than two years before the evaluation date",
    "no-reflection": "it has no reflection yet",
}

# A diploma's status in the IBMS's words: the member submits it for validation; the IBMS
# validates and issues it. An open diploma that meets the rules is ready to submit.
STATUS_TEXT: dict[str, str] = {
    "open": "Open",
    "submitted": "Submitted for validation",
    "issued": "Validated and issued",
}
READY_TEXT = "Ready to submit for validation"


def add_years(day: date, years: int) -> date:
    """The same day ``years`` later (or earlier); 29 February becomes 28 February."""
    try:
        return day.replace(year=day.year + years)
    except ValueError:
        return day.replace(year=day.year + years, day=28)


def window_start(evaluated_on: date) -> date:
    """The first day of the two years that end on ``evaluated_on`` (inclusive)."""
    return add_years(evaluated_on, -WINDOW_YEARS)


def leaves_window_on(day: date) -> date:
    """The first evaluation date on which an activity dated ``day`` is more than two years old."""
    candidate = add_years(day, WINDOW_YEARS) + timedelta(days=1)
    while window_start(candidate) <= day:
        candidate += timedelta(days=1)
    return candidate


@dataclass(frozen=True)
class Diploma:
    """A diploma as the member listed it."""

    id: str
    start: date | None
    submitted: date | None = None
    issued: date | None = None
    assumed: bool = False  # not listed: started by rule 7 on the previous diploma's issue date


@dataclass(frozen=True)
class Entry:
    """What the rules need to know of one activity."""

    id: str
    date: date
    category: str
    has_reflection: bool
    draft: bool = False


@dataclass(frozen=True)
class Judgement:
    """Whether one activity counts towards its diploma, and why not."""

    id: str
    date: date
    category: str
    counted: bool
    reason: Reason | None
    # For counted activities of an open diploma. (datetime.date: the field above hides the name date.)
    leaves_window_on: datetime.date | None = None


# Activities dated after a submission were never part of what was submitted: a lock does not
# hold them, and they stay free to count towards the next diploma.
NOT_SUBMITTED: frozenset[str] = frozenset({"after-submission", "future"})


@dataclass(frozen=True)
class Frozen:
    """A submitted diploma's verdict as its lock recorded it: the judgements never change."""

    judgements: tuple[Judgement, ...]
    set_sha256: str  # names the submitted set
    file: str = ""  # the lock, relative to the portfolio root (content/diplomas/<id>.lock)


@dataclass(frozen=True)
class DiplomaAssessment:
    id: str
    status: Status
    start: date | None
    end: date | None  # the next diploma's start (exclusive), None for the newest
    submitted: date | None
    issued: date | None
    assumed: bool
    evaluated_on: date
    window_start: date
    judgements: tuple[Judgement, ...]
    counted: int
    categories: tuple[str, ...]
    eligible: bool
    missing_activities: int
    missing_categories: int
    surplus: int
    earliest_leaves_on: date | None = None  # open diplomas: the first counted activity to expire
    expiring_soon: tuple[Judgement, ...] = ()  # open diplomas: counted activities expiring within 90 days
    eligible_until: date | None = None  # open and eligible: the last day it stays eligible if nothing is added
    frozen: Frozen | None = None  # submitted and locked: judged from the lock, not the files

    @property
    def required(self) -> int:
        return REQUIRED_ACTIVITIES

    @property
    def counts_from(self) -> date:
        """The first day an activity can count: the later of the window's start and the diploma's."""
        return max(self.window_start, self.start) if self.start else self.window_start

    @property
    def not_started(self) -> bool:
        """Whether the diploma starts after the day it is judged on (its start written in advance)."""
        return self.start is not None and self.start > self.evaluated_on

    @property
    def status_text(self) -> str:
        """The status as a member reads it: "Validated and issued", or "Ready to submit for validation"."""
        if self.status == "open" and self.eligible:
            return READY_TEXT
        return STATUS_TEXT[self.status]

    @property
    def required_categories(self) -> int:
        return REQUIRED_CATEGORIES

    def reasons(self) -> dict[str, int]:
        """How many activities do not count, by reason, in the order of REASON_TEXT."""
        counts = {reason: 0 for reason in REASON_TEXT}
        for judgement in self.judgements:
            if judgement.reason:
                counts[judgement.reason] += 1
        return {reason: n for reason, n in counts.items() if n}


@dataclass(frozen=True)
class Assessment:
    as_of: date
    diplomas: tuple[DiplomaAssessment, ...]  # oldest first
    current: str | None

    @property
    def current_diploma(self) -> DiplomaAssessment | None:
        return next((d for d in self.diplomas if d.id == self.current), None)

    def judgement_of(self, activity_id: str) -> tuple[DiplomaAssessment, Judgement] | None:
        for diploma in self.diplomas:
            for judgement in diploma.judgements:
                if judgement.id == activity_id:
                    return diploma, judgement
        return None


def effective_diplomas(diplomas: Iterable[Diploma], as_of: date) -> list[Diploma]:
    """The listed diplomas as they stood on ``as_of``, plus the one rule 7 starts after an issue.

    Dates after ``as_of`` have not happened yet: a later submission or issue is ignored,
    so ``--as-of`` shows the record as it was on that day.
    """
    result = [
        Diploma(
            d.id,
            d.start,
            d.submitted if d.submitted and d.submitted <= as_of else None,
            d.issued if d.issued and d.issued <= as_of else None,
            d.assumed,
        )
        for d in diplomas
    ]
    if not result:
        return [Diploma("diploma-1", None)]
    last = result[-1]
    if last.issued is not None:
        taken = {d.id for d in result}
        n = len(result) + 1
        while f"diploma-{n}" in taken:
            n += 1
        result.append(Diploma(f"diploma-{n}", last.issued, assumed=True))
    return result


def _status(diploma: Diploma) -> Status:
    if diploma.issued is not None:
        return "issued"
    if diploma.submitted is not None:
        return "submitted"
    return "open"


def judge(entry: Entry, diploma: Diploma, evaluated_on: date, first_day: date) -> Reason | None:
    """Why ``entry`` does not count towards ``diploma`` (None when it counts)."""
    if entry.draft:
        return "draft"
    if diploma.start is not None and entry.date < diploma.start:
        return "before-start"
    if diploma.submitted is not None and entry.date > diploma.submitted:
        return "after-submission"
    if entry.date > evaluated_on:
        return "future"
    if entry.date < first_day:
        return "expired"
    if not entry.has_reflection:
        return "no-reflection"
    return None


def _eligible(judgements: Iterable[Judgement]) -> bool:
    counted = [j for j in judgements if j.counted]
    return len(counted) >= REQUIRED_ACTIVITIES and len({j.category for j in counted}) >= REQUIRED_CATEGORIES


def _eligible_until(counted: list[Judgement]) -> date | None:
    """The last day an eligible open diploma stays eligible if no activity is added."""
    remaining = sorted(counted, key=lambda j: (j.leaves_window_on, j.id))
    while remaining:
        leaving = remaining[0].leaves_window_on
        assert leaving is not None
        remaining = [j for j in remaining if j.leaves_window_on != leaving]
        if not _eligible(remaining):
            return leaving - timedelta(days=1)
    return None  # pragma: no cover - an empty list is never eligible


def assess_diploma(
    diploma: Diploma, end: date | None, entries: list[Entry], as_of: date, frozen: Frozen | None = None
) -> DiplomaAssessment:
    """Judge one diploma and every activity that falls in its period.

    A submitted diploma with a lock (``frozen``) keeps the judgements it was submitted with;
    an activity not in the lock that would have counted is ``added-after-submission``.
    """
    evaluated_on = diploma.submitted or as_of
    first_day = window_start(evaluated_on)
    status = _status(diploma)
    is_open = status == "open"
    if diploma.submitted is None:
        frozen = None  # judged as on a day before the submission: the record as it was then
    judgements = [j for j in frozen.judgements if j.reason not in NOT_SUBMITTED] if frozen else []
    locked = {j.id for j in judgements}
    for entry in sorted(entries, key=lambda e: (e.date, e.id)):
        if entry.id in locked:
            continue
        reason = judge(entry, diploma, evaluated_on, first_day)
        if frozen is not None and reason in (None, "no-reflection"):
            reason = "added-after-submission"
        judgements.append(
            Judgement(
                entry.id,
                entry.date,
                entry.category,
                reason is None,
                reason,
                leaves_window_on(entry.date) if reason is None and is_open else None,
            )
        )
    judgements.sort(key=lambda j: (j.date, j.id))
    counted = [j for j in judgements if j.counted]
    category_ids = tuple(sorted({j.category for j in counted}))
    eligible = _eligible(counted)
    earliest = min((j.leaves_window_on for j in counted if j.leaves_window_on), default=None)
    soon = as_of + timedelta(days=SOON_DAYS)
    expiring = tuple(j for j in counted if j.leaves_window_on and j.leaves_window_on <= soon)
    return DiplomaAssessment(
        id=diploma.id,
        status=status,
        start=diploma.start,
        end=end,
        submitted=diploma.submitted,
        issued=diploma.issued,
        assumed=diploma.assumed,
        evaluated_on=evaluated_on,
        window_start=first_day,
        judgements=tuple(judgements),
        counted=len(counted),
        categories=category_ids,
        eligible=eligible,
        missing_activities=max(0, REQUIRED_ACTIVITIES - len(counted)),
        missing_categories=max(0, REQUIRED_CATEGORIES - len(category_ids)),
        surplus=max(0, len(counted) - REQUIRED_ACTIVITIES),
        earliest_leaves_on=earliest,
        expiring_soon=expiring,
        eligible_until=_eligible_until(counted) if eligible and is_open else None,
        frozen=frozen,
    )


def assess(
    diplomas: Iterable[Diploma], entries: Iterable[Entry], as_of: date, frozen: Mapping[str, Frozen] | None = None
) -> Assessment:
    """Judge every diploma on ``as_of``. Each activity belongs to the diploma whose period holds its date.

    ``frozen`` holds the locks of submitted diplomas by id. An activity a lock names belongs
    to that diploma for good, wherever its date has since moved: it is never counted twice.
    """
    periods = effective_diplomas(diplomas, as_of)
    given = frozen or {}
    locks = {d.id: given[d.id] for d in periods if d.submitted is not None and d.id in given}
    locked = {j.id for lock in locks.values() for j in lock.judgements if j.reason not in NOT_SUBMITTED}
    buckets: list[list[Entry]] = [[] for _ in periods]
    for entry in entries:
        if entry.id in locked:
            continue
        index = 0
        for n, diploma in enumerate(periods):
            if diploma.start is not None and entry.date >= diploma.start:
                index = n
        buckets[index].append(entry)
    results = []
    for n, diploma in enumerate(periods):
        end = periods[n + 1].start if n + 1 < len(periods) else None
        results.append(assess_diploma(diploma, end, buckets[n], as_of, locks.get(diploma.id)))
    current = next((d.id for d in reversed(results) if d.status != "issued"), None)
    return Assessment(as_of=as_of, diplomas=tuple(results), current=current)


def describe_counts(diploma: DiplomaAssessment) -> str:
    """ "27 activities count (24 needed), in 5 categories (3 needed)": what counts, beside what is needed."""
    verb = "counts" if diploma.counted == 1 else "count"
    activities = plural(diploma.counted, "activity", "activities")
    categories = plural(len(diploma.categories), "category", "categories")
    return f"{activities} {verb} ({diploma.required} needed), in {categories} ({diploma.required_categories} needed)"


def describe_needs(diploma: DiplomaAssessment) -> str:
    """ "3 more activities and 1 more category", or "nothing more" when eligible."""
    parts = []
    if diploma.missing_activities:
        parts.append(plural(diploma.missing_activities, "more activity", "more activities"))
    if diploma.missing_categories:
        parts.append(plural(diploma.missing_categories, "more category", "more categories"))
    return " and ".join(parts) if parts else "nothing more"
