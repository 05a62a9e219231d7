"""The five CPD categories, the spellings members use for them, and the activity types."""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass


@dataclass(frozen=True)
class Category:
    id: str
    label: str
    description: str


CATEGORIES: tuple[Category, ...] = (
    Category(
        "work-based-learning",
        "Work-based learning",
        "Learning by doing at work: case studies, audit, reflective practice, journal clubs, "
        "in-service training, supervising, significant event analysis, project work.",
    ),
    Category(
        "professional-activity",
        "Professional activity",
        "Contributing to the profession: professional body work, teaching, mentoring, "
        "examining, presenting at conferences, organising courses, assessing.",
    ),
    Category(
        "formal-educational",
        "Formal / educational",
        "Structured learning: courses, further education, research, attending conferences, "
        "writing articles, seminars, distance learning.",
    ),
    Category(
        "self-directed-learning",
        "Self-directed learning",
        "Learning on your own: reading journals and articles, reviewing books, updating "
        "knowledge online, keeping a file of your progress.",
    ),
    Category("other", "Other", "Public service and voluntary work that develops you professionally."),
)

CATEGORY_BY_ID: dict[str, Category] = {c.id: c for c in CATEGORIES}


@dataclass(frozen=True)
class ActivityType:
    id: str
    label: str
    category: str
    source: str = "hcpc"  # a key of SOURCES: where cpdgen took it from


# Where the pre-defined activity types come from. The HCPC's examples of CPD activities
# give the category; the IBMS's learning products and the laboratory activities are put
# in the category the HCPC gives the nearest example.
SOURCES: dict[str, str] = {
    "hcpc": "the HCPC's examples of CPD activities",
    "ibms": "the IBMS's own learning products",
    "lab": "laboratory activities biomedical scientists record often",
}


def _types(category: str, source: str, *pairs: tuple[str, str]) -> list[ActivityType]:
    return [ActivityType(type_id, label, category, source) for type_id, label in pairs]


ACTIVITY_TYPES: tuple[ActivityType, ...] = tuple(
    _types(
        "work-based-learning",
        "hcpc",
        ("learning-by-doing", "Learning by doing"),
        ("case-study", "Case study"),
        ("reflective-practice", "Reflective practice"),
        ("audit", "Audit"),
        ("coaching", "Coaching from others"),
        ("discussion", "Discussion with colleagues"),
        ("peer-review", "Peer review"),
        ("wider-work", "Involvement in the wider work of your employer (e.g. a committee)"),
        ("work-shadowing", "Work shadowing"),
        ("secondment", "Secondment"),
        ("job-rotation", "Job rotation"),
        ("journal-club", "Journal club"),
        ("in-service-training", "In-service training"),
        ("supervising", "Supervising staff or students"),
        ("visiting-departments", "Visiting other departments and reporting back"),
        ("expanding-role", "Expanding your role"),
        ("significant-event-analysis", "Significant event analysis"),
        ("self-assessment", "Filling in a self-assessment questionnaire"),
        ("project-work", "Project work"),
    )
    + _types(
        "work-based-learning",
        "lab",
        ("eqa-review", "External quality assessment review"),
        ("method-validation", "Method validation or verification"),
        ("sop-writing", "Writing or reviewing a procedure (SOP)"),
    )
    + _types(
        "professional-activity",
        "hcpc",
        ("professional-body", "Professional body work"),
        ("special-interest-group", "Special interest group"),
        ("branch-meeting", "Branch meeting of a professional body"),
        ("teaching", "Lecturing or teaching"),
        ("mentoring", "Mentoring"),
        ("examining", "Examining"),
        ("tutoring", "Tutoring"),
        ("organising-journal-club", "Organising a journal club"),
        ("expert-witness", "Being an expert witness"),
        ("conference-presentation", "Giving a conference presentation"),
        ("organising-course", "Organising a course"),
        ("supervising-research", "Supervising research"),
        ("assessor", "Assessor or examiner for a professional body"),
        ("promotion", "Being promoted"),
    )
    + _types(
        "formal-educational",
        "hcpc",
        ("course", "Course"),
        ("accredited-course", "Course accredited by a professional body"),
        ("further-education", "Further education"),
        ("research", "Research"),
        ("conference", "Attending a conference"),
        ("writing-article", "Writing an article or paper"),
        ("seminar", "Seminar"),
        ("distance-learning", "Distance learning"),
        ("running-course", "Planning or running a course"),
    )
    + _types(
        "formal-educational",
        "ibms",
        ("ibms-congress", "IBMS Congress"),
        ("webinar", "Webinar"),
    )
    + _types(
        "self-directed-learning",
        "hcpc",
        ("reading", "Reading journals or articles"),
        ("reviewing", "Reviewing books or articles"),
        ("e-learning", "Updating knowledge online (e-learning)"),
        ("progress-file", "Keeping a file of your progress"),
    )
    + _types(
        "self-directed-learning",
        "ibms",
        ("journal-based-learning", "IBMS Journal-Based Learning (JBL) exercise"),
    )
    + _types(
        "other",
        "hcpc",
        ("public-service", "Public service"),
        ("voluntary-work", "Voluntary work"),
    )
    + _types(
        "other",
        "lab",
        ("stem-outreach", "Science outreach (STEM ambassador)"),
    )
)

