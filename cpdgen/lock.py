"""A submitted diploma's lock: the record as it was submitted for validation.

Once a member submits a diploma, the IBMS judges what was submitted; later edits to the
files must not change the verdict cpdgen shows. ``cpdgen submit`` writes
``content/diplomas/<id>.lock``, which the member commits beside ``portfolio.yaml``. It
holds the evaluation date and window, every activity judged and its outcome, and for each
activity a SHA-256 of its file as written (front matter, description and reflection; line
endings and trailing spaces aside), of its reflection file if it has one, and of each
evidence file, with a hash of the whole set. From then on ``check`` judges the diploma from
the lock (:meth:`Lock.frozen`) and compares the files with it (:func:`compare`).

The lock is YAML a person can read, written in one fixed layout, so git diffs stay small. A
lock that is damaged, edited by hand, written by a newer cpdgen or left with merge conflict
markers is an error with its file and line; cpdgen never rewrites or deletes one.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from cpdgen import __version__, rules
from cpdgen.frontmatter import parse_yaml
from cpdgen.fsutil import read_member_file
from cpdgen.portfolio import Activity, slugify
from cpdgen.problems import Problem, ReadError

LOCK_FORMAT = 1  # the layout this cpdgen writes and reads; a newer one is refused with a hint
LOCK_FOLDER = "diplomas"  # under content/
MAX_LOCK_BYTES = 5_000_000
MAX_HASHED_BYTES = 20_000_000  # an evidence file (the loader's own limit)
_HEX = re.compile(r"[0-9a-f]{64}")
_CONFLICT = re.compile(r"^(<{7}|={7}|>{7})(?: |$)", re.M)


@dataclass(frozen=True)
class LockedActivity:
    """One activity as the diploma was submitted with it."""

    id: str
    date: date
    category: str
    counts: bool
    reason: str | None
    sha256: str  # its file (and reflection file), normalised
    evidence: tuple[tuple[str, str], ...] = ()  # (file relative to content/, its SHA-256)
    line: int = 0  # in the lock file


@dataclass(frozen=True)
class Lock:
    """A diploma as it was submitted for validation."""

    path: str  # the lock file, relative to the portfolio root
    diploma: str
    submitted: date
    window_start: date
    eligible: bool
    counted: int
    categories: tuple[str, ...]
    set_sha256: str
    cpdgen: str  # the version that wrote it
    activities: tuple[LockedActivity, ...]
    lines: dict[str, int] = field(default_factory=dict, compare=False, repr=False)  # top-level keys' lines

    def frozen(self) -> rules.Frozen:
        """The judgements the rules keep for this diploma."""
        judgements = tuple(
            rules.Judgement(a.id, a.date, a.category, a.counts, a.reason)  # type: ignore[arg-type]
            for a in self.activities
        )
        return rules.Frozen(judgements, self.set_sha256, self.path)

    @property
    def short(self) -> str:
        """The set's hash, shortened for people: enough to tell two submissions apart."""
        return self.set_sha256[:12]


def lock_file(content: Path, diploma_id: str) -> Path:
    """Where ``diploma_id``'s lock lives."""
    return content / LOCK_FOLDER / f"{slugify(diploma_id, 'diploma')}.lock"


# --- hashes ----------------------------------------------------------------------------------


def _normal(text: str | None) -> str:
    """Markdown as it reads: the same line endings, no trailing spaces, no blank lines at the ends."""
    lines = (text or "").replace("\r\n", "\n").replace("\r", "\n").split("\n")
    return "\n".join(line.rstrip() for line in lines).strip("\n")


def activity_sha256(activity: Activity, texts: Mapping[Path, str], root: Path) -> str:
    """A hash of what the member wrote: the activity's file, and its reflection file if it has one.

    The files as written (line endings and trailing spaces aside), not as cpdgen reads them:
    a later cpdgen that reads a file differently never makes it look edited.
    """
    paths = [activity.source]
    if activity.reflection_path and activity.reflection_path != activity.path:
        paths.append(root / activity.reflection_path)
    digest = hashlib.sha256()
    for path in paths:
        digest.update(_normal(texts.get(path, "")).encode("utf-8", "surrogatepass") + b"\0")
    return digest.hexdigest()


def file_sha256(path: Path, content: Path) -> str | None:
    """An evidence file's SHA-256, or None when it cannot be read."""
    try:
        return hashlib.sha256(read_member_file(path, content, limit=MAX_HASHED_BYTES)).hexdigest()
    except ReadError:
        return None


