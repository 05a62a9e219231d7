"""What ``cpdgen check`` says: a short text report, GitHub annotations and job summary, GitLab Code Quality,
or the JSON contract."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from datetime import date

from cpdgen.categories import category_label
from cpdgen.portfolio import Portfolio
from cpdgen.problems import Problem, format_github, format_text, printable
from cpdgen.rules import REASON_TEXT, Assessment, DiplomaAssessment, describe_counts, describe_needs
from cpdgen.schemes import (
    HCPC_GUIDANCE,
    HCPC_TYPES,
    SC_CATEGORIES,
    SC_EXCEPTIONAL_CATEGORIES,
    STANDARD_TEXT,
    Finding,
    HcpcAssessment,
    Lenses,
    SchemesAssessment,
    ScienceCouncilYear,
)
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
    if diploma.not_started:
        since = f"starts on {format_day(diploma.start)}"
    elif diploma.status == "open":
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
    if diploma.not_started:
        lines.append(f"  Not started yet: activities count from {format_day(diploma.counts_from)}, the day it starts.")
    else:
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
    schemes: SchemesAssessment | None = None,
) -> str:
    """Problems first, one a line, then the current diploma in a few sentences, then any other scheme judged."""
    out = [paint(format_text(p), p.severity) for p in problems]
    if quiet:
        return "\n".join(out)
    if out:
        out.append("")
    current = assessment.current_diploma if assessment else None
    titles = {a.id: a.title for a in portfolio.activities}
    if schemes is not None and not schemes.lenses.ibms:
        pass  # the IBMS diploma is not one of the member's schemes, or --scheme chose another
    elif assessment is None:
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
    if schemes is not None:
        for block in scheme_summaries(schemes, titles, verbose):
            if out and out[-1] != "":
                out.append("")
            out.extend(block)
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


def github_report(
    portfolio: Portfolio,
    assessment: Assessment | None,
    problems: list[Problem],
    ok: bool,
    schemes: SchemesAssessment | None = None,
) -> str:
    """Workflow commands for the problems, each scheme's summary as a notice (or a warning), then the plain summary."""
    lines = [format_github(p) for p in problems]
    current = assessment.current_diploma if assessment else None
    titles = {a.id: a.title for a in portfolio.activities}
    if current is not None and (schemes is None or schemes.lenses.ibms):
        level = "notice" if current.eligible else "warning"
        lines.append(f"::{level} title=CPD {diploma_name(current.id)}::{headline(current)}")
        lines.extend(diploma_summary(current, titles))
    if schemes is not None:
        for (level, title, text), block in zip(
            scheme_headlines(schemes), scheme_summaries(schemes, titles), strict=True
        ):
            lines.append(f"::{level} title={_escape_title(title)}::{text}")
            lines.extend(block)
    lines.append("Check passed." if ok else "Check failed.")
    return "\n".join(lines)


def _escape_title(text: str) -> str:
    return text.replace("%", "%25").replace(":", "%3A").replace(",", "%2C")


# --- the other schemes: the HCPC and the Science Council ----------------------------------------


def science_council_title(year: ScienceCouncilYear, register: str | None) -> str:
    """``Science Council (CSci), 2026`` or ``Science Council, 1 July 2025 to 30 June 2026``."""
    name = f"Science Council ({register})" if register else "Science Council"
    when = str(year.period.start.year) if year.declaration_due else year.period.text
    return f"{name}, {when}"


STATUS_WORDS = {"met": "Met", "exceptionally": "Met exceptionally", "not-met": "Not met"}


def _standards_line(standard_3: tuple[str, ...], standard_4: tuple[str, ...]) -> str:
    parts = [
        f"standard {n} ({STANDARD_TEXT[n]}) by {plural(len(ids), 'activity', 'activities')}"
        for n, ids in ((3, standard_3), (4, standard_4))
    ]
    return "Shown: " + "; ".join(parts) + "."


def _sentence(message: str) -> str:
    return f"{message[0].upper()}{message[1:]}."


