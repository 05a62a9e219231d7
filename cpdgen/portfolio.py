"""The member's record as plain data that every stage reads: Evidence, Activity, Portfolio.

The loader fills these in; the rules, the privacy scan, the site, the PDF and the CSV only
read them. Also here: what "today" means for a portfolio, the one slug rule for names in
URLs and file names, and the one pattern for a URL's scheme.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from cpdgen import rules, schemes
from cpdgen.problems import CpdgenError, Problem
from cpdgen.sections import has_words
from cpdgen.words import MAX_SLUG, slugify  # noqa: F401 - slugify is part of this module's interface

if TYPE_CHECKING:  # pydantic is imported by the loader, which builds these records
    from cpdgen.models import ActivityFrontMatter, GoalFrontMatter, PortfolioFile

DEFAULT_TIMEZONE = "Europe/London"

# A URL's scheme ("https:", "mailto:"), as every part of cpdgen reads one (RFC 3986).
URL_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*):")


def url_scheme(text: str) -> str | None:
    """The lower-case scheme of a URL (``https``), or None when ``text`` has none."""
    match = URL_SCHEME.match(text)
    return match.group(1).lower() if match else None


def resolve_as_of(timezone: str, as_of: date | None = None) -> date:
    """ "Today": ``as_of`` if given, else SOURCE_DATE_EPOCH, else the clock, in the portfolio's time zone."""
    if as_of is not None:
        return as_of
    zone = ZoneInfo(timezone)
    epoch = os.environ.get("SOURCE_DATE_EPOCH", "").strip()
    if epoch:
        try:
            seconds = int(epoch)
        except ValueError:
            raise CpdgenError(f"SOURCE_DATE_EPOCH={epoch!r} is not a number of seconds") from None
        try:
            day = datetime.fromtimestamp(seconds, tz=zone).date()
        except (ValueError, OverflowError, OSError):
            day = None
        if day is None or not rules.MIN_YEAR <= day.year <= rules.MAX_YEAR:
            raise CpdgenError(
                f"SOURCE_DATE_EPOCH={epoch!r} is out of range: "
                f"it must be a day from {rules.MIN_YEAR} to {rules.MAX_YEAR}"
            )
        return day
    return datetime.now(tz=zone).date()


@dataclass(frozen=True)
class Evidence:
    """A supporting document: a file inside ``content/`` or an https link."""

    ref: str  # as the member wrote it
    url: str | None = None
    path: Path | None = None  # the file, resolved, inside content/
    rel: str | None = None  # the file relative to content/, with forward slashes

    @property
    def name(self) -> str:
        return self.url if self.url else PurePosixPath(self.rel or self.ref).name


@dataclass(frozen=True)
class Activity:
    """One CPD activity: its front matter, description and reflection."""

    id: str
    slug: str  # the id made safe for URLs
    path: str  # the file, relative to the portfolio root
    source: Path
    meta: ActivityFrontMatter
    description: str  # Markdown
    description_line: int  # file line where the body starts
    reflection: str | None  # Markdown; None when there is none
    reflection_path: str | None = None
    reflection_line: int | None = None
    evidence: tuple[Evidence, ...] = ()
    lines: dict = field(default_factory=dict, compare=False, repr=False)

    @property
    def title(self) -> str:
        return self.meta.title

    @property
    def date(self) -> date:
        return self.meta.date

    @property
    def category(self) -> str:
        return self.meta.category_id

    @property
    def private(self) -> bool:
        return self.meta.private

    @property
    def draft(self) -> bool:
        return self.meta.draft

    @property
    def published(self) -> bool:
        """Whether the public site may show it."""
        return not (self.meta.private or self.meta.draft)

    @property
    def goal(self) -> str | None:
        """The id of the goal of the plan it works towards."""
        return self.meta.goal

    @property
    def has_reflection(self) -> bool:
        return has_words(self.reflection)

    def entry(self) -> rules.Entry:
        return rules.Entry(self.id, self.date, self.category, self.has_reflection, self.draft)

    def scheme_entry(self) -> schemes.Entry:
        return schemes.Entry(
            self.id, self.date, self.category, self.has_reflection, self.draft, frozenset(self.meta.standards)
        )


@dataclass(frozen=True)
class Goal:
    """One goal of the development plan (``content/plan/<id>.md``): its front matter and Markdown."""

    id: str
    slug: str  # the id made safe for URLs
    path: str  # the file, relative to the portfolio root
    source: Path
    meta: GoalFrontMatter
    body: str  # Markdown
    body_line: int  # file line where the body starts
    lines: dict = field(default_factory=dict, compare=False, repr=False)

    @property
    def title(self) -> str:
        return self.meta.title

    @property
    def status(self) -> str:
        return self.meta.status

    @property
    def status_text(self) -> str:
        """The status as a member reads it: "Open", "Done", "Dropped"."""
        return self.meta.status.capitalize()

    @property
    def private(self) -> bool:
        return self.meta.private

    @property
    def published(self) -> bool:
        """Whether the public site may show it."""
        return not self.meta.private


