"""Reading a whole portfolio from ``content/``: every file parsed, every problem collected."""

from __future__ import annotations

import difflib
import os
import re
import stat
from collections.abc import Callable, Mapping
from dataclasses import replace
from datetime import date
from functools import partial
from pathlib import Path, PurePosixPath
from typing import TypeVar
from urllib.parse import urlsplit

from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from cpdgen import rules
from cpdgen.cache import FileMemo
from cpdgen.frontmatter import FrontMatter, parse_yaml, read_text, split
from cpdgen.fsutil import RealPaths, is_ignored, shown_name, undecodable
from cpdgen.models import (
    MISSING_CATEGORY,
    ActivityFrontMatter,
    GoalFrontMatter,
    PortfolioFile,
    ReflectionFrontMatter,
    allowed_keys,
    check_diplomas,
    diploma_ids,
    model_at,
)
from cpdgen.portfolio import (
    ABOUT_FILE,
    GOAL_ORDER,
    HCPC_FOLDER,
    HCPC_TEXTS,
    URL_SCHEME,
    Activity,
    Evidence,
    Goal,
    MemberText,
    Portfolio,
    slugify,
)
from cpdgen.problems import CpdgenError, Problem, ReadError, Severity
from cpdgen.sections import Sections, count_words, split_reflection

MAX_EVIDENCE_BYTES = 20_000_000
_DRIVE = re.compile(r"^[A-Za-z]:([\\/]|$)")
M = TypeVar("M", bound=BaseModel)
T = TypeVar("T")


class _Collector:
    def __init__(self, root: Path, paths: RealPaths | None = None, overlay: Mapping[Path, str] | None = None):
        self.root = root
        self.overlay = overlay or {}  # files not written yet (import checks them first), by path
        self.paths = paths or RealPaths()  # folders' real paths, resolved once per load
        self._prefix = os.path.join(os.fspath(root), "")  # the root with a trailing separator
        self.problems: list[Problem] = []
        self.texts: dict[Path, str] = {}

    def rel(self, path: Path) -> str:
        # A plain string cut for the usual case (a file under the root): relative_to is slow in loops.
        text = os.fspath(path)
        if text.startswith(self._prefix) and len(text) > len(self._prefix):
            return text[len(self._prefix) :].replace(os.sep, "/")
        try:
            return path.relative_to(self.root).as_posix()
        except ValueError:
            return path.as_posix()

    def add(
        self,
        path: Path | str,
        line: int | None,
        code: str,
        message: str,
        *,
        severity: Severity = "error",
        column: int | None = None,
    ) -> None:
        where = path if isinstance(path, str) else self.rel(path)
        self.problems.append(Problem(where, line, severity, code, message, column))

    def read(self, path: Path, needs: str = "'title:' and 'date:'") -> tuple[FrontMatter, str, int] | None:
        """Front matter, body and the body's first line, or None after recording the problem.

        ``needs``: the keys the kind of file starts with, for the hint when it has no front matter."""
        try:
            text = self.overlay.get(path)
            if text is None:
                text = read_text(path, self.root / "content", self.paths)
            self.texts[path] = text
            document = split(text)
            if document.front_matter is None:
                first = document.body.lstrip("\n").split("\n", 1)[0].strip()
                hint = (
                    "; the '---' must be on the very first line"
                    if first == "---"
                    else f"; start the file with a line '---', then {needs}, then '---'"
                )
                raise ReadError("no-front-matter", "this file has no front matter" + hint, 1)
            front = parse_yaml(document.front_matter, document.front_matter_line + 1)
        except ReadError as exc:
            self.add(path, exc.line, exc.code, exc.message, column=exc.column)
            return None
        return front, document.body, document.body_line

    def validate(self, path: Path, front: FrontMatter, model: type[M]) -> M | None:
        if not isinstance(front.data, dict):
            kind = "a list" if isinstance(front.data, list) else "a single value"
            self.add(
                path, front.line_of(()), "not-mapping", f"front matter must be keys and values (title: …), not {kind}"
            )
            return None
        try:
            return model.model_validate(front.data)
        except ValidationError as exc:
            for error in exc.errors(include_url=False, include_input=False):
                code, message = _describe(error, model)
                self.add(path, front.line_of(error["loc"]), code, message)
            return None


