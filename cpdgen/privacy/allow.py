"""Letting a false positive through: inline markers and allow entries, each naming exactly what it lets through.

- An inline marker, ``<!-- cpdgen: allow RULE [(ID)] -->``, silences one finding of its rule on
  its own line, or else on the next.
- An allow entry (an activity's ``allow:`` list, or ``privacy: allow:`` in portfolio.yaml)
  names one value by the id ``check`` prints (a hash of the whole value: ``value_id``), and in
  portfolio.yaml the file; a warning rule's value may also be written as it is (a workplace
  postcode), or the rule alone to turn it off. See :class:`AllowEntry`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

from cpdgen.privacy.identifiers import RULES, Finding, canonical, find_identifiers, find_in_markdown

_ENTRY_WITH_ID = re.compile(
    r"^(?P<rule>\S+)\s+(?:(?P<mask>.*?)\s*)?\((?P<id>[0-9a-fA-F]{16})\)(?:\s+in\s+(?P<file>\S.*?))?\s*$"
)


_MARKER = re.compile(r"<!--[ \t]*cpdgen:[ \t]*allow[ \t]+(?P<rule>[A-Za-z0-9_-]+)(?P<mask>[^\n>]*?)[ \t]*-->")
_COMMENT = re.compile(r"<!--.*?(?:-->|\Z)", re.S)


@dataclass
class Marker:
    """``<!-- cpdgen: allow RULE [MASKED VALUE] -->``: silences one finding on its line or the next."""

    rule: str
    mask: str | None
    line: int
    column: int
    used: bool = False


def find_markers(text: str, first_line: int = 1) -> list[Marker]:
    if "cpdgen:" not in text:
        return []
    markers = []
    for m in _MARKER.finditer(text):
        line_start = text.rfind("\n", 0, m.start()) + 1
        mask = " ".join(m.group("mask").split()) or None
        markers.append(
            Marker(
                m.group("rule").lower(), mask, first_line + text.count("\n", 0, m.start()), m.start() - line_start + 1
            )
        )
    return markers


def apply_markers(findings: list[Finding], markers: list[Marker]) -> list[Finding]:
    """The findings no marker silences. Each marker silences exactly one finding of its rule
    (and masked value, if it names one): the first on its own line, else the first on the next."""
    silenced: set[int] = set()
    for marker in markers:
        for line in (marker.line, marker.line + 1):
            for index, finding in enumerate(findings):
                if index in silenced or finding.line != line or finding.rule != marker.rule:
                    continue
                if marker.mask and not _names(marker.mask, finding):
                    continue
                silenced.add(index)
                marker.used = True
                break
            if marker.used:
                break
    return [f for index, f in enumerate(findings) if index not in silenced]


_VALUE_ID = re.compile(r"\(([0-9a-f]{16})\)")


def _names(mask: str, finding: Finding) -> bool:
    """Whether a marker's words name this finding: its value id ``(1a2b…)``, or its masked value."""
    ident = _VALUE_ID.search(mask)
    if ident:
        return ident.group(1) == finding.value_id
    return " ".join(mask.split()) == finding.masked


def comment_spans(text: str) -> list[tuple[int, int]]:
    """Where the HTML comments are (they ship in git, and in pages that do not strip them)."""
    if "<!--" not in text:
        return []
    return [m.span() for m in _COMMENT.finditer(text)]


def scan_text(text: str, patterns: Mapping[str, re.Pattern] | None = None, first_line: int = 1) -> list[Finding]:
    """The possible identifiers in ``text`` that no inline marker silences, in reading order."""
    findings = find_in_markdown(text, patterns, first_line)
    return apply_markers(findings, find_markers(text, first_line)) if findings else []


def allow_entry(finding: Finding, file: str | None = None) -> str:
    """The allow entry that names exactly this finding (in ``file``, for portfolio.yaml)."""
    entry = f"{finding.rule} {finding.masked} ({finding.value_id})"
    return f"{entry} in {file}" if file else entry


