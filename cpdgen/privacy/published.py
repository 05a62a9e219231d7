"""What the site, its CSVs and its PDFs really publish, checked after templates have done their work.

The scan of the files (``scan.py``) reads what the member wrote. This reads what a visitor
gets: a page's text as a browser shows it, a CSV row, the public PDF's text. A value the
scan of the files did not see written out (a theme that prints two fields side by side, a
template that joins values) is an error naming the activity, and the build writes nothing.
"""

from __future__ import annotations

from cpdgen.portfolio import Activity, Portfolio
from cpdgen.privacy.identifiers import RULES, find_identifiers
from cpdgen.privacy.scan import member_patterns
from cpdgen.problems import Problem


def _label(rule: str) -> str:
    found = RULES.get(rule)
    return found.label if found else f"'{rule}' pattern match"


def check_published(portfolio: Portfolio, text: str, where: str, owner: Activity | None = None) -> list[Problem]:
    """Identifiers in the text of a published output (a page, a CSV, a PDF) that the scan of the
    member's files did not see written out: each is an error naming the activity, or the output.

    Only the numbers with check digits (NHS and CHI numbers) are looked for here: the warning
    rules read wording ("patient" before two capitalised words), and a theme's layout puts
    side by side words no one wrote together. A value the scan did see in a published place
    is the scan's to report (or the member allowed it there).
    """
    findings = [f for f in find_identifiers(text, member_patterns(portfolio)) if f.severity == "error"]
    if not findings:
        return []
    problems = []
    for finding in findings:
        if (finding.rule, finding.key) in portfolio.privacy_seen:
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