def science_council_summary(
    year: ScienceCouncilYear, register: str | None, titles: dict[str, str], verbose: bool = False
) -> list[str]:
    """Plain sentences on one period judged on the Science Council's CPD standards."""
    when = f" ({year.period.text})" if year.declaration_due else ""
    # A period still to come has nothing to judge yet: "judged on" the day before it began misled.
    judged = (
        f"judged on {format_day(year.evaluated_on)}"
        if year.as_of >= year.period.start
        else f"not begun on {format_day(year.as_of)}"
    )
    lines = [f"{science_council_title(year, register)}{when}, {judged}:"]
    cats = ", ".join(category_label(c) for c in year.categories) or "none"
    lines.append(
        f"  {plural(len(year.activities), 'activity', 'activities')} in "
        f"{plural(len(year.categories), 'category', 'categories')} ({SC_CATEGORIES} needed, exceptionally "
        f"{SC_EXCEPTIONAL_CATEGORIES}): {cats}."
    )
    lines.append("  " + _standards_line(year.standard_3, year.standard_4))
    if year.status == "met":
        lines.append("  Met: it meets the Science Council's CPD standards.")
    else:
        lines.append(f"  {STATUS_WORDS[year.status]}:")
    for finding in year.findings:
        if finding.severity == "note":
            continue
        lines.append(f"    {_sentence(finding.message)}")
        if finding.code == "sc-no-reflection":
            lines.extend(f"      {i}: {titles.get(i, i)}" for i in year.without_reflection)
    lines.extend(f"  Guidance: {_sentence(f.message)}" for f in year.findings if f.severity == "note")
    if year.not_yet:
        lines.append(f"  Not judged yet: {plural(len(year.not_yet), 'activity', 'activities')} dated after today.")
    if year.declaration_due and not year.complete:
        lines.append(f"  Declare your CPD to the Science Council by {format_day(year.declaration_due)}.")
    if verbose:
        for activity_id in year.activities:
            lines.append(f"    {activity_id}: {titles.get(activity_id, activity_id)}")
    return lines


def hcpc_summary(hcpc: HcpcAssessment, titles: dict[str, str], verbose: bool = False) -> list[str]:
    """Plain sentences on the last two years as the HCPC's standards for CPD read them."""
    since = "from your registration on" if hcpc.from_registration else "the two years from"
    lines = [f"HCPC, {since} {format_day(hcpc.period.start)} to {format_day(hcpc.period.end)}:"]
    cats = ", ".join(category_label(c) for c in hcpc.categories) or "none"
    lines.append(
        f"  {plural(len(hcpc.activities), 'activity', 'activities')} of "
        f"{plural(len(hcpc.categories), 'type')} of learning (at least {HCPC_TYPES}): {cats}."
    )
    lines.append("  " + _standards_line(hcpc.standard_3, hcpc.standard_4))
    if not hcpc.gaps:
        lines.append("  No gap of three months or more without CPD.")
    for finding in hcpc.findings:
        lines.append(f"  {'Guidance: ' if finding.severity == 'note' else ''}{_sentence(finding.message)}")
    lines.append(f"  Next renewal window: {hcpc.renewal.text}.")
    lines.append("  Reported only: the HCPC judges a profile when it audits, so this never fails check.")
    if verbose:
        for activity_id in hcpc.activities:
            lines.append(f"    {activity_id}: {titles.get(activity_id, activity_id)}")
    return lines


def scheme_summaries(schemes: SchemesAssessment, titles: dict[str, str], verbose: bool = False) -> list[list[str]]:
    """One block of sentences per scheme judged besides the diploma: the HCPC, then each Science Council period."""
    blocks = []
    if schemes.hcpc is not None:
        blocks.append(hcpc_summary(schemes.hcpc, titles, verbose))
    if schemes.science_council is not None:
        for year in schemes.science_council.years:
            blocks.append(science_council_summary(year, schemes.science_council.register, titles, verbose))
    return blocks


