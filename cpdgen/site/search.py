"""The site's search index: Pagefind run over the published activities, beside the build.

Pagefind is a static search tool: at build time it turns pages into an index of small
files, and in the browser its script fetches only the parts a search needs, so the site
stays a folder of static files. cpdgen hands it one small page per published activity
(``plan.SearchRecord``: the text the activity's own page shows, nothing else) in a
temporary folder, and takes the index back as bytes; the build writes them like any other
download, under ``pagefind/``. Private and draft activities have no page, so they have
no record either.

Pagefind runs as a process of its own (:class:`IndexRun`), started as soon as the plan
knows the records; the build renders its pages meanwhile and takes the index when it
writes it (``SiteRenderer.collect_search``). The index is kept in the cache
(:func:`start_index`), keyed by every page Pagefind reads, in order, by what the program
says it is (``pagefind --version``) and by its options, so a build whose published
activities did not change does not run Pagefind at all.

The Pagefind program comes from the ``pagefind-bin`` package (a dependency of cpdgen, at
one exact version: the index's bytes depend on it). Without it the build goes on and the
search page says that search is not available.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import tempfile
import time
import weakref
from pathlib import Path, PurePosixPath

from markupsafe import Markup

from cpdgen.cache import BlobStore
from cpdgen.pagefind import pagefind_executable
from cpdgen.problems import CpdgenError
from cpdgen.site.plan import SearchRecord

__all__ = ["SearchIndex", "build_index", "pagefind_executable", "record_page", "start_index"]

INDEX_FOLDER = "pagefind"
TIMEOUT_SECONDS = 120
INDEX_VERSION = 1  # bump when what cpdgen keeps of Pagefind's output changes, so kept indexes are not used
STORE_NAME = "index"
_OPTIONS = ["--keep-index-url"]
_PACK_HEADER = b"cpdgen-search-index 1\n"
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
    return IndexRun([record_page(record).encode("utf-8") for record in records], executable).files()


def pagefind_identity(executable: Path) -> str | None:
    """What the program says it is (``pagefind --version``), or None when it does not say."""
    try:
        done = subprocess.run(  # noqa: S603 - the pagefind-bin package's own program, our arguments
            [str(executable), "--version"], env=_clean_env(), capture_output=True, timeout=30, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    said = done.stdout.decode("utf-8", "replace").strip()
    return said if done.returncode == 0 and said else None


def index_key(pages: list[bytes], identity: str) -> str:
    """The cache key of an index: everything it is made from (the pages in order, the program, the options)."""
    digest = hashlib.sha256(json.dumps([INDEX_VERSION, identity, _OPTIONS, _KEEP_FILES, _KEEP_SUFFIXES]).encode())
    for page in pages:
        digest.update(b"%d\0" % len(page) + page)
    return digest.hexdigest()


def start_index(records: list[SearchRecord], executable: Path, store: BlobStore) -> SearchIndex:
    """The index of ``records``: from ``store`` when it holds one made from the same pages by the
    same program, else Pagefind started on them (``SearchIndex.files`` waits for it).

    Raises CpdgenError when Pagefind cannot be started.
    """
    pages = [record_page(record).encode("utf-8") for record in records]
    identity = pagefind_identity(executable)
    key = index_key(pages, identity) if identity is not None else None
    if key is not None:
        kept = unpack_index(store.get(STORE_NAME, key))
        if kept is not None:
            return SearchIndex(kept)
    return SearchIndex(None, IndexRun(pages, executable), store if key is not None else None, key)


class SearchIndex:
    """A search index, ready (kept from an earlier build) or still being made by Pagefind."""

    def __init__(
        self,
        files: list[tuple[str, bytes]] | None,
        run: IndexRun | None = None,
        store: BlobStore | None = None,
        key: str | None = None,
    ):
        self._files = files
        self._run = run
        self._store = store
        self._key = key

    @property
    def ready(self) -> bool:
        """True when the files are at hand: ``files`` will not wait."""
        return self._files is not None

    def files(self) -> list[tuple[str, bytes]]:
        """``(path in the site, bytes)`` for each file of the index, sorted by path; waits for Pagefind.

        Raises CpdgenError when Pagefind failed. A new index is kept in the store for the next build.
        """
        if self._files is None:
            assert self._run is not None  # a SearchIndex is made with its files or the run making them
            self._files = self._run.files()
            if self._store is not None and self._key is not None:
                self._store.put(STORE_NAME, self._key, pack_index(self._files))
        return self._files

    def close(self) -> None:
        """Stop Pagefind if it still runs and remove its folder (an index no longer wanted)."""
        if self._run is not None:
            self._run.close()


class IndexRun:
    """Pagefind making an index in a process of its own, in a temporary folder, while the build goes on.

    It starts at once; :meth:`files` waits for it and takes its output back as bytes. Its
    messages go to files, so a full pipe never stops it, and no thread of ours waits on it:
    the build may fork its page renderers meanwhile.
    """

    def __init__(self, pages: list[bytes], executable: Path):
        self.folder = Path(tempfile.mkdtemp(prefix="cpdgen-search-"))
        self.deadline = time.monotonic() + TIMEOUT_SECONDS
        site = self.folder / "pages"
        command = [str(executable), "--site", str(site), "--output-path", str(self.folder / "out"), *_OPTIONS]
        try:
            # One flat folder: a folder per page, as the site has, costs Pagefind nothing but a
            # system call per page here (about a third of this step on 1,000 activities).
            site.mkdir()
            for number, page in enumerate(pages, start=1):
                (site / f"{number:05d}.html").write_bytes(page)
            with open(self.folder / "stdout", "wb") as stdout, open(self.folder / "stderr", "wb") as stderr:
                self.process = subprocess.Popen(  # noqa: S603 - the pagefind-bin package's own program, our arguments
                    command, cwd=self.folder, env=_clean_env(), stdin=subprocess.DEVNULL, stdout=stdout, stderr=stderr
                )
        except OSError as exc:
            shutil.rmtree(self.folder, ignore_errors=True)
            raise CpdgenError(f"Pagefind could not make the search index ({exc})") from None
        # Stopped and removed when the build no longer wants it, or at exit if the build stopped first.
        self._finalizer = weakref.finalize(self, _stop, self.process, self.folder)

    def files(self) -> list[tuple[str, bytes]]:
        """The index Pagefind made, as :func:`build_index` returns it; raises CpdgenError when it failed."""
        try:
            return self._collect()
        finally:
            self.close()

    def _collect(self) -> list[tuple[str, bytes]]:
        if not self._finalizer.alive:
            raise CpdgenError("Pagefind could not make the search index (it was stopped)")
        try:
            code = self.process.wait(timeout=max(0.0, self.deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            raise CpdgenError(
                f"Pagefind could not make the search index (it took more than {TIMEOUT_SECONDS} s)"
            ) from None
        if code != 0:
            said: list[str] = []
            for name in ("stderr", "stdout"):
                said = (self.folder / name).read_bytes().decode("utf-8", "replace").strip().splitlines()
                if said:
                    break
            raise CpdgenError(f"Pagefind could not make the search index: {said[-1] if said else code}")
        out = self.folder / "out"
        files = []
        for path in sorted(out.rglob("*")):
            name = path.relative_to(out).as_posix()
            if path.is_file() and (name in _KEEP_FILES or name.endswith(_KEEP_SUFFIXES)):
                files.append((str(PurePosixPath(INDEX_FOLDER, name)), path.read_bytes()))
        if not any(name.endswith("/pagefind.js") for name, _ in files):
            raise CpdgenError("Pagefind made no search index (pagefind.js is missing from its output)")
        return files

    def close(self) -> None:
        """Stop Pagefind if it still runs, and remove the temporary folder."""
        self._finalizer()


def _stop(process: subprocess.Popen[bytes], folder: Path) -> None:
    if process.poll() is None:
        process.kill()
        process.wait()
    shutil.rmtree(folder, ignore_errors=True)


def _clean_env() -> dict[str, str]:
    # Pagefind reads settings from PAGEFIND_* variables and a pagefind.yml in its working
    # folder (the temporary one): neither may change what cpdgen builds.
    return {k: v for k, v in os.environ.items() if not k.upper().startswith("PAGEFIND")}


def pack_index(files: list[tuple[str, bytes]]) -> bytes:
    """An index as one blob for the cache: a header line, then each file's path, length and bytes."""
    parts = [_PACK_HEADER]
    for path, data in files:
        parts.append(b"%s\n%d\n" % (path.encode("utf-8"), len(data)))
        parts.append(data)
    return b"".join(parts)


def unpack_index(blob: bytes | None) -> list[tuple[str, bytes]] | None:
    """The files of a blob ``pack_index`` made; None for no blob or a damaged one."""
    if blob is None or not blob.startswith(_PACK_HEADER):
        return None
    files = []
    at = len(_PACK_HEADER)
    try:
        while at < len(blob):
            end = blob.index(b"\n", at)
            path = blob[at:end].decode("utf-8")
            stop = blob.index(b"\n", end + 1)
            size = int(blob[end + 1 : stop])
            data = blob[stop + 1 : stop + 1 + size]
            if len(data) != size or size < 0 or not path.startswith(INDEX_FOLDER + "/"):
                return None
            files.append((path, data))
            at = stop + 1 + size
    except (ValueError, UnicodeDecodeError):
        return None
    return files if any(path.endswith("/pagefind.js") for path, _ in files) else None
