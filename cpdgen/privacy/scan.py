"""Keeping patient identifiers out of what a member publishes, and out of git.

``scan_portfolio`` reads every text a member writes and returns a Problem per possible
identifier, masked, with file, line and column:

- each activity and reflection file as it is on disk (front matter, description,
  reflection, HTML comments), and as a reader of the page sees it (markup, comments and
  character references undone: ``identifiers.find_in_markdown``);
- the front-matter values as YAML parsed them, and ``portfolio.yaml``;
- the member's texts for the HCPC profile (``content/hcpc/``), which the site never shows;
- every other file under ``content/``: evidence documents' text (any encoding, PDF, Office,
  OpenDocument) and images' metadata (``documents.py``), and every file and folder name. A
  document cpdgen cannot read is a warning that it was not checked.

``identifiers.py`` holds the rules themselves. A finding is silenced for one place by an
inline marker (``<!-- cpdgen: allow nhs-number -->``), or by an allow entry that names it
exactly: the rule, the value's id that ``check`` prints (a hash of the whole value), and for
``privacy: allow:`` in portfolio.yaml the file (see ``AllowEntry``). Entries that silence
nothing are reported.

The scan also records every value it found (``Portfolio.privacy_seen``), so
``published.check_published`` can look at what the site, its CSVs and its PDFs really
publish (after Markdown, character references and templates) and report anything the scan
of the files did not see.

Each Problem says whether its place is published (``Problem.publishes``): a finding in a
private or draft activity, or in a part the member chose not to publish, is still reported
but must not stop the site build (``problems.blocks_publishing``).
"""

from __future__ import annotations

import difflib
import os
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from functools import lru_cache, partial
from pathlib import Path

from cpdgen.cache import FileMemo
from cpdgen.fsutil import RealPaths, is_ignored, read_member_file
from cpdgen.portfolio import Activity, Goal, Portfolio
from cpdgen.privacy.allow import (
    AllowEntry,
    Marker,
    allow_entry,
    apply_markers,
    comment_spans,
    find_markers,
    parse_allow_entries,
    scan_text,
)
from cpdgen.privacy.documents import PAGE_BREAK, decode_any, document_text
from cpdgen.privacy.identifiers import RULES, Finding, find_identifiers, find_in_markdown
from cpdgen.privacy.patterns import compile_pattern
from cpdgen.privacy.text import html_text
from cpdgen.problems import Problem, ReadError

__all__ = ["scan_portfolio", "scan_text", "Finding", "published_parts", "member_patterns", "PARTS"]

# The parts of an activity the public site can show. ``published_parts`` removes the ones
# the member chose not to publish.
PARTS = frozenset({"front-matter", "description", "reflection", "evidence", "settings"})
MARKDOWN_SUFFIXES = (".md", ".markdown")
MAX_DOCUMENT_BYTES = 20_000_000  # as evidence
_WORKPLACE_RULES = ("postcode", "email", "phone")


def published_parts(portfolio: Portfolio) -> frozenset[str]:
    """What the public site shows of a published activity, from ``portfolio.yaml``'s ``publish:`` choices.

    ``publish.reflections: false`` and ``publish.evidence: false`` take those parts out;
    the settings are read defensively, so the scanner works with or without them.
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


def member_patterns(portfolio: Portfolio) -> dict[str, re.Pattern]:
    """The member's own patterns (``privacy: patterns:``) that compile."""
    privacy = getattr(portfolio.settings, "privacy", None)
    found = {}
    for name, regex in (getattr(privacy, "patterns", None) or {}).items():
        compiled = _compiled(regex)
        if compiled is not None:
            found[name] = compiled
    return found


@dataclass
class _Place:
    """Where a text comes from: who may silence its findings and whether the site publishes it."""

    path: str
    activity: Activity | None
    published: bool
    why_unpublished: str = ""