def scheme_headlines(schemes: SchemesAssessment) -> list[tuple[str, str, str]]:
    """``(level, title, sentence)`` per block of :func:`scheme_summaries`, for GitHub annotations."""
    found = []
    if schemes.hcpc is not None:
        hcpc = schemes.hcpc
        level = "notice" if hcpc.status == "met" and not hcpc.gaps else "warning"
        found.append(
            (
                level,
                "HCPC",
                f"{plural(len(hcpc.activities), 'activity', 'activities')} of {plural(len(hcpc.categories), 'type')} "
                f"of learning in two years; {plural(len(hcpc.gaps), 'gap')} of three months or more; "
                f"next renewal window {hcpc.renewal.text}.",
            )
        )
    if schemes.science_council is not None:
        register = schemes.science_council.register
        for year in schemes.science_council.years:
            errors = [f.message for f in year.findings if f.severity in ("error", "warning")]
            verdict = STATUS_WORDS[year.status] + (": " + "; ".join(errors) if errors else "")
            found.append(
                (
                    "notice" if year.status == "met" else "warning",
                    science_council_title(year, register),
                    f"{plural(len(year.activities), 'activity', 'activities')} in "
                    f"{plural(len(year.categories), 'category', 'categories')}. {verdict}.",
                )
            )
    return found


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


def _findings_json(findings: tuple[Finding, ...]) -> list[dict]:
    return [{"severity": f.severity, "code": f.code, "message": f.message} for f in findings]


def science_council_year_json(year: ScienceCouncilYear) -> dict:
    return {
        "start": _iso(year.period.start),
        "end": _iso(year.period.end),
        "evaluated_on": _iso(year.evaluated_on),
        "complete": year.complete,
        "declaration_due": _iso(year.declaration_due),
        "status": year.status,
        "met": year.met,
        "activities": list(year.activities),
        "categories": list(year.categories),
        "required_categories": SC_CATEGORIES,
        "exceptional_categories": SC_EXCEPTIONAL_CATEGORIES,
        "without_reflection": list(year.without_reflection),
        "standard_3": list(year.standard_3),
        "standard_4": list(year.standard_4),
        "not_yet": list(year.not_yet),
        "findings": _findings_json(year.findings),
    }


def hcpc_json(hcpc: HcpcAssessment) -> dict:
    return {
        "start": _iso(hcpc.period.start),
        "end": _iso(hcpc.period.end),
        "status": hcpc.status,
        "met": hcpc.met,
        "activities": list(hcpc.activities),
        "categories": list(hcpc.categories),
        "required_types": HCPC_TYPES,
        "guidance_activities": list(HCPC_GUIDANCE),
        "without_reflection": list(hcpc.without_reflection),
        "standard_3": list(hcpc.standard_3),
        "standard_4": list(hcpc.standard_4),
        "gaps": [{"first": _iso(g.first), "last": _iso(g.last), "months": g.months} for g in hcpc.gaps],
        "renewal_window": {"start": _iso(hcpc.renewal.start), "end": _iso(hcpc.renewal.end)},
        "findings": _findings_json(hcpc.findings),
    }


def registrations_json(lenses: Lenses) -> dict | None:
    """``registrations:`` as portfolio.yaml gives it (None when it gives none)."""
    if not lenses.listed:
        return None
    science = {"register": lenses.register} if lenses.science_council else None
    return {"ibms": lenses.ibms, "hcpc": lenses.hcpc, "science_council": science}


def schemes_json(schemes: SchemesAssessment) -> dict:
    science = schemes.science_council
    return {
        "judged": schemes.lenses.judged,
        "failed": list(schemes.failed),
        "hcpc": hcpc_json(schemes.hcpc) if schemes.hcpc else None,
        "science_council": (
            {
                "register": science.register,
                "met": science.met,
                "periods": [science_council_year_json(y) for y in science.years],
            }
            if science
            else None
        ),
    }


