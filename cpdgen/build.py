"""``cpdgen build``: load, judge, refuse on errors, render into a temporary folder, swap it in.

The pieces are reusable by the dev server:

- :class:`SiteRenderer` keeps what can be reused between builds in one process (the
  Jinja environment, rendered Markdown, file digests) and renders a planned site into
  any folder, either fresh (reusing unchanged files of a previous build by hard link)
  or in place (writing only the files that changed and removing the ones it no longer
  needs). It can add a live-reload snippet to every page, for the dev server only.
- :func:`build_site` is the whole ``cpdgen build``.

Every output folder holds a marker file (``.cpdgen-output``) listing what cpdgen wrote
there, with a key per file: a hash of everything the file was made from. A page whose
key did not change is not rendered again.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import stat
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Callable

from cpdgen import __version__, fsutil, stamp
from cpdgen.problems import CpdgenError, Problem, blocks_publishing, sort_problems

if TYPE_CHECKING:  # the heavy modules are imported when a build really renders
    from cpdgen.html import SiteFile, SitePlan
    from cpdgen.loader import Portfolio
    from cpdgen.rules import Assessment

MANIFEST_FORMAT = 1
# Every page's key holds its whole context, so a change of data re-renders it; the code that
# turns a context into bytes (the Jinja set-up) and cpdgen's version are part of the key too.
_CODE_ID = hashlib.sha256((Path(__file__).parent / "render.py").read_bytes() + __version__.encode()).hexdigest()[:16]


@dataclass
class Prepared:
    """A portfolio read, judged and planned, before anything is written."""

    portfolio: Portfolio
    as_of: date
    assessment: Assessment | None
    problems: list[Problem]
    plan: SitePlan | None
    records: dict = field(default_factory=dict)
    pdf_jobs: dict = field(default_factory=dict)  # diploma id -> pdf.PdfJob, checked before anything is written

    @property
    def setup_failed(self) -> bool:
        return self.portfolio.setup_failed


@dataclass
class RenderStats:
    """What one render did: files rendered or copied anew, and files reused unchanged."""

    written: int = 0
    reused: int = 0
    removed: int = 0
    manifest: dict = field(default_factory=dict)


@dataclass
class BuildResult:
    """The outcome of :func:`build_site`."""

    out: Path
    as_of: date
    problems: list[Problem]
    written: bool
    setup_failed: bool = False
    files: int = 0
    stats: RenderStats | None = None
    unchanged: bool = False  # nothing to do: the site already was this build's output

    @property
    def exit_code(self) -> int:
        if self.setup_failed:
            return 2
        return 0 if self.written else 1


def empty_records() -> dict:
    """The download links of a site without PDF and CSV files."""
    return {"diplomas": {}, "activities_csv": "", "files": []}


def write_records(
    folder: Path,
    prepared: Prepared,
    *,
    cache_dir: Path | None,
    progress: Callable[[int, int, str], None] | None = None,
) -> None:
    """Write the downloads into ``folder`` (the temporary build folder) and fill ``prepared.records``.

    ``diplomas/<slug>/<id>.csv`` for every diploma, ``diplomas/<slug>/<id>.pdf`` when the
    build makes PDFs (their jobs were checked in ``prepare``), and ``activities.csv``. All
    are public: private and draft activities are left out, and each file says how many.
    An unchanged PDF comes from ``cache_dir`` instead of being rendered again.
    """
    from cpdgen import csvfile
    from cpdgen.export import file_name
    from cpdgen.html import diploma_slug

    assessment, portfolio, records = prepared.assessment, prepared.portfolio, prepared.records
    assert assessment is not None

    def put(path: str, data: bytes) -> str:
        target = fsutil.safe_join(folder, path)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.unlink(missing_ok=True)  # a recycled folder's file may be linked from the site: write a new one
        target.write_bytes(data)
        records["files"].append(path)
        return path

    jobs = prepared.pdf_jobs
    lines: dict = {}  # each activity's CSV row, formatted once for all the CSVs
    for n, diploma in enumerate(assessment.diplomas, start=1):
        base = f"diplomas/{diploma_slug(diploma.id)}/{file_name(diploma.id)}"
        data = csvfile.diploma_csv(portfolio, assessment, diploma.id, public=True, lines=lines)
        entry = {"csv": put(f"{base}.csv", data)}
        entry["pdf"] = ""
        job = jobs.get(diploma.id)
        if job is not None:
            data = job.cached(cache_dir)
            if data is None:
                if progress is not None:
                    progress(n, len(assessment.diplomas), diploma.id)
                data = job.render(cache_dir)
            entry["pdf"] = put(f"{base}.pdf", data)
        records["diplomas"][diploma.id] = entry
    everything = csvfile.activities_csv(portfolio, assessment, public=True, lines=lines)
    records["activities_csv"] = put("activities.csv", everything)


def read_manifest(folder: Path) -> dict[str, list]:
    """What cpdgen wrote in ``folder`` (``{path: [key, size]}``), from its marker; empty if unknown."""
    try:
        data = json.loads((folder / fsutil.MARKER).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    if not isinstance(data, dict) or data.get("format") != MANIFEST_FORMAT or not isinstance(data.get("files"), dict):
        return {}
    return data["files"]


def manifest_text(files: dict[str, list]) -> str:
    """The marker file's text: a note for people, and the list of files with their keys."""
    return json.dumps(
        {
            "note": fsutil.MARKER_TEXT.strip(),
            "format": MANIFEST_FORMAT,
            "files": {path: files[path] for path in sorted(files)},
        },
        indent=0,
        sort_keys=True,
    ) + "\n"