def _key_name(loc: tuple) -> str:
    return ".".join(str(part) for part in loc)


def _describe(error: ErrorDetails, model: type[BaseModel]) -> tuple[str, str]:
    """Our code and message for a pydantic error, chosen by its type (never its English)."""
    kind, loc = error["type"], tuple(error["loc"])
    name = _key_name(loc)
    if kind == "missing":
        return "missing-field", f"'{name}' is missing"
    if kind == "extra_forbidden":
        parent = model_at(model, loc[:-1])
        known = allowed_keys(parent or model)
        close = difflib.get_close_matches(str(loc[-1]), known, n=1, cutoff=0.6)
        hint = f"did you mean '{close[0]}'?" if close else f"allowed keys: {', '.join(known)}"
        return "unknown-field", f"unknown key '{name}'; {hint}"
    if kind in ("model_type", "dict_type", "model_attributes_type"):
        return "invalid-value", f"'{name}' should be a group of keys (key: value on indented lines)"
    if kind == "list_type":
        return "invalid-value", f"'{name}' should be a list, like [a, b] or lines starting with '- '"
    if "-" in kind:  # one of ours, raised by the validators in models.py with our own message
        message = error["msg"]
        if loc and not message.startswith(str(loc[-1])):
            message = f"{name}: {message}"
        return kind, message
    return "invalid-value", f"'{name}' has a value cpdgen cannot use"


def _resolve_evidence(
    ref: str, folder: Path, content: Path, content_real: Path, real_paths: RealPaths | None = None
) -> Evidence | tuple[str, str]:
    """An Evidence, or ``(code, message)`` when the reference is unusable or unsafe."""
    text = ref.strip()
    if not text or "\x00" in text:
        return "evidence-invalid", f"evidence '{ref}' is not a file name or a link"
    scheme = URL_SCHEME.match(text)
    if scheme and not _DRIVE.match(text):
        if scheme.group(1).lower() == "https":
            url = urlsplit(text)
            if url.hostname and not re.search(r"\s", text):
                return Evidence(ref=text, url=text)
            return "evidence-invalid", f"evidence link '{text}' is not a valid web address"
        if scheme.group(1).lower() == "http":
            return "evidence-invalid", f"evidence link '{text}' must use https://"
        return "evidence-outside", f"evidence '{text}' must be a file inside content/ or an https:// link"
    posix = text.replace("\\", "/")
    if posix.startswith(("/", "~")) or _DRIVE.match(text):
        return "evidence-outside", f"evidence '{text}' is an absolute path; give a path inside content/"
    parts = posix.split("/")
    if ".." in parts:
        return "evidence-outside", f"evidence '{text}' leaves content/ ('..' is not allowed)"
    parts = [part for part in parts if part not in ("", ".")]  # as pathlib reads "a/./b//c/"
    real_paths = real_paths if real_paths is not None else RealPaths()
    content_text = os.fspath(content_real)
    for base in (os.fspath(folder), os.path.join(content, "evidence")):
        candidate = os.path.join(base, *parts)
        info: os.stat_result | None
        try:
            info = os.lstat(candidate)
        except (OSError, ValueError):
            continue
        real = real_paths.real(candidate, info) if parts else os.path.realpath(candidate)
        real_case, content_case = os.path.normcase(real), os.path.normcase(content_text)
        if real_case != content_case and not real_case.startswith(os.path.join(content_case, "")):
            return "evidence-outside", f"evidence '{text}' is a link to a file outside content/"
        if real != candidate or not stat.S_ISREG(info.st_mode):
            try:
                info = os.stat(real)
            except OSError:
                info = None
        if info is None or not stat.S_ISREG(info.st_mode):
            return "evidence-invalid", f"evidence '{text}' is not a file"
        size = info.st_size
        if size > MAX_EVIDENCE_BYTES:
            return "evidence-too-large", f"evidence '{text}' is {size:,} bytes (limit {MAX_EVIDENCE_BYTES:,})"
        rel = real[len(content_text) + 1 :].replace(os.sep, "/")
        return Evidence(ref=text, path=Path(real), rel=rel)
    return "evidence-missing", f"evidence file '{text}' not found next to this file or in content/evidence/"