class _PortfolioScan:
    def __init__(self, portfolio: Portfolio, memo: FileMemo | None):
        self.portfolio = portfolio
        self.root = portfolio.root
        self.memo = memo
        self.paths = RealPaths()
        self.parts = published_parts(portfolio)
        self.problems: list[Problem] = []
        # Every value found in a place the site publishes, reported or allowed: what the published
        # outputs may show (a value seen only in a private activity is not among them).
        self.seen: set[tuple[str, str]] = set()
        self.patterns = member_patterns(portfolio)
        self.severity = {name: rule.severity for name, rule in RULES.items()}
        self.severity.update({name: "warning" for name in self.patterns})
        self.settings_path = self.rel(portfolio.content / "portfolio.yaml")
        self.settings_lines: dict[tuple, int] = portfolio.settings_lines  # as the loader parsed it
        self.settings_text = self.read(portfolio.content / "portfolio.yaml")
        privacy = getattr(portfolio.settings, "privacy", None)
        self.global_allow = self.parse_allow(
            list(getattr(privacy, "allow", None) or []),
            self.settings_path,
            lambda i: self.settings_lines.get(("privacy", "allow", i)),
            portfolio_wide=True,
        )
        self.activity_allow: dict[str, list[AllowEntry]] = {}
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
            data = read_member_file(path, self.portfolio.content, limit=MAX_DOCUMENT_BYTES, paths=self.paths)
        except ReadError:
            return None  # unreadable files are the loader's to report; there is nothing to scan
        return decode_any(data)[0]

    def find(self, text: str, markdown: bool) -> list[Finding]:
        return find_in_markdown(text, self.patterns) if markdown else find_identifiers(text, self.patterns)

    def known(self, finding: Finding, place: _Place, part: str) -> None:
        """Remember a value found where the site publishes it (for ``published.check_published``)."""
        if place.published and part in self.parts:
            self.seen.add((finding.rule, finding.key))

    def parse_allow(
        self, entries: Iterable[str], path: str, line_of: Callable[[int], int | None], *, portfolio_wide: bool = False
    ) -> list[AllowEntry]:
        """The usable entries of one allow list; each unusable one becomes a problem at its line."""
        parsed, invalid = parse_allow_entries(
            entries, path, line_of, self.severity, self.patterns, self.close_rule, portfolio_wide=portfolio_wide
        )
        for line, message in invalid:
            self.allow_problem(path, line, "allow-invalid", message)
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

    def allowed(self, finding: Finding, place: _Place) -> bool:
        activity = place.activity
        entries = self.activity_allow.get(activity.id, []) if activity is not None else []
        for entry in (*entries, *self.global_allow):
            if entry.allows(finding, place.path):
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
        message = _message(finding, where, place)
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
                activity.meta.allow, activity.path, partial(_allow_line, activity)
            )
        for activity in activities:
            known.add(os.fspath(activity.source))
            self.scan_activity(activity)
            if activity.reflection_path and activity.reflection_path != activity.path:
                path = self.root / activity.reflection_path
                known.add(os.fspath(path))
                self.scan_reflection_file(activity, path)
        for member_text in self.portfolio.hcpc_texts.values():
            known.add(os.fspath(member_text.source))
            place = _Place(member_text.path, None, False, "it goes into your HCPC profile, not onto the site")
            self.scan_markdown(member_text.text, place, _hcpc_part)
        about = self.portfolio.about
        if about is not None:
            known.add(os.fspath(about.source))
            self.scan_markdown(about.text, _Place(about.path, None, True), _about_part)
        self.scan_values(activities)
        for goal in self.portfolio.goals:
            known.add(os.fspath(goal.source))
            self.scan_goal(goal)
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
        for entry in self.global_allow:
            if not entry.used:
                self.allow_problem(
                    self.settings_path,
                    entry.line,
                    "allow-unused",
                    f"allow entry '{entry.text}' silences nothing in the portfolio; remove it",
                    False,
                )
        return self.problems

    def place_of(self, activity: Activity, path: str) -> _Place:
        if activity.draft:
            return _Place(path, activity, False, "the activity is a draft")
        if activity.private:
            return _Place(path, activity, False, "the activity is private")
        return _Place(path, activity, True)

    def scan_markdown(self, text: str, place: _Place, part_of: Callable[..., str], markdown: bool = True) -> None:
        """Scan one file's text; ``part_of(finding)`` says which part of the activity it is in."""
        findings = self.find(text, markdown)
        markers = find_markers(text)
        if place.activity is not None:
            self.raw_keys.setdefault(place.activity.id, set()).update((f.rule, f.key) for f in findings)
        for finding in findings:
            self.known(finding, place, part_of(finding))
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
            if self.allowed(finding, place):
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
        # One value a line, each ended by ';', which no rule reads as part of a number or a name:
        # values never run into each other here (the check of the published pages sees them side by side).
        findings = self.find("".join(value + ";\n" for _, _, value in values), markdown=False)
        for finding in findings:
            activity, loc, _ = values[finding.line - 1]
            if (finding.rule, finding.key) in self.raw_keys.get(activity.id, set()):
                continue
            place = self.place_of(activity, activity.path)
            part = "evidence" if loc[0] == "evidence" else "front-matter"
            self.known(finding, place, part)
            if self.allowed(finding, place):
                continue
            line = activity.lines.get(loc) or activity.lines.get(loc[:1])
            self.report(finding, place, part, line, None, "front-matter")

    def scan_goal(self, goal: Goal) -> None:
        """A goal of the plan: its file as written, then its values as YAML read them (as for activities)."""
        text = self.read(goal.source)
        if text is None:
            return
        place = _Place(goal.path, None, goal.published, "the goal is private")

        def part_of(finding: Finding) -> str:
            return "front-matter" if finding.line < goal.body_line else "description"

        self.scan_markdown(text, place, part_of)
        written = {(f.rule, f.key) for f in self.find(text, markdown=True)}
        meta = goal.meta
        values: list[tuple[tuple, str]] = [(("title",), meta.title)]
        if meta.why:
            values.append((("why",), meta.why))
        values += [(("planned", index), item) for index, item in enumerate(meta.planned)]
        for finding in self.find("".join(value + ";\n" for _, value in values), markdown=False):
            if (finding.rule, finding.key) in written:
                continue
            self.known(finding, place, "front-matter")
            if self.allowed(finding, place):
                continue
            loc = values[finding.line - 1][0]
            line = goal.lines.get(loc) or goal.lines.get(loc[:1])
            self.report(finding, place, "front-matter", line, None, "front-matter")

    def scan_settings(self) -> None:
        """portfolio.yaml as written, and its values as YAML read them (escapes decoded, folded lines joined)."""
        text = self.settings_text
        if text is None:
            return
        place = _Place(self.settings_path, None, True)
        findings = self.find(text, markdown=False)
        for finding in findings:
            owner = _key_at(self.settings_lines, finding.line)
            part = "settings" if owner != "privacy" else "privacy"
            self.known(finding, place, part)
            if owner == "privacy" and finding.severity == "warning":
                continue  # a value the member listed to allow
            if self.allowed(finding, place):
                continue
            self.report(finding, place, part, finding.line, finding.column, "settings")
        settings = self.portfolio.settings
        if settings is None:
            return
        values = [(loc, value) for loc, value in _strings(settings.model_dump(exclude={"privacy"}), ())]
        written = {(f.rule, f.key) for f in findings}
        for finding in self.find("".join(value + ";\n" for _, value in values), markdown=False):
            if (finding.rule, finding.key) in written:
                continue
            self.known(finding, place, "settings")
            if self.allowed(finding, place):
                continue
            loc = values[finding.line - 1][0]
            line = next(
                (self.settings_lines[loc[:n]] for n in range(len(loc), 0, -1) if loc[:n] in self.settings_lines), None
            )
            self.report(finding, place, "settings", line, None, "settings")

    def scan_content_tree(self, known: set[str]) -> None:
        """File and folder names under content/, evidence documents, and Markdown files cpdgen does not read."""
        content = self.portfolio.content
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
                path = os.path.join(dirpath, name)
                if path not in known and path != settings:
                    others.append(Path(path))
        findings = self.find("".join(name + ";\n" for _, name in names), markdown=False)
        owners = self.owners() if findings or others else {}
        for finding in findings:
            folder, name = names[finding.line - 1]
            place, part = self.owner_of(os.path.join(folder, name), owners)
            self.known(finding, place, part)
            if self.allowed(finding, place):
                continue
            self.report(finding, place, part, None, None, "name")
        for other in others:
            self.scan_document(other, owners)

    def scan_document(self, path: Path, owners: dict[str, tuple[Activity, str]]) -> None:
        """One file under content/ that the loader does not read: its text, or why it was not checked."""
        place, part = self.owner_of(os.fspath(path), owners)
        markdown = path.suffix.lower() in MARKDOWN_SUFFIXES
        if markdown and part != "evidence":
            broken = any(p.path == place.path and p.severity == "error" for p in self.portfolio.problems)
            place.why_unpublished = (
                "the file has errors, so cpdgen does not read it yet" if broken else "cpdgen does not read this file"
            )
            part = "unread"

        extract = partial(document_of, path, self.portfolio.content, self.paths)
        text, how = self.memo.get(DOCUMENT, path, extract) if self.memo else extract()
        if text is None:
            if how == "skip" or any(p.path == place.path for p in self.portfolio.problems):
                return  # never read (a link), or the loader already says what is wrong with the file
            publishes = place.published and part in self.parts
            self.allow_problem(
                place.path, None, "evidence-not-checked",
                f"cpdgen could not look inside this file for patient identifiers: {how}. "
                "Check it yourself before you publish it (an error under --strict)",
                publishes,
            )  # fmt: skip
            return
        if not text.strip():
            return
        if markdown or path.suffix.lower() in (".txt", ".csv", ".tsv", ".text"):
            self.scan_markdown(text, place, lambda finding, part=part: part, markdown=markdown)
            return
        findings = self.find(text, markdown=False)
        if path.suffix.lower() in (".html", ".htm", ".xhtml", ".svg"):
            findings += [f for f in self.find(html_text(text), markdown=False) if (f.rule, f.key) not in
                         {(g.rule, g.key) for g in findings}]  # fmt: skip
        for finding in findings:
            self.known(finding, place, part)
            if self.allowed(finding, place):
                continue
            where = how
            if PAGE_BREAK in text:
                where += f", page {text.count(PAGE_BREAK, 0, finding.start) + 1}"
            self.report(finding, place, part, None, None, f"document:{where}")

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

    def goal_of(self, path: str) -> Goal | None:
        """The goal whose file (or, for an ``index.md``, folder) is ``path``."""
        for goal in self.portfolio.goals:
            source = goal.source
            if path == os.fspath(source) or (source.name == "index.md" and path == os.fspath(source.parent)):
                return goal
        return None

    def owner_of(self, path: str, owners: dict[str, tuple[Activity, str]]) -> tuple[_Place, str]:
        owner = owners.get(path)
        if owner is None and os.path.isfile(path):
            owner = owners.get(os.path.realpath(path))  # evidence is recorded by its real path
        if owner is None:
            goal = self.goal_of(path)
            if goal is not None:  # its id, the file's name, is in the plan page's links
                return _Place(self.rel(Path(path)), None, goal.published, "the goal is private"), "front-matter"
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


