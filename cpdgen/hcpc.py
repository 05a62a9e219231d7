"""The HCPC CPD profile as plain data: its period, the activities in it, the types of learning,
the gaps, the goals of the member's plan with the activities that worked towards them, the
member's own texts, the evidence index, and what the profile still lacks.

``gather_profile`` is pure: given a loaded portfolio, the audit date and "today", it reads no
file and no clock. The PDF (``pdf/profile.py``) and the Word document (``wordfile.py``) show
what it returns; ``export.export_profile`` writes them.

What the HCPC publishes, and so what is an error or a warning here
(``docs/guide/hcpc-profile.md``): a summary of practice history of up to 500 words; a dated,
chronological list of CPD activities; at least two types of learning; every gap of three
months or more explained; a statement of up to 1,500 words, written as "I", on standards 3
and 4, usually built on 4 to 6 activities; evidence. "Around 12 to 50 activities" is
guidance, not a rule, and the profile says so.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field
from datetime import date, timedelta

from cpdgen import __version__, schemes
from cpdgen.categories import CATEGORIES, TYPE_BY_ID, category_label
from cpdgen.csvfile import format_hours
from cpdgen.portfolio import (
    HCPC_FOLDER,
    HCPC_TEXTS,
    Activity,
    Evidence,
    Goal,
    MemberText,
    Portfolio,
    goals_with_activities,
)
from cpdgen.problems import CpdgenError, Problem
from cpdgen.rules import window_start
from cpdgen.sections import has_words
from cpdgen.words import date_range, long_date, plural, short_date

PROFESSION = "Biomedical scientist"
SUMMARY_WORDS = 500  # the HCPC's limits
STATEMENT_WORDS = 1500
MIN_CATEGORIES = 2
GUIDANCE_ACTIVITIES = (12, 50)  # "around 12 to 50": guidance, not a rule
GUIDANCE_SELECTED = (4, 6)  # "usually 4 to 6 activities": guidance
GAP_MONTHS = 3
RECORD_PATH = "content/activities"  # where a problem of the record as a whole is reported

_COMMENT = re.compile(r"<!--.*?-->", re.S)  # closed: the PDF and Word show an unclosed one as text
_TAG = re.compile(
    r"</?[A-Za-z][A-Za-z0-9-]*(?:\s[^<>]*)?/?>"
)  # raw HTML: markup the PDF and Word document never show as text
_WORD = re.compile(r"\w+(?:['’-]\w+)*")
_WE = re.compile(r"\bwe\b", re.IGNORECASE)
_EVIDENCE_CITED = re.compile(r"\bE(\d{1,4})\b")
_ISO_DAY = re.compile(r"\b(\d{4})-(\d{2})-(\d{2})\b")
_SECTION = re.compile(r"^ {0,3}##[ \t]+(.*?)[ \t#]*$")  # a level-2 heading opens each section of gaps.md


def text_path(part: str) -> str:
    """Where the member's text of one part lives: ``content/hcpc/statement.md``."""
    return f"content/{HCPC_FOLDER}/{HCPC_TEXTS[part]}"


@dataclass(frozen=True)
class Period:
    """The days the profile covers, both included, and why it starts where it does."""

    start: date
    end: date  # the audit date
    why: str  # "your last renewal", "two years before the audit date", "--since", "your registration"


@dataclass(frozen=True)
class EvidenceItem:
    """One entry of the evidence index (``E3``), and where it comes from."""

    number: int
    evidence: Evidence
    activity: Activity
    listed: int  # the activity's number in the list
    cited_in_statement: bool = False

    @property
    def label(self) -> str:
        return f"E{self.number}"


@dataclass(frozen=True)
class Listed:
    """An activity of the profile's list, numbered in date order, with its evidence numbers."""

    number: int
    activity: Activity
    evidence: tuple[int, ...]
    selected: bool


@dataclass(frozen=True)
class Section:
    """A section of ``gaps.md``: its heading, the days it names, and the member's words under it."""

    heading: str
    line: int
    start: date | None
    end: date | None
    text: str  # Markdown, the heading left out