Hasher = Callable[[Path], "str | None"]


def evidence_sha256(activity: Activity, hash_file: Hasher) -> tuple[tuple[str, str], ...]:
    """Each evidence file of ``activity`` (links are in its front matter) with its hash."""
    found = []
    for evidence in activity.evidence:
        if evidence.path is not None and evidence.rel is not None:
            digest = hash_file(evidence.path)
            found.append((evidence.rel, digest or "unreadable"))
    return tuple(sorted(found))


def set_sha256(diploma: str, submitted: date, activities: Iterable[LockedActivity], header: tuple = ()) -> str:
    """One hash for the whole submission: its figures, and every activity's outcome and hashes, in order."""
    window_start, eligible, counted, categories = header or (None, None, None, ())
    lines = [
        f"cpdgen-lock\t{diploma}\t{submitted.isoformat()}",
        f"{window_start.isoformat() if window_start else ''}\t{eligible}\t{counted}\t{','.join(categories)}",
    ]
    for a in activities:
        outcome = "counts" if a.counts else (a.reason or "")
        evidence = [f"{name}={digest}" for name, digest in a.evidence]
        lines.append("\t".join([a.id, a.date.isoformat(), a.category, outcome, a.sha256, *evidence]))
    return hashlib.sha256("\n".join(lines).encode("utf-8", "surrogatepass")).hexdigest()


# --- making and writing a lock -----------------------------------------------------------


def make_lock(
    path: str,
    assessment: rules.DiplomaAssessment,
    activities: dict[str, Activity],
    texts: Mapping[Path, str],
    root: Path,
    hash_file: Hasher,
) -> Lock:
    """The lock of a diploma judged on its submission date, from the activities as they are."""
    assert assessment.submitted is not None
    locked = []
    for judgement in assessment.judgements:
        if judgement.reason in rules.NOT_SUBMITTED:
            continue  # dated after the submission: free to count towards the next diploma
        activity = activities[judgement.id]
        locked.append(
            LockedActivity(
                judgement.id,
                judgement.date,
                judgement.category,
                judgement.counted,
                judgement.reason,
                activity_sha256(activity, texts, root),
                evidence_sha256(activity, hash_file),
            )
        )
    return Lock(
        path=path,
        diploma=assessment.id,
        submitted=assessment.submitted,
        window_start=assessment.window_start,
        eligible=assessment.eligible,
        counted=sum(a.counts for a in locked),
        categories=assessment.categories,
        set_sha256=set_sha256(
            assessment.id,
            assessment.submitted,
            locked,
            (assessment.window_start, assessment.eligible, sum(a.counts for a in locked), assessment.categories),
        ),  # fmt: skip
        cpdgen=__version__,
        activities=tuple(locked),
    )


def _q(text: str) -> str:
    """A YAML double-quoted string (JSON's quoting is a subset of YAML's)."""
    return json.dumps(text, ensure_ascii=False)


def render_lock(lock: Lock) -> str:
    """The lock's text, in one fixed layout."""
    out = [
        f"# cpdgen lock: {lock.diploma} as it was submitted for validation on {lock.submitted.isoformat()}.",
        "# Written by `cpdgen submit`. Commit it, and do not edit it: `cpdgen check` judges the",
        "# diploma from it and compares your activities with it. A lock edited by hand is refused.",
        f"lock: {LOCK_FORMAT}",
        f"cpdgen: {_q(lock.cpdgen)}",
        f"diploma: {_q(lock.diploma)}",
        f"submitted: {lock.submitted.isoformat()}",
        f"window_start: {lock.window_start.isoformat()}",
        f"eligible: {'true' if lock.eligible else 'false'}",
        f"counted: {lock.counted}",
        "categories: [" + ", ".join(_q(c) for c in lock.categories) + "]",
        f"set_sha256: {lock.set_sha256}",
        "activities:",
    ]
    for a in lock.activities:
        out += [
            f"  - id: {_q(a.id)}",
            f"    date: {a.date.isoformat()}",
            f"    category: {_q(a.category)}",
            f"    counts: {'true' if a.counts else 'false'}",
        ]
        if a.reason:
            out.append(f"    reason: {_q(a.reason)}")
        out.append(f"    sha256: {a.sha256}")
        if a.evidence:
            out.append("    evidence:")
            for name, digest in a.evidence:
                out += [f"      - file: {_q(name)}", f"        sha256: {digest}"]
    if not lock.activities:
        out[-1] = "activities: []"
    return "\n".join(out) + "\n"


