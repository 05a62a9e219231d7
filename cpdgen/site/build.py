"""``cpdgen build``: first gather all data, then write the site into a temporary folder and swap it in.

The steps, in order (:func:`build_site`):

1. guard the output folder; skip the build when nothing changed since the last one (``stamp.py``);
2. first gather all data: load and judge the portfolio, plan every page, copied file and
   download, check every PDF (``SiteRenderer.prepare``); stop here on an error;
3. start writing now that all data is gathered: under the output folder's lock, into a
   temporary folder beside it (a recycled copy of the previous site when there is one),
   then swap it in (``SiteRenderer.render_into``, ``fsutil.swap_in``).

A failed or killed build leaves the previous site as it was.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from cpdgen import fsutil
from cpdgen.pdf.layout import Workshop, pdf_workshop
from cpdgen.problems import CpdgenError, Outcome, Problem, ProblemsFound, exit_code, sort_problems
from cpdgen.site import stamp
from cpdgen.site.renderer import Prepared, RenderStats, SiteRenderer


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
    def outcome(self) -> Outcome:
        if self.setup_failed:
            return "usage"
        return "ok" if self.written else "failed"

    @property
    def exit_code(self) -> int:
        return exit_code(self.outcome)


def recycle_spare(spare: Path, out: Path) -> Path | None:
    """The site replaced by the previous build, moved beside ``out`` to be updated as this build's
    temporary folder, holding nothing but the regular files its marker lists; None when there is none."""
    folder = fsutil.take_spare(spare, out)
    if folder is None:
        return None
    listed = fsutil.read_manifest(folder / fsutil.MARKER)
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


def _keep_members_files(prepared: Prepared, old: Path, new: Path, ours: set[str]) -> list[Problem]:
    """Carry the member's own files (``CNAME``, ``.nojekyll``…, and ``site.keep``) into the new site."""
    settings = prepared.portfolio.settings
    keep = [*fsutil.ALWAYS_KEPT, *(settings.site.keep if settings else [])]
    line = prepared.portfolio.settings_lines.get(("site", "keep"))
    problems = [
        Problem(
            "content/portfolio.yaml",
            line,
            "warning",
            "site-keep",
            f"{old.name}/{path} is a file cpdgen writes, so your own copy of it is not kept; rename yours",
        )  # fmt: skip
        for path in fsutil.carry_over(old, new, keep, ours)
    ]
    written = set(fsutil.read_manifest(old / fsutil.MARKER)) | {fsutil.MARKER}
    dropped = sorted(
        path.relative_to(old).as_posix()
        for path in old.rglob("*")
        if (path.is_file() or path.is_symlink())
        and path.relative_to(old).as_posix() not in written
        and not (new / path.relative_to(old)).exists()
    )
    if dropped:
        shown = ", ".join(dropped[:5]) + (f" and {len(dropped) - 5} more" if len(dropped) > 5 else "")
        problems.append(
            Problem(
                "content/portfolio.yaml",
                line,
                "warning",
                "site-keep",
                f"{shown} in {old.name}/ {'was' if len(dropped) == 1 else 'were'} not written by cpdgen, so "
                f"{'it is' if len(dropped) == 1 else 'they are'} not in the new site; to keep a file of yours "
                "there, list it under site: keep: in portfolio.yaml",
            )  # fmt: skip
        )
    return problems