@dataclass(frozen=True)
class Gap:
    """Three months or more without CPD: the first and last day with none, and the member's explanation."""

    first: date
    last: date
    after: Activity | None  # the activity before it (None: the period's start)
    before: Activity | None  # the activity after it (None: the audit date)
    explanations: tuple[Section, ...] = ()

    @property
    def months(self) -> int:
        """Whole months without CPD."""
        months = 0
        while add_months(self.first, months + 1) <= self.last + timedelta(days=1):
            months += 1
        return months

    @property
    def heading(self) -> str:
        """The heading that explains it in gaps.md."""
        return f"## {self.first.isoformat()} to {self.last.isoformat()}"


@dataclass(frozen=True)
class PlanGoal:
    """A goal of the member's plan (``content/plan/``) and the numbers, in the list, of the activities
    of the period that name it."""

    goal: Goal
    numbers: tuple[int, ...]


@dataclass(frozen=True)
class Words:
    """A member's text counted: its words, its limit, and how often it says "we"."""

    count: int
    limit: int
    we: int


@dataclass
class Profile:
    """Everything the profile shows, and the problems that keep it a draft."""

    name: str
    hcpc_number: str | None
    registered_since: date | None
    period: Period
    today: date
    listed: tuple[Listed, ...]
    categories: tuple[tuple[str, int], ...]  # (label, activities) of every category, in the usual order
    gaps: tuple[Gap, ...]
    evidence: tuple[EvidenceItem, ...]
    texts: dict[str, MemberText]  # the member's texts that have words: "summary", "statement", "gaps"
    words: dict[str, Words]
    problems: list[Problem] = field(default_factory=list)
    # The plan's goals worked on in the period (and open ones, for today): the member's own document, so private too.
    goals: tuple[PlanGoal, ...] = ()

    @property
    def selected(self) -> tuple[Listed, ...]:
        return tuple(item for item in self.listed if item.selected)

    @property
    def category_count(self) -> int:
        return sum(1 for _, n in self.categories if n)

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "error"]


def add_months(day: date, months: int) -> date:
    """The same day ``months`` later, or the month's last day when it has no such day (31 January + 1: 28 February)."""
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    for last in (day.day, 30, 29, 28):
        try:
            return date(year, month, min(day.day, last))
        except ValueError:
            continue
    raise AssertionError("every month has a 28th")  # pragma: no cover


def is_gap(first: date, last: date) -> bool:
    """Whether the days from ``first`` to ``last`` (both included) make three months or more: the
    same rule as check's HCPC lens, the dashboard and the calendar (``schemes.is_gap``)."""
    return schemes.is_gap(first, last, GAP_MONTHS)


def choose_period(portfolio: Portfolio, audit_date: date, since: date | None = None) -> Period:
    """The profile's period: ``since``, else the last renewal (when before the audit date), else the
    two years before the audit date; never before the registration began."""
    settings = portfolio.settings.hcpc if portfolio.settings else None
    if since is not None:
        if since > audit_date:
            raise CpdgenError(f"--since {since} is after the audit date ({audit_date}); the profile looks back from it")
        return Period(since, audit_date, "--since")
    renewal = settings.last_renewal if settings else None
    if renewal is not None and renewal < audit_date:
        period = Period(renewal, audit_date, "your last renewal")
    elif renewal is not None:
        why = f"two years before the audit date; your last renewal, {long_date(renewal)}, is not before it"
        period = Period(window_start(audit_date), audit_date, why)
    else:
        period = Period(window_start(audit_date), audit_date, "two years before the audit date")
    registered = settings.registered_since if settings else None
    if registered is not None and period.start < registered <= audit_date:
        period = Period(registered, audit_date, "your registration")
    return period


def blank_comments(text: str) -> str:
    """``text`` with each HTML comment (the prompts) made spaces, keeping every line and offset."""
    return _COMMENT.sub(lambda m: re.sub(r"[^\n]", " ", m.group()), text)


def _blank(pattern: re.Pattern, text: str) -> str:
    return pattern.sub(lambda m: re.sub(r"[^\n]", " ", m.group()), text)