def _label(rule: str) -> str:
    found = RULES.get(rule)
    return found.label if found else f"'{rule}' pattern match"


def _message(finding: Finding, where: str, place: _Place) -> str:
    """What was found (masked), why, and how to silence it for this one place."""
    label = _label(finding.rule)
    in_activity = place.activity is not None
    entry = f"'{allow_entry(finding)}'"
    wide_entry = f"'{allow_entry(finding, place.path)}'"
    if finding.severity == "error":
        head = f"{label} {finding.masked} ({finding.reason}): patient identifiers must never be published; remove it"
    else:
        head = f"possible {label} {finding.masked} ({finding.reason}): remove it if it identifies a patient"
    if where.startswith("document:"):
        head = head.replace(f" ({finding.reason})", f" ({finding.reason}; in {where.split(':', 1)[1]})", 1)
        where = "file"
    if where == "markdown":
        silence = f"<!-- cpdgen: allow {finding.rule} --> on this line or the line before"
        if in_activity:
            silence += f", or {entry} in the activity's allow: list"
        else:
            silence += f", or {wide_entry} under privacy: allow: in portfolio.yaml"
    elif where == "front-matter" and in_activity:
        silence = f"{entry} in this activity's allow: list"
    elif where in ("name", "file"):
        if where == "name":
            head += " (rename the file: names appear in links and in git)"
        silence = (
            f"{entry} in the allow: list of the activity that uses it"
            if in_activity
            else f"{wide_entry} under privacy: allow: in portfolio.yaml"
        )
    else:
        silence = f"{wide_entry} under privacy: allow: in portfolio.yaml"
    if finding.rule in _WORKPLACE_RULES:
        silence += f"; a workplace {label} can be listed as it is under privacy: allow: in portfolio.yaml"
    return f"{head}. Not a patient's? Silence it with {silence}"