def build_site(
    root: Path,
    out: Path | None = None,
    *,
    as_of: date | None = None,
    pdf: bool = True,
    strict: bool = False,
    renderer: SiteRenderer | None = None,
    use_cache: bool = True,
    reuse_unchanged: bool = True,
    progress: Callable[[int, int, str], None] | None = None,
    workshop: Workshop | None = None,
) -> BuildResult:
    """Build the site of the portfolio in ``root`` into ``out`` (default ``root/site``).

    Nothing is written when any problem is an error (or, with ``strict``, a warning): the
    problems are returned. Otherwise the site is rendered into a temporary folder beside
    ``out`` and swapped in; a failure on the way leaves the previous site as it was.
    When nothing was changed since the last build into ``out`` (see ``stamp.py``), the
    site is left as it is. ``reuse_unchanged=False`` always builds from scratch;
    ``use_cache=False`` (``--no-cache``) also reads and writes no cache.
    ``workshop`` lays out the PDFs (``layout.Workshop``: the caller started it early); without
    one, the build starts its own when it makes PDFs.
    Raises CpdgenError (exit 2) for an unsafe output folder or a build already running.
    """
    root = root.resolve() if root.exists() else root
    target = out if out is not None else root / "site"
    if not (root / "content").is_dir():
        raise CpdgenError(f"no content/ folder in {root}; run cpdgen in your portfolio's folder, or give --root")
    target = fsutil.check_output_folder(root, target)
    renderer = renderer or SiteRenderer(root, use_cache=use_cache)
    reuse_unchanged = reuse_unchanged and use_cache and renderer.caches.enabled
    options = {"pdf": pdf, "strict": strict, "renderer": renderer.live_reload}
    stamp_file = renderer.caches.for_output("build", target, ".json") if reuse_unchanged else None
    signature = stamp.source_signature(root) if stamp_file is not None else ""
    if stamp_file is not None:
        same = stamp.unchanged_build(stamp_file, signature=signature, out=target, as_of=as_of, options=options)
        if same is not None:
            day, problems = same
            files = fsutil.read_manifest(target / fsutil.MARKER)
            stats = RenderStats(reused=len(files), manifest=files)
            return BuildResult(target, day, problems, True, False, len(files), stats, unchanged=True)

    # PDFs are laid out by a workshop, which readies WeasyPrint while the portfolio is read.
    with pdf_workshop(pdf and workshop is None) as own:
        workshop = (workshop or own) if pdf else None
        # First gather all data.
        previous = target if (target / fsutil.MARKER).is_file() else None
        prepared = renderer.prepare(
            as_of=as_of, strict=strict, pdf=pdf, workshop=workshop, previous=previous, progress=progress
        )
        result = BuildResult(target, prepared.as_of, prepared.problems, False, prepared.setup_failed)
        if prepared.plan is None or prepared.assessment is None:
            return result

        # Start writing now that all data is gathered.
        spare = renderer.caches.for_output("site", target) if reuse_unchanged else None
        with fsutil.build_lock(target):
            fsutil.check_output_folder(root, target)  # again, now that no other build can change it
            fsutil.clean_stale_temp_folders(target)
            recycled = recycle_spare(spare, target) if spare is not None else None
            temp = recycled or fsutil.make_temp_folder(target)
            try:
                previous = target if (target / fsutil.MARKER).is_file() else None
                if previous is not None and renderer.unchanged(previous, prepared):
                    # Nothing changed: leave the site exactly as it is.
                    if recycled is None or spare is None or not fsutil.keep_spare(temp, spare):
                        shutil.rmtree(temp)
                    kept = fsutil.read_manifest(previous / fsutil.MARKER)
                    stats = RenderStats(reused=len(kept), manifest=kept)
                    result.unchanged = True
                else:
                    stats = renderer.render_into(
                        temp,
                        prepared,
                        previous=previous,
                        update=recycled is not None,
                        progress=progress,
                        workshop=workshop,
                    )
                    result.problems = prepared.problems  # with a warning when Pagefind failed meanwhile
                    if previous is not None:
                        result.problems += _keep_members_files(prepared, target, temp, set(stats.manifest))
                    fsutil.swap_in(temp, target, spare)
            except ProblemsFound as exc:  # what the pages or PDFs would publish: nothing is written
                shutil.rmtree(temp, ignore_errors=True)
                result.problems = sort_problems([*prepared.problems, *exc.problems])
                return result
            except BaseException:
                shutil.rmtree(temp, ignore_errors=True)
                raise
            finally:
                prepared.close()  # Pagefind stopped, if the build ended before it took the index
    renderer.save_caches()
    if stamp_file is not None:
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