def count_words(text: str, limit: int) -> tuple[Words, int | None]:
    """The text's words and "we"s, and the line of the first word over ``limit`` (None within it);
    comments and HTML tags are not words."""
    plain = _blank(_TAG, blank_comments(text))
    words = list(_WORD.finditer(plain))
    over = plain.count("\n", 0, words[limit].start()) + 1 if len(words) > limit else None
    return Words(len(words), limit, len(_WE.findall(plain))), over


def we_lines(text: str) -> list[int]:
    plain = _blank(_TAG, blank_comments(text))
    return sorted({plain.count("\n", 0, m.start()) + 1 for m in _WE.finditer(plain)})


def read_sections(text: str) -> list[Section]:
    """The sections of gaps.md: each level-2 heading (outside comments and code), the ISO dates it
    names, and the text under it up to the next; text before the first is an introduction, left out."""
    lines = blank_comments(text).split("\n")
    originals = text.split("\n")
    found: list[tuple[int, str]] = []
    fence: str | None = None
    for index, line in enumerate(lines):
        stripped = line.strip()
        if stripped.startswith(("```", "~~~")):
            marker = stripped[:3]
            fence = None if fence == marker else (fence or marker)
            continue
        match = _SECTION.match(line) if fence is None else None
        if match:
            found.append((index, match.group(1).strip()))
    sections = []
    for n, (index, heading) in enumerate(found):
        end = found[n + 1][0] if n + 1 < len(found) else len(lines)
        days = []
        for year, month, day in _ISO_DAY.findall(heading):
            try:
                days.append(date(int(year), int(month), int(day)))
            except ValueError:
                continue
        body = "\n".join(originals[index + 1 : end]).strip("\n")
        start, last = (min(days), max(days)) if days else (None, None)
        sections.append(Section(heading, index + 1, start, last, body))
    return sections


def find_gaps(activities: list[Activity], period: Period, today: date) -> list[Gap]:
    """Every run of three months or more with no activity, from the period's start to the audit
    date (or today, when the audit date is still to come). An activity over several days
    (``start`` to ``date``) covers them all."""
    end = min(period.end, today)
    gaps: list[Gap] = []
    cursor, previous = period.start, None  # the first day not yet covered, and the activity before it
    for activity in sorted(activities, key=lambda a: (a.meta.start or a.date, a.date, a.id)):
        first = max(activity.meta.start or activity.date, period.start)
        if is_gap(cursor, first - timedelta(days=1)):
            gaps.append(Gap(cursor, first - timedelta(days=1), previous, activity))
        if activity.date + timedelta(days=1) > cursor:
            cursor, previous = activity.date + timedelta(days=1), activity
    if is_gap(cursor, end):
        gaps.append(Gap(cursor, end, previous, None))
    return gaps


def in_period(activity: Activity, period: Period, today: date) -> bool:
    """Whether the activity goes on the list: dated in the period, done (not after today), not a draft."""
    return not activity.draft and period.start <= activity.date <= min(period.end, today)


