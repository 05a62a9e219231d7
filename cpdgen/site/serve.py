"""``cpdgen serve``: a private build kept up to date while the member writes, shown by the dev server.

:class:`Session` owns the build: a private temporary folder (never site/) rendered by the
same :class:`~cpdgen.site.renderer.SiteRenderer` as ``cpdgen build``, rebuilt on every change.
A lone edit of one activity's own text gets its page written at once, by the same page
planner and renderer as the build, before the full rebuild. ``devserver.py`` serves the
folder and reloads open pages; it knows nothing of the build.
"""

from __future__ import annotations

import shutil
import signal
import sys
import tempfile
import threading
import time
from collections.abc import Iterable
from contextlib import suppress
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from cpdgen import fsutil
from cpdgen.problems import CpdgenError, Problem, format_text
from cpdgen.site.devserver import BuildState, run_server

if TYPE_CHECKING:
    from cpdgen.site.renderer import Prepared


class Session:
    """One ``cpdgen serve``: a private build folder kept up to date, and what the server shows."""

    def __init__(self, root: Path, as_of: date | None = None, out: TextIO | None = None):
        from cpdgen.site.renderer import SiteRenderer

        self.root = root.resolve()
        self.as_of = as_of
        self.out = out or sys.stdout
        self.folder = Path(tempfile.mkdtemp(prefix="cpdgen-serve-"))
        # Keeps each unchanged file's parse between rebuilds, and sees the member's edits to the theme.
        self.renderer = SiteRenderer(self.root, reload_templates=True)
        self.state = BuildState()
        self.last: Prepared | None = None  # the last good build: the base of quick pages
        self.quick: dict[str, bytes] = {}  # pages written ahead of the full rebuild, by site path
        self.quick_lock = threading.Lock()  # quick pages are also written while a rebuild runs

    def rebuild(self, changed: Iterable[str] = ()) -> bool:
        """Bring the build folder up to date; on problems keep the last good pages and say why.

        A lone edit of one activity's file first gets its own page written and announced
        (``quick_page``), then everything is rebuilt as usual.
        """
        started = time.perf_counter()
        self.quick_rebuild(changed)
        with self.quick_lock:
            written = dict(self.quick)  # the quick pages this rebuild settles
        before = fsutil.read_manifest(self.folder / fsutil.MARKER)
        try:
            prepared = self.renderer.prepare(as_of=self.as_of)
            if prepared.plan is not None:
                stats = self.renderer.render_into(self.folder, prepared, previous=self.folder)
        except CpdgenError as exc:
            self.state.publish(False, [Problem("content", None, "error", "build-failed", exc.message)])
            print(f"cpdgen: {exc.message}", file=self.out, flush=True)
            return False
        ok = prepared.plan is not None
        if ok:
            self.last = prepared
            after = stats.manifest
            pages = {path for path in after if before.get(path) != after[path]} | (set(before) - set(after))
            pages -= self.settle_quick_pages(prepared, written)
            self.state.publish(True, [], pages)
        else:
            with self.quick_lock:
                self.quick.clear()
            self.state.publish(False, prepared.problems)
        for problem in prepared.problems:
            print(format_text(problem), file=self.out, flush=True)
        if ok:
            print(f"Rebuilt in {time.perf_counter() - started:.2f} s.", file=self.out, flush=True)
        else:
            print("Not rebuilt: fix the problems above; the pages show them until you do.", file=self.out, flush=True)
        return ok

    def quick_rebuild(self, changed: Iterable[str]) -> None:
        """A lone edit of one activity's file: its page written and announced at once (``quick_page``).

        Called first by every rebuild, and by the dev server for a save that lands while a
        rebuild runs, so that page does not wait for it.
        """
        changed = list(changed)
        if len(changed) == 1:
            quick = self.quick_page(Path(changed[0]))
            if quick is not None:
                self.state.publish(True, [], [quick])

    def quick_page(self, path: Path) -> str | None:
        """Write the page of the one activity file just saved, from the last good build; its site path.

        Only when nothing but that page's own text could have changed: the file has no
        problem and no possible patient identifier, and its id, date, category, privacy,
        draft state, reflection, evidence and goal are as before. Otherwise None: the full
        rebuild (which always follows) does the work and reports the problems.
        """
        from dataclasses import replace

        from cpdgen.loader import read_activity
        from cpdgen.privacy.identifiers import find_identifiers
        from cpdgen.privacy.patterns import compile_pattern
        from cpdgen.site.context import goal_links
        from cpdgen.site.plan import activity_page, judged_activities

        last = self.last
        if last is None or last.plan is None or last.assessment is None or last.portfolio.settings is None:
            return None
        try:
            source = path.resolve()
            where = source.relative_to(self.root).as_posix()
        except (OSError, ValueError):
            return None
        old = next((a for a in last.portfolio.activities if a.path == where), None)
        page = next((p for p in last.plan.pages if p.source == where and p.template == "activity.html"), None)
        if old is None or page is None or not source.is_file():
            return None
        activity, problems, text = read_activity(self.root, source, self.renderer.files)
        if activity is None or problems:
            return None
        if old.reflection_path != old.path:  # the reflection lives in content/reflections/
            if activity.reflection is not None:
                return None
            activity = replace(
                activity,
                reflection=old.reflection,
                reflection_path=old.reflection_path,
                reflection_line=old.reflection_line,
            )
        facts = ("id", "date", "category", "draft", "private", "has_reflection", "evidence", "goal")
        if any(getattr(activity, name) != getattr(old, name) for name in facts):
            return None
        settings = last.portfolio.settings
        patterns = {}
        for name, regex in settings.privacy.patterns.items():
            try:
                patterns[name] = compile_pattern(regex)
            except ValueError:
                return None
        if find_identifiers(text, patterns):
            return None  # whatever it is, the full rebuild decides and says so
        found: list[Problem] = []
        shown, _ = activity_page(
            activity,
            judged=judged_activities(last.assessment),
            publish=settings.publish,
            render_markdown=self.renderer.render_markdown,
            site=page.context["site"],
            extra=self.renderer.page_extra(),
            previous=page.context["previous"],
            next=page.context["next"],
            problems=found,
            goals=goal_links(last.portfolio),
        )
        if found or shown.path != page.path:
            return None
        data = self.renderer.render_page(shown.template, shown.context)
        # Every line of the page is checked: a rebuild running meanwhile keeps its own record.
        if self.renderer.check_page(last, shown.path, shown.source, data, checked=set()):
            return None  # the full rebuild reports what the page would publish
        with self.quick_lock:
            fsutil.atomic_write_bytes(self.folder / shown.path, data, durable=False)
            self.quick[page.path] = data
        return page.path

    def settle_quick_pages(self, prepared: Prepared, written: dict[str, bytes]) -> set[str]:
        """After a full rebuild: make each quick page ``written`` before it exactly what the build says it is.

        Returns the quick pages that needed nothing more (already announced), so their
        open tabs are not reloaded a second time. A quick page written while the rebuild
        ran is newer than what the rebuild made: it is put back, for the next rebuild to settle.
        """
        assert prepared.plan is not None  # called after a rebuild that went ahead
        announced: set[str] = set()
        pages = {page.path: page for page in prepared.plan.pages}
        for path, data in written.items():
            page = pages.get(path)
            if page is None:
                continue  # gone from the site: the rebuild removed it
            target = self.folder / path
            wanted = self.renderer.render_page(page.template, page.context)
            if wanted == data and target.read_bytes() == wanted:
                announced.add(path)
            else:
                fsutil.atomic_write_bytes(target, wanted, durable=False)
        with self.quick_lock:
            for path, data in written.items():
                if self.quick.get(path) is data:
                    del self.quick[path]
            for path, data in self.quick.items():
                target = self.folder / path
                if not target.is_file() or target.read_bytes() != data:
                    fsutil.atomic_write_bytes(target, data, durable=False)
        return announced

    def close(self) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)


def serve(
    root: Path, host: str = "127.0.0.1", port: int | None = None, as_of: date | None = None, out: TextIO | None = None
) -> int:
    """Build, serve on ``host``, and rebuild on every change until Ctrl-C."""
    out = out or sys.stdout
    if not (root / "content").is_dir():
        raise CpdgenError(
            f"no content/ folder in {root.resolve()}; run cpdgen in your portfolio's folder, or give --root"
        )
    session = Session(root, as_of, out)
    # A terminal closing or a process manager stopping us is Ctrl-C too: the private build is removed.
    previous_term = signal.signal(signal.SIGTERM, signal.default_int_handler)
    try:
        watched = [session.root / "content"]
        if (session.root / "templates").is_dir():
            watched.append(session.root / "templates")
        ignored = [session.root / "site", session.folder]
        with suppress(KeyboardInterrupt):
            run_server(
                session.folder, session.state, session.rebuild, quick=session.quick_rebuild,
                watched=watched, ignored=ignored, host=host, port=port, out=out,
            )  # fmt: skip
        print("Stopped.", file=out, flush=True)
        return 0
    finally:
        signal.signal(signal.SIGTERM, previous_term)
        session.close()
