"""The plain data each page of the site shows, and where each page is.

Every value here is a string, a number, a boolean, a list or a dict, so a page's output is
a function of its template and this data (``renderer.py`` keys each page on it). Only
published activities appear; a fact that only a private or draft activity gives (a date)
is said without it.
"""

from __future__ import annotations

import re
from datetime import timedelta

from markupsafe import Markup

from cpdgen.categories import CATEGORIES, CATEGORY_BY_ID
from cpdgen.models import PublishSettings
from cpdgen.portfolio import Activity, GoalActivities, Portfolio, goals_with_activities, slugify
from cpdgen.rules import REASON_TEXT, Assessment, DiplomaAssessment, Judgement, describe_counts, describe_needs
from cpdgen.schemes import (
    HCPC_TYPES,
    SC_CATEGORIES,
    SC_EXCEPTIONAL_CATEGORIES,
    Gap,
    HcpcAssessment,
    Period,
    SchemesAssessment,
    ScienceCouncilYear,
)
from cpdgen.words import diploma_name, long_date, plural, short_date

HCPC_STANDARDS = {
    1: "Keeps a continuous, up-to-date and accurate record of CPD",
    2: "A mixture of learning relevant to current or future practice",
    3: "Contributes to the quality of practice and service delivery",
    4: "Benefits the service user",
    5: "Supports a written profile of how the standards are met",
}


# --- names and dates ---------------------------------------------------------------------


def diploma_slug(diploma_id: str) -> str:
    """The folder of a diploma's page and downloads: ``diplomas/<slug>/``."""
    return slugify(diploma_id, "diploma")


def activity_url(activity: Activity) -> str:
    return f"activities/{activity.slug}/index.html"


def diploma_url(diploma_id: str) -> str:
    return f"diplomas/{diploma_slug(diploma_id)}/index.html"


def category_url(category_id: str) -> str:
    return f"categories/{category_id}/index.html"


def tag_url(tag: str) -> str:
    return f"tags/{slugify(tag, 'tag')}/index.html"


PLAN_URL = "plan/index.html"
ABOUT_URL = "about/index.html"
SEARCH_URL = "search/index.html"
FEED_URL = "feed.xml"


def web_path(path: str) -> str:
    """A page's path as a web address names it: a folder's ``index.html`` left out."""
    return path.removesuffix("index.html")


def goal_url(slug: str) -> str:
    """A goal's place on the plan page."""
    return f"{PLAN_URL}#goal-{slug}"


def hours_text(value: float | None) -> str:
    if value is None:
        return ""
    return f"{value:g} hour" + ("" if value == 1 else "s")


# --- plain data for the templates ----------------------------------------------------------


def site_context(
    portfolio: Portfolio, assessment: Assessment, publish: PublishSettings, *, search: bool = False
) -> dict:
    """The facts every page shows; ``search`` says whether the search page has an index to search."""
    settings = portfolio.settings
    assert settings is not None
    member = settings.member
    current = assessment.current_diploma
    url = settings.site.url or ""
    return {
        "title": settings.site.title or f"{member.name} — CPD portfolio",
        "url": url,
        "search_engines": settings.site.search_engines,
        "about_url": ABOUT_URL if portfolio.about is not None else "",
        "search_url": SEARCH_URL,
        "search_ready": search,
        "feed_url": FEED_URL if url else "",
        "member": {
            "name": member.name,
            "job_title": member.job_title or "",
            "employer": member.employer or "",
            "hcpc_number": member.hcpc_number if publish.hcpc_number and member.hcpc_number else "",
            "membership_number": (
                member.membership_number if publish.membership_number and member.membership_number else ""
            ),
        },
        "as_of": assessment.as_of.isoformat(),
        "as_of_text": long_date(assessment.as_of),
        "current_diploma_url": diploma_url(current.id) if current else "",
        "categories": [{"id": c.id, "label": c.label, "url": category_url(c.id)} for c in CATEGORIES],
    }


def judgement_text(diploma: DiplomaAssessment, judgement: Judgement) -> str:
    if judgement.counted:
        return f"Counts towards {diploma_name(diploma.id)}."
    assert judgement.reason is not None
    return f"Does not count towards {diploma_name(diploma.id)}: {REASON_TEXT[judgement.reason]}."


def summary(activity: Activity, judged: dict[str, tuple[DiplomaAssessment, Judgement]]) -> dict:
    """What a list or table shows of one activity."""
    diploma, judgement = judged[activity.id]
    return {
        "id": activity.id,
        "title": activity.title,
        "url": activity_url(activity),
        "date": activity.date.isoformat(),
        "date_text": short_date(activity.date),
        "category": activity.category,
        "category_label": CATEGORY_BY_ID[activity.category].label,
        "category_url": category_url(activity.category),
        "diploma": diploma.id,
        "diploma_label": diploma_name(diploma.id),
        "counted": judgement.counted,
        "reason": judgement.reason or "",
        "reason_text": REASON_TEXT[judgement.reason] if judgement.reason else "",
        "leaves_text": long_date(judgement.leaves_window_on),
    }