def gather_profile(
    portfolio: Portfolio,
    audit_date: date,
    today: date,
    *,
    since: date | None = None,
    select: list[str] | None = None,
) -> Profile:
    """The profile of the CPD in the period, and every problem that keeps it a draft."""
    settings = portfolio.settings
    member = settings.member if settings else None
    period = choose_period(portfolio, audit_date, since)
    problems: list[Problem] = []
    if period.why == "your last renewal" and period.start < window_start(audit_date):
        problems.append(
            Problem(
                "content/portfolio.yaml",
                portfolio.settings_lines.get(("hcpc", "last_renewal")),
                "warning",
                "hcpc-renewal-old",
                f"last_renewal ({long_date(period.start)}) is more than two years before {long_date(audit_date)}, so "
                "the profile covers more than two years; you renew every two years: write the day of your latest "
                "renewal, or choose the period with --since",
            )  # fmt: skip
        )
    activities = [a for a in portfolio.activities if in_period(a, period, today)]
    chosen = _check_selection(portfolio, activities, select or [], period, today, problems)

    texts = {part: t for part, t in portfolio.hcpc_texts.items() if has_words(t.text)}
    words: dict[str, Words] = {}
    for part, limit, what in (
        ("summary", SUMMARY_WORDS, "summary of practice history"),
        ("statement", STATEMENT_WORDS, "statement"),
    ):
        member_text = texts.get(part)
        if member_text is None:
            how = "write it" if part in portfolio.hcpc_texts else "run 'cpdgen hcpc-profile --start' to create it"
            problems.append(
                Problem(
                    text_path(part),
                    None,
                    "error",
                    "hcpc-text-missing",
                    f"your {what} is not written yet: {how} (up to {limit:,} words, in your own words)",
                )  # fmt: skip
            )
            continue
        counted, over = count_words(member_text.text, limit)
        words[part] = counted
        if over is not None:
            problems.append(
                Problem(
                    member_text.path,
                    over,
                    "warning",
                    "hcpc-word-limit",
                    f"your {what} has {counted.count:,} words; the HCPC's limit is {limit:,}, and this line "
                    f"holds word {limit + 1:,}",
                )  # fmt: skip
            )
        if counted.we:
            lines = we_lines(member_text.text)
            shown = ", ".join(str(n) for n in lines[:5]) + (", …" if len(lines) > 5 else "")
            problems.append(
                Problem(
                    member_text.path,
                    lines[0],
                    "warning",
                    "hcpc-we-not-i",
                    f"'we' {plural(counted.we, 'time')} (line{'s' if len(lines) > 1 else ''} {shown}): the HCPC "
                    "asks for your own work, written as 'I'; say what you did and what it changed",
                )  # fmt: skip
            )

    evidence: list[EvidenceItem] = []
    listed: list[Listed] = []
    statement = blank_comments(texts["statement"].text) if "statement" in texts else ""
    cited = {int(n) for n in _EVIDENCE_CITED.findall(statement)}
    for number, activity in enumerate(activities, start=1):
        numbers = []
        for item in activity.evidence:
            n = len(evidence) + 1
            evidence.append(EvidenceItem(n, item, activity, number, n in cited))
            numbers.append(n)
        listed.append(Listed(number, activity, tuple(numbers), activity.id in chosen))
    for n in sorted(cited):
        if not 1 <= n <= len(evidence):
            where = texts["statement"]
            line = _line_of(where.text, re.compile(rf"\bE{n}\b"))
            size = f"E1 to E{len(evidence)}" if evidence else "no evidence"
            problems.append(
                Problem(
                    where.path,
                    line,
                    "warning",
                    "hcpc-evidence-ref",
                    f"the statement cites E{n}, but the evidence index holds {size}; the numbers follow "
                    "the list of activities, so check them after adding or removing one",
                )  # fmt: skip
            )

    categories = tuple((c.label, sum(1 for a in activities if a.category == c.id)) for c in CATEGORIES)
    used = sum(1 for _, n in categories if n)
    if used < MIN_CATEGORIES:
        problems.append(
            Problem(
                RECORD_PATH,
                None,
                "error",
                "hcpc-too-few-categories",
                f"the activities from {long_date(period.start)} to {long_date(period.end)} are of "
                f"{plural(used, 'type')} of learning; the HCPC asks for a mixture of at least {MIN_CATEGORIES}",
            )  # fmt: skip
        )
    low, high = GUIDANCE_ACTIVITIES
    if not low <= len(activities) <= high:
        problems.append(
            Problem(
                RECORD_PATH,
                None,
                "warning",
                "hcpc-activity-count",
                f"{plural(len(activities), 'activity', 'activities')} from {long_date(period.start)} to "
                f"{long_date(period.end)}; HCPC guidance is a list of around {low} to {high} (a guide, not a rule)",
            )  # fmt: skip
        )
    low, high = GUIDANCE_SELECTED
    if chosen and not low <= len(chosen) <= high:
        problems.append(
            Problem(
                text_path("statement"),
                None,
                "warning",
                "hcpc-select-count",
                f"{plural(len(chosen), 'activity', 'activities')} selected for the statement; HCPC guidance is "
                f"that a statement is usually built on {low} to {high}",
            )  # fmt: skip
        )

    gaps = _explain_gaps(find_gaps(activities, period, today), period, portfolio.hcpc_texts.get("gaps"), problems)
    registered = settings.hcpc.registered_since if settings else None
    if registered is not None and window_start(audit_date) < registered:
        message = (
            f"registered since {long_date(registered)}: less than two years on {long_date(audit_date)}. The HCPC "
            "audits registrants of two years or more at renewal, so you are unlikely to be asked for this "
            "profile yet"
        )
        if registered > audit_date:
            message = (
                f"registered since {long_date(registered)}, after the audit date ({long_date(audit_date)}): check "
                "hcpc: registered_since and --audit-date"
            )
        line = portfolio.settings_lines.get(("hcpc", "registered_since"))
        problems.append(Problem("content/portfolio.yaml", line, "warning", "hcpc-new-registrant", message))
    return Profile(
        name=member.name if member else "",
        hcpc_number=member.hcpc_number if member else None,
        registered_since=registered,
        period=period,
        today=today,
        listed=tuple(listed),
        categories=categories,
        gaps=tuple(gaps),
        evidence=tuple(evidence),
        texts=texts,
        words=words,
        problems=problems,
        goals=_plan_goals(portfolio, listed, current=period.end >= today),
    )