@dataclass
class AllowEntry:
    """One allow entry, in one of these forms (every one names what it lets through):

    - ``RULE MASK (ID)``, optionally ``in FILE``: exactly one value, by the id that check
      prints (a hash of the whole value); in portfolio.yaml an error rule's entry must name
      the file too. The masked value is for people; the id decides.
    - ``RULE VALUE`` or ``VALUE`` (warning rules only): that value as written, for example
      the workplace's postcode, email or phone number, which are public.
    - ``RULE MASK`` (warning rules only): every value with that mask, as cpdgen 0.1 wrote them.
    - ``RULE`` alone (warning rules only): that rule is off where the list applies.
    """

    text: str
    path: str  # where the entry is written
    line: int | None
    rule: str | None = None
    ident: str | None = None
    file: str | None = None
    mask: str | None = None
    literal: str | None = None
    everything: bool = False
    used: bool = False

    def allows(self, finding: Finding, file: str) -> bool:
        if self.ident is not None:
            return (
                finding.rule == self.rule
                and finding.value_id == self.ident
                and (self.file is None or self.file == file)
            )
        if finding.severity != "warning" or (self.rule is not None and finding.rule != self.rule):
            return False
        if self.everything:
            return True
        if self.mask is not None:
            return self.mask == finding.masked
        return self.literal is not None and canonical(finding.rule, self.literal) == finding.key


NEVER_LITERAL = (
    "never write an NHS or CHI number in an allow list: write the entry check printed for it "
    "(the rule, the masked value and the value's id in brackets, e.g. 'nhs-number 943 *** **** (1a2b3c4d5e6f7a8b)')"
)
_EXAMPLE_MASK = {"nhs-number": "943 *** ****", "chi-number": "01**** ****"}


def parse_allow_entries(
    entries: Iterable[str],
    path: str,
    line_of: Callable[[int], int | None],
    severity: Mapping[str, str],
    patterns: Mapping[str, re.Pattern],
    close_rule: Callable[[str, float], str | None],
    *,
    portfolio_wide: bool = False,
) -> tuple[list[AllowEntry], list[tuple[int | None, str]]]:
    """The usable entries of one allow list, and ``(line, why)`` for each unusable one.

    ``severity`` maps every rule (the member's patterns included) to "error" or "warning";
    ``close_rule(word, cutoff)`` names the rule a misspelt word is closest to, if any.
    """

    def rule_hint(word: str) -> str:
        close = close_rule(word, 0.6)
        return f"did you mean '{close}'?" if close else "the rules are: " + ", ".join(severity)

    parsed: list[AllowEntry] = []
    invalid: list[tuple[int | None, str]] = []
    for index, entry in enumerate(entries):
        line = line_of(index)
        with_id = _ENTRY_WITH_ID.match(entry)
        words = entry.split()
        first = words[0].lower() if words else ""
        if with_id:
            rule = with_id.group("rule").lower()
            if rule not in severity:
                invalid.append((line, f"'{rule}' is not a privacy rule; {rule_hint(rule)}"))
                continue
            file = with_id.group("file")
            file = file.strip().removeprefix("./") if file else None
            if portfolio_wide and file is None and severity[rule] == "error":
                invalid.append(
                    (
                        line,
                        f"'{entry}' names a {RULES[rule].label} but not the file it is in; add 'in' and the file, "
                        f"as check printed it, e.g. '{entry} in content/activities/…'",
                    )
                )
                continue
            parsed.append(AllowEntry(entry, path, line, rule=rule, ident=with_id.group("id").lower(), file=file))
            continue
        if first in severity:
            rest = " ".join(words[1:])
            if severity[first] == "error":
                if not rest:
                    why = (
                        f"'{entry}' would silence every {RULES[first].label}; name the one value with the "
                        f"entry check printed, e.g. '{first} {_EXAMPLE_MASK.get(first, '...')} (1a2b3c4d5e6f7a8b)'"
                    )
                elif "*" in rest:
                    why = (
                        f"'{entry}' names only the first digits, so it would let through every "
                        f"{RULES[first].label} that starts the same way; replace it with the entry check prints "
                        "for the finding, which ends with the value's id in brackets"
                    )
                else:
                    why = NEVER_LITERAL
                invalid.append((line, why))
                continue
            if rest and any(f.severity == "error" for f in find_identifiers(rest, patterns)):
                invalid.append((line, NEVER_LITERAL))
            elif not rest:
                parsed.append(AllowEntry(entry, path, line, rule=first, everything=True))
            elif "*" in rest:
                parsed.append(AllowEntry(entry, path, line, rule=first, mask=rest))
            else:
                parsed.append(AllowEntry(entry, path, line, rule=first, literal=rest))
            continue
        if "*" in entry or close_rule(first, 0.75):
            invalid.append((line, f"'{first}' is not a privacy rule; {rule_hint(first)}"))
            continue
        if any(f.severity == "error" for f in find_identifiers(entry, patterns)):
            invalid.append((line, NEVER_LITERAL))
            continue
        parsed.append(AllowEntry(entry, path, line, literal=entry))
    return parsed, invalid