def json_report(
    as_of: date,
    assessment: Assessment | None,
    problems: list[Problem],
    ok: bool,
    schemes: SchemesAssessment | None = None,
    registrations: Lenses | None = None,
) -> dict:
    """The stable JSON contract (docs/reference/json.md): fields are added, never renamed.

    ``registrations`` and ``schemes`` are there only when ``registrations:`` is in
    portfolio.yaml or ``--scheme`` was given: without them the object is as it always was.
    """
    current = assessment.current_diploma if assessment else None
    report = {
        "schema_version": SCHEMA_VERSION,
        "as_of": as_of.isoformat(),
        "ok": ok,
        "eligible": bool(current and current.eligible),
        "current_diploma": current.id if current else None,
        "diplomas": [diploma_json(d) for d in assessment.diplomas] if assessment else [],
        "problems": [p.to_dict() for p in problems],
    }
    if schemes is not None and schemes.lenses.listed:
        report["registrations"] = registrations_json(registrations) if registrations is not None else None
        report["schemes"] = schemes_json(schemes)
    return report


# --- the forges' own reports: a GitHub job summary, a GitLab Code Quality report ----------------

_MARKDOWN_SPECIAL = re.compile(r"([\\`*_\[\]#!])")
# As character references, which every Markdown reads as text: HTML's own, and the table's "|".
_ENTITIES = {"&": "&amp;", "<": "&lt;", ">": "&gt;", "|": "&#124;", "~": "&#126;"}


def _md(text: str) -> str:
    """Member text inside Markdown: one line, every character that Markdown or HTML would read escaped."""
    plain = _MARKDOWN_SPECIAL.sub(r"\\\1", " ".join(printable(text).split()))
    return "".join(_ENTITIES.get(char, char) for char in plain)


def _status_words(diploma: DiplomaAssessment) -> str:
    if diploma.not_started:
        return f"starts on {format_day(diploma.start)}"
    if diploma.status == "open":
        return f"open since {format_day(diploma.start)}" if diploma.start else "open"
    if diploma.status == "submitted":
        return f"submitted on {format_day(diploma.submitted)}"
    return f"issued on {format_day(diploma.issued)}"


def _verdict(diploma: DiplomaAssessment) -> str:
    if diploma.eligible:
        return diploma.status_text if diploma.status == "open" else "Eligible when submitted"
    needed = describe_needs(diploma)
    return f"Not eligible yet: needs {needed}" if diploma.status == "open" else f"Not eligible: needed {needed}"


def step_summary(
    portfolio: Portfolio,
    assessment: Assessment | None,
    problems: list[Problem],
    ok: bool,
    schemes: SchemesAssessment | None = None,
) -> str:
    """A GitHub Actions job summary in Markdown: each diploma against the rules, what is missing,
    what leaves the two-year window in the next 90 days, each other scheme, and the problems."""
    titles = {a.id: a.title for a in portfolio.activities}
    errors = sum(p.severity == "error" for p in problems)
    out = [f"## CPD check: {'passed' if ok else 'failed'}", ""]
    if assessment is None:
        out += ["The diplomas are not judged: fix `content/portfolio.yaml` first.", ""]
    elif assessment.diplomas and (schemes is None or schemes.lenses.ibms):
        out += [
            "| diploma | status | activities that count | CPD categories | result |",
            "|---|---|---|---|---|",
        ]
        for diploma in assessment.diplomas:
            out.append(
                f"| {_md(diploma_name(diploma.id))} | {_status_words(diploma)} | "
                f"{diploma.counted} ({diploma.required} needed) | "
                f"{len(diploma.categories)} ({diploma.required_categories} needed) | {_verdict(diploma)} |"
            )
        out.append("")
        current = assessment.current_diploma
        if current is not None:
            out.append(f"**{_md(diploma_name(current.id))}**, judged on {format_day(current.evaluated_on)}:")
            out.append("")
            cats = ", ".join(category_label(c) for c in current.categories) or "none"
            out.append(f"- {describe_counts(current)}: {cats}.")
            out.append(f"- {_verdict(current)}.")
            if current.eligible_until:
                out.append(f"- If you add nothing, it stays eligible until {format_day(current.eligible_until)}.")
            if current.status == "open":
                leaving = current.expiring_soon
                if leaving:
                    out.append(f"- Leaving the two-year window in the next 90 days ({len(leaving)}):")
                    out.extend(f"  - {format_day(j.leaves_window_on)}: {_md(titles.get(j.id, j.id))}" for j in leaving)
                else:
                    out.append("- No counted activity leaves the two-year window in the next 90 days.")
            out.append("")
    if schemes is not None:
        for level, title, text in scheme_headlines(schemes):
            mark = "Met" if level == "notice" else "To look at"
            out += [f"**{_md(title)}** ({mark}): {_md(text)}", ""]
    if problems:
        out.append(f"### {plural(errors, 'error')}, {plural(len(problems) - errors, 'warning')}")
        out += ["", "| file | line | severity | problem |", "|---|---|---|---|"]
        for problem in problems[:SUMMARY_PROBLEMS]:
            out.append(
                f"| `{problem.path.replace('`', '')}` | {problem.line or ''} | {problem.severity} | "
                f"{_md(problem.message)} (`{problem.code}`) |"
            )
        if len(problems) > SUMMARY_PROBLEMS:
            out.append(f"\nAnd {len(problems) - SUMMARY_PROBLEMS} more: the job's log lists them all.")
        out.append("")
    else:
        out += [f"{plural(len(portfolio.activities), 'activity', 'activities')} read; no problems.", ""]
    return "\n".join(out)