def _json_default(value: object) -> str:
    if isinstance(value, (date, Path)):
        return str(value)
    raise TypeError(f"page context holds a {type(value).__name__}; contexts must be plain data")


class SiteRenderer:
    """Renders sites of one portfolio, reusing what did not change since the previous render.

    One object lives as long as its user wants reuse: ``cpdgen build`` makes one per run
    (the Markdown cache is also saved to disk between runs), ``cpdgen serve`` keeps one
    for the whole session. ``live_reload`` is HTML added before ``</body>`` of every page:
    give it only for pages served by the dev server, never for ``site/``.
    """

    def __init__(self, root: Path, *, cache_dir: Path | None = None, use_disk_cache: bool = True, live_reload: str = ""):
        from cpdgen.loader import LoadCache
        from cpdgen.render import MarkdownCache

        self.root = root.resolve()
        cache_file = load_file = self.bytecode_dir = None
        if use_disk_cache:
            folder = cache_dir or fsutil.default_cache_dir()
            digest = hashlib.sha256(str(self.root).encode("utf-8", "surrogatepass")).hexdigest()[:16]
            cache_file = folder / f"markdown-{digest}.json"
            load_file = folder / f"load-{digest}.pickle"
            self.bytecode_dir = folder / "jinja"
        self.markdown = MarkdownCache(cache_file)
        self.load_cache = LoadCache(load_file)  # each file parsed once while it does not change
        self.live_reload = live_reload
        self._env = None
        self._digests: dict[tuple, str] = {}

    # -- planning ----------------------------------------------------------------------

    def prepare(self, *, as_of: date | None = None, strict: bool = False, pdf: bool = False) -> Prepared:
        """Read and judge the portfolio and plan every page; nothing is written.

        ``plan`` is None when the build must not go ahead: ``problems`` has an error (or,
        with ``strict``, a warning), or ``portfolio.yaml`` could not be used.
        """
        from markupsafe import Markup

        from cpdgen.html import plan_site
        from cpdgen.loader import load_portfolio, resolve_as_of

        portfolio = load_portfolio(self.root, self.load_cache)
        day = resolve_as_of(portfolio.timezone, as_of)
        assessment = portfolio.assess(day)
        problems = list(portfolio.problems)
        if assessment is None or portfolio.settings is None or blocks_publishing(problems, strict):
            return Prepared(portfolio, day, assessment, sort_problems(problems), None)
        records = empty_records()
        published = [a for a in portfolio.activities if a.published]
        texts = [a.description for a in published]
        if portfolio.settings.publish.reflections:
            texts += [a.reflection or "" for a in published]
        self.markdown.prefill(texts)  # a first build renders the Markdown on every core
        extra = {"live_reload": Markup(self.live_reload)}
        plan = plan_site(
            portfolio,
            assessment,
            render_markdown=self.markdown.render,
            records=records,
            theme_files=self.theme_files(),
            extra=extra,
        )
        problems.extend(plan.problems)
        jobs = {}
        if pdf and not blocks_publishing(problems, strict):
            from cpdgen.pdf import prepare_diploma_pdf

            for diploma in assessment.diplomas:
                jobs[diploma.id] = job = prepare_diploma_pdf(portfolio, assessment, diploma.id, public=True)
                problems.extend(job.problems)
        ok = not blocks_publishing(problems, strict)
        return Prepared(portfolio, day, assessment, sort_problems(problems), plan if ok else None, records, jobs)

    def theme_files(self) -> dict[str, Path]:
        """Files of the theme copied as they are: the stylesheet (the portfolio's own if it has one)."""
        from cpdgen.render import THEME_DIR

        own = self.root / "templates" / "style.css"
        return {"style.css": own if own.is_file() else THEME_DIR / "style.css"}

    @property
    def env(self):
        if self._env is None:
            from cpdgen.render import make_environment

            bytecode_dir = self.bytecode_dir
            if bytecode_dir is not None:
                try:
                    bytecode_dir.mkdir(parents=True, exist_ok=True)
                except OSError:
                    bytecode_dir = None  # no cache folder: compile templates every time
            self._env = make_environment(self.root, bytecode_dir)
        return self._env

    # -- rendering -----------------------------------------------------------------------

    def _digest(self, path: Path) -> str:
        stat = path.stat()
        marker = (str(path), stat.st_size, stat.st_mtime_ns, stat.st_ctime_ns, stat.st_ino)
        known = self._digests.get(marker)
        if known is None:
            digest = hashlib.sha256()
            with open(path, "rb") as handle:
                for block in iter(lambda: handle.read(1 << 20), b""):
                    digest.update(block)
            known = self._digests[marker] = digest.hexdigest()
        return known

    def _file_key(self, item: SiteFile) -> str:
        version = fsutil.COPY_EVIDENCE_VERSION if item.kind == "evidence" else 0
        return f"{item.kind}-{version}-{self._digest(item.source)}"

    def output_keys(self, prepared: Prepared) -> dict[str, str]:
        """Every planned output path with its key: a hash of everything the file is made from."""
        plan = prepared.plan
        if plan is None:
            raise ValueError("nothing to render: the portfolio has problems that stop the build")
        from cpdgen.render import templates_fingerprint

        fingerprint = _CODE_ID + templates_fingerprint(self.env)
        keys: dict[str, str] = {}
        for page in plan.pages:
            context = json.dumps(page.context, sort_keys=True, separators=(",", ":"), default=_json_default)
            keys[page.path] = hashlib.sha256(
                f"{fingerprint}\0{page.template}\0{context}".encode("utf-8", "surrogatepass")
            ).hexdigest()
        for item in plan.files:
            keys[item.path] = self._file_key(item)
        return keys

    def unchanged(self, folder: Path, prepared: Prepared, keys: dict[str, str] | None = None) -> bool:
        """True when ``folder`` already holds exactly this site (same files, same keys, nothing else of ours)."""
        old = read_manifest(folder)
        keys = keys if keys is not None else self.output_keys(prepared)
        if prepared.records.get("files") or set(old) != set(keys):
            return False
        for path, key in keys.items():
            entry = old[path]
            if entry[0] != key:
                return False
            try:
                if fsutil.safe_join(folder, path).stat().st_size != entry[1]:
                    return False
            except OSError:
                return False
        return True

    def render_into(
        self,
        folder: Path,
        prepared: Prepared,
        *,
        previous: Path | None = None,
        keys: dict[str, str] | None = None,
        update: bool = False,
    ) -> RenderStats:
        """Write the planned site into ``folder``.

        With ``previous`` (a folder of an earlier build, marked by cpdgen), files whose key
        did not change are not rendered again: when ``previous`` is ``folder`` itself they
        are left untouched (and files cpdgen no longer needs are removed), otherwise they
        are hard-linked (or copied) from it. Writes into ``folder`` in place are atomic.
        With ``update``, ``folder`` holds an older build (a recycled spare, see
        :func:`recycle_spare`): its files whose key did not change stay, the others are
        replaced by new files (never written into: they may be linked from ``previous``).
        """
        plan = prepared.plan
        if plan is None:
            raise ValueError("nothing to render: the portfolio has problems that stop the build")
        keys = keys if keys is not None else self.output_keys(prepared)
        same = previous is not None and previous.resolve() == folder.resolve()
        in_place = same or update
        if same and self.unchanged(folder, prepared, keys):
            return RenderStats(reused=len(keys), manifest=read_manifest(folder))  # not even the marker is rewritten
        old = read_manifest(previous) if previous is not None else {}
        here = read_manifest(folder) if update else {}
        stats = RenderStats()
        manifest: dict[str, list] = {}
        # Folders are made by whichever thread needs one first; another thread that needs the
        # same folder waits until it exists (not merely until someone has started making it).
        made: dict[Path, threading.Event] = {folder: threading.Event()}
        made[folder].set()
        made_lock = threading.Lock()

        def target_of(path: str) -> Path:
            target = fsutil.safe_join(folder, path)
            with made_lock:
                ready = made.get(target.parent)
                mine = ready is None
                if mine:
                    ready = made[target.parent] = threading.Event()
            if mine:
                try:
                    target.parent.mkdir(parents=True, exist_ok=True)
                finally:
                    ready.set()
            else:
                ready.wait()
            return target

        def kept(path: str, key: str) -> list | None:
            """The manifest entry of an up-to-date file already in the recycled ``folder``."""
            entry = here.get(path)
            if not entry or entry[0] != key:
                return None
            try:
                info = os.lstat(fsutil.safe_join(folder, path))
            except OSError:
                return None
            return entry if stat.S_ISREG(info.st_mode) and info.st_size == entry[1] else None

        def reusable(path: str, key: str) -> Path | None:
            entry = old.get(path)
            if not entry or entry[0] != key or previous is None:
                return None
            candidate = fsutil.safe_join(previous, path)
            try:
                return candidate if candidate.stat().st_size == entry[1] else None
            except OSError:
                return None

        def write_page(path: str, data: bytes) -> None:
            self._write(target_of(path), data, in_place)

        def reuse_file(path: str, source: Path) -> None:
            target = target_of(path)
            if source != target:
                self._place(source, target, in_place)

        def copy_group(items: list[SiteFile]) -> list[tuple[str, int]]:
            """Copy one source file once, then link its other places to that copy."""
            first = target_of(items[0].path)
            if items[0].kind == "evidence":
                if in_place:
                    temp = first.with_name(f".{first.name}.cpdgen-tmp")
                    fsutil.copy_evidence(items[0].source, temp)
                    temp.replace(first)
                else:
                    fsutil.copy_evidence(items[0].source, first)
            else:
                self._write(first, items[0].source.read_bytes(), in_place)
            size = first.stat().st_size
            for item in items[1:]:
                reuse_file(item.path, first)
            return [(item.path, size) for item in items]

        for path in prepared.records.get("files", []):
            manifest[path] = ["records", fsutil.safe_join(folder, path).stat().st_size]

        # Rendering keeps one core busy; file-system work is done beside it by two threads.
        with ThreadPoolExecutor(max_workers=2) as pool:
            jobs = []
            for page in plan.pages:
                key = keys[page.path]
                entry = kept(page.path, key) if update else None
                if entry is not None:
                    manifest[page.path] = [key, entry[1]]
                    stats.reused += 1
                    continue
                reuse = reusable(page.path, key)
                if reuse is not None:
                    if not same:  # rendering into previous itself: the file is already where it belongs
                        jobs.append(pool.submit(reuse_file, page.path, reuse))
                    manifest[page.path] = [key, old[page.path][1]]
                    stats.reused += 1
                    continue
                data = self.render_page(page.template, page.context)
                jobs.append(pool.submit(write_page, page.path, data))
                manifest[page.path] = [key, len(data)]
                stats.written += 1

            groups: dict[str, list[SiteFile]] = {}
            for item in plan.files:
                key = keys[item.path]
                entry = kept(item.path, key) if update else None
                if entry is not None:
                    manifest[item.path] = [key, entry[1]]
                    stats.reused += 1
                    continue
                reuse = reusable(item.path, key)
                if reuse is not None:
                    if not same:
                        jobs.append(pool.submit(reuse_file, item.path, reuse))
                    manifest[item.path] = [key, old[item.path][1]]
                    stats.reused += 1
                else:
                    groups.setdefault(key, []).append(item)
            copies = {key: pool.submit(copy_group, items) for key, items in groups.items()}
            for job in jobs:
                job.result()  # raises the first failure
            for key, job in copies.items():
                for path, size in job.result():
                    manifest[path] = [key, size]
                stats.written += 1
                stats.reused += len(groups[key]) - 1

        if in_place:
            stats.removed = _remove_stale(folder, here if update else old, manifest)
        fsutil.write_marker(folder, manifest_text(manifest))
        stats.manifest = manifest
        return stats

    def render_page(self, template: str, context: dict) -> bytes:
        """One page: ``template`` filled with ``context``, as UTF-8 bytes."""
        import jinja2

        try:
            return self.env.get_template(template).render(context).encode("utf-8")
        except jinja2.TemplateSyntaxError as exc:
            where = f"{exc.filename or exc.name or template}:{exc.lineno}"
            raise CpdgenError(f"template {where}: {exc.message}") from None
        except jinja2.TemplateError as exc:
            raise CpdgenError(f"template {template} (or one it uses) failed: {exc.message or exc}") from None

    @staticmethod
    def _place(source: Path, target: Path, in_place: bool) -> None:
        """Put an existing file of ours at ``target`` (a hard link when possible)."""
        if in_place:
            temp = target.with_name(f".{target.name}.cpdgen-tmp")
            temp.unlink(missing_ok=True)
            fsutil.link_or_copy(source, temp)
            temp.replace(target)
        else:
            fsutil.link_or_copy(source, target)

    @staticmethod
    def _write(target: Path, data: bytes, in_place: bool) -> None:
        if in_place:
            fsutil.atomic_write_bytes(target, data, durable=False)  # served while it changes: never half-written
        else:
            fsutil.write_new_file(target, data)

    def save_caches(self) -> None:
        """Keep the rendered Markdown and the parsed files for the next build (on disk, when enabled)."""
        self.markdown.save()
        self.load_cache.save()