_FOLDER_HOLDS = {
    "activities": "none of your activities",
    "reflections": "no reflection kept apart from its activity",
    "plan": "no goal of your plan",
}


def _markdown_files(collect: _Collector, folder: Path) -> list[Path]:
    """Activity files under ``folder``: every ``*.md``, except beside an ``index.md`` (only it counts).

    A folder that is a link, or that cannot be read, is a problem: the files in it are not
    read, and nothing may be lost without a word.
    """
    found: list[Path] = []
    planned = [path for path in collect.overlay if path.suffix == ".md" and folder in path.parents]
    if not folder.is_dir():
        if os.path.lexists(folder):  # a file, a pipe or a broken link where the folder should be
            what = _FOLDER_HOLDS.get(folder.name, "the files in it")
            collect.add(
                folder, None, "folder-not-read",
                f"content/{folder.name} is not a folder, so {what} cannot be read; make it a folder",
            )  # fmt: skip
        return sorted(planned)  # files import would write into a folder not made yet

    def unreadable(error: OSError) -> None:
        where = Path(error.filename) if error.filename else folder
        collect.add(
            where, None, "folder-not-read",
            f"cpdgen cannot read this folder ({error.strerror or error}), so the activities in it are not read",
        )  # fmt: skip

    for dirpath, dirnames, filenames in os.walk(folder, followlinks=False, onerror=unreadable):
        for name in dirnames:
            linked = os.path.join(dirpath, name)
            if not is_ignored(name) and os.path.islink(linked) and _holds_markdown(linked):
                collect.add(
                    Path(dirpath) / name, None, "folder-not-read",
                    "this folder is a link, which cpdgen does not follow, so the files in it are not read; "
                    "move the folder itself into content/",
                )  # fmt: skip
        for name in [*dirnames, *filenames]:
            if undecodable(name) and not is_ignored(name) and (name in dirnames or name.endswith(".md")):
                collect.add(
                    shown_name(collect.rel(Path(dirpath) / name)), None, "bad-file-name",
                    "this name is not UTF-8 text (an archive made on another system can leave such names), so it "
                    "cannot be part of a web address and is not read; rename it",
                )  # fmt: skip
        dirnames[:] = sorted(
            d
            for d in dirnames
            if not is_ignored(d) and not undecodable(d) and not os.path.islink(os.path.join(dirpath, d))
        )
        names = [f for f in filenames if f.endswith(".md") and not is_ignored(f) and not undecodable(f)]
        if "index.md" in names and Path(dirpath) != folder:
            found.append(Path(dirpath) / "index.md")
            dirnames[:] = []  # an activity folder's other files are its evidence
            continue
        found.extend(Path(dirpath) / name for name in sorted(names))
    return sorted(set(found) | set(planned)) if planned else found


def _holds_markdown(folder: str, limit: int = 5000) -> bool:
    """Whether a (linked) folder holds Markdown files, looking at no more than ``limit`` names."""
    seen = 0
    for _dirpath, _dirnames, filenames in os.walk(folder, followlinks=False):
        if any(name.endswith(".md") for name in filenames):
            return True
        seen += len(filenames) + len(_dirnames)
        if seen > limit:
            return True  # too large to be sure: say so rather than lose activities silently
    return False


def _stray_markdown(content: Path) -> list[Path]:
    """Markdown files in ``content/`` that cpdgen does not read, so the member can move them."""
    stray: list[Path] = []
    known = {content / HCPC_FOLDER / name for name in HCPC_TEXTS.values()} | {content / ABOUT_FILE}
    for dirpath, dirnames, filenames in os.walk(content, followlinks=False):
        here = Path(dirpath)
        if here == content:
            dirnames[:] = [d for d in dirnames if d not in ("activities", "reflections", "evidence", "plan")]
        dirnames[:] = sorted(d for d in dirnames if not is_ignored(d))
        stray.extend(
            here / f for f in sorted(filenames) if f.endswith(".md") and not is_ignored(f) and here / f not in known
        )
    return stray


