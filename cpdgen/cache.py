"""Every cache cpdgen keeps, in one folder per portfolio, and the switch that turns them off.

The root is ``$CPDGEN_CACHE_DIR`` when it is set (a CI job points it at a folder it keeps
between runs), else the user's cache folder (``$XDG_CACHE_HOME/cpdgen``, ``~/.cache/cpdgen``,
or ``%LOCALAPPDATA%\\cpdgen``). Each portfolio gets its own sub-folder there, named after
the portfolio's folder and a hash of its full path. Nothing is cached inside the portfolio:
a file that a pull request adds to the repository is never read as a cache.

What is kept, and what each entry is keyed on (a cache never changes an output, only how
fast it is made; every entry is versioned by the code that wrote it; the folder is safe to
delete at any time)::

    files.pickle       each file's parse (front matter, fields, sections), by its stat
    markdown.json      each text's safe HTML, by the text's SHA-256 and the renderer
    jinja/             compiled templates, by their source (Jinja's own bytecode cache)
    pdf/               each diploma's PDF, by a hash of everything the PDF is made from
    search/            the site's search index, by the pages Pagefind reads, its version and options
    build-<out>.json   what the last build of <out> was made from, so an unchanged build is skipped
    site-<out>/        the site the last build replaced, recycled by the next build

Caches are best effort: one that cannot be read is ignored, one that cannot be written (a
full or read-only disk) only costs time on the next run. ``--no-cache`` (build, check,
export) reads and writes none of them.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
from collections.abc import Callable, Iterable
from contextlib import suppress
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar, cast

from cpdgen.fsutil import atomic_write_bytes

if TYPE_CHECKING:
    import jinja2

T = TypeVar("T")
ENV = "CPDGEN_CACHE_DIR"
IGNORE_TEXT = "# Created by cpdgen: this folder is a cache, never committed.\n*\n"


def cache_home() -> Path:
    """The folder that holds every portfolio's caches."""
    explicit = os.environ.get(ENV)
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_CACHE_HOME") or (os.environ.get("LOCALAPPDATA") if os.name == "nt" else None)
    return (Path(base) if base else Path.home() / ".cache") / "cpdgen"


def _short_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:16]


def save_best_effort(path: Path | None, data: bytes) -> bool:
    """Write a cache file atomically; False (and nothing raised) when it cannot be written."""
    if path is None:
        return False
    try:
        atomic_write_bytes(path, data, durable=False)
    except OSError:
        return False
    return True


class Caches:
    """The cache folder of one portfolio. With ``enabled=False`` every path is None: nothing is kept."""

    def __init__(self, root: Path, *, enabled: bool = True):
        self.root = root
        self.enabled = enabled
        name = "".join(c if c.isalnum() or c in "-_" else "-" for c in root.name)[:40] or "portfolio"
        self.folder: Path | None = cache_home() / f"{name}-{_short_hash(os.fspath(root))}" if enabled else None

    def path(self, name: str) -> Path | None:
        """A file or folder of this portfolio's cache, or None when caching is off."""
        return self.folder / name if self.folder is not None else None

    def for_output(self, prefix: str, out: Path, suffix: str = "") -> Path | None:
        """A cache entry belonging to one output folder (``build-<hash>.json``, ``site-<hash>``)."""
        return self.path(f"{prefix}-{_short_hash(os.fspath(out))}{suffix}")

    def folder_for(self, name: str) -> Path | None:
        """A sub-folder of the cache, created (with a .gitignore) on first use; None when that fails."""
        folder = self.path(name)
        if folder is None:
            return None
        try:
            folder.mkdir(parents=True, exist_ok=True)
            ignore = self.folder / ".gitignore"  # type: ignore[operator]
            if not ignore.exists():
                atomic_write_bytes(ignore, IGNORE_TEXT.encode("utf-8"), durable=False)
        except OSError:
            return None
        return folder


def code_fingerprint() -> str:
    """A hash of cpdgen's own code and Python's version: caches written by other code are not used."""
    from cpdgen import __version__

    digest = hashlib.sha256(f"{__version__}\0{sys.version}".encode())
    package = Path(__file__).resolve().parent
    for source in sorted(package.rglob("*.py")):
        digest.update(source.relative_to(package).as_posix().encode() + b"\0" + source.read_bytes() + b"\0")
    return digest.hexdigest()


# --- each file's parse, by its stat --------------------------------------------------------