def _strings(data: object, loc: tuple) -> list[tuple[tuple, str]]:
    """Every text value in parsed settings, with its place (``("member", "job_title")``)."""
    if isinstance(data, str):
        return [(loc, data)]
    if isinstance(data, dict):
        return [found for key, value in data.items() for found in _strings(value, (*loc, key))]
    if isinstance(data, list):
        return [found for index, value in enumerate(data) for found in _strings(value, (*loc, index))]
    return []


def _allow_line(activity: Activity, index: int) -> int | None:
    """The line of an activity's allow entry (the list's own line when written in flow style)."""
    return activity.lines.get(("allow", index)) or activity.lines.get(("allow",))


def _key_at(lines: dict[tuple, int], line: int) -> str | None:
    """The top-level YAML key whose value holds ``line``."""
    owner, owner_line = None, 0
    for loc, key_line in lines.items():
        if len(loc) == 1 and owner_line <= key_line <= line:
            owner, owner_line = str(loc[0]), key_line
    return owner


def _reflection_part(finding: Finding) -> str:
    return "reflection"


def _hcpc_part(finding: Finding) -> str:
    return "hcpc"


def _about_part(finding: Finding) -> str:
    return "description"  # the About page is published as it is, like an activity's description


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


DOCUMENT = "document"  # the kind of a document's text in the file memo


