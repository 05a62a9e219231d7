"""Keeping patient identifiers out of what a member publishes, and out of git.

``scan_portfolio`` reads every text a member writes (each activity and reflection file as it
is on disk: front matter, description, reflection, HTML comments; the front-matter values as
parsed; ``portfolio.yaml``; text evidence files; every file and folder name under
``content/``) and returns a Problem per possible identifier, masked. ``identifiers.py`` holds
the rules themselves. A finding is silenced for one place by an inline marker
(``<!-- cpdgen: allow nhs-number -->``), for one activity by its ``allow:`` list, or for the
whole portfolio by ``privacy: allow:`` in ``portfolio.yaml``.

Each Problem says whether its place is published (``Problem.publishes``): a finding in a
private or draft activity, or in a part the member chose not to publish, is still reported
but must not stop the site build (``problems.blocks_publishing``).
"""

from __future__ import annotations

import difflib
import os
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from cpdgen.frontmatter import read_text
from cpdgen.fsutil import is_ignored
from cpdgen.portfolio import Activity, Portfolio
from cpdgen.privacy.identifiers import (
    RULES,
    Finding,
    Marker,
    apply_markers,
    canonical,
    comment_spans,
    compile_pattern,
    find_identifiers,
    find_markers,
    scan_text,
)
from cpdgen.problems import Problem, ReadError

__all__ = ["scan_portfolio", "scan_text", "Finding", "published_parts", "PARTS"]

# The parts of an activity the public site can show. ``published_parts`` removes the ones
# the member chose not to publish.
PARTS = frozenset({"front-matter", "description", "reflection", "evidence", "settings"})
TEXT_EVIDENCE = (".txt", ".md", ".markdown", ".csv", ".tsv", ".html", ".htm", ".json", ".xml", ".yaml", ".yml")
_WORKPLACE_RULES = ("postcode", "email", "phone")


def published_parts(portfolio: Portfolio) -> frozenset[str]:
    """What the public site shows of a published activity, from ``portfolio.yaml``'s ``publish:`` choices.

    The ``publish:`` section belongs to the site build; it is read defensively here so that
    the scanner works with or without it: ``publish.reflections: false`` and
    ``publish.evidence: false`` take those parts out.
    """
    publish = getattr(getattr(portfolio, "settings", None), "publish", None)
    parts = set(PARTS)
    if getattr(publish, "reflections", True) is False:
        parts.discard("reflection")
    if getattr(publish, "evidence", True) is False:
        parts.discard("evidence")
    return frozenset(parts)


@lru_cache(maxsize=64)
def _compiled(regex: str) -> re.Pattern | None:
    try:
        return compile_pattern(regex)
    except ValueError:
        return None  # portfolio.yaml's validation has already reported it


@dataclass
class _Allow:
    """One allow-list entry: ``RULE``, ``RULE MASKED-VALUE``, or a literal value (warnings only)."""

    text: str
    path: str
    line: int | None
    rule: str | None = None
    mask: str | None = None
    literal: str | None = None
    used: bool = False
    _keys: dict[str, str] = field(default_factory=dict, repr=False)

    def allows(self, finding: Finding) -> bool:
        if self.rule is not None:
            return finding.rule == self.rule and (self.mask is None or self.mask == finding.masked)
        if finding.severity != "warning" or self.literal is None:
            return False
        key = self._keys.get(finding.rule)
        if key is None:
            key = self._keys[finding.rule] = canonical(finding.rule, self.literal)
        return key == finding.key


@dataclass
class _Place:
    """Where a text comes from: who may silence its findings and whether the site publishes it."""

    path: str
    activity: Activity | None
    published: bool
    why_unpublished: str = ""