def _stray_message(path: Path, content: Path) -> str:
    if path.parent == content / HCPC_FOLDER:
        names = list(HCPC_TEXTS.values())
        close = difflib.get_close_matches(path.name, names, n=1, cutoff=0.6)
        hint = f"; did you mean {close[0]}?" if close else ""
        return f"this file is not read: content/{HCPC_FOLDER}/ holds {', '.join(names[:-1])} and {names[-1]}{hint}"
    return (
        "this file is not read: activities go in content/activities/, reflections in content/reflections/, "
        "the goals of your plan in content/plan/"
    )


def _read_hcpc_texts(collect: _Collector, content: Path) -> dict[str, MemberText]:
    """The member's texts for the HCPC profile (content/hcpc/), those that exist; a file that
    cannot be read is a problem at it."""
    found: dict[str, MemberText] = {}
    for part, name in HCPC_TEXTS.items():
        path = content / HCPC_FOLDER / name
        if not os.path.lexists(path):
            continue
        try:
            text = collect.texts[path] = read_text(path, content, collect.paths)
        except ReadError as exc:
            if exc.code != "empty-file":  # an empty text is one not written yet: the profile says so
                collect.add(path, exc.line, exc.code, exc.message, column=exc.column)
                continue
            text = ""
        # The profile shows an unclosed comment as text: a note to self would go to the HCPC.
        what = "the profile shows it, and everything after it, as text (a note to self included)"
        _unclosed_comment(collect, path, text, 1, what)
        found[part] = MemberText(collect.rel(path), path, text)
    return found


def _read_about(collect: _Collector, content: Path) -> MemberText | None:
    """The site's About page (content/about.md) when it exists; a file that cannot be read is a problem at it."""
    path = content / ABOUT_FILE
    if not os.path.lexists(path):
        return None
    try:
        text = collect.texts[path] = read_text(path, content, collect.paths)
    except ReadError as exc:
        if exc.code != "empty-file":
            collect.add(path, exc.line, exc.code, exc.message, column=exc.column)
            return None
        text = ""
    return MemberText(collect.rel(path), path, text)


def _read_settings(collect: _Collector, content: Path) -> tuple[PortfolioFile | None, bool, dict]:
    path = content / "portfolio.yaml"
    if not os.path.lexists(path):
        alt = content / "portfolio.yml"
        hint = " (rename portfolio.yml to portfolio.yaml)" if alt.is_file() else "; run 'cpdgen init' to start one"
        collect.add(path, None, "no-portfolio", "content/portfolio.yaml is missing" + hint)
        return None, True, {}
    try:
        text = collect.texts[path] = read_text(path, content)
        front = parse_yaml(text, 1)
    except ReadError as exc:
        collect.add(path, exc.line, exc.code, exc.message, column=exc.column)
        return None, True, {}
    if not isinstance(front.data, dict):
        collect.add(path, 1, "not-mapping", "portfolio.yaml must be keys and values (member:, diplomas:, site:)")
        return None, True, front.lines
    settings = collect.validate(path, front, PortfolioFile)
    if settings is not None:
        for loc, code, message in check_diplomas(settings.diplomas):
            collect.add(path, front.line_of(loc), code, message)
    return settings, False, front.lines


def parse_versions() -> tuple[str, ...]:
    """The libraries whose versions decide what a file is parsed into (for the parsed-file cache)."""
    import pydantic
    import pydantic_core
    import yaml

    return (pydantic.VERSION, pydantic_core.__version__, yaml.__version__)


def _alone(collect: _Collector, read: Callable[[_Collector], T]) -> tuple[T, list[Problem], dict[Path, str]]:
    """``read(collector)`` with a collector of its own: the result, its problems and the texts read."""
    local = _Collector(collect.root, collect.paths, collect.overlay)
    return read(local), local.problems, local.texts