def public_dates(diploma: DiplomaAssessment, published: set[str]) -> tuple[str, str]:
    """ "Eligible until" and "the earliest counted activity leaves on", as the public site may say them.

    Each date is given only when published activities alone show it; a date that only a
    private or draft activity gives would tell when that activity took place, so it is left
    out (the templates then say the fact without the date).
    """
    counted = [j for j in diploma.judgements if j.counted and j.leaves_window_on]
    until = ""
    if diploma.eligible_until:
        leaving = diploma.eligible_until + timedelta(days=1)
        if all(j.id in published for j in counted if j.leaves_window_on == leaving):
            until = long_date(diploma.eligible_until)
    earliest = ""
    if diploma.earliest_leaves_on:
        first = [j for j in counted if j.leaves_window_on == diploma.earliest_leaves_on]
        if any(j.id in published for j in first):
            earliest = long_date(diploma.earliest_leaves_on)
    return until, earliest


def diploma_summary(diploma: DiplomaAssessment, published: set[str]) -> dict:
    if diploma.status == "open":
        since = f"Open since {long_date(diploma.start)}" if diploma.start else "Open"
    elif diploma.status == "submitted":
        since = f"Submitted for validation on {long_date(diploma.submitted)}"
    else:
        since = f"Validated and issued on {long_date(diploma.issued)}"
    period_end = diploma.end - timedelta(days=1) if diploma.end else None
    until, earliest = public_dates(diploma, published)
    return {
        "id": diploma.id,
        "label": diploma_name(diploma.id),
        "url": diploma_url(diploma.id),
        "status": diploma.status,
        "status_label": diploma.status_text,
        "ready": diploma.status == "open" and diploma.eligible,
        "since_text": since,
        "assumed": diploma.assumed,
        "start_text": long_date(diploma.start),
        "period_end_text": long_date(period_end),
        "submitted_text": long_date(diploma.submitted),
        "issued_text": long_date(diploma.issued),
        "evaluated_on_text": long_date(diploma.evaluated_on),
        "window_start_text": long_date(diploma.window_start),
        "counts_from_text": long_date(diploma.counts_from),
        "not_started": diploma.not_started,
        "counts_text": describe_counts(diploma),
        "counted": diploma.counted,
        "required": diploma.required,
        "counted_percent": min(100, round(100 * diploma.counted / diploma.required)),
        "category_count": len(diploma.categories),
        "required_categories": diploma.required_categories,
        "categories_percent": min(100, round(100 * len(diploma.categories) / diploma.required_categories)),
        "category_labels": [CATEGORY_BY_ID[c].label for c in diploma.categories],
        "eligible": diploma.eligible,
        "needs_text": describe_needs(diploma),
        "surplus": diploma.surplus,
        "eligible_until_text": until,
        "eligible_until_unshown": bool(diploma.eligible_until) and not until,
        "earliest_leaves_text": earliest,
        "earliest_leaves_unshown": bool(diploma.earliest_leaves_on) and not earliest,
        "lock_sha256": diploma.frozen.set_sha256 if diploma.frozen else "",
    }


# --- the other schemes (registrations:) ------------------------------------------------------


def _named(ids: tuple[str, ...], summaries: dict[str, dict]) -> tuple[list[dict], int]:
    """The published activities among ``ids`` (as list items), and how many others there are."""
    shown = [summaries[i] for i in ids if i in summaries]
    return shown, len(ids) - len(shown)


def _gap_text(gap: Gap, period: Period, public_days: set) -> str:
    """A gap as the public site may say it: its dates only when published activities (or the period) give them."""
    months = plural(gap.months, "month")
    before = gap.first == period.start or (gap.first - timedelta(days=1)) in public_days
    after = gap.last == period.end or (gap.last + timedelta(days=1)) in public_days
    if before and after:
        return f"{long_date(gap.first)} to {long_date(gap.last)} ({months})"
    return f"{months}, next to an activity not published"


def hcpc_card(hcpc: HcpcAssessment, summaries: dict[str, dict], public_days: set) -> dict:
    without, without_hidden = _named(hcpc.without_reflection, summaries)
    return {
        "kind": "hcpc",
        "title": "HCPC",
        "met": hcpc.met,
        "status_label": "A mixture of learning" if hcpc.met else "Not a mixture of learning yet",
        "period_text": hcpc.period.text,
        "activities": len(hcpc.activities),
        "type_count": len(hcpc.categories),
        "required_types": HCPC_TYPES,
        "category_labels": [CATEGORY_BY_ID[c].label for c in hcpc.categories],
        "standard_3": len(hcpc.standard_3),
        "standard_4": len(hcpc.standard_4),
        "gaps": [_gap_text(g, hcpc.period, public_days) for g in hcpc.gaps],
        "renewal_text": hcpc.renewal.text,
        "without_reflection": without,
        "without_reflection_hidden": without_hidden,
    }


