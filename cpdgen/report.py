"""What ``cpdgen check`` says: a short text report, GitHub annotations, or the JSON contract."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

from cpdgen.categories import category_label
from cpdgen.portfolio import Portfolio
from cpdgen.problems import Problem, format_github, format_text
from cpdgen.rules import REASON_TEXT, Assessment, DiplomaAssessment, describe_counts, describe_needs
from cpdgen.words import diploma_name, long_date, plural

SCHEMA_VERSION = 1

_REASON_SHORT = {
    "draft": "{n} draft{s}",
    "before-start": "{n} from before the diploma started",
    "after-submission": "{n} from after it was submitted",
    "future": "{n} dated in the future",
    "expired": "{n} more than two years old",
    "no-reflection": "{n} without a reflection",
    "added-after-submission": "{n} added after it was submitted",
}


def format_day(day: date | None) -> str:
    """``16 June 2025``: how a member writes a date."""
    return long_date(day) or "-"


def diploma_summary(diploma: DiplomaAssessment, titles: dict[str, str], verbose: bool = False) -> list[str]:
    """Plain sentences on where one diploma stands and what it still needs."""
    if diploma.status == "open":
        since = f"open since {format_day(diploma.start)}" if diploma.start else "open"
        if diploma.assumed:
            since += ", started when the previous diploma was issued"
    elif diploma.status == "submitted":
        since = f"submitted for validation on {format_day(diploma.submitted)}"
    else:
        since = f"validated and issued on {format_day(diploma.issued)}"
    lines = [f"{diploma_name(diploma.id)} ({since}), judged on {format_day(diploma.evaluated_on)}:"]
    cats = ", ".join(category_label(c) for c in diploma.categories) or "none"
    lines.append(f"  {describe_counts(diploma)}: {cats}.")
    lines.append(
        f"  Counted: activities from {format_day(diploma.counts_from)} to {format_day(diploma.evaluated_on)} "
        "with a reflection."
    )
    if diploma.eligible:
        if diploma.status == "open":
            lines.append(f"  {diploma.status_text}: it meets the diploma rules.")
        else:
            lines.append("  Eligible: it met the diploma rules on the day it was submitted.")
        if diploma.surplus:
            lines.append(f"  {plural(diploma.surplus, 'activity', 'activities')} beyond 24 will not carry over.")
    elif diploma.status == "open":
        lines.append(f"  Not eligible yet: it needs {describe_needs(diploma)}.")
    else:
        lines.append(f"  Not eligible: on the day it was submitted it needed {describe_needs(diploma)}.")
    if diploma.eligible_until:
        lines.append(f"  If you add nothing, it stays eligible until {format_day(diploma.eligible_until)}.")
    if diploma.earliest_leaves_on:
        lines.append(
            f"  The earliest counted activity leaves the two-year window on {format_day(diploma.earliest_leaves_on)}."
        )
    for judgement in diploma.expiring_soon:
        lines.append(
            f"    leaves on {format_day(judgement.leaves_window_on)}: {titles.get(judgement.id, judgement.id)}"
        )
    reasons = diploma.reasons()
    if reasons:
        parts = [_REASON_SHORT[r].format(n=n, s="" if n == 1 else "s") for r, n in reasons.items()]
        lines.append(f"  Not counted: {', '.join(parts)}.")
    for judgement in diploma.judgements:
        if judgement.reason == "no-reflection" or (verbose and judgement.reason):
            lines.append(f"    {judgement.id}: {REASON_TEXT[judgement.reason]}")
    if verbose:
        for judgement in diploma.judgements:
            if judgement.counted:
                lines.append(f"    {judgement.id}: counts")
    lines.extend(frozen_lines(diploma))
    return lines


def frozen_lines(diploma: DiplomaAssessment) -> list[str]:
    """Whether a submitted diploma's verdict is kept by its lock, or worked out from the files."""
    if diploma.frozen is not None:
        return [f"  Frozen as submitted: {diploma.frozen.file} (set {diploma.frozen.set_sha256[:12]})."]
    if diploma.status != "open":
        return [
            f"  Not frozen: judged from your files as they are now. To keep it as submitted: cpdgen submit {diploma.id}"
        ]
    return []