class FileMemo:
    """Results computed from one file, kept while the file does not change.

    Keyed by the file's stat (modification and change times, size, inode). In memory for
    a long-running process (the dev server); with ``path``, also saved to disk for the
    next run (:meth:`save`). A saved memo is used only by the same code and libraries that
    wrote it (``versions``); a damaged one is ignored.
    """

    def __init__(self, path: Path | None = None, versions: Iterable[str] = ()) -> None:
        self.path = path
        self._versions = tuple(versions)
        self._files: dict[tuple[str, str], tuple[tuple, object]] = {}
        self._used: set[tuple[str, str]] = set()
        self._dirty = False
        if path is not None:
            self._files = self._read(path)

    def get(self, kind: str, path: Path, compute: Callable[[], T]) -> T:
        """``compute()``'s result for ``path``, computed again only when the file changed."""
        key = _stat_key(path)
        if key is None:
            return compute()
        name = (kind, os.fspath(path))
        self._used.add(name)
        hit = self._files.get(name)
        if hit is not None and hit[0] == key:
            return cast(T, hit[1])  # what compute() returned for this kind of file
        value = compute()
        self._files[name] = (key, value)
        self._dirty = True
        return value

    def missing(self, kind: str, paths: Iterable[Path]) -> list[tuple[Path, tuple]]:
        """The ``paths`` whose result :meth:`get` would compute now, each with its file's stat key."""
        found = []
        for path in paths:
            key = _stat_key(path)
            hit = self._files.get((kind, os.fspath(path)))
            if key is not None and (hit is None or hit[0] != key):
                found.append((path, key))
        return found

    def put(self, kind: str, path: Path, key: tuple, value: object) -> None:
        """Keep ``value``, computed elsewhere as :meth:`get` would, for ``path`` as it was when
        :meth:`missing` gave its ``key``: a file changed since then is computed again."""
        self._files[(kind, os.fspath(path))] = (key, value)
        self._dirty = True

    def _header(self) -> bytes:
        digest = hashlib.sha256("\0".join((code_fingerprint(), *self._versions)).encode())
        return b"cpdgen-file-memo " + digest.hexdigest().encode() + b"\n"

    def _read(self, path: Path) -> dict:
        import pickle

        try:
            with open(path, "rb") as handle:
                if handle.readline() != self._header():
                    return {}  # written by other code: its results may differ
                files = pickle.load(handle)  # noqa: S301 - our own file, outside the portfolio, checked above
        except OSError:
            return {}
        except Exception:  # noqa: BLE001 - a truncated or damaged cache fails in many ways; it is only ignored
            return {}
        return files if isinstance(files, dict) else {}

    def save(self) -> None:
        """Write the entries used since the last save to disk (others are dropped), if anything changed."""
        if self.path is None:
            return
        pruned = len(self._files) != len(self._used)
        self._files = {name: entry for name, entry in self._files.items() if name in self._used}
        self._used = set()
        if not (self._dirty or pruned):
            return
        import pickle

        data = self._header() + pickle.dumps(self._files, protocol=pickle.HIGHEST_PROTOCOL)
        if save_best_effort(self.path, data):
            self._dirty = False


def _stat_key(path: Path) -> tuple | None:
    try:
        info = path.stat()
    except OSError:
        return None
    return (info.st_mtime_ns, info.st_ctime_ns, info.st_size, info.st_ino)


# --- texts by their content ----------------------------------------------------------------


def text_key(text: str) -> str:
    """The cache key of a text: its SHA-256."""
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


class TextMemo:
    """Strings computed from texts, by the text's hash: each distinct text is computed once.

    In memory for as long as the object lives and, with ``path``, saved as JSON for the
    next run. ``version`` names everything that could change the result for the same text;
    a file written under another version, or unreadable, is ignored.
    """

    def __init__(self, version: str, path: Path | None = None):
        self.version = version
        self.path = path
        self.entries: dict[str, str] = {}
        self._used: set[str] = set()
        self._dirty = False
        if path is not None:
            self.entries = self._read(path)

    def _read(self, path: Path) -> dict[str, str]:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}  # no cache yet, or a damaged one: start afresh
        if not isinstance(data, dict) or data.get("version") != self.version:
            return {}
        entries = data.get("entries")
        if not isinstance(entries, dict):
            return {}
        return {k: v for k, v in entries.items() if isinstance(k, str) and isinstance(v, str)}

    def get(self, key: str) -> str | None:
        self._used.add(key)
        return self.entries.get(key)

    def put(self, key: str, value: str) -> None:
        self._used.add(key)
        self.entries[key] = value
        self._dirty = True

    def save(self) -> None:
        """Write the entries used since the last save (others are dropped), if anything changed."""
        if self.path is None:
            return
        pruned = len(self.entries) != len(self._used)
        if not (self._dirty or pruned):
            self._used = set()
            return
        self.entries = {key: self.entries[key] for key in sorted(self._used) if key in self.entries}
        self._used = set()
        data = json.dumps({"version": self.version, "entries": self.entries}, ensure_ascii=False)
        if save_best_effort(self.path, data.encode("utf-8")):
            self._dirty = False


# --- whole files by a key: the PDFs ----------------------------------------------------------


class BlobStore:
    """Files kept under ``folder``, one per name: a new one replaces the one it supersedes."""

    def __init__(self, folder: Path | None, suffix: str):
        self.folder = folder
        self.suffix = suffix

    def _path(self, name: str, key: str) -> Path | None:
        return self.folder / f"{name}-{key[:40]}{self.suffix}" if self.folder is not None else None

    def get(self, name: str, key: str) -> bytes | None:
        path = self._path(name, key)
        if path is None:
            return None
        try:
            return path.read_bytes()
        except OSError:
            return None

    def put(self, name: str, key: str, data: bytes) -> None:
        path = self._path(name, key)
        if path is None or not save_best_effort(path, data):
            return
        for old in path.parent.glob(f"{name}-*{self.suffix}"):
            if old != path:
                old.unlink(missing_ok=True)


def bytecode_cache(folder: Path | None) -> jinja2.BytecodeCache | None:
    """Jinja's bytecode cache in ``folder``, best effort (a full disk must not fail a build); None for none."""
    if folder is None:
        return None
    import jinja2

    class BestEffortBytecodeCache(jinja2.FileSystemBytecodeCache):
        def dump_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
            with suppress(OSError):  # compiled again next time
                super().dump_bytecode(bucket)

        def load_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
            try:
                super().load_bytecode(bucket)
            except (OSError, ValueError, EOFError):
                bucket.reset()

    return BestEffortBytecodeCache(str(folder))