SC_STATUS = {"met": "Met", "exceptionally": "Met exceptionally", "not-met": "Not met"}


def science_council_card(year: ScienceCouncilYear, register: str | None, summaries: dict[str, dict]) -> dict:
    without, without_hidden = _named(year.without_reflection, summaries)
    status = SC_STATUS[year.status]
    if year.status == "not-met" and not year.complete:
        status = "Not met yet"
    return {
        "kind": "science-council",
        "title": f"Science Council ({register})" if register else "Science Council",
        "met": year.met,
        "status": year.status,
        "status_label": status,
        "year_text": str(year.period.start.year) if year.declaration_due else year.period.text,
        "period_text": year.period.text,
        "evaluated_on_text": long_date(year.evaluated_on),
        "due_text": long_date(year.declaration_due) if year.declaration_due and not year.complete else "",
        "activities": len(year.activities),
        "category_count": len(year.categories),
        "required_categories": SC_CATEGORIES,
        "exceptional_categories": SC_EXCEPTIONAL_CATEGORIES,
        "category_labels": [CATEGORY_BY_ID[c].label for c in year.categories],
        "standard_3": len(year.standard_3),
        "standard_4": len(year.standard_4),
        "problems": [f.message for f in year.findings if f.severity in ("error", "warning")],
        "without_reflection": without,
        "without_reflection_hidden": without_hidden,
    }


def scheme_cards(schemes: SchemesAssessment, summaries: dict[str, dict], public_days: set) -> list[dict]:
    """A card for each scheme judged besides the diploma, with only what the public site may show."""
    cards = []
    if schemes.hcpc is not None:
        cards.append(hcpc_card(schemes.hcpc, summaries, public_days))
    if schemes.science_council is not None:
        for year in schemes.science_council.years:
            cards.append(science_council_card(year, schemes.science_council.register, summaries))
    return cards


# --- the development plan ------------------------------------------------------------------------


def goal_links(portfolio: Portfolio) -> dict[str, dict]:
    """Each published goal's title and place on the plan page, by id (an activity's page links to it)."""
    return {g.id: {"title": g.title, "url": goal_url(g.slug)} for g in portfolio.goals if g.published}


def goal_summary(found: GoalActivities, summaries: dict[str, dict], hidden: dict) -> dict:
    """What the dashboard and the plan page show of one published goal."""
    goal, meta = found.goal, found.goal.meta
    return {
        "id": goal.id,
        "anchor": f"goal-{goal.slug}",
        "url": goal_url(goal.slug),
        "title": goal.title,
        "status": goal.status,
        "status_label": goal.status_text,
        "why": meta.why or "",
        "planned": list(meta.planned),
        "target": meta.target.isoformat() if meta.target else "",
        "target_text": long_date(meta.target),
        "review": meta.review.isoformat() if meta.review else "",
        "review_text": long_date(meta.review),
        "activities": [summaries[a.id] for a in reversed(found.activities) if a.id in summaries],
        "hidden": hidden,
    }


def plan_goals(portfolio: Portfolio, summaries: dict[str, dict]) -> list[dict]:
    """Every goal the public site shows, with its published activities, newest first, and how many others."""
    every = {g.goal.id: g for g in goals_with_activities(portfolio, drafts=True)}
    shown = []
    for found in goals_with_activities(portfolio, public=True):
        hidden = hidden_counts(list(every[found.goal.id].activities), None)
        shown.append(goal_summary(found, summaries, hidden))
    return shown


def hidden_counts(activities: list[Activity], ids: set[str] | None = None) -> dict:
    chosen = [a for a in activities if ids is None or a.id in ids]
    private = sum(1 for a in chosen if a.private and not a.draft)
    drafts = sum(1 for a in chosen if a.draft)
    parts = []
    if private:
        parts.append(plural(private, "private activity", "private activities"))
    if drafts:
        parts.append(plural(drafts, "draft"))
    return {"private": private, "drafts": drafts, "text": " and ".join(parts)}


_HEADING = re.compile(r"<(/?)h([1-6])>")


def shift_headings(html: Markup, top: int = 3) -> Markup:
    """Put a member's headings under the page's own: the text's highest heading becomes ``<h3>``.

    So each page keeps one ``<h1>`` and no heading level is skipped.
    """
    levels = [int(level) for _, level in _HEADING.findall(str(html))]
    if not levels:
        return html
    shift = top - min(levels)
    shifted = _HEADING.sub(lambda m: f"<{m.group(1)}h{min(6, int(m.group(2)) + shift)}>", str(html))
    return Markup(shifted)  # noqa: S704 - safe HTML with only its heading tags renamed