def _read_ahead(collect: _Collector, cache: FileMemo, activities: list[Path], content: Path) -> None:
    """Parse the activity files and read the evidence documents on every core at once, into
    ``cache``, where the reading one file at a time finds them: a first check or build of a
    large portfolio. Only what the file-by-file reading would compute, in the same way; any
    file whose result does not come back is read there as usual."""
    from cpdgen.parallel import forked_map, worker_count
    from cpdgen.privacy.scan import DOCUMENT, document_of, documents_under

    on_disk = [path for path in activities if path not in collect.overlay]
    if not worker_count(len(on_disk)):
        return
    jobs: list[tuple[str, Path, tuple, Callable[[], object]]] = [
        ("activity", path, key, partial(_alone, collect, partial(_parse_activity, path=path)))
        for path, key in cache.missing("activity", on_disk)
    ]
    jobs += [
        (DOCUMENT, path, key, partial(document_of, path, content))
        for path, key in cache.missing(DOCUMENT, documents_under(content))
    ]
    jobs.sort(key=lambda job: job[1])  # the documents spread among the activities they belong to

    def run(index: int) -> tuple[bool, object]:
        try:
            return True, jobs[index][3]()
        except Exception:  # noqa: BLE001 - read again one at a time, where a failure is reported as usual
            return False, None

    try:
        results = forked_map(run, len(jobs))
    except Exception:  # noqa: BLE001 - e.g. a result that does not pickle: everything is read one at a time
        return
    for (kind, path, key, _), (done, value) in zip(jobs, results or (), strict=False):
        if done:
            cache.put(kind, path, key, value)


def _per_file(collect: _Collector, cache: FileMemo | None, kind: str, path: Path, read: Callable[[_Collector], T]) -> T:
    """Run ``read(collector)`` for one file (or reuse its cached result), keeping its problems and text."""

    compute = partial(_alone, collect, read)
    planned = path in collect.overlay  # not on disk yet: nothing to key a cache entry on
    result, problems, texts = cache.get(kind, path, compute) if cache and not planned else compute()
    collect.problems.extend(problems)
    collect.texts.update(texts)
    return result


def load_portfolio(
    root: Path, cache: FileMemo | None = None, *, overlay: Mapping[Path, str] | None = None
) -> Portfolio:
    """Read ``root/content``: settings, activities, reflections. Bad files add problems; loading goes on.

    ``overlay`` adds Markdown files that are not written yet (``cpdgen import`` checks what it
    would write): each is read from its text, as if it were at its path.
    """
    root = root.resolve() if root.exists() else root
    content = root / "content"
    if not content.is_dir():
        raise CpdgenError(f"no content/ folder in {root}; run cpdgen in your portfolio's folder, or give --root")
    cache = cache if cache is not None else FileMemo()  # in memory: each file is still read once
    content_real = content.resolve()
    collect = _Collector(root, overlay=overlay)
    real_paths = collect.paths
    settings, setup_failed, settings_lines = _read_settings(collect, content)
    diplomas: list[rules.Diploma] | None = None
    if settings is not None and not collect.problems:
        diplomas = [
            rules.Diploma(diploma_id, d.start, d.submitted, d.issued)
            for diploma_id, d in zip(diploma_ids(settings.diplomas), settings.diplomas, strict=True)
        ]
    min_words = settings.site.reflection_min_words if settings else 50

    activities: dict[str, Activity] = {}
    by_slug: dict[str, Activity] = {}
    activity_files = _markdown_files(collect, content / "activities")
    _read_ahead(collect, cache, activity_files, content)
    for path in activity_files:
        activity = _read_activity(collect, cache, path, content, content_real, real_paths)
        if not isinstance(activity, Activity):
            continue
        clash = by_slug.get(activity.slug.casefold())
        if clash is not None:
            collect.add(
                path,
                1,
                "duplicate-id",
                f"activity id '{activity.id}' is already used by {clash.path}; rename one of the files",
            )
            continue
        by_slug[activity.slug.casefold()] = activity
        activities[activity.id] = activity

    for path in _markdown_files(collect, content / "reflections"):
        parsed = _per_file(collect, cache, "reflection", path, partial(_read_reflection, path=path))
        if parsed is not None:
            _attach_reflection(collect, path, parsed, activities)

    goals = _read_goals(collect, cache, content)
    _check_goal_links(collect, activities, goals)

    for path in _stray_markdown(content):
        collect.add(path, None, "not-read", _stray_message(path, content), severity="warning")
    hcpc_texts = _read_hcpc_texts(collect, content)
    about = _read_about(collect, content)

    for activity in activities.values():
        if activity.draft or not activity.has_reflection or activity.reflection is None:
            continue
        words = count_words(activity.reflection)
        if words < min_words:
            collect.add(
                activity.reflection_path or activity.path,
                activity.reflection_line,
                "short-reflection",
                f"the reflection has {words} words; aim for at least {min_words} "
                "(what happened, what you learnt, what you will do next)",
                severity="warning",
            )

    ordered = sorted(activities.values(), key=lambda a: (a.date, a.id))
    frozen = _read_locks(collect, cache, content, diplomas, ordered)
    portfolio = Portfolio(
        root, content, settings, diplomas, ordered, collect.problems, setup_failed, collect.texts, settings_lines
    )
    portfolio.frozen = frozen
    portfolio.hcpc_texts = hcpc_texts
    portfolio.about = about
    portfolio.goals = sorted(goals.values(), key=lambda g: (GOAL_ORDER[g.status], g.meta.target or date.max, g.id))
    # Patient identifiers are problems like any other, so check, build and serve all see them.
    from cpdgen.privacy.scan import scan_portfolio

    portfolio.problems.extend(scan_portfolio(portfolio, cache))
    return portfolio