def recycle_spare(spare: Path, out: Path) -> Path | None:
    """The site replaced by the previous build, moved beside ``out`` to be updated as this build's
    temporary folder, holding nothing but the regular files its marker lists; None when there is none."""
    folder = fsutil.take_spare(spare, out)
    if folder is None:
        return None
    listed = read_manifest(folder)
    if not listed:
        shutil.rmtree(folder, ignore_errors=True)
        return None
    folders = set()
    for path in listed:
        while "/" in path:
            path = path.rsplit("/", 1)[0]
            folders.add(path)
    # Anything else (a file a member put into site/, a link) must not reach the new site.
    _prune(os.fspath(folder), "", {fsutil.MARKER, *listed}, folders)
    return folder


def _prune(folder: str, prefix: str, files: set[str], folders: set[str]) -> None:
    with os.scandir(folder) as entries:
        for entry in entries:
            name = prefix + entry.name
            if entry.is_dir(follow_symlinks=False):
                if name in folders:
                    _prune(entry.path, name + "/", files, folders)
                else:
                    shutil.rmtree(entry.path)
            elif name not in files or not entry.is_file(follow_symlinks=False):
                os.unlink(entry.path)


def _remove_stale(folder: Path, old: dict[str, list], new: dict[str, list]) -> int:
    """Delete files cpdgen wrote before and no longer needs (never anything else), and emptied folders."""
    removed = 0
    parents: set[Path] = set()
    for path in sorted(set(old) - set(new)):
        try:
            target = fsutil.safe_join(folder, path)
        except ValueError:
            continue
        if target.is_file() and not target.is_symlink():
            target.unlink()
            removed += 1
            parents.update(p for p in target.parents if p != folder and p.is_relative_to(folder))
    for parent in sorted(parents, key=lambda p: len(p.parts), reverse=True):
        try:
            parent.rmdir()  # only succeeds when empty
        except OSError:
            pass
    return removed