# --- reading a lock ---------------------------------------------------------------------------


class BadLock(Exception):
    """What is wrong with a lock file, and on which line."""

    def __init__(self, message: str, line: int | None):
        super().__init__(message)
        self.message = message
        self.line = line


class _Reader:
    def __init__(self, lines: dict, where: str):
        self.lines = lines
        self.where = where

    def line(self, loc: tuple) -> int | None:
        for end in range(len(loc), -1, -1):
            found = self.lines.get(tuple(loc[:end]))
            if found is not None:
                return int(found)
        return None

    def get(self, data: dict, loc: tuple, key: str, kind: str, optional: bool = False) -> Any:
        if key not in data:
            if optional:
                return None
            raise BadLock(f"'{key}' is missing{self.where}: the lock is incomplete (cut short?)", self.line(loc))
        value = data[key]
        here = (*loc, key)
        ok = {
            "text": isinstance(value, str) and value != "",
            "date": isinstance(value, str) and _is_date(value),
            "bool": isinstance(value, bool),
            "count": isinstance(value, int) and not isinstance(value, bool) and value >= 0,
            "hash": isinstance(value, str) and _HEX.fullmatch(value) is not None,
            "list": isinstance(value, list),
        }[kind]
        if not ok:
            wanted = {
                "text": "a name",
                "date": "a date (YYYY-MM-DD)",
                "bool": "true or false",
                "count": "a whole number",
                "hash": "a SHA-256 (64 hexadecimal digits)",
                "list": "a list",
            }[kind]
            raise BadLock(f"'{key}' must be {wanted}", self.line(here))
        if kind == "date":
            return date.fromisoformat(str(value))
        return value


def _is_date(text: str) -> bool:
    try:
        date.fromisoformat(text)
    except ValueError:
        return False
    return len(text) == 10


_TOP_KEYS = {
    "lock", "cpdgen", "diploma", "submitted", "window_start", "eligible", "counted", "categories", "set_sha256",
    "activities",
}  # fmt: skip
_ACTIVITY_KEYS = {"id", "date", "category", "counts", "reason", "sha256", "evidence"}