def _read_locks(
    collect: _Collector, cache: FileMemo | None, content: Path, diplomas: list[rules.Diploma] | None,
    activities: list[Activity],
) -> dict[str, rules.Frozen]:  # fmt: skip
    """Submitted diplomas' locks, and how the files now differ from each (problems)."""
    from cpdgen import lock

    if diplomas is None:
        return {}
    locks, problems = lock.read_locks(collect.root, content, diplomas)
    collect.problems.extend(problems)

    def hash_file(path: Path) -> str | None:
        compute = partial(lock.file_sha256, path, content)
        return cache.get("sha256", path, compute) if cache is not None else compute()

    broken: dict[str, str] = {}  # activity ids whose files have errors: not gone, only unread
    for problem in collect.problems:
        if problem.severity == "error" and problem.path.startswith("content/activities/"):
            name = PurePosixPath(problem.path)
            broken.setdefault(name.parent.name if name.name == "index.md" else name.stem, problem.path)
    for found in locks.values():
        collect.problems.extend(lock.compare(found, activities, collect.texts, collect.root, hash_file, broken))
    return {diploma_id: found.frozen() for diploma_id, found in locks.items()}


def read_activity(root: Path, path: Path, cache: FileMemo | None = None) -> tuple[Activity | None, list[Problem], str]:
    """One activity file on its own: the activity (None when it has an error), its problems, its text.

    What depends on other files (its id being unique, a reflection kept in content/reflections/,
    privacy allow lists) is not checked here: :func:`load_portfolio` does that.
    """
    root = root.resolve()
    content = root / "content"
    collect = _Collector(root)
    activity = _read_activity(collect, cache, path, content, content.resolve())
    return activity, collect.problems, collect.texts.get(path, "")


def _read_activity(
    collect: _Collector,
    cache: FileMemo | None,
    path: Path,
    content: Path,
    content_real: Path,
    real_paths: RealPaths | None = None,
) -> Activity | None:
    local = _Collector(collect.root, collect.paths, collect.overlay)  # this file's problems
    try:
        return _check_activity(local, cache, path, content, content_real, real_paths)
    finally:
        collect.problems.extend(local.problems)
        collect.texts.update(local.texts)