SUMMARY_PROBLEMS = 100  # a job summary is at most 1 MiB; the log has every problem
GITLAB_SEVERITY = {"error": "major", "warning": "minor"}


def _fingerprint(*parts: str) -> str:
    return hashlib.sha256("\0".join(parts).encode("utf-8", "surrogatepass")).hexdigest()


def gitlab_report(
    assessment: Assessment | None,
    problems: list[Problem],
    content_only: bool = False,
    schemes: SchemesAssessment | None = None,
) -> list[dict]:
    """A GitLab Code Quality report (CodeClimate's JSON, as GitLab reads it): one entry per problem, and one
    for the diploma (and each other scheme) that fails the check. Fingerprints leave out the line and the
    counts, so an entry keeps its identity while a file is edited, and a merge request shows only what is new."""
    entries = []
    seen: dict[str, int] = {}
    for problem in problems:
        key = _fingerprint(problem.path, problem.code, problem.message)
        seen[key] = seen.get(key, 0) + 1  # the same message twice in one file: two entries
        entries.append(
            {
                "description": printable(problem.message),
                "check_name": problem.code,
                "fingerprint": key if seen[key] == 1 else _fingerprint(key, str(seen[key])),
                "severity": GITLAB_SEVERITY[problem.severity],
                "location": {"path": problem.path, "lines": {"begin": problem.line or 1}},
            }
        )
    if content_only:
        return entries
    current = assessment.current_diploma if assessment else None
    ibms = schemes is None or schemes.lenses.ibms
    if current is not None and ibms and not current.eligible:
        entries.append(
            {
                "description": f"{diploma_name(current.id)}: {_verdict(current)} ({describe_counts(current)}).",
                "check_name": "diploma-not-eligible",
                "fingerprint": _fingerprint("diploma-not-eligible", current.id),
                "severity": "major",
                "location": {"path": "content/portfolio.yaml", "lines": {"begin": 1}},
            }
        )
    if schemes is not None and schemes.science_council is not None and "science-council" in schemes.failed:
        for year in schemes.science_council.years:
            if not year.met:
                title = science_council_title(year, schemes.science_council.register)
                found = "; ".join(f.message for f in year.findings if f.severity in ("error", "warning")) or "not met"
                entries.append(
                    {
                        "description": f"{title}: {STATUS_WORDS[year.status]}: {found}.",
                        "check_name": "science-council-not-met",
                        "fingerprint": _fingerprint("science-council-not-met", year.period.start.isoformat()),
                        "severity": "major",
                        "location": {"path": "content/portfolio.yaml", "lines": {"begin": 1}},
                    }
                )
    return entries
