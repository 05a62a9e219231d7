"""Rendering a planned site into a folder, reusing every file whose inputs did not change.

:class:`SiteRenderer` keeps what can be reused between builds (the Jinja environment,
rendered Markdown, parsed files, file digests) and writes a :class:`~cpdgen.site.plan.SitePlan`
into any folder: fresh (reusing unchanged files of a previous build by hard link), or in
place (writing only the files that changed and removing the ones no longer needed). It can
add a live-reload snippet to every page, for the dev server only.

Every output folder holds a marker file (``.cpdgen-output``) listing what cpdgen wrote
there, with a key per file: a hash of everything the file was made from. A file whose key
did not change is not made again.
"""

from __future__ import annotations

import hashlib
import json
import os
import stat
import threading
from collections.abc import Callable, Generator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import closing, nullcontext, suppress
from dataclasses import dataclass, field
from datetime import date
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

from markupsafe import Markup

from cpdgen import fsutil
from cpdgen.cache import BlobStore, Caches, FileMemo, TextMemo, code_fingerprint, text_key
from cpdgen.fsutil import read_member_file
from cpdgen.loader import MAX_EVIDENCE_BYTES
from cpdgen.privacy.images import clean_evidence
from cpdgen.privacy.published import check_published
from cpdgen.privacy.text import html_text
from cpdgen.problems import CpdgenError, Problem, ProblemsFound, ReadError, blocks_publishing, sort_problems
from cpdgen.site.plan import Download

if TYPE_CHECKING:
    import jinja2

    from cpdgen.pdf.layout import PdfJob, PendingPdfs, Workshop
    from cpdgen.portfolio import Activity, Portfolio
    from cpdgen.rules import Assessment
    from cpdgen.site.plan import Download, Page, SiteFile, SitePlan
    from cpdgen.site.search import SearchIndex

# Bump when copy_evidence changes what it writes, so earlier copies are not reused.
COPY_EVIDENCE_VERSION = 2


@dataclass
class Prepared:
    """A portfolio read, judged and planned: everything a build needs, before anything is written."""

    portfolio: Portfolio
    as_of: date
    assessment: Assessment | None
    problems: list[Problem]
    plan: SitePlan | None  # None when the build must not go ahead
    pdf_jobs: dict[str, PdfJob] = field(default_factory=dict)  # diploma id -> its public PDF, checked
    # The search index while Pagefind still makes it: its files join plan.downloads when they are
    # needed (SiteRenderer.collect_search); replan(False) is the plan for a site without search.
    search: SearchIndex | None = None
    replan: Callable[[bool], SitePlan] | None = None
    # The keys of the plan's pages and copied files, made once per plan (SiteRenderer.output_keys).
    planned_keys: tuple[SitePlan, dict[str, str]] | None = field(default=None, repr=False)
    early_pdfs: PendingPdfs | None = None  # PDFs being laid out since they were known (prepare's workshop)

    @property
    def setup_failed(self) -> bool:
        return self.portfolio.setup_failed

    @cached_property
    def activities_by_path(self) -> dict[str, Activity]:
        return {a.path: a for a in self.portfolio.activities}

    @property
    def handed_over(self) -> set[int]:
        """The PDF jobs (by ``id``) handed to the workshop as soon as they were known (``early_pdfs``)."""
        return {id(job) for job in self.early_pdfs.jobs} if self.early_pdfs is not None else set()

    def close(self) -> None:
        """Stop Pagefind if it still makes an index no render took (a build that stopped early)."""
        if self.search is not None:
            self.search.close()
            self.search = None


@dataclass
class RenderStats:
    """What one render did: files made anew, files reused unchanged, files removed; the manifest."""

    written: int = 0
    reused: int = 0
    removed: int = 0
    manifest: dict = field(default_factory=dict)


def _json_default(value: object) -> str:
    if isinstance(value, (date, Path)):
        return str(value)
    raise TypeError(f"page context holds a {type(value).__name__}; contexts must be plain data")