@dataclass(frozen=True)
class GoalActivities:
    """A goal and the activities that name it (``goal:``), oldest first."""

    goal: Goal
    activities: tuple[Activity, ...]


GOAL_ORDER = {"open": 0, "done": 1, "dropped": 2}


# The member's page about themselves on the site: content/about.md.
ABOUT_FILE = "about.md"

# The member's own texts for the HCPC audit profile, in content/hcpc/, by the part they are.
HCPC_FOLDER = "hcpc"
HCPC_TEXTS = {"summary": "summary.md", "statement": "statement.md", "gaps": "gaps.md"}


@dataclass(frozen=True)
class MemberText:
    """A Markdown file of the member's own words that is not an activity (``content/hcpc/statement.md``)."""

    path: str  # relative to the portfolio root
    source: Path
    text: str


@dataclass
class Portfolio:
    """Everything read from ``content/``, and every problem found on the way."""

    root: Path
    content: Path
    settings: PortfolioFile | None
    diplomas: list[rules.Diploma] | None  # None when portfolio.yaml is too broken to judge diplomas
    activities: list[Activity]
    problems: list[Problem]
    setup_failed: bool = False  # portfolio.yaml missing or unreadable: exit 2
    texts: dict[Path, str] = field(default_factory=dict, repr=False)  # every file as read, for the privacy scan
    settings_lines: dict = field(default_factory=dict, repr=False)  # portfolio.yaml's key lines
    # Every (rule, value) the privacy scan found in the files, allowed or not: what the
    # published outputs may show without a new error (``privacy.scan.check_published``).
    privacy_seen: frozenset[tuple[str, str]] = field(default_factory=frozenset, repr=False)
    # Submitted diplomas' verdicts as their locks keep them (content/diplomas/<id>.lock), by id.
    frozen: dict[str, rules.Frozen] = field(default_factory=dict, repr=False)
    # The member's texts for the HCPC profile that exist (content/hcpc/), by part: "summary", "statement", "gaps".
    hcpc_texts: dict[str, MemberText] = field(default_factory=dict, repr=False)
    goals: list[Goal] = field(default_factory=list)  # the development plan, in GOAL_ORDER then by target date
    about: MemberText | None = None  # content/about.md, the site's About page, when it exists

    @property
    def timezone(self) -> str:
        return self.settings.site.timezone if self.settings else DEFAULT_TIMEZONE

    def entries(self) -> list[rules.Entry]:
        return [a.entry() for a in self.activities]

    @property
    def lenses(self) -> schemes.Lenses:
        """The schemes ``registrations:`` turns on; without it, the IBMS diploma alone."""
        registrations = self.settings.registrations if self.settings else None
        if registrations is None:
            return schemes.Lenses()
        science = registrations.science_council
        return schemes.Lenses(
            ibms=registrations.ibms,
            hcpc=registrations.hcpc,
            science_council=science is not None,
            register=science.register_name if science else None,
            listed=True,
        )

    def assess_schemes(
        self, as_of: date, lenses: schemes.Lenses | None = None, periods: list[schemes.Period] | None = None
    ) -> schemes.SchemesAssessment:
        """Judge the schemes besides the diploma that ``lenses`` (default: ``registrations:``) turn on."""
        registered = self.settings.hcpc.registered_since if self.settings is not None else None
        return schemes.assess_schemes(
            [a.scheme_entry() for a in self.activities], lenses or self.lenses, as_of, periods, registered
        )

    def assess(self, as_of: date) -> rules.Assessment | None:
        """Judge every diploma on ``as_of``; None when portfolio.yaml is too broken to say."""
        if self.diplomas is None:
            return None
        return rules.assess(self.diplomas, self.entries(), as_of, self.frozen)


def goals_with_activities(portfolio: Portfolio, *, public: bool = False, drafts: bool = False) -> list[GoalActivities]:
    """Every goal of the plan with the activities that name it, oldest first.

    Open goals come first, then done, then dropped; each by target date (none last), then id.
    ``public``: only what the published site shows (goals that are not private; activities
    neither private nor draft). Otherwise every goal and every activity, drafts only with
    ``drafts``: for the member's own documents, such as an HCPC profile.
    """
    found = []
    for goal in portfolio.goals:
        if public and not goal.published:
            continue
        linked = tuple(
            activity
            for activity in portfolio.activities
            if activity.goal == goal.id and (activity.published if public else drafts or not activity.draft)
        )
        found.append(GoalActivities(goal, linked))
    return found