def document_of(path: Path, content: Path, paths: RealPaths | None = None) -> tuple[str | None, str]:
    """A file under ``content`` that the loader does not read, as the scan reads it: ``(text,
    how it was read)``, or ``(None, why not)``; ``(None, "skip")`` for a link, which publishes
    nothing unless an activity names it (then the loader judges it)."""
    try:
        data = read_member_file(path, content, limit=MAX_DOCUMENT_BYTES, paths=paths)
    except ReadError as exc:
        return None, "skip" if exc.code == "outside-content" or path.is_symlink() else exc.message
    if path.suffix.lower() in MARKDOWN_SUFFIXES:
        return decode_any(data)[0], "its text"
    return document_text(path.name, data)


def documents_under(content: Path) -> list[Path]:
    """The files under ``content`` the scan reads as documents, as far as their names tell
    (not Markdown, not portfolio.yaml, not hidden): for reading them ahead, on every core."""
    found = []
    settings = os.path.join(content, "portfolio.yaml")
    for dirpath, dirnames, filenames in os.walk(content, followlinks=False):
        dirnames[:] = [d for d in dirnames if not is_ignored(d)]
        for name in filenames:
            path = os.path.join(dirpath, name)
            if not is_ignored(name) and not name.lower().endswith(MARKDOWN_SUFFIXES) and path != settings:
                found.append(Path(path))
    return found


def scan_portfolio(portfolio: Portfolio, memo: FileMemo | None = None) -> list[Problem]:
    """Every possible patient identifier in the portfolio, masked, as problems with file, line and column.

    Also records every value found in ``portfolio.privacy_seen``, for :func:`check_published`.
    ``memo`` keeps each evidence document's text while the document does not change.
    """
    scan = _PortfolioScan(portfolio, memo)
    # The loader's messages quote what the member wrote ("category '943 476 5919' is not a
    # CPD category"); they go to CI logs and pull-request annotations, so they are masked too.
    portfolio.problems[:] = [masked_message(problem, scan.patterns) for problem in portfolio.problems]
    problems = scan.run()
    portfolio.privacy_seen = frozenset(scan.seen)
    return problems


def masked_message(problem: Problem, patterns: dict[str, re.Pattern] | None = None) -> Problem:
    """``problem`` with every possible identifier in its message shown masked, as the scan shows them."""
    findings = find_identifiers(problem.message, patterns)
    if not findings:
        return problem
    message = problem.message
    for finding in reversed(findings):
        message = message[: finding.start] + finding.masked + message[finding.end :]
    return replace(problem, message=message)
