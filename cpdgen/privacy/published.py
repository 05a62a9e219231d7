"""What the site, its CSVs and its PDFs really publish, checked after templates have done their work.

The scan of the files (``scan.py``) reads what the member wrote. This reads what a visitor
gets: a page's text as a browser shows it, a CSV row, the public PDF's text. A value the
scan of the files did not see written out (a theme that prints two fields side by side, a
template that joins values) is an error naming the activity, and the build writes nothing.
"""

from __future__ import annotations

from cpdgen.portfolio import Activity, Portfolio
from cpdgen.privacy.identifiers import RULES, Finding, canonical, find_identifiers
from cpdgen.privacy.scan import member_patterns
from cpdgen.problems import Problem


def _label(rule: str) -> str:
    found = RULES.get(rule)
    return found.label if found else f"'{rule}' pattern match"


def check_published(portfolio: Portfolio, text: str, where: str, owner: Activity | None = None) -> list[Problem]:
    """Identifiers in the text of a published output (a page, a CSV, a PDF) that the scan of the
    member's files did not see written out: each is an error naming the activity, or the output.

    A value the scan did see is the scan's to report (or the member allowed it); the workplace
    values and warning rules turned off under ``privacy: allow:`` stay allowed here too.
    """
    findings = find_identifiers(text, member_patterns(portfolio))
    if not findings:
        return []
    privacy = getattr(portfolio.settings, "privacy", None)
    wide = [entry for entry in (getattr(privacy, "allow", None) or []) if entry]
    problems = []
    for finding in findings:
        if (finding.rule, finding.key) in portfolio.privacy_seen:
            continue
        if finding.severity == "warning" and _allowed_everywhere(finding, wide):
            continue
        path = owner.path if owner is not None else "content"
        source = f"the activity '{owner.id}'" if owner is not None else "the portfolio's settings, theme or activities"
        problems.append(
            Problem(
                path,
                None,
                "error",
                finding.rule,
                f"{_label(finding.rule)} {finding.masked} ({finding.reason}) would be published in {where}, made from "
                f"{source}: the page shows it whole although the files do not write it out (markup, character "
                "references or a template put it together). Patient identifiers must never be published; remove it",
            )
        )
    return problems


def _allowed_everywhere(finding: Finding, entries: list[str]) -> bool:
    for entry in entries:
        words = entry.split()
        if not words:
            continue
        if words[0].lower() == finding.rule:
            rest = " ".join(words[1:])
            if not rest or rest == finding.masked or canonical(finding.rule, rest) == finding.key:
                return True
        elif canonical(finding.rule, entry) == finding.key:
            return True
    return False