TYPE_BY_ID: dict[str, ActivityType] = {t.id: t for t in ACTIVITY_TYPES}


def _key(text: str) -> str:
    """Reduce a spelling to letters and digits: 'Formal and Educational' -> 'formaleducational'."""
    words = re.split(r"[^a-z0-9]+", text.lower())
    words = ["activity" if w == "activities" else w for w in words if w and w != "and"]
    return "".join(words)


# The names members, the IBMS and the HCPC give each category. Each is also accepted
# followed by "activity" or "activities" ("Self-directed learning activities"), as the
# HCPC's list of activities heads them.
_CATEGORY_ALIASES: dict[str, str] = {
    "work-based-learning": "work based learning|work based|workbased learning|wbl|on the job learning",
    "professional-activity": "professional activity|professional|pa|professional development activity",
    "formal-educational": "formal educational|formal / educational|formal and educational|"
    "formal education|formal|educational|education|formal learning|fe|formal/education|"
    "formal and education|formal / education",
    "self-directed-learning": "self directed learning|self directed|self-directed|selfdirected|"
    "self learning|sdl|self-directed study|independent learning",
    "other": "other",
}
_ABBREVIATIONS = {"wbl", "pa", "fe", "sdl"}  # not followed by "activities"


def _spellings(category: Category) -> list[str]:
    """Every spelling of a category cpdgen accepts: its id, label and aliases, each also + "activities"."""
    names = [category.id, category.label, *_CATEGORY_ALIASES[category.id].split("|")]
    found: list[str] = []
    for name in names:
        found.append(name)
        if name not in _ABBREVIATIONS and not _key(name).endswith("activity"):
            found.append(f"{name} activities")
    return list(dict.fromkeys(found))


_CATEGORY_KEYS: dict[str, str] = {}
for _category in CATEGORIES:
    for _spelling in _spellings(_category):
        _CATEGORY_KEYS[_key(_spelling)] = _category.id

_TYPE_KEYS: dict[str, str] = {}
for _t in ACTIVITY_TYPES:
    _TYPE_KEYS[_key(_t.id)] = _t.id
    _TYPE_KEYS.setdefault(_key(_t.label), _t.id)


def resolve_category(text: str) -> str | None:
    """The category id for any common spelling of a category, or None."""
    return _CATEGORY_KEYS.get(_key(text))


def resolve_type(text: str) -> str | None:
    """The activity type id for its id or label in any case and punctuation, or None."""
    return _TYPE_KEYS.get(_key(text))


def suggest(text: str, choices: dict[str, str]) -> str | None:
    """The closest known id to a misspelling, for a "did you mean" hint."""
    matches = difflib.get_close_matches(_key(text), list(choices), n=1, cutoff=0.6)
    return choices[matches[0]] if matches else None


def suggest_category(text: str) -> str | None:
    return suggest(text, _CATEGORY_KEYS)


def suggest_type(text: str) -> str | None:
    return suggest(text, _TYPE_KEYS)


def category_label(category_id: str) -> str:
    return CATEGORY_BY_ID[category_id].label


def category_spellings() -> dict[str, list[str]]:
    """Each category id with the spellings cpdgen knows for it (id, label, aliases), for editor schemas."""
    return {c.id: _spellings(c) for c in CATEGORIES}


def type_spellings() -> dict[str, list[str]]:
    """Each activity type id with its id and label, for editor schemas."""
    return {t.id: [t.id, t.label] for t in ACTIVITY_TYPES}


def spelling_key(text: str) -> str:
    """The form two spellings are compared in: 'Formal and Educational' -> 'formaleducational'."""
    return _key(text)