class _PortfolioScan:
    def __init__(self, portfolio: Portfolio):
        self.portfolio = portfolio
        self.root = portfolio.root
        self.parts = published_parts(portfolio)
        self.problems: list[Problem] = []
        privacy = getattr(portfolio.settings, "privacy", None)
        self.patterns: dict[str, re.Pattern] = {}
        for name, regex in (getattr(privacy, "patterns", None) or {}).items():
            compiled = _compiled(regex)
            if compiled is not None:
                self.patterns[name] = compiled
        self.severity = {name: rule.severity for name, rule in RULES.items()}
        self.severity.update({name: "warning" for name in self.patterns})
        self.settings_path = self.rel(portfolio.content / "portfolio.yaml")
        self.settings_lines: dict[tuple, int] = portfolio.settings_lines  # as the loader parsed it
        self.settings_text = self.read(portfolio.content / "portfolio.yaml")
        entries = list(getattr(privacy, "allow", None) or [])
        self.global_allow = self.parse_allow(
            entries, self.settings_path, lambda i: self.settings_lines.get(("privacy", "allow", i))
        )
        self.activity_allow: dict[str, list[_Allow]] = {}
        self.raw_keys: dict[str, set[tuple[str, str]]] = {}

    # Helpers -------------------------------------------------------------------------

    def rel(self, path: Path) -> str:
        try:
            return path.relative_to(self.root).as_posix()
        except ValueError:
            return path.as_posix()

    def read(self, path: Path) -> str | None:
        text = self.portfolio.texts.get(path)
        if text is not None:
            return text  # as the loader read it
        try:
            return read_text(path)
        except ReadError:
            return None  # unreadable files are the loader's to report; there is nothing to scan

    def parse_allow(self, entries: Iterable[str], path: str, line_of: Callable[..., int | None]) -> list[_Allow]:
        """The usable entries of one allow list; each unusable one becomes a problem at its line."""
        parsed = []
        for index, entry in enumerate(entries):
            line = line_of(index)
            words = entry.split()
            first = words[0].lower() if words else ""
            if first in self.severity:
                mask = " ".join(words[1:]) or None
                if mask and find_identifiers(mask, self.patterns):
                    self.allow_problem(path, line, "allow-invalid", _NEVER_LITERAL)
                    continue
                if mask is None and self.severity[first] == "error":
                    self.allow_problem(
                        path,
                        line,
                        "allow-invalid",
                        f"'{entry}' would silence every {RULES[first].label}; name the masked value "
                        f"that check printed too, e.g. '{first} {_EXAMPLE_MASK.get(first, '...')}'",
                    )
                    continue
                parsed.append(_Allow(entry, path, line, rule=first, mask=mask))
                continue
            close = self.close_rule(first, 0.75)
            if "*" in entry or close:
                self.allow_problem(
                    path, line, "allow-invalid", f"'{first}' is not a privacy rule; {self.rule_hint(first)}"
                )
                continue
            if any(f.severity == "error" for f in find_identifiers(entry, self.patterns)):
                self.allow_problem(path, line, "allow-invalid", _NEVER_LITERAL)
                continue
            parsed.append(_Allow(entry, path, line, literal=entry))
        return parsed

    def close_rule(self, word: str, cutoff: float = 0.6) -> str | None:
        starts = [rule for rule in self.severity if len(word) >= 2 and rule.startswith(word)]
        close = starts or difflib.get_close_matches(word, list(self.severity), n=1, cutoff=cutoff)
        return close[0] if close else None

    def rule_hint(self, word: str) -> str:
        close = self.close_rule(word)
        return f"did you mean '{close}'?" if close else "the rules are: " + ", ".join(self.severity)

    def allow_problem(
        self, path: str, line: int | None, code: str, message: str, publishes: bool = True, column: int | None = None
    ) -> None:
        self.problems.append(Problem(path, line, "warning", code, message, column, publishes))

    def allowed(self, finding: Finding, activity: Activity | None) -> bool:
        entries = self.activity_allow.get(activity.id, []) if activity is not None else []
        for entry in (*entries, *self.global_allow):
            if entry.allows(finding):
                entry.used = True
                return True
        return False

    def report(
        self,
        finding: Finding,
        place: _Place,
        part: str,
        line: int | None,
        column: int | None,
        where: str,
        in_comment: bool = False,
    ) -> None:
        publishes = place.published and part in self.parts
        message = _message(finding, where, place.activity is not None)
        if in_comment:
            message += ". It is inside an HTML comment: comments are kept in git and are not private"
        if not publishes:
            why = place.why_unpublished or _PART_NOT_PUBLISHED.get(part, "this part is not published")
            message += f" (not published: {why}; still remove it from your files and git history)"
        self.problems.append(Problem(place.path, line, finding.severity, finding.rule, message, column, publishes))

    # The scan ------------------------------------------------------------------------

    def run(self) -> list[Problem]:
        activities = self.portfolio.activities
        known: set[str] = set()
        for activity in activities:
            self.activity_allow[activity.id] = self.parse_allow(
                activity.meta.allow,
                activity.path,
                lambda i, a=activity: a.lines.get(("allow", i)) or a.lines.get(("allow",)),
            )
        for activity in activities:
            known.add(os.fspath(activity.source))
            self.scan_activity(activity)
            if activity.reflection_path and activity.reflection_path != activity.path:
                path = self.root / activity.reflection_path
                known.add(os.fspath(path))
                self.scan_reflection_file(activity, path)
        self.scan_values(activities)
        self.scan_settings()
        self.scan_content_tree(known)
        for activity in activities:
            for entry in self.activity_allow[activity.id]:
                if not entry.used:
                    self.allow_problem(
                        activity.path,
                        entry.line,
                        "allow-unused",
                        f"allow entry '{entry.text}' silences nothing in this activity; remove it",
                        activity.published,
                    )
        return self.problems

    def place_of(self, activity: Activity, path: str) -> _Place:
        if activity.draft:
            return _Place(path, activity, False, "the activity is a draft")
        if activity.private:
            return _Place(path, activity, False, "the activity is private")
        return _Place(path, activity, True)

    def scan_markdown(self, text: str, place: _Place, part_of: Callable[..., str]) -> None:
        """Scan one Markdown file's text; ``part_of(finding)`` says which part of the activity it is in."""
        findings = find_identifiers(text, self.patterns)
        markers = find_markers(text)
        if place.activity is not None:
            self.raw_keys.setdefault(place.activity.id, set()).update((f.rule, f.key) for f in findings)
        if findings and markers:
            findings = apply_markers(findings, markers)
        self.check_markers(markers, place)
        if not findings:
            return
        comments = comment_spans(text)
        own_file = place.activity is None or place.path == place.activity.path or part_of is _reflection_part
        for finding in findings:
            part = part_of(finding)
            if part == "allow" and finding.severity == "warning":
                continue  # a value the member listed to allow
            if self.allowed(finding, place.activity):
                continue
            if not own_file:
                where = "file"
            elif part in ("front-matter", "evidence", "allow") and finding.line < _body_line(place):
                where = "front-matter"
            else:
                where = "markdown"
            in_comment = any(start <= finding.start < end for start, end in comments)
            self.report(finding, place, part, finding.line, finding.column, where, in_comment)

    def check_markers(self, markers: list[Marker], place: _Place) -> None:
        for marker in markers:
            if marker.rule not in self.severity:
                self.allow_problem(
                    place.path, marker.line, "allow-invalid",
                    f"'{marker.rule}' is not a privacy rule; {self.rule_hint(marker.rule)}",
                    place.published, marker.column,
                )  # fmt: skip
            elif not marker.used:
                self.allow_problem(
                    place.path,
                    marker.line,
                    "allow-unused",
                    f"this marker silences nothing: no {_label(marker.rule)}"
                    f"{' ' + marker.mask if marker.mask else ''} on this line or the next; remove it",
                    place.published,
                    marker.column,
                )

    def scan_activity(self, activity: Activity) -> None:
        text = self.read(activity.source)
        if text is None:
            return
        place = self.place_of(activity, activity.path)
        reflection_span: list[tuple[int, int]] = []

        def part_of(finding: Finding) -> str:
            if finding.line < activity.description_line:
                owner = _key_at(activity.lines, finding.line)
                return {"evidence": "evidence", "allow": "allow"}.get(owner or "", "front-matter")
            if activity.reflection is None or activity.reflection_path != activity.path:
                return "description"
            if not reflection_span:
                reflection_span.append(_reflection_span(text, activity))
            start, end = reflection_span[0]
            return "reflection" if start <= finding.start <= end else "description"

        self.scan_markdown(text, place, part_of)

    def scan_reflection_file(self, activity: Activity, path: Path) -> None:
        text = self.read(path)
        if text is not None:
            self.scan_markdown(text, self.place_of(activity, self.rel(path)), _reflection_part)

    def scan_values(self, activities: list[Activity]) -> None:
        """The front-matter values as YAML parsed them (escapes decoded, folded lines joined).

        Whatever the scan of the file itself found is not reported twice. Every value is
        scanned, even one written verbatim in the file: on its own it has no neighbours, and
        a neighbour can hide it in the file (``tags: [hospital, SW1A 1AA]``)."""
        values: list[tuple[Activity, tuple, str]] = []
        for activity in activities:
            meta = activity.meta
            values.append((activity, ("title",), meta.title))
            for key, items in (("tags", meta.tags), ("evidence", meta.evidence)):
                for index, value in enumerate(items):
                    values.append((activity, (key, index), value))
        if not values:
            return
        findings = find_identifiers("\n".join(value for _, _, value in values), self.patterns)
        for finding in findings:
            activity, loc, _ = values[finding.line - 1]
            if (finding.rule, finding.key) in self.raw_keys.get(activity.id, set()):
                continue
            if self.allowed(finding, activity):
                continue
            line = activity.lines.get(loc) or activity.lines.get(loc[:1])
            part = "evidence" if loc[0] == "evidence" else "front-matter"
            self.report(finding, self.place_of(activity, activity.path), part, line, None, "front-matter")

    def scan_settings(self) -> None:
        text = self.settings_text
        if text is None:
            return
        findings = find_identifiers(text, self.patterns)
        if not findings:
            return
        place = _Place(self.settings_path, None, True)
        for finding in findings:
            if self.allowed(finding, None):
                continue
            owner = _key_at(self.settings_lines, finding.line)
            if owner == "privacy" and finding.severity == "warning":
                continue  # a value the member listed to allow
            part = "settings" if owner != "privacy" else "privacy"
            self.report(finding, place, part, finding.line, finding.column, "settings")

    def scan_content_tree(self, known: set[str]) -> None:
        """File and folder names under content/, text evidence files, and Markdown files cpdgen does not read."""
        content = self.portfolio.content
        content_real = os.path.realpath(content)
        settings = os.path.join(content, "portfolio.yaml")
        names: list[tuple[str, str]] = []  # (folder, name): plain strings, as this walks every file
        others: list[Path] = []
        for dirpath, dirnames, filenames in os.walk(content, followlinks=False):
            dirnames[:] = sorted(d for d in dirnames if not is_ignored(d))
            names.extend((dirpath, d) for d in dirnames)
            for name in sorted(filenames):
                if is_ignored(name):
                    continue
                names.append((dirpath, name))
                if name.lower().endswith(TEXT_EVIDENCE):
                    path = os.path.join(dirpath, name)
                    if path in known or path == settings or not os.path.isfile(path):
                        continue  # read already, or not a regular file (a pipe would block)
                    if os.path.commonpath([content_real, os.path.realpath(path)]) != content_real:
                        continue  # a link to a file outside content/: never read
                    others.append(Path(path))
        findings = find_identifiers("\n".join(name for _, name in names), self.patterns)
        read = [(path, self.read(path)) for path in others]
        texts = [
            (path, text) for path, text in read if text and ("cpdgen:" in text or find_identifiers(text, self.patterns))
        ]
        owners = self.owners() if findings or texts else {}
        for finding in findings:
            folder, name = names[finding.line - 1]
            place, part = self.owner_of(os.path.join(folder, name), owners)
            if self.allowed(finding, place.activity):
                continue
            self.report(finding, place, part, None, None, "name")
        for other, text in texts:
            place, part = self.owner_of(os.fspath(other), owners)
            if other.suffix.lower() in (".md", ".markdown") and part != "evidence":
                broken = any(p.path == place.path and p.severity == "error" for p in self.portfolio.problems)
                place.why_unpublished = (
                    "the file has errors, so cpdgen does not read it yet"
                    if broken
                    else "cpdgen does not read this file"
                )
                self.scan_markdown(text, place, lambda finding: "unread")
            else:
                self.scan_markdown(text, place, lambda finding, part=part: part)

    def owners(self) -> dict[str, tuple[Activity, str]]:
        """Each activity's file and folder, and each evidence file, to its activity (published ones first) and part."""
        found: dict[str, tuple[Activity, str]] = {}
        for activity in sorted(self.portfolio.activities, key=lambda a: not a.published):
            source = activity.source
            found.setdefault(os.fspath(source), (activity, "front-matter"))
            if source.name == "index.md":
                found.setdefault(os.fspath(source.parent), (activity, "front-matter"))
            for evidence in activity.evidence:
                if evidence.path is not None:
                    found.setdefault(os.fspath(evidence.path), (activity, "evidence"))
            if activity.reflection_path and activity.reflection_path != activity.path:
                found.setdefault(os.fspath(self.root / activity.reflection_path), (activity, "reflection-name"))
        return found

    def owner_of(self, path: str, owners: dict[str, tuple[Activity, str]]) -> tuple[_Place, str]:
        owner = owners.get(path)
        if owner is None and os.path.isfile(path):
            owner = owners.get(os.path.realpath(path))  # evidence is recorded by its real path
        if owner is None:
            return _Place(self.rel(Path(path)), None, False, "no published activity uses this file"), "unused"
        activity, part = owner
        return self.place_of(activity, self.rel(Path(path))), part