def _plan_goals(portfolio: Portfolio, listed: list[Listed], *, current: bool) -> tuple[PlanGoal, ...]:
    """Each goal an activity of the period worked towards, and, when the profile is for today (not a
    day past, when today's plan did not exist), every open goal; in the plan's order."""
    number_of = {item.activity.id: item.number for item in listed}
    found = []
    for linked in goals_with_activities(portfolio):
        numbers = tuple(number_of[a.id] for a in linked.activities if a.id in number_of)
        if numbers or (current and linked.goal.status == "open"):
            found.append(PlanGoal(linked.goal, numbers))
    return tuple(found)


def _line_of(text: str, pattern: re.Pattern) -> int | None:
    plain = blank_comments(text)
    match = pattern.search(plain)
    return plain.count("\n", 0, match.start()) + 1 if match else None


def _check_selection(
    portfolio: Portfolio, listed: list[Activity], select: list[str], period: Period, today: date,
    problems: list[Problem],
) -> set[str]:  # fmt: skip
    """The ids of the selected activities that are on the list; each other id is a problem."""
    on_list = {a.id for a in listed}
    by_id = {a.id: a for a in portfolio.activities}
    chosen: set[str] = set()
    for wanted in select:
        if wanted in on_list:
            chosen.add(wanted)
            continue
        activity = by_id.get(wanted)
        if activity is None:
            close = difflib.get_close_matches(wanted, list(on_list) or list(by_id), n=1, cutoff=0.6)
            hint = f"; did you mean '{close[0]}'?" if close else "; an activity's id is its file name without .md"
            message = f"--select names '{wanted}', which is not an activity{hint}"
        elif activity.draft:
            message = f"--select names '{wanted}', a draft: drafts are not on the list"
        elif activity.date > min(period.end, today):
            message = f"--select names '{wanted}', dated {long_date(activity.date)}: after the profile's period"
        else:
            message = (
                f"--select names '{wanted}', dated {long_date(activity.date)}: before the profile's period "
                f"(from {long_date(period.start)})"
            )
        problems.append(Problem(RECORD_PATH, None, "error", "hcpc-unknown-activity", message))
    return chosen


