"""What goes into a diploma record (PDF and CSV): which activities, in which order, and what was left out.

A *public* record (the one published in ``site/``) leaves out private activities and drafts
and says how many it left out; the counts still include private activities, because they
count towards the diploma. A *complete* record (``cpdgen export``) holds everything.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

from cpdgen.portfolio import Activity, Portfolio
from cpdgen.problems import CpdgenError
from cpdgen.rules import Assessment, DiplomaAssessment, Judgement


@dataclass(frozen=True)
class Row:
    """One activity of a record, with the diploma it belongs to and whether it counts there."""

    activity: Activity
    diploma: DiplomaAssessment
    judgement: Judgement


@dataclass(frozen=True)
class Selection:
    """The activities of a record, oldest first, and how many were left out of a public one."""

    rows: tuple[Row, ...]
    public: bool
    left_out_private: int = 0  # private activities (not drafts) left out
    left_out_drafts: int = 0
    withheld: tuple[str, ...] = ()  # what portfolio.yaml's publish: keeps out: "reflections", "evidence"

    @property
    def left_out(self) -> int:
        return self.left_out_private + self.left_out_drafts

    def left_out_sentence(self) -> str | None:
        """What this public record leaves out, in words ("2 private activities … left out …"), or None."""
        sentences = []
        if self.left_out:
            parts = []
            if self.left_out_private:
                n = self.left_out_private
                parts.append(f"{n} private {'activity' if n == 1 else 'activities'}")
            if self.left_out_drafts:
                n = self.left_out_drafts
                parts.append(f"{n} {'draft' if n == 1 else 'drafts'}")
            verb = "is" if self.left_out == 1 else "are"
            sentences.append(f"{' and '.join(parts)} {verb} left out of this public record.")
        if self.withheld:
            sentences.append(f"{' and '.join(self.withheld).capitalize()} are not published.")
        return " ".join(sentences) or None


def file_name(diploma_id: str) -> str:
    """A diploma id as a file name (``diploma-2.pdf``): letters, digits, '.', '_' and '-' only."""
    return re.sub(r"[^A-Za-z0-9._-]+", "-", diploma_id).strip("-.") or "diploma"


def find_diploma(assessment: Assessment, diploma_id: str) -> DiplomaAssessment:
    """The judged diploma with this id; a CpdgenError naming the known ones otherwise."""
    for diploma in assessment.diplomas:
        if diploma.id == diploma_id:
            return diploma
    known = ", ".join(d.id for d in assessment.diplomas) or "none"
    raise CpdgenError(f"no diploma is called '{diploma_id}' (diplomas: {known})")


def _shown(activity: Activity, public: bool) -> bool:
    return activity.published or not public


def select(
    portfolio: Portfolio,
    assessment: Assessment,
    diploma_id: str | None = None,
    activities: list[Activity] | None = None,
    *,
    public: bool,
) -> Selection:
    """The rows of one diploma's record (``diploma_id``), or of ``activities`` (default: all)."""
    placed: dict[str, tuple[DiplomaAssessment, Judgement]] = {}
    for diploma in assessment.diplomas:
        for judgement in diploma.judgements:
            placed[judgement.id] = (diploma, judgement)
    by_id = {a.id: a for a in portfolio.activities}
    if diploma_id is not None:
        diploma = find_diploma(assessment, diploma_id)
        chosen = [by_id[j.id] for j in diploma.judgements if j.id in by_id]
    elif activities is not None:
        chosen = list(activities)
    else:
        chosen = list(portfolio.activities)
    chosen.sort(key=lambda a: (a.date, a.id))
    withheld = withheld_parts(portfolio) if public else ()
    rows, private, drafts = [], 0, 0
    for activity in chosen:
        if not _shown(activity, public):
            if activity.draft:
                drafts += 1
            else:
                private += 1
            continue
        if "reflections" in withheld:
            activity = replace(activity, reflection=None, reflection_path=None, reflection_line=None)
        if "evidence" in withheld:
            activity = replace(activity, evidence=())
        if activity.id not in placed:
            raise CpdgenError(f"activity '{activity.id}' was not judged; judge the portfolio it belongs to")
        diploma, judgement = placed[activity.id]
        rows.append(Row(activity, diploma, judgement))
    return Selection(tuple(rows), public, private, drafts, withheld)


def withheld_parts(portfolio: Portfolio) -> tuple[str, ...]:
    """What ``publish:`` in portfolio.yaml keeps out of everything public: reflections, evidence."""
    publish = portfolio.settings.publish if portfolio.settings else None
    if publish is None:
        return ()
    return tuple(
        part for part, shown in (("reflections", publish.reflections), ("evidence", publish.evidence)) if not shown
    )