def _parse_activity(
    collect: _Collector, path: Path
) -> tuple[FrontMatter, int, ActivityFrontMatter | None, Sections] | None:
    """What one activity file says on its own: front matter, validated fields, sections (cacheable)."""
    parsed = collect.read(path)
    if parsed is None:
        return None
    front, body, body_line = parsed
    meta = collect.validate(path, front, ActivityFrontMatter)
    sections = split_reflection(body)
    for extra in sections.extra_headings:
        collect.add(path, body_line + extra - 1, "duplicate-reflection", "a second 'Reflection' section; keep one")
    for line, message in sections.near_misses:
        collect.add(path, body_line + line - 1, "reflection-heading", message, severity="warning")
    _unclosed_comment(collect, path, body, body_line)
    return front, body_line, meta if isinstance(meta, ActivityFrontMatter) else None, sections


def _unclosed_comment(collect: _Collector, path: Path, body: str, body_line: int, what: str | None = None) -> None:
    """A '<!--' never closed hides the rest of the file, the reflection with it: say so."""
    opened = body.rfind("<!--")
    if opened >= 0 and "-->" not in body[opened + 4 :]:
        what = what or "everything after it is hidden from the page (and from the reflection)"
        collect.add(
            path, body_line + body.count("\n", 0, opened), "unclosed-comment",
            f"this comment is never closed with '-->', so {what}; close it, or delete the '<!--'",
            severity="warning",
        )  # fmt: skip


def _check_activity(
    collect: _Collector,
    cache: FileMemo | None,
    path: Path,
    content: Path,
    content_real: Path,
    real_paths: RealPaths | None,
) -> Activity | None:
    parsed = _per_file(collect, cache, "activity", path, lambda c: _parse_activity(c, path))
    if parsed is None:
        return None
    front, body_line, meta, sections = parsed
    # Evidence is checked even when another key is wrong, so one run reports everything.
    refs = meta.evidence if meta is not None else _raw_refs(front.data)
    evidence: list[Evidence] = []
    for index, ref in enumerate(refs):
        found = _resolve_evidence(ref, path.parent, content, content_real, real_paths)
        if isinstance(found, Evidence):
            evidence.append(found)
        else:
            collect.add(path, front.line_of(("evidence", index)), found[0], found[1])
    if meta is None:
        # The model's cross-field check runs only once every field is valid; say it now too.
        said = any(p.code == "missing-category" and p.path == collect.rel(path) for p in collect.problems)
        if isinstance(front.data, dict) and not {"category", "type"} & front.data.keys() and not said:
            collect.add(path, front.line_of(()), "missing-category", MISSING_CATEGORY)
        return None
    _check_standards(collect, path, front, meta)
    activity_id = path.parent.name if path.name == "index.md" else path.stem
    return Activity(
        id=activity_id,
        slug=slugify(activity_id),
        path=collect.rel(path),
        source=path,
        meta=meta,
        description=sections.description,
        description_line=body_line,
        reflection=sections.reflection,
        reflection_path=collect.rel(path) if sections.reflection is not None else None,
        reflection_line=body_line + sections.reflection_line - 1 if sections.reflection_line else None,
        evidence=tuple(evidence),
        lines=front.lines,
    )


# HCPC standards 1 (keep a continuous, up-to-date and accurate record) and 5 (present a
# profile on request) are met by the record as a whole; one activity shows 2, 3 or 4.
RECORD_STANDARDS = {1: "keeping the record", 5: "presenting a profile"}


def _check_standards(collect: _Collector, path: Path, front: FrontMatter, meta: ActivityFrontMatter) -> None:
    named = [n for n in meta.standards if n in RECORD_STANDARDS]
    if not named:
        return
    numbers = " and ".join(str(n) for n in named)
    what = "; ".join(RECORD_STANDARDS[n] for n in named)
    collect.add(
        path,
        front.line_of(("standards",)),
        "standard-of-the-record",
        f"HCPC standard{'s' if len(named) > 1 else ''} {numbers} ({what}) "
        f"describe{'' if len(named) > 1 else 's'} your whole CPD record, not one activity; an activity shows "
        f"standards 2 to 4: remove {numbers} from 'standards'",
        severity="warning",
    )


def _raw_refs(data: object) -> list[str]:
    refs = data.get("evidence") if isinstance(data, dict) else None
    if isinstance(refs, str):
        refs = refs.split(",")
    return [ref for ref in refs if isinstance(ref, str)] if isinstance(refs, list) else []