def _explain_gaps(
    gaps: list[Gap], period: Period, member_text: MemberText | None, problems: list[Problem]
) -> list[Gap]:
    """Each gap with the sections of gaps.md that explain it; an unexplained gap is an error.

    A section about days outside the period belongs to another profile: left out without a word."""
    sections = read_sections(member_text.text) if member_text is not None else []
    path = member_text.path if member_text is not None else text_path("gaps")
    used: set[int] = set()
    explained = []
    for gap in gaps:
        matching = [s for s in sections if s.start is not None and s.end is not None and s.start <= gap.last
                    and s.end >= gap.first and has_words(s.text)]  # fmt: skip
        used.update(s.line for s in matching)
        explained.append(Gap(gap.first, gap.last, gap.after, gap.before, tuple(matching)))
        if matching:
            continue
        empty = [s for s in sections if s.start is not None and s.end is not None and s.start <= gap.last
                 and s.end >= gap.first]  # fmt: skip
        where = f"write your explanation under the heading on line {empty[0].line}" if empty else (
            f"add a section '{gap.heading}' to {path} with your explanation (illness, parental leave, a career "
            "break…)"
        )  # fmt: skip
        after = f"after “{gap.after.title}”" if gap.after else "from the start of the period"
        problems.append(
            Problem(
                path,
                empty[0].line if empty else None,
                "error",
                "hcpc-gap-unexplained",
                f"no CPD for {plural(gap.months, 'month')}, {long_date(gap.first)} to {long_date(gap.last)} "
                f"({after}): the HCPC asks you to explain any gap of {GAP_MONTHS} months or more; {where}",
            )  # fmt: skip
        )
    for section in sections:
        if section.line in used:
            continue
        if section.start is None:
            message = (
                f"the heading '{section.heading}' names no day as YYYY-MM-DD, so it explains no gap; write "
                "the gap's first and last day, like '## 2024-03-02 to 2024-06-30'"
            )
        elif section.end is None or section.start > period.end or section.end < period.start:
            continue
        elif any(section.start <= g.last and section.end >= g.first for g in gaps):
            continue  # an empty section under a gap's heading: that gap's error says so
        else:
            message = (
                f"'{section.heading}' is not a gap of {GAP_MONTHS} months or more in this profile's period, so "
                "it is left out of the profile"
            )
        problems.append(Problem(path, section.line, "warning", "hcpc-gap-explanation", message))
    return explained


# --- what the PDF and the Word document show ---------------------------------------------


def plain_facts(profile: Profile) -> dict:
    """What the profile shows, as plain data, save for the member's Markdown (each output renders it)."""
    period = profile.period
    title = f"HCPC CPD profile: {profile.name}, {long_date(period.start)} to {long_date(period.end)}"
    return {
        "member": {
            "name": profile.name,
            "profession": PROFESSION,
            "hcpc_number": profile.hcpc_number,
            "registered_since": long_date(profile.registered_since) if profile.registered_since else None,
        },
        "period": {
            "start": long_date(period.start),
            "end": long_date(period.end),
            "why": period.why,
        },
        "rows": [row_facts(item) for item in profile.listed],
        "categories": [{"label": label, "count": n} for label, n in profile.categories],
        "goals": [goal_facts(item) for item in profile.goals],
        "category_count": profile.category_count,
        "gap_count": len(profile.gaps),
        "words": {
            "summary": profile.words["summary"].count if "summary" in profile.words else None,
            "summary_limit": f"{SUMMARY_WORDS:,}",
            "statement": profile.words["statement"].count if "statement" in profile.words else None,
            "statement_limit": f"{STATEMENT_WORDS:,}",
        },
        "selected_count": len(profile.selected),
        "evidence_count": len(profile.evidence),
        "as_of": long_date(profile.today),
        "version": __version__,
        "meta": {
            "title": title,
            "author": profile.name,
            "subject": f"Draft CPD profile of {profile.name}, {PROFESSION.lower()}, for an HCPC audit",
            "keywords": ["CPD", "HCPC", "CPD profile", "audit", "biomedical science"],
            "generator": f"cpdgen {__version__}",
        },
    }


def goal_facts(item: PlanGoal) -> dict:
    """One goal of the plan as the PDF and the Word document show it."""
    meta = item.goal.meta
    return {
        "title": item.goal.title,
        "status": item.goal.status_text,
        "target": short_date(meta.target) if meta.target else "",
        "activities": ", ".join(str(n) for n in item.numbers) or "none in this period",
    }


def row_facts(item: Listed) -> dict:
    """One activity of the list as the PDF and the Word document show it."""
    activity = item.activity
    meta = activity.meta
    return {
        "number": item.number,
        "anchor": f"activity-{activity.slug}",
        "short_date": short_date(activity.date),
        "dates": date_range(meta.start, activity.date, dash=" to ", spaced=" to "),
        "title": activity.title,
        "category": category_label(activity.category),
        "type": TYPE_BY_ID[meta.type].label if meta.type else None,
        "hours": f"{format_hours(meta.hours)} h" if meta.hours is not None else None,
        "standards": ", ".join(str(s) for s in meta.standards),
        "evidence": ", ".join(f"E{n}" for n in item.evidence),
        "private": activity.private,
        "selected": item.selected,
    }