_PART_NOT_PUBLISHED = {
    "reflection": "portfolio.yaml publishes no reflections",
    "evidence": "portfolio.yaml publishes no evidence",
    "allow": "the allow list is not published",
    "privacy": "the privacy settings are not published",
    "reflection-name": "the names of reflection files are not published",
}
_NEVER_LITERAL = (
    "never write an NHS or CHI number in an allow list (it would be in git): "
    "write the rule and the masked value that check printed, e.g. 'nhs-number 943 *** ****'"
)
_EXAMPLE_MASK = {"nhs-number": "943 *** ****", "chi-number": "01**** ****"}


def _label(rule: str) -> str:
    found = RULES.get(rule)
    return found.label if found else f"'{rule}' pattern match"


def _message(finding: Finding, where: str, in_activity: bool) -> str:
    """What was found (masked), why, and how to silence it for this one place."""
    label = _label(finding.rule)
    entry = f"'{finding.rule} {finding.masked}'"
    if finding.severity == "error":
        head = f"{label} {finding.masked} ({finding.reason}): patient identifiers must never be published; remove it"
    else:
        head = f"possible {label} {finding.masked} ({finding.reason}): remove it if it identifies a patient"
    if where == "markdown":
        silence = f"<!-- cpdgen: allow {finding.rule} --> on this line or the line before"
        if in_activity:
            silence += f", or {entry} in the activity's allow: list"
        else:
            silence += f", or {entry} under privacy: allow: in portfolio.yaml"
    elif where == "front-matter":
        silence = f"{entry} in this activity's allow: list"
    elif where in ("name", "file"):
        if where == "name":
            head += " (rename the file: names appear in links and in git)"
        silence = (
            f"{entry} in the allow: list of the activity that uses it"
            if in_activity
            else f"{entry} under privacy: allow: in portfolio.yaml"
        )
    else:
        silence = f"{entry} under privacy: allow: in portfolio.yaml"
    if finding.rule in _WORKPLACE_RULES:
        silence += f"; a workplace {label} can be listed as it is under privacy: allow: in portfolio.yaml"
    return f"{head}. Not a patient's? Silence it with {silence}"


def _key_at(lines: dict[tuple, int], line: int) -> str | None:
    """The top-level YAML key whose value holds ``line``."""
    owner, owner_line = None, 0
    for loc, key_line in lines.items():
        if len(loc) == 1 and owner_line <= key_line <= line:
            owner, owner_line = str(loc[0]), key_line
    return owner


def _reflection_part(finding: Finding) -> str:
    return "reflection"


def _body_line(place: _Place) -> int:
    return place.activity.description_line if place.activity is not None else 1


def _reflection_span(text: str, activity: Activity) -> tuple[int, int]:
    """Offsets in the file's text of the reflection section (its heading to its last character)."""
    heading_line = activity.reflection_line or 1
    offset = 0
    for _ in range(heading_line - 1):
        offset = text.find("\n", offset) + 1
        if offset == 0:
            return (len(text), len(text))
    reflection = activity.reflection or ""
    start = text.find(reflection, offset) if reflection else offset
    if start < 0:
        return (offset, len(text))
    return (offset, start + len(reflection))


def scan_portfolio(portfolio: Portfolio) -> list[Problem]:
    """Every possible patient identifier in the portfolio, masked, as problems with file, line and column."""
    return _PortfolioScan(portfolio).run()