def _parse_goal(collect: _Collector, path: Path) -> tuple[FrontMatter, str, int, GoalFrontMatter | None] | None:
    """What one goal file says: front matter, body, the body's first line, validated fields (cacheable)."""
    parsed = collect.read(path, "'title:' (and 'status:', 'target:', 'review:' if you like)")
    if parsed is None:
        return None
    front, body, body_line = parsed
    _unclosed_comment(collect, path, body, body_line)
    meta = collect.validate(path, front, GoalFrontMatter)
    return front, body, body_line, meta if isinstance(meta, GoalFrontMatter) else None


def _read_goals(collect: _Collector, cache: FileMemo | None, content: Path) -> dict[str, Goal]:
    """The development plan: one goal per file in ``content/plan/``, by id."""
    goals: dict[str, Goal] = {}
    by_slug: dict[str, Goal] = {}
    for path in _markdown_files(collect, content / "plan"):
        parsed = _per_file(collect, cache, "goal", path, partial(_parse_goal, path=path))
        if parsed is None:
            continue
        front, body, body_line, meta = parsed
        if meta is None:
            continue
        goal_id = path.parent.name if path.name == "index.md" else path.stem
        goal = Goal(goal_id, slugify(goal_id, "goal"), collect.rel(path), path, meta, body, body_line, front.lines)
        clash = by_slug.get(goal.slug.casefold())
        if clash is not None:
            collect.add(path, 1, "duplicate-id", f"goal id '{goal_id}' is already used by {clash.path}; rename one")
            continue
        by_slug[goal.slug.casefold()] = goal
        goals[goal_id] = goal
    return goals


def _check_goal_links(collect: _Collector, activities: dict[str, Activity], goals: dict[str, Goal]) -> None:
    """Every ``goal:`` names a goal of the plan; an unknown one is an error with the nearest id."""
    for activity in activities.values():
        wanted = activity.goal
        if wanted is None or wanted in goals:
            continue
        close = difflib.get_close_matches(wanted, list(goals), n=1, cutoff=0.6)
        if close:
            hint = f"; did you mean '{close[0]}'?"
        elif goals:
            hint = f"; the goals are: {', '.join(sorted(goals))}"
        else:
            hint = "; a goal is a file in content/plan/, and its id is the file's name without .md"
        line = activity.lines.get(("goal",))
        message = f"no goal of your plan has the id '{wanted}'{hint}"
        # An error in a private activity is reported, but does not stop the public site.
        collect.problems.append(
            Problem(activity.path, line, "error", "unknown-goal", message, publishes=activity.published)
        )


def _read_reflection(collect: _Collector, path: Path) -> tuple[str, int, str, int] | None:
    """``(activity id, its line, body, body's first line)`` of a reflection file, or None."""
    parsed = collect.read(path, "'activity:' with the id of the activity it reflects on")
    if parsed is None:
        return None
    front, body, body_line = parsed
    _unclosed_comment(collect, path, body, body_line)
    meta = collect.validate(path, front, ReflectionFrontMatter)
    if not isinstance(meta, ReflectionFrontMatter):
        return None
    return meta.activity, front.line_of(("activity",)), body, body_line


def _attach_reflection(
    collect: _Collector, path: Path, parsed: tuple[str, int, str, int], activities: dict[str, Activity]
) -> None:
    activity_id, line, body, body_line = parsed
    activity = activities.get(activity_id)
    if activity is None:
        close = difflib.get_close_matches(activity_id, list(activities), n=1, cutoff=0.6)
        hint = f"; did you mean '{close[0]}'?" if close else ""
        collect.add(path, line, "unknown-activity", f"no activity has the id '{activity_id}'{hint}")
        return
    if activity.reflection is not None:
        where = f"{activity.reflection_path}:{activity.reflection_line}"
        collect.add(path, line, "duplicate-reflection", f"'{activity.id}' already has a reflection ({where}); keep one")
        return
    activities[activity.id] = replace(
        activity,
        reflection=body.strip("\n"),
        reflection_path=collect.rel(path),
        reflection_line=body_line,
    )