def text_report(
    portfolio: Portfolio,
    assessment: Assessment | None,
    problems: list[Problem],
    ok: bool,
    *,
    quiet: bool = False,
    verbose: bool = False,
    paint: Callable[[str, str], str] = lambda text, severity: text,
) -> str:
    """Problems first, one a line, then the current diploma in a few sentences."""
    out = [paint(format_text(p), p.severity) for p in problems]
    if quiet:
        return "\n".join(out)
    if out:
        out.append("")
    current = assessment.current_diploma if assessment else None
    titles = {a.id: a.title for a in portfolio.activities}
    if assessment is None:
        out.append("Diplomas not judged: fix content/portfolio.yaml first.")
    elif current is None:
        out.append("No open diploma.")
    else:
        if verbose:
            for diploma in assessment.diplomas:
                if diploma is not current:
                    out.extend(diploma_summary(diploma, titles, verbose))
                    out.append("")
        out.extend(diploma_summary(current, titles, verbose))
        if not verbose:
            for diploma in assessment.diplomas:
                if diploma is not current and diploma.status != "open" and diploma.frozen is None:
                    out.append(f"{diploma_name(diploma.id)}, submitted on {format_day(diploma.submitted)}:")
                    out.extend(frozen_lines(diploma))
    errors = sum(p.severity == "error" for p in problems)
    warnings = len(problems) - errors
    tally = f"{plural(len(portfolio.activities), 'activity', 'activities')} read"
    if problems:
        tally += f"; {plural(errors, 'error')}, {plural(warnings, 'warning')}"
    out.append("")
    out.append(f"{tally}. {'Check passed.' if ok else 'Check failed.'}")
    return "\n".join(out)


def headline(diploma: DiplomaAssessment) -> str:
    """One sentence: the count, the categories, and eligible or what is missing."""
    if diploma.eligible:
        result = diploma.status_text.lower() if diploma.status == "open" else "eligible"
    else:
        result = f"not eligible{' yet' if diploma.status == 'open' else ''}: needs {describe_needs(diploma)}"
    return f"{describe_counts(diploma)}; {result}."


def github_report(portfolio: Portfolio, assessment: Assessment | None, problems: list[Problem], ok: bool) -> str:
    """Workflow commands for the problems, the summary as a notice, then the plain summary."""
    lines = [format_github(p) for p in problems]
    current = assessment.current_diploma if assessment else None
    if current is not None:
        level = "notice" if current.eligible else "warning"
        lines.append(f"::{level} title=CPD {diploma_name(current.id)}::{headline(current)}")
        lines.extend(diploma_summary(current, {a.id: a.title for a in portfolio.activities}))
    lines.append("Check passed." if ok else "Check failed.")
    return "\n".join(lines)


def _iso(day: date | None) -> str | None:
    return day.isoformat() if day else None


def diploma_json(diploma: DiplomaAssessment) -> dict:
    return {
        "id": diploma.id,
        "status": diploma.status,
        "status_text": diploma.status_text,
        "start": _iso(diploma.start),
        "end": _iso(diploma.end),
        "submitted": _iso(diploma.submitted),
        "issued": _iso(diploma.issued),
        "assumed": diploma.assumed,
        "evaluated_on": _iso(diploma.evaluated_on),
        "window_start": _iso(diploma.window_start),
        "counts_from": _iso(diploma.counts_from),
        "eligible": diploma.eligible,
        "counted": diploma.counted,
        "required": diploma.required,
        "categories": list(diploma.categories),
        "required_categories": diploma.required_categories,
        "missing_activities": diploma.missing_activities,
        "missing_categories": diploma.missing_categories,
        "surplus": diploma.surplus,
        "earliest_leaves_window_on": _iso(diploma.earliest_leaves_on),
        "eligible_until": _iso(diploma.eligible_until),
        "expiring_soon": [j.id for j in diploma.expiring_soon],
        "frozen": ({"lock": diploma.frozen.file, "set_sha256": diploma.frozen.set_sha256} if diploma.frozen else None),
        "activities": [
            {
                "id": j.id,
                "date": j.date.isoformat(),
                "category": j.category,
                "counted": j.counted,
                "reason": j.reason,
                "leaves_window_on": _iso(j.leaves_window_on),
            }
            for j in diploma.judgements
        ],
    }


def json_report(as_of: date, assessment: Assessment | None, problems: list[Problem], ok: bool) -> dict:
    """The stable JSON contract (docs/reference/json.md): fields are added, never renamed."""
    current = assessment.current_diploma if assessment else None
    return {
        "schema_version": SCHEMA_VERSION,
        "as_of": as_of.isoformat(),
        "ok": ok,
        "eligible": bool(current and current.eligible),
        "current_diploma": current.id if current else None,
        "diplomas": [diploma_json(d) for d in assessment.diplomas] if assessment else [],
        "problems": [p.to_dict() for p in problems],
    }
