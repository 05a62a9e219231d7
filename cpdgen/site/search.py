"""The site's search index: Pagefind run over the published activities, while the build gathers.

Pagefind is a static search tool: at build time it turns pages into an index of small
files, and in the browser its script fetches only the parts a search needs, so the site
stays a folder of static files. cpdgen hands it one small page per published activity
(``plan.SearchRecord``: the text the activity's own page shows, nothing else) in a
temporary folder, and takes the index back as bytes; the build writes them like any other
download, under ``pagefind/``. Private and draft activities have no page, so they have
no record either.

The Pagefind program comes from the ``pagefind-bin`` package (a dependency of cpdgen, at
one exact version: the index's bytes depend on it). Without it the build goes on and the
search page says that search is not available.
"""

from __future__ import annotations

import os
import subprocess
import tempfile
from pathlib import Path, PurePosixPath

from markupsafe import Markup

from cpdgen.pagefind import pagefind_executable
from cpdgen.problems import CpdgenError
from cpdgen.site.plan import SearchRecord

__all__ = ["build_index", "pagefind_executable", "record_page"]

INDEX_FOLDER = "pagefind"
TIMEOUT_SECONDS = 120
# What the site's own search script needs of Pagefind's output; its ready-made interfaces are left out.
_KEEP_FILES = ("pagefind.js", "pagefind-worker.js", "pagefind-entry.json")
_KEEP_SUFFIXES = (".pf_meta", ".pagefind", ".pf_fragment", ".pf_index", ".pf_filter")


def record_page(record: SearchRecord) -> str:
    """The small page Pagefind reads for one activity."""
    # The activity page's own address travels as the record's "page" metadata, which the search
    # script links to: the file Pagefind reads need not sit where the page does.
    page = Markup(
        '<!DOCTYPE html>\n<html lang="en-GB">\n<head><meta charset="utf-8"><title>{}</title>'
        '<meta data-pagefind-meta="page:{}"></head>\n'
        "<body><main data-pagefind-body>{}</main></body>\n</html>\n"
    )
    return str(page.format(record.title, record.path, record.html))


def build_index(records: list[SearchRecord], executable: Path) -> list[tuple[str, bytes]]:
    """Pagefind's index of ``records``: ``(path in the site, bytes)`` for each file, sorted by path.

    Raises CpdgenError when Pagefind fails; the caller decides what that means for the build.
    """
    with tempfile.TemporaryDirectory(prefix="cpdgen-search-") as temp:
        pages = Path(temp) / "pages"
        out = Path(temp) / "out"
        # One flat folder: a folder per page, as the site has, costs Pagefind nothing but a
        # system call per page here (about a third of this step on 1,000 activities).
        pages.mkdir()
        for number, record in enumerate(records, start=1):
            (pages / f"{number:05d}.html").write_text(record_page(record), encoding="utf-8")
        # Pagefind reads settings from PAGEFIND_* variables and a pagefind.yml in its working
        # folder: neither may change what cpdgen builds.
        env = {k: v for k, v in os.environ.items() if not k.upper().startswith("PAGEFIND")}
        command = [str(executable), "--site", str(pages), "--output-path", str(out), "--keep-index-url"]
        try:
            done = subprocess.run(  # noqa: S603 - the pagefind-bin package's own program, our arguments
                command, cwd=temp, env=env, capture_output=True, text=True, timeout=TIMEOUT_SECONDS, check=False
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise CpdgenError(f"Pagefind could not make the search index ({exc})") from None
        if done.returncode != 0:
            said = (done.stderr or done.stdout).strip().splitlines()
            raise CpdgenError(f"Pagefind could not make the search index: {said[-1] if said else done.returncode}")
        files = []
        for path in sorted(out.rglob("*")):
            name = path.relative_to(out).as_posix()
            if path.is_file() and (name in _KEEP_FILES or name.endswith(_KEEP_SUFFIXES)):
                files.append((str(PurePosixPath(INDEX_FOLDER, name)), path.read_bytes()))
        if not any(name.endswith("/pagefind.js") for name, _ in files):
            raise CpdgenError("Pagefind made no search index (pagefind.js is missing from its output)")
        return files