def parse_lock(text: str, path: str) -> Lock:
    """The lock in ``text``; :class:`BadLock` with a line when it is not one cpdgen can trust."""
    conflict = _CONFLICT.search(text)
    if conflict:
        raise BadLock(
            "the lock holds merge conflict markers: two branches each submitted or changed it. Keep the "
            f"version that was submitted (git checkout --ours {path} or --theirs), never a mix of both",
            text.count("\n", 0, conflict.start()) + 1,
        )
    try:
        parsed = parse_yaml(text)
    except ReadError as exc:
        raise BadLock(f"the lock is not readable YAML ({exc.message}); restore it from git", exc.line) from None
    data, reader = parsed.data, _Reader(parsed.lines, "")
    if not isinstance(data, dict):
        raise BadLock("the lock is empty or not a lock; restore it from git", 1)
    version = data.get("lock")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise BadLock("'lock' must be the lock's format number (1)", reader.line(("lock",)) or 1)
    if version > LOCK_FORMAT:
        writer = data.get("cpdgen") if isinstance(data.get("cpdgen"), str) else "a newer cpdgen"
        raise BadLock(
            f"this lock was written by cpdgen {writer} in format {version}; this cpdgen ({__version__}) reads "
            f"format {LOCK_FORMAT}. Upgrade cpdgen (pip install --upgrade cpdgen)",
            reader.line(("lock",)),
        )
    unknown = sorted(set(data) - _TOP_KEYS)
    if unknown:
        raise BadLock(f"'{unknown[0]}' is not part of a lock; restore it from git", reader.line((unknown[0],)))
    diploma = str(reader.get(data, (), "diploma", "text"))
    submitted = reader.get(data, (), "submitted", "date")
    assert isinstance(submitted, date)
    categories = reader.get(data, (), "categories", "list")
    assert isinstance(categories, list)
    activities = []
    items = reader.get(data, (), "activities", "list")
    assert isinstance(items, list)
    for n, item in enumerate(items):
        loc = ("activities", n)
        if not isinstance(item, dict):
            raise BadLock("each activity in a lock is a set of keys (id:, date:, …)", reader.line(loc))
        extra = sorted(set(item) - _ACTIVITY_KEYS)
        if extra:
            raise BadLock(f"'{extra[0]}' is not part of a locked activity", reader.line((*loc, extra[0])))
        evidence = []
        for m, entry in enumerate(reader.get(item, loc, "evidence", "list", optional=True) or []):
            here = (*loc, "evidence", m)
            if not isinstance(entry, dict) or set(entry) != {"file", "sha256"}:
                raise BadLock("each evidence entry is a file: and its sha256:", reader.line(here))
            digest = entry["sha256"]
            if digest != "unreadable":
                digest = str(reader.get(entry, here, "sha256", "hash"))
            evidence.append((str(reader.get(entry, here, "file", "text")), digest))
        day = reader.get(item, loc, "date", "date")
        assert isinstance(day, date)
        reason = reader.get(item, loc, "reason", "text", optional=True)
        counts = bool(reader.get(item, loc, "counts", "bool"))
        if (reason is None) != counts or (reason is not None and reason not in rules.REASON_TEXT):
            raise BadLock(
                "an activity either counts or has a reason why not, one of: " + ", ".join(rules.REASON_TEXT),
                reader.line((*loc, "reason" if reason is not None else "counts")),
            )
        activities.append(
            LockedActivity(
                str(reader.get(item, loc, "id", "text")),
                day,
                str(reader.get(item, loc, "category", "text")),
                counts,
                str(reason) if reason is not None else None,
                str(reader.get(item, loc, "sha256", "hash")),
                tuple(evidence),
                reader.line(loc) or 0,
            )
        )
    lock = Lock(
        path=path,
        diploma=diploma,
        submitted=submitted,
        window_start=reader.get(data, (), "window_start", "date"),
        eligible=bool(reader.get(data, (), "eligible", "bool")),
        counted=int(reader.get(data, (), "counted", "count")),
        categories=tuple(str(c) for c in categories),
        set_sha256=str(reader.get(data, (), "set_sha256", "hash")),
        cpdgen=str(reader.get(data, (), "cpdgen", "text")),
        activities=tuple(activities),
        lines={key: line for key in _TOP_KEYS if (line := reader.line((key,))) is not None},
    )
    header = (lock.window_start, lock.eligible, lock.counted, lock.categories)
    if set_sha256(lock.diploma, lock.submitted, lock.activities, header) != lock.set_sha256:
        raise BadLock(
            "the lock's activities do not match its set_sha256: it was edited by hand or damaged. "
            f"Restore it from git (git log -p {path})",
            reader.line(("set_sha256",)),
        )
    if lock.counted != sum(a.counts for a in lock.activities):
        raise BadLock(
            "'counted' does not match the activities that count; restore it from git", reader.line(("counted",))
        )
    return lock


def read_locks(root: Path, content: Path, diplomas: list[rules.Diploma]) -> tuple[dict[str, Lock], list[Problem]]:
    """Every lock in ``content/diplomas/``, by diploma id, and the problems with them."""
    folder = content / LOCK_FOLDER
    locks: dict[str, Lock] = {}
    problems: list[Problem] = []
    if not folder.is_dir():
        return locks, problems
    by_file = {lock_file(content, d.id).name: d for d in diplomas}
    for path in sorted(folder.glob("*.lock")):
        rel = path.relative_to(root).as_posix()

        def refuse(line: int | None, code: str, message: str, rel: str = rel) -> None:
            problems.append(Problem(rel, line, "error", code, message))

        diploma = by_file.get(path.name)
        if diploma is None:
            listed = ", ".join(d.id for d in diplomas) or "none"
            refuse(None, "lock-without-submission", f"no diploma in portfolio.yaml has this lock's name ({listed})")
            continue
        try:
            data = read_member_file(path, content, limit=MAX_LOCK_BYTES)
            try:
                text = data.decode("utf-8")
            except UnicodeDecodeError:
                raise BadLock("the lock is not UTF-8 text; restore it from git", None) from None
            lock = parse_lock(text, rel)
        except ReadError as exc:
            refuse(exc.line, exc.code, exc.message)
            continue
        except BadLock as exc:
            refuse(exc.line, "bad-lock", exc.message)
            continue
        day = lock.submitted.isoformat()
        if lock.diploma != diploma.id:
            refuse(lock.lines.get("diploma"), "bad-lock", f"this lock is for '{lock.diploma}', not '{diploma.id}'; "
                   "restore it from git")  # fmt: skip
        elif diploma.submitted is None:
            refuse(None, "lock-without-submission", f"{diploma.id} is locked as submitted on {day}, but "
                   f"portfolio.yaml gives it no 'submitted' date; add 'submitted: {day}' to it")  # fmt: skip
        elif diploma.submitted != lock.submitted:
            refuse(lock.lines.get("submitted"), "bad-lock", f"{diploma.id} was locked as submitted on {day}, but "
                   f"portfolio.yaml says {diploma.submitted.isoformat()}; put the date back as it was")  # fmt: skip
        else:
            locks[diploma.id] = lock
    return locks, problems