def build_site(
    root: Path,
    out: Path | None = None,
    *,
    as_of: date | None = None,
    pdf: bool = True,
    strict: bool = False,
    renderer: SiteRenderer | None = None,
    reuse_unchanged: bool = True,
    progress: Callable[[int, int, str], None] | None = None,
) -> BuildResult:
    """Build the site of the portfolio in ``root`` into ``out`` (default ``root/site``).

    Nothing is written when any problem is an error (or, with ``strict``, a warning): the
    problems are returned. Otherwise the site is rendered into a temporary folder beside
    ``out`` and swapped in; a failure on the way leaves the previous site as it was.
    When nothing was changed since the last build into ``out`` (see ``stamp.py``), the
    site is left as it is; ``reuse_unchanged=False`` always builds.
    Raises CpdgenError (exit 2) for an unsafe output folder or a build already running.
    """
    root = root.resolve() if root.exists() else root
    target = out if out is not None else root / "site"
    if not (root / "content").is_dir():
        raise CpdgenError(f"no content/ folder in {root}; run cpdgen in your portfolio's folder, or give --root")
    target = fsutil.check_output_folder(root, target)
    options = {"pdf": pdf, "strict": strict, "renderer": renderer.live_reload if renderer else ""}
    stamp_file = stamp.stamp_path(fsutil.default_cache_dir(), root, target)
    signature = stamp.source_signature(root) if reuse_unchanged else ""
    if reuse_unchanged:
        same = stamp.unchanged_build(stamp_file, signature=signature, out=target, as_of=as_of, options=options)
        if same is not None:
            day, problems = same
            files = read_manifest(target)
            stats = RenderStats(reused=len(files), manifest=files)
            return BuildResult(target, day, problems, True, False, len(files), stats, unchanged=True)

    renderer = renderer or SiteRenderer(root)
    prepared = renderer.prepare(as_of=as_of, strict=strict, pdf=pdf)
    result = BuildResult(target, prepared.as_of, prepared.problems, False, prepared.setup_failed)
    if prepared.plan is None or prepared.assessment is None:
        return result
    spare = fsutil.spare_path(fsutil.default_cache_dir(), root, target) if reuse_unchanged else None
    with fsutil.build_lock(target):
        fsutil.check_output_folder(root, target)  # again, now that no other build can change it
        fsutil.clean_stale_temp_folders(target)
        recycled = recycle_spare(spare, target) if spare is not None else None
        temp = recycled or fsutil.make_temp_folder(target)
        try:
            from cpdgen.export import cache_dir

            write_records(temp, prepared, cache_dir=cache_dir(root), progress=progress)
            previous = target if (target / fsutil.MARKER).is_file() else None
            keys = renderer.output_keys(prepared)
            if previous is not None and renderer.unchanged(previous, prepared, keys):
                # Nothing changed: leave the site exactly as it is.
                if recycled is None or spare is None or not fsutil.keep_spare(temp, spare):
                    shutil.rmtree(temp)
                stats = RenderStats(reused=len(keys), manifest=read_manifest(previous))
                result.unchanged = True
            else:
                stats = renderer.render_into(temp, prepared, previous=previous, keys=keys, update=recycled is not None)
                fsutil.swap_in(temp, target, spare)
        except BaseException:
            shutil.rmtree(temp, ignore_errors=True)
            raise
    renderer.save_caches()
    if reuse_unchanged:
        stamp.save_stamp(
            stamp_file,
            signature=signature,
            out=target,
            as_of=prepared.as_of,
            timezone=prepared.portfolio.timezone,
            options=options,
            problems=prepared.problems,
        )
    result.written = True
    result.stats = stats
    result.files = len(stats.manifest)
    return result