def copy_evidence(source: Path, target: Path, *, content: Path, in_place: bool) -> None:
    """Copy one evidence file into the site: the regular file inside ``content``, never a link.

    This is the one place evidence reaches ``site/``. Images lose their metadata (GPS,
    camera, dates) on the way (``privacy.images.clean_evidence``, as for the public PDF);
    an image that cannot be cleaned stops the build.
    """
    try:
        data = read_member_file(source, content, limit=MAX_EVIDENCE_BYTES)
    except ReadError as exc:
        raise CpdgenError(f"evidence {source.name}: {exc.message}; it was not published", "failed") from None
    try:
        data = clean_evidence(data, source.name)
    except CpdgenError as exc:
        raise CpdgenError(f"evidence image {source}: {exc.message}; it was not published", "failed") from None
    if in_place:
        fsutil.atomic_write_bytes(target, data, durable=False)
    else:
        fsutil.write_new_file(target, data)


class SiteRenderer:
    """Renders sites of one portfolio, reusing what did not change since the previous render.

    One object lives as long as its user wants reuse: ``cpdgen build`` makes one per run
    (its caches are saved between runs unless ``use_cache`` is off), ``cpdgen serve`` keeps
    one for the whole session. ``live_reload`` is HTML added before ``</body>`` of every
    page: give it only for pages served by the dev server, never for ``site/``.
    ``reload_templates`` reads a template again when its file changed (``cpdgen serve``,
    while the member edits the theme); a one-shot build reads each template once.
    """

    def __init__(self, root: Path, *, use_cache: bool = True, live_reload: str = "", reload_templates: bool = False):
        from cpdgen.loader import parse_versions
        from cpdgen.render import RENDERER_ID

        self.root = root.resolve()
        self.caches = Caches(self.root, enabled=use_cache)
        self.markdown = TextMemo(RENDERER_ID, self.caches.path("markdown.json"))
        self.files = FileMemo(self.caches.path("files.pickle"), parse_versions())  # each file parsed once
        self.pdfs = BlobStore(self.caches.path("pdf"), ".pdf")
        self.search_indexes = BlobStore(self.caches.path("search"), ".index")
        self.live_reload = live_reload
        self.reload_templates = reload_templates
        self._env: jinja2.Environment | None = None
        self._digests = FileMemo()
        self._checked: set[str] = set()  # lines of pages checked in this render

    # -- first gather all data ----------------------------------------------------------------

    def prepare(
        self,
        *,
        as_of: date | None = None,
        strict: bool = False,
        pdf: bool = False,
        workshop: Workshop | None = None,
        previous: Path | None = None,
        progress: Callable[[int, int, str], None] | None = None,
    ) -> Prepared:
        """Read and judge the portfolio, plan every page and download, check every PDF; nothing is written.

        With a ``workshop`` (``layout.Workshop``), the PDFs to lay out are handed to it as soon
        as they are known (not those in the cache or, under the same key, in the ``previous`` site),
        and ``progress(n, total, diploma_id)`` is called for each as it is handed over.

        ``plan`` is None when the build must not go ahead: ``problems`` has an error (or,
        with ``strict``, a warning), or ``portfolio.yaml`` could not be used.
        """
        from cpdgen.loader import load_portfolio
        from cpdgen.portfolio import resolve_as_of
        from cpdgen.site.plan import plan_site

        portfolio = load_portfolio(self.root, self.files)
        day = resolve_as_of(portfolio.timezone, as_of)
        assessment = portfolio.assess(day)
        problems = list(portfolio.problems)
        if assessment is None or portfolio.settings is None or blocks_publishing(problems, strict):
            return Prepared(portfolio, day, assessment, sort_problems(problems), None)
        jobs: dict[str, PdfJob] = {}
        early = None
        if pdf:
            from cpdgen.pdf.document import prepare_diploma_pdf

            for diploma in assessment.diplomas:
                jobs[diploma.id] = prepare_diploma_pdf(portfolio, assessment, diploma.id, public=True)
            if workshop is not None:
                early = self.start_pdfs_early(list(jobs.values()), workshop, previous, progress)
        published = [a for a in portfolio.activities if a.published]
        texts = [a.description for a in published]
        if portfolio.settings.publish.reflections:
            texts += [a.reflection or "" for a in published]
        self.prefill_markdown(texts)
        from cpdgen.site.search import pagefind_executable, start_index

        search = pagefind_executable()

        def plan_with(search_ready: bool) -> SitePlan:
            return plan_site(
                portfolio,
                assessment,
                render_markdown=self.render_markdown,
                theme_files=self.theme_files(),
                pdf=pdf,
                extra=self.page_extra(),
                search=search_ready,
            )

        plan = plan_with(search is not None)
        index = None
        if search is not None and plan.search and not blocks_publishing(plan.problems, strict):
            # Pagefind makes the index in a process of its own while the build goes on; its files
            # are taken when they are to be written (collect_search).
            try:
                index = start_index(plan.search, search, self.search_indexes)
            except CpdgenError as exc:
                plan = plan_with(False)  # the search page then says that search is not available
                problems.append(_search_unavailable(exc))
            else:
                if index.ready:  # kept from an earlier build
                    plan.downloads += _index_downloads(index)
                    index = None
        try:
            problems.extend(plan.problems)
            if blocks_publishing(problems, strict):
                jobs = {}
            for job in jobs.values():
                problems.extend(job.problems)
            ok = not blocks_publishing(problems, strict)
        except BaseException:
            if index is not None:
                index.close()
            raise
        if not ok and index is not None:
            index.close()
            index = None
        return Prepared(
            portfolio, day, assessment, sort_problems(problems), plan if ok else None, jobs, index, plan_with,
            early_pdfs=early,
        )  # fmt: skip

    def start_pdfs_early(
        self,
        jobs: list[PdfJob],
        workshop: Workshop,
        previous: Path | None,
        progress: Callable[[int, int, str], None] | None = None,
    ) -> PendingPdfs | None:
        """Hand ``workshop`` the PDFs a build will have to lay out, as soon as they are known
        (before the site is planned): those neither in the PDF cache nor, under the same key,
        in the ``previous`` site, each announced to ``progress``. None when a job has errors
        (the build will not lay it out)."""
        from cpdgen.pdf.layout import start_pdfs

        if any(job.errors for job in jobs):
            return None
        old = fsutil.read_manifest(previous / fsutil.MARKER) if previous is not None else {}
        there = {entry[0] for entry in old.values()}
        pending = start_pdfs([job for job in jobs if "pdf-" + job.key not in there], self.pdfs, workshop)
        if progress is not None:
            for n in pending.todo:
                progress(jobs.index(pending.jobs[n]) + 1, len(jobs), pending.jobs[n].diploma_id)
        return pending

    def collect_search(self, prepared: Prepared) -> bool:
        """Take the search index Pagefind was making into the plan's downloads, waiting for it.

        When Pagefind failed, the site is planned again without search (every page's context
        says so) and a warning joins the problems: True is returned, and every page must be
        rendered again. False otherwise (also when there was nothing to wait for).
        """
        index, prepared.search = prepared.search, None
        if index is None:
            return False
        plan = _plan_of(prepared)
        try:
            downloads = _index_downloads(index)
        except CpdgenError as exc:
            assert prepared.replan is not None  # prepare gives it with every index
            prepared.plan = prepared.replan(False)  # the search page then says that search is not available
            prepared.problems = sort_problems([*prepared.problems, _search_unavailable(exc)])
            return True
        finally:
            index.close()
        plan.downloads += downloads
        return False

    def page_extra(self) -> dict:
        """What every page's context gets besides its own data: the dev server's live-reload snippet."""
        return {"live_reload": Markup(self.live_reload)}  # noqa: S704 - the dev server's own snippet

    def render_markdown(self, text: str) -> Markup:
        """Safe HTML for a member's Markdown, each distinct text rendered once."""
        from cpdgen.render import render_markdown

        if not text or not text.strip():
            return Markup("")
        key = text_key(text)
        html = self.markdown.get(key)
        if html is not None:
            return Markup(html)  # noqa: S704 - what render_markdown returned, kept in our own cache
        rendered = render_markdown(text)
        self.markdown.put(key, str(rendered))
        return rendered

    def prefill_markdown(self, texts: list[str]) -> None:
        """Render the texts not yet rendered on every core at once (a first build)."""
        from cpdgen.render import render_in_parallel

        missing: dict[str, str] = {}
        for text in texts:
            if text and text.strip():
                key = text_key(text)
                if key not in self.markdown.entries:
                    missing.setdefault(key, text)
        for key, html in zip(missing, render_in_parallel(list(missing.values())), strict=True):
            if html is not None:
                self.markdown.put(key, html)

    def theme_files(self) -> dict[str, Path]:
        """The theme's files copied as they are (stylesheet, favicon, search script), the portfolio's own first."""
        from cpdgen.render import theme_dir
        from cpdgen.site.plan import THEME_FILES

        files = {}
        for name in THEME_FILES:
            own = self.root / "templates" / name
            if os.path.lexists(own):
                self.theme_bytes(own)  # refused now, before anything is planned, if it is a link out or a pipe
                files[name] = own
            else:
                files[name] = theme_dir() / name
        return files

    def theme_bytes(self, path: Path) -> bytes:
        """A theme file's bytes; the portfolio's own through ``fsutil.read_member_file``."""
        own = self.root / "templates"
        if not path.is_relative_to(own):
            return path.read_bytes()  # cpdgen's default theme
        try:
            return read_member_file(path, own, limit=MAX_EVIDENCE_BYTES, what="templates/")
        except ReadError as exc:
            raise CpdgenError(f"{path.relative_to(self.root).as_posix()}: {exc.message}") from None

    @property
    def env(self) -> jinja2.Environment:
        if self._env is None:
            from cpdgen.cache import bytecode_cache
            from cpdgen.render import make_environment

            jinja = bytecode_cache(self.caches.folder_for("jinja"))
            self._env = make_environment(self.root, jinja, auto_reload=self.reload_templates)
        return self._env

    # -- keys ----------------------------------------------------------------------------------

    def _digest(self, path: Path) -> str:
        def compute() -> str:
            # Evidence was checked by the loader, the theme's stylesheet by theme_files: regular files.
            digest = hashlib.sha256()
            with open(path, "rb") as handle:
                for block in iter(lambda: handle.read(1 << 20), b""):
                    digest.update(block)
            return digest.hexdigest()

        return self._digests.get("sha256", path, compute)

    def output_keys(self, prepared: Prepared) -> dict[str, str]:
        """Every planned output path with its key: a hash of everything the file is made from.

        The search index's files are in the plan (and here) once they are taken (``collect_search``).
        """
        plan = _plan_of(prepared)
        if prepared.planned_keys is None or prepared.planned_keys[0] is not plan:
            prepared.planned_keys = plan, self._planned_keys(plan)
        keys = dict(prepared.planned_keys[1])
        for download in plan.downloads:
            keys[download.path] = self._download_key(prepared, download)
        return keys

    def _planned_keys(self, plan: SitePlan) -> dict[str, str]:
        """The keys of the pages and copied files (a build asks for them more than once)."""
        from cpdgen.render import templates_fingerprint

        # Every page's key holds its whole context, so a change of data re-renders it; cpdgen's
        # own code (the Jinja set-up, the check of what pages publish) and the theme are in it too.
        fingerprint = code_fingerprint() + templates_fingerprint(self.env)
        keys: dict[str, str] = {}
        for page in plan.pages:
            context = json.dumps(page.context, sort_keys=True, separators=(",", ":"), default=_json_default)
            keys[page.path] = hashlib.sha256(
                f"{fingerprint}\0{page.template}\0{context}".encode("utf-8", "surrogatepass")
            ).hexdigest()
        for item in plan.files:
            version = COPY_EVIDENCE_VERSION if item.kind == "evidence" else 0
            keys[item.path] = f"{item.kind}-{version}-{self._digest(item.source)}"
        return keys

    @staticmethod
    def _download_key(prepared: Prepared, download: Download) -> str:
        if download.kind == "pdf":
            return "pdf-" + prepared.pdf_jobs[download.diploma or ""].key
        return f"{download.kind}-" + hashlib.sha256(download.data or b"").hexdigest()

    def unchanged(self, folder: Path, prepared: Prepared, keys: dict[str, str] | None = None) -> bool:
        """True when ``folder`` already holds exactly this site (same files, same keys, nothing else of ours).

        Waits for the search index only when everything else is unchanged.
        """
        old = fsutil.read_manifest(folder / fsutil.MARKER)
        keys = keys if keys is not None else self.output_keys(prepared)
        if any(old.get(path, ("",))[0] != key for path, key in keys.items()):
            return False
        if prepared.search is not None:
            self.collect_search(prepared)
            keys = self.output_keys(prepared)
        if set(old) != set(keys):
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

    # -- start writing now that all data is gathered ----------------------------------------------

    def start_downloads(
        self, prepared: Prepared, downloads: list[Download], workshop: Workshop | None = None
    ) -> Callable[[], list[bytes]]:
        """Start making the downloads; the function returned gives each one's bytes, in order.

        The PDFs not in the cache are laid out side by side: in ``workshop`` while the caller
        goes on, or else before this returns (forking, so before any thread starts).
        """
        from cpdgen.pdf.layout import start_pdfs

        pdfs = [d for d in downloads if d.kind == "pdf"]
        jobs = [prepared.pdf_jobs[d.diploma or ""] for d in pdfs]
        early = prepared.early_pdfs
        started = prepared.handed_over
        # The workshop takes one batch: those not handed over early are laid out now, here.
        rest = [job for job in jobs if id(job) not in started]
        later = start_pdfs(rest, self.pdfs, workshop if early is None else None) if rest else None
        if early is not None and not started & {id(job) for job in jobs}:
            early = None  # none of them is needed after all (the previous site has them)

        def made() -> list[bytes]:
            by_job: dict[int, bytes] = {}
            for pending in (early, later):
                if pending is not None:
                    by_job.update(zip(map(id, pending.jobs), pending.result(), strict=True))
            return [
                by_job[id(prepared.pdf_jobs[d.diploma or ""])] if d.kind == "pdf" else d.data or b"" for d in downloads
            ]

        return made

    def render_into(
        self,
        folder: Path,
        prepared: Prepared,
        *,
        previous: Path | None = None,
        update: bool = False,
        progress: Callable[[int, int, str], None] | None = None,
        workshop: Workshop | None = None,
    ) -> RenderStats:
        """Write the planned site (pages, copied files, downloads) into ``folder``.

        With ``previous`` (a folder of an earlier build, marked by cpdgen), files whose key
        did not change are not made again: when ``previous`` is ``folder`` itself they
        are left untouched (and files cpdgen no longer needs are removed), otherwise they
        are hard-linked (or copied) from it. Writes into ``folder`` in place are atomic.
        With ``update``, ``folder`` holds an older build (a recycled spare, see
        ``build.recycle_spare``): its files whose key did not change stay, the others are
        replaced by new files (never written into: they may be linked from ``previous``).
        ``progress(n, total, diploma_id)`` is called before each PDF that is laid out; with a
        ``workshop`` (``layout.Workshop``) they are laid out there while the pages render.
        The search index Pagefind is making (``prepared.search``) is taken when the pages are
        done; when Pagefind failed, the pages are made again for a site without search.
        """
        try:
            return self._render_into(
                folder, prepared, previous=previous, update=update, progress=progress, workshop=workshop
            )
        finally:
            prepared.close()  # when the render stopped before it took the index

    def _render_into(
        self,
        folder: Path,
        prepared: Prepared,
        *,
        previous: Path | None,
        update: bool,
        progress: Callable[[int, int, str], None] | None,
        workshop: Workshop | None,
    ) -> RenderStats:
        self._checked = set()
        same = previous is not None and previous.resolve() == folder.resolve()
        in_place = same or update
        if same and self.unchanged(folder, prepared):
            kept_manifest = fsutil.read_manifest(folder / fsutil.MARKER)
            return RenderStats(reused=len(kept_manifest), manifest=kept_manifest)  # not even the marker is rewritten
        plan = _plan_of(prepared)
        keys = self.output_keys(prepared)
        old = fsutil.read_manifest(previous / fsutil.MARKER) if previous is not None else {}
        here = fsutil.read_manifest(folder / fsutil.MARKER) if update else {}
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
                if ready is None:
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

        def reuse(path: str, key: str) -> tuple[Path | None, list | None]:
            """``(file to link, manifest entry)`` when the file need not be made again."""
            entry = kept(path, key) if update else None
            if entry is not None:
                return None, [key, entry[1]]
            source = reusable(path, key)
            if source is not None:
                # Rendering into previous itself: the file is already where it belongs.
                return (None if same else source), [key, old[path][1]]
            return None, None

        def write(path: str, data: bytes) -> None:
            target = target_of(path)
            if in_place:
                fsutil.atomic_write_bytes(target, data, durable=False)  # served while it changes
            else:
                fsutil.write_new_file(target, data)

        def overwrite(path: str, data: bytes) -> None:
            """Replace a file this render wrote or linked (atomically: a link's other name keeps its bytes)."""
            fsutil.atomic_write_bytes(target_of(path), data, durable=False)

        def link(path: str, source: Path) -> None:
            target = target_of(path)
            if source != target:
                self._place(source, target, in_place)

        def copy_group(items: list[SiteFile]) -> list[tuple[str, int]]:
            """Copy one source file once, then link its other places to that copy."""
            first = target_of(items[0].path)
            if items[0].kind == "evidence":
                copy_evidence(items[0].source, first, content=self.root / "content", in_place=in_place)
            else:
                write(items[0].path, self.theme_bytes(items[0].source))
            size = first.stat().st_size
            for item in items[1:]:
                link(item.path, first)
            return [(item.path, size) for item in items]

        # The downloads first, before any thread starts: laying out a PDF forks a process
        # (unless a workshop lays them out, while the pages render).
        to_make: list[Download] = []
        pdfs = [d for d in plan.downloads if d.kind == "pdf"]
        handed_over = prepared.handed_over
        for download in plan.downloads:
            key = keys[download.path]
            source, entry = reuse(download.path, key)
            if entry is not None:
                manifest[download.path] = entry
                stats.reused += 1
                if source is not None:
                    link(download.path, source)
                continue
            handed = download.kind == "pdf" and id(prepared.pdf_jobs.get(download.diploma or "")) in handed_over
            if download.kind == "pdf" and progress is not None and not handed:  # else announced when handed over
                progress(pdfs.index(download) + 1, len(pdfs), download.diploma or "")
            to_make.append(download)
        # The PDFs to make are laid out together, side by side as the cores and memory allow.
        made_downloads = self.start_downloads(prepared, to_make, workshop)

        # A first build renders its pages on every core (forked before any thread starts),
        # while this thread checks them and two threads write them, as they come.
        fresh = [page for page in plan.pages if reuse(page.path, keys[page.path])[1] is None]
        rendered = self.render_pages_in_parallel(fresh)
        coming = {page.path for page in fresh} if rendered is not None else set()
        # Rendering keeps one core busy; file-system work is done beside it by two threads.
        published: list[Problem] = []
        with ThreadPoolExecutor(max_workers=2) as pool, closing(rendered) if rendered else nullcontext():
            jobs: list[Future] = []

            def reused(path: str, key: str) -> bool:
                """True when the old site's file serves (linked in, or already in place)."""
                source, entry = reuse(path, key)
                if entry is None:
                    return False
                manifest[path] = entry
                stats.reused += 1
                if source is not None:
                    jobs.append(pool.submit(link, path, source))
                return True

            counted = stats.written, stats.reused
            for page in plan.pages:
                key = keys[page.path]
                if reused(page.path, key):
                    continue
                done = next(rendered) if rendered is not None and page.path in coming else None
                data, lines = done or (self.render_page(page.template, page.context), None)
                published += self.check_page(prepared, page.path, page.source, data, lines=lines)
                jobs.append(pool.submit(write, page.path, data))
                manifest[page.path] = [key, len(data)]
                stats.written += 1

            # The search index Pagefind made meanwhile, written like the other downloads.
            if self.collect_search(prepared):
                # Pagefind failed: the site is planned without search, and every page says so.
                # Rare and slow: each page is made again over what was written for it.
                for job in jobs:
                    job.result()  # nothing may still be writing a page
                stats.written, stats.reused = counted
                for page in plan.pages:
                    del manifest[page.path]
                first = {page.path for page in plan.pages}
                plan = _plan_of(prepared)
                for path in first - {page.path for page in plan.pages}:
                    fsutil.safe_join(folder, path).unlink(missing_ok=True)  # written by this render
                keys = self.output_keys(prepared)
                for page in plan.pages:
                    data = self.render_page(page.template, page.context)
                    published += self.check_page(prepared, page.path, page.source, data)
                    jobs.append(pool.submit(overwrite, page.path, data))
                    manifest[page.path] = [keys[page.path], len(data)]
                    stats.written += 1
            making = {download.path for download in to_make}  # the PDFs, written when they are made
            for download in plan.downloads:
                if download.path in manifest or download.path in making:
                    continue  # reused before the pages, or a PDF being laid out
                key = keys[download.path] = self._download_key(prepared, download)
                if not reused(download.path, key):
                    jobs.append(pool.submit(write, download.path, download.data or b""))
                    manifest[download.path] = [key, len(download.data or b"")]
                    stats.written += 1

            groups: dict[str, list[SiteFile]] = {}
            for item in plan.files:
                key = keys[item.path]
                if not reused(item.path, key):
                    groups.setdefault(key, []).append(item)
            copies = {key: pool.submit(copy_group, items) for key, items in groups.items()}
            for download, data in zip(to_make, made_downloads(), strict=True):
                jobs.append(pool.submit(write, download.path, data))
                manifest[download.path] = [keys[download.path], len(data)]
                stats.written += 1
            for job in jobs:
                job.result()  # raises the first failure
            for key, copied in copies.items():
                for path, size in copied.result():
                    manifest[path] = [key, size]
                stats.written += 1
                stats.reused += len(groups[key]) - 1

        if published:
            if in_place:  # the marker must say what is now on disk, so a later render reuses nothing stale
                fsutil.write_marker(folder, {**(here if update else old), **manifest})
            raise ProblemsFound(published)
        if in_place:
            stats.removed = _remove_stale(folder, here if update else old, manifest)
        fsutil.write_marker(folder, manifest)
        stats.manifest = manifest
        return stats

    def check_page(
        self,
        prepared: Prepared,
        path: str,
        source: str,
        data: bytes,
        checked: set[str] | None = None,
        lines: list[str] | None = None,
    ) -> list[Problem]:
        """Identifiers a rendered page would publish that the scan of the member's files did not see.

        A page's text is checked a line (a block) at a time, and a line already checked for an
        earlier page of this render (or in ``checked``) is not checked again: list pages repeat their items.
        ``lines`` is the page's text (``page_lines``) when it was read already.
        """
        checked = self._checked if checked is None else checked
        lines = [line for line in (page_lines(data) if lines is None else lines) if line not in checked]
        checked.update(lines)
        if not lines:
            return []
        owner = prepared.activities_by_path.get(source)
        return check_published(prepared.portfolio, "\n".join(lines), f"the page {path}", owner)

    def render_page(self, template: str, context: dict) -> bytes:
        """One page: ``template`` filled with ``context``, as UTF-8 bytes."""
        from cpdgen.render import fill_template

        return fill_template(self.env, template, context).encode("utf-8")

    def render_pages_in_parallel(self, pages: list[Page]) -> Generator[tuple[bytes, list[str]] | None] | None:
        """Many pages (a first build) rendered and read (``page_lines``) by forked processes, one
        per core: each page's bytes and lines, in order, as they are made; None when there are
        few, or forking is not possible or safe. The workers are forked before this returns.
        A page that fails there is None, so the caller renders it and reports its problem."""
        from cpdgen.parallel import forked_imap, worker_count
        from cpdgen.render import PARALLEL_MIN_TEXTS

        if not worker_count(len(pages), PARALLEL_MIN_TEXTS):
            return None
        for template in sorted({page.template for page in pages}):
            self.env.get_template(template)  # compiled once, before the fork, for every worker

        def render(index: int) -> tuple[bytes, list[str]] | None:
            page = pages[index]
            try:
                data = self.render_page(page.template, page.context)
            except CpdgenError:
                return None
            return data, page_lines(data)

        return forked_imap(render, len(pages), PARALLEL_MIN_TEXTS)

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

    def save_caches(self) -> None:
        """Keep the rendered Markdown and the parsed files for the next build (when caching is on)."""
        self.markdown.save()
        self.files.save()


def page_lines(data: bytes) -> list[str]:
    """A rendered page's text as ``check_page`` reads it, a line (a block) each."""
    return html_text(data.decode("utf-8"), everything=True).split("\n")


def _search_unavailable(exc: CpdgenError) -> Problem:
    message = exc.message + "; the site is built without search"
    return Problem("content", None, "warning", "search-unavailable", message, publishes=False)


def _index_downloads(index: SearchIndex) -> list[Download]:
    return [Download(path, "search", None, data) for path, data in index.files()]


def _plan_of(prepared: Prepared) -> SitePlan:
    if prepared.plan is None:
        raise ValueError("nothing to render: the portfolio has problems that stop the build")
    return prepared.plan


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
        with suppress(OSError):
            parent.rmdir()  # only succeeds when empty
    return removed