# --- comparing the files with a lock ----------------------------------------------------------


def compare(
    lock: Lock,
    activities: list[Activity],
    texts: Mapping[Path, str],
    root: Path,
    hash_file: Hasher,
    broken: Mapping[str, str] | None = None,
) -> list[Problem]:
    """How the files differ from what was submitted, for the activities that counted.

    A change that would change the verdict (date, category, reflection emptied, made a
    draft) or a counted activity gone is an error; a change to the text or evidence only
    is a warning. Neither changes the verdict, which is the lock's: the site still builds.
    """
    by_id = {a.id: a for a in activities}
    problems: list[Problem] = []
    hashes: dict[str, list[Activity]] | None = None
    for locked in lock.activities:
        if not locked.counts:
            continue
        activity = by_id.get(locked.id)
        if activity is None and broken and locked.id in broken:
            problems.append(
                Problem(
                    broken[locked.id],
                    1,
                    "error",
                    "frozen-activity-changed",
                    f"{lock.diploma} was submitted for validation with this activity counted, and the file now has "
                    "errors, so cpdgen cannot read it: fix them (see above). cpdgen keeps showing the verdict as "
                    "submitted",
                    publishes=False,
                )  # fmt: skip
            )
            continue
        if activity is None:
            if hashes is None:
                hashes = {}
                for candidate in activities:
                    hashes.setdefault(activity_sha256(candidate, texts, root), []).append(candidate)
            renamed = hashes.get(locked.sha256, [])
            where = f": it is now {renamed[0].path}; give the file back its name" if renamed else ""
            problems.append(
                Problem(
                    lock.path,
                    locked.line,
                    "error",
                    "frozen-activity-missing",
                    f"{lock.diploma} was submitted for validation with {locked.id} counted, and that activity is "
                    f"gone{where}. Restore it from git (git log --diff-filter=DR --name-status -- content/), so the "
                    "record keeps what was submitted",
                    publishes=False,
                )  # fmt: skip
            )
            continue
        changes = []
        if activity.date != locked.date:
            changes.append(("date", f"date {locked.date.isoformat()} is now {activity.date.isoformat()}"))
        if activity.category != locked.category:
            changes.append(("category", f"category {locked.category} is now {activity.category}"))
        if activity.draft:
            changes.append(("draft", "it is now a draft"))
        if not activity.has_reflection:
            changes.append(("reflection", "its reflection is now empty"))
        if changes:
            key = changes[0][0]
            line = activity.lines.get((key,)) if key != "reflection" else activity.reflection_line
            problems.append(
                Problem(
                    activity.reflection_path if key == "reflection" and activity.reflection_path else activity.path,
                    line or 1,
                    "error",
                    "frozen-activity-changed",
                    f"{lock.diploma} was submitted for validation with this activity counted, and since then "
                    + "; ".join(text for _, text in changes)
                    + f". That would change the verdict it was submitted with: undo it (git diff -- {activity.path}). "
                    "cpdgen keeps showing the verdict as submitted",
                    publishes=False,
                )  # fmt: skip
            )
            continue
        edits = []
        if activity_sha256(activity, texts, root) != locked.sha256:
            edits.append("its text")
        now = dict(evidence_sha256(activity, hash_file))
        then = dict(locked.evidence)
        for name in sorted(set(now) | set(then)):
            if name not in now:
                edits.append(f"evidence {name} removed")
            elif name not in then:
                edits.append(f"evidence {name} added")
            elif now[name] != then[name]:
                edits.append(f"evidence {name} changed")
        if edits:
            problems.append(
                Problem(
                    activity.path,
                    1,
                    "warning",
                    "frozen-activity-edited",
                    f"edited since {lock.diploma} was submitted for validation ({', '.join(edits)}); "
                    "its verdict stands as submitted",
                    publishes=False,
                )  # fmt: skip
            )
    return problems
