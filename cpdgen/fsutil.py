"""Reading and writing files safely: one way to read a member's files, guarded output folders,
atomic writes and swaps, one build at a time.

Every file cpdgen reads from a portfolio (activities, reflections, portfolio.yaml, evidence,
the portfolio's own templates) is read by :func:`read_member_file`: never through a link
that leads out of its folder, only regular files (a pipe or a device would block or never
end), and never more than a limit, read in bounded chunks.

cpdgen owns an output folder only if it made it (it holds the marker file ``.cpdgen-output``)
or the folder is empty. It never cleans a folder in place: a build goes into a temporary
sibling folder, which is swapped in only when everything was written, so a failed or
killed build leaves the previous site as it was.
"""

from __future__ import annotations

import errno
import json
import os
import shutil
import stat
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path, PurePosixPath
from typing import IO, Literal

from cpdgen.problems import BuildLocked, CpdgenError, ReadError

_UMASK = os.umask(0o022)
os.umask(_UMASK)
FILE_MODE = 0o666 & ~_UMASK  # what open() would give a new file
FOLDER_MODE = 0o777 & ~_UMASK

MARKER = ".cpdgen-output"
MARKER_TEXT = "This folder is written by cpdgen. Do not edit it: every build replaces it.\n"
TEMP_PREFIX_SUFFIX = ".tmp-"


_READ_CHUNK = 1 << 20


class RealPaths:
    """The real path of files, resolving each folder's symbolic links once.

    ``os.path.realpath`` looks at every component of a path; a portfolio's files share a
    few folders, so a folder's real path is kept (for one load) and only the file itself
    is looked at.
    """

    def __init__(self) -> None:
        self._folders: dict[str, str] = {}

    def folder(self, path: str) -> str:
        real = self._folders.get(path)
        if real is None:
            real = self._folders[path] = os.path.realpath(path)
        return real

    def real(self, path: str, info: os.stat_result | None = None) -> str:
        """The real path of ``path`` (whose ``os.lstat`` is ``info``, when the caller has it)."""
        if info is None:
            try:
                info = os.lstat(path)
            except OSError:
                return os.path.realpath(path)
        if stat.S_ISLNK(info.st_mode):
            return os.path.realpath(path)
        parent, name = os.path.split(path)
        return os.path.join(self.folder(parent), name)


def read_member_file(
    path: Path, within: Path, *, limit: int, what: str = "content/", paths: RealPaths | None = None
) -> bytes:
    """The bytes of a member's file inside the folder ``within``, read safely; ReadError otherwise.

    Refused: a link that leads outside ``within`` (``what`` names the folder in the message);
    anything but a regular file (a folder, a pipe, a device); a file larger than ``limit``
    bytes. The file is read in chunks of at most a mebibyte and never past ``limit``, so a
    file that grows while it is read, or never ends, is stopped.
    """
    real = paths.real(os.fspath(path)) if paths is not None else os.path.realpath(path)
    boundary = paths.folder(os.fspath(within)) if paths is not None else os.path.realpath(within)
    if real != boundary and not real.startswith(os.path.join(boundary, "")):
        raise ReadError("outside-content", f"this file is a link to a file outside {what}; copy it in instead", None)
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_BINARY", 0)
    try:
        fd = os.open(real, flags)
    except OSError as exc:
        raise ReadError("unreadable", f"cannot read this file: {exc.strerror or exc}", None) from None
    try:
        info = os.fstat(fd)
    except OSError as exc:
        os.close(fd)
        raise ReadError("unreadable", f"cannot read this file: {exc.strerror or exc}", None) from None
    if not stat.S_ISREG(info.st_mode):  # checked before fdopen, which refuses a folder on its own terms
        os.close(fd)
        raise ReadError(
            "not-a-file", "this is not a regular file (a folder, pipe or device); cpdgen reads only files", None
        )
    with os.fdopen(fd, "rb", buffering=0) as handle:
        try:
            if info.st_size > limit:
                raise ReadError("file-too-large", f"the file is {info.st_size:,} bytes (limit {limit:,})", None)
            chunks: list[bytes] = []
            size = 0
            while size <= limit:
                chunk = handle.read(min(_READ_CHUNK, limit + 1 - size))
                if not chunk:
                    break
                chunks.append(chunk)
                size += len(chunk)
        except OSError as exc:
            raise ReadError("unreadable", f"cannot read this file: {exc.strerror or exc}", None) from None
    if size > limit:
        raise ReadError("file-too-large", f"the file is larger than {limit:,} bytes (it grew while read)", None)
    return b"".join(chunks)


def safe_join(base: Path, relative: str) -> Path:
    """``base / relative`` for a relative POSIX path that stays inside ``base``; else ValueError."""
    pure = PurePosixPath(relative)
    if (
        not relative
        or "\\" in relative
        or "\x00" in relative
        or pure.is_absolute()
        or any(part in ("", ".", "..") for part in relative.split("/"))
    ):
        raise ValueError(f"unsafe output path {relative!r}")
    return base.joinpath(*pure.parts)


def _describe(path: Path, root: Path) -> str:
    try:
        return path.relative_to(root).as_posix() or "."
    except ValueError:
        return str(path)


def check_output_folder(root: Path, out: Path, *, purpose: Literal["site", "records"] = "site") -> Path:
    """The resolved output folder, or CpdgenError (exit 2) when writing there could harm the portfolio.

    The one guard of every output. Always refused: the portfolio folder itself or any folder
    above it; ``content/``, ``templates/``, ``.git/`` or anything inside or above them. For the
    ``site`` (a folder cpdgen replaces as a whole) also: the home folder, the file-system
    root, and an existing folder that is not empty and was not written by cpdgen (no
    marker file). For ``records`` (complete records, written file by file next to other
    files) also: the site's folder ``site/`` and anything inside it.
    """
    root = root.resolve()
    target = out.resolve()
    shown = _describe(target, root)
    what = "the site" if purpose == "site" else "the complete record"
    if target == Path(target.anchor) or (purpose == "site" and target == Path.home().resolve()):
        raise CpdgenError(f"refusing to write {what} to {target}: choose a folder such as {purpose}/")
    if target == root or root.is_relative_to(target):
        raise CpdgenError(
            f"refusing to write {what} to {shown}: it holds your portfolio; "
            f"choose a folder inside it, such as {purpose}/"
        )
    guarded_names = ("content", "templates", ".git") + (("site",) if purpose == "records" else ())
    for name in guarded_names:
        guarded = (root / name).resolve()
        if target == guarded or target.is_relative_to(guarded) or guarded.is_relative_to(target):
            raise CpdgenError(
                f"refusing to write {what} to {shown}: it would mix it with your {name}/ folder; "
                f"choose a separate folder such as {purpose}/"
            )
    if target.exists() and not target.is_dir():
        raise CpdgenError(f"refusing to write {what} to {shown}: it is a file, not a folder")
    if purpose == "records":
        site = next((f for f in (target, *target.parents) if (f / MARKER).is_file()), None)
        if site is not None:
            raise CpdgenError(
                f"refusing to write the complete record to {shown}: {_describe(site, root)} is a site cpdgen "
                "builds, and everything in it is published; use records/, or a folder outside your portfolio"
            )
    if purpose == "records" and target.is_dir() and target.is_relative_to(root) and not _kept_out_of_git(root, target):
        if target == (root / "records").resolve():  # made by hand: cpdgen adds its .gitignore only to a folder it makes
            raise CpdgenError(
                f"refusing to write the complete record to {shown}: git would commit it with your portfolio, "
                f"private activities included, and cpdgen did not make it, so it has no .gitignore of cpdgen's; "
                f"add {shown}/ to your .gitignore first, or move the folder away and let cpdgen make it"
            )
        raise CpdgenError(
            f"refusing to write the complete record to {shown}: git would commit it with your portfolio, private "
            f"activities included; use records/ (cpdgen keeps it out of git), a folder outside your portfolio, "
            f"or add {shown}/ to your .gitignore first"
        )
    if purpose == "site" and target.is_dir() and not (target / MARKER).is_file() and any(target.iterdir()):
        raise CpdgenError(
            f"refusing to write the site to {shown}: the folder holds files cpdgen did not write; "
            "empty it or choose another folder (cpdgen never deletes files it did not write)"
        )
    return target


def _kept_out_of_git(root: Path, folder: Path) -> bool:
    """Whether git leaves ``folder`` (inside the portfolio) out of commits: it holds a ``.gitignore``
    of ``*`` (cpdgen writes one into every records folder it makes), git says it is ignored, or the
    portfolio is not a git repository at all."""
    try:
        ignore = (folder / ".gitignore").read_text(encoding="utf-8")
        if "*" in (line.strip() for line in ignore.splitlines()):
            return True
    except (OSError, UnicodeDecodeError):
        pass
    import subprocess

    probe = folder.relative_to(root).as_posix() + "/cpdgen-probe"
    try:
        done = subprocess.run(  # noqa: S603 - a fixed git command; the path is an argument after "--"
            ["git", "-C", os.fspath(root), "check-ignore", "-q", "--", probe],  # noqa: S607 - git from PATH, as members run it
            capture_output=True,
            timeout=30,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return True  # no git here: nothing can commit it
    return done.returncode != 1  # 0 ignored; 128 not a repository (or git could not tell)


# --- manifests: what cpdgen wrote in a folder ---------------------------------------------------
# One format for every folder cpdgen writes into: the site's marker file and the records'
# manifest both hold ``{"note": …, "format": 1, "files": {relative path: [key, size]}}``.

MANIFEST_FORMAT = 1


def read_manifest(path: Path) -> dict[str, list]:
    """The files a manifest lists (``{path: [key, size]}``); empty when there is none or it is unreadable."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    if not isinstance(data, dict):
        return {}
    files = data.get("files")
    if data.get("format") == MANIFEST_FORMAT and isinstance(files, dict):
        return {str(k): v for k, v in files.items() if isinstance(v, list) and len(v) == 2}
    written = data.get("written")  # records manifests of cpdgen 0.1: {name: sha256}
    if isinstance(written, dict):
        return {str(k): [str(v), None] for k, v in written.items()}
    return {}


def manifest_bytes(files: dict[str, list], note: str) -> bytes:
    """A manifest's text: a note for people, and the files with their keys and sizes, sorted."""
    text = json.dumps(
        {"note": note.strip(), "format": MANIFEST_FORMAT, "files": {path: files[path] for path in sorted(files)}},
        indent=0,
        sort_keys=True,
    )
    return (text + "\n").encode("utf-8")


# --- names cpdgen never reads ---------------------------------------------------------------

_IGNORED_SUFFIXES = ("~", ".swp", ".swo", ".swx", ".tmp", ".bak", ".orig")


def undecodable(name: str) -> bool:
    """True for a file name that is not UTF-8 text (Python keeps its bytes as surrogates), as
    an archive made on another system can leave; such a name cannot go into a web address."""
    return any("\udc80" <= c <= "\udcff" for c in name)


def shown_name(name: str) -> str:
    """A file name as it can be printed, whatever its bytes: U+FFFD for what is not UTF-8."""
    return name.encode("utf-8", "surrogateescape").decode("utf-8", "replace")


def is_ignored(name: str) -> bool:
    """Hidden files and editors' temporary files are never read."""
    return name.startswith((".", "#", "~$")) or name.endswith(_IGNORED_SUFFIXES)


def write_marker(folder: Path, files: dict[str, list] | None = None) -> None:
    """Mark ``folder`` as cpdgen's own (listing the ``files`` it wrote), so a later build may replace it."""
    atomic_write_bytes(folder / MARKER, manifest_bytes(files or {}, MARKER_TEXT), durable=False)


def make_temp_folder(out: Path) -> Path:
    """A new, marked, empty folder beside ``out`` on the same file system: ``<name>.tmp-XXXX``."""
    out.parent.mkdir(parents=True, exist_ok=True)
    temp = Path(tempfile.mkdtemp(prefix=out.name + TEMP_PREFIX_SUFFIX, dir=out.parent))
    os.chmod(temp, FOLDER_MODE)  # mkdtemp makes it private; a site is meant to be read
    write_marker(temp)  # so a build killed half-way leaves a folder the next build may clean
    return temp


def clean_stale_temp_folders(out: Path) -> list[Path]:
    """Remove ``<name>.tmp-*`` folders left beside ``out`` by killed builds (only those with the marker)."""
    removed: list[Path] = []
    if not out.parent.is_dir():
        return removed
    for candidate in sorted(out.parent.glob(out.name + TEMP_PREFIX_SUFFIX + "*")):
        if candidate.is_dir() and not candidate.is_symlink() and (candidate / MARKER).is_file():
            shutil.rmtree(candidate, ignore_errors=True)
            removed.append(candidate)
    return removed


_AT_FDCWD = -100
_RENAME_EXCHANGE = 2


def exchange(first: Path, second: Path) -> bool:
    """Swap two existing paths in one atomic step (Linux's ``renameat2(RENAME_EXCHANGE)``).

    False where the system or the file system cannot (the caller then renames twice).
    """
    if not sys.platform.startswith("linux"):
        return False
    import ctypes

    try:
        renameat2 = ctypes.CDLL(None, use_errno=True).renameat2
    except (AttributeError, OSError):
        return False  # a C library older than glibc 2.28
    renameat2.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    if renameat2(_AT_FDCWD, os.fsencode(first), _AT_FDCWD, os.fsencode(second), _RENAME_EXCHANGE) == 0:
        return True
    error = ctypes.get_errno()
    if error in (errno.ENOSYS, errno.EINVAL, errno.EPERM, errno.EOPNOTSUPP):
        return False  # not supported here
    raise OSError(error, os.strerror(error), os.fspath(first))


def swap_in(temp: Path, out: Path, spare: Path | None = None) -> None:
    """Replace ``out`` by the finished ``temp`` folder; the old folder is removed only after the swap.

    On Linux the two folders are exchanged in one atomic step, so ``out`` exists at every
    moment. Elsewhere ``os.replace`` cannot replace a non-empty folder, so the old one is
    first renamed aside (``<name>.tmp-old-…``, marked, so a crash in between is cleaned by
    the next build, which then finds no ``out`` until it swaps its own in). With ``spare``,
    the old folder is kept there instead of being removed (see :func:`take_spare`).
    """
    if not out.exists():
        os.replace(temp, out)
        return
    if exchange(temp, out):
        aside = temp  # now holds the old site
    else:
        aside = Path(tempfile.mkdtemp(prefix=out.name + TEMP_PREFIX_SUFFIX + "old-", dir=out.parent))
        os.rmdir(aside)
        os.replace(out, aside)
        try:
            os.replace(temp, out)
        except OSError:
            os.replace(aside, out)  # put the old site back
            raise
    if spare is None or not keep_spare(aside, spare):
        shutil.rmtree(aside, ignore_errors=True)


# Files a member puts into a cpdgen-made site/ that every build keeps: a custom domain for
# GitHub Pages, Jekyll switched off, a host's headers and redirects, domain verification.
ALWAYS_KEPT = ("CNAME", ".nojekyll", "_headers", "_redirects", ".well-known/")


def carry_over(old: Path, new: Path, keep: list[str], ours: set[str]) -> list[str]:
    """Copy the member's own files named by ``keep`` (a path, or a folder ending in ``/``) from the
    old site into the new one; the paths that were not kept because cpdgen writes them (``ours``)."""
    clashes: list[str] = []
    for entry in keep:
        folder = entry.endswith("/")
        try:
            source = safe_join(old, entry.rstrip("/"))
        except ValueError:
            continue
        if folder:
            files = [p for p in source.rglob("*") if p.is_file() and not p.is_symlink()] if source.is_dir() else []
        else:
            files = [source] if source.is_file() and not source.is_symlink() else []
        for path in files:
            relative = path.relative_to(old).as_posix()
            if relative in ours:
                clashes.append(relative)
                continue
            target = new / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            link_or_copy(path, target)
    return clashes


# Spare folders: creating a folder or a file costs far more than renaming or linking one on
# some file systems, so a build recycles the site it replaced instead of making every folder
# again. The previous site is moved into the cache folder after a swap; the next build moves
# it back beside the output folder, brings it up to date as its temporary folder (unchanged
# files stay, others are replaced by new files, never written into) and swaps it in. The
# output folder itself is never touched before the swap.


def keep_spare(folder: Path, spare: Path) -> bool:
    """Move ``folder`` (a marked output folder) to ``spare``; False when it cannot go there."""
    try:
        spare.parent.mkdir(parents=True, exist_ok=True)
        if os.path.lexists(spare):
            shutil.rmtree(spare)
        os.replace(folder, spare)
    except OSError:
        return False  # e.g. the cache folder is on another file system
    return True


def take_spare(spare: Path, out: Path) -> Path | None:
    """Move the kept ``spare`` folder beside ``out`` as a temporary build folder (``<name>.tmp-XXXX``).

    None when there is no usable spare: the build starts from an empty folder. If the build
    is killed, the folder is a marked temporary folder that the next build removes.
    """
    if spare.is_symlink() or not (spare / MARKER).is_file():
        return None
    out.parent.mkdir(parents=True, exist_ok=True)
    temp = Path(tempfile.mkdtemp(prefix=out.name + TEMP_PREFIX_SUFFIX, dir=out.parent))
    os.rmdir(temp)  # only its unique name is needed
    try:
        os.replace(spare, temp)
    except OSError:
        shutil.rmtree(spare, ignore_errors=True)  # on another file system: of no use
        return None
    return temp


def atomic_write_bytes(path: Path, data: bytes, *, durable: bool = True) -> None:
    """Write ``path`` so that it is either complete or untouched: temp file, flush, fsync, rename.

    ``durable=False`` skips the fsync: readers still never see a half-written file, but
    after a power cut the file may be lost. Fine for caches and pages that are rebuilt anyway.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temp_name = tempfile.mkstemp(prefix="." + path.name + ".", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            if durable:
                os.fsync(handle.fileno())
        os.chmod(temp_name, FILE_MODE)  # mkstemp makes it private
        os.replace(temp_name, path)
    except BaseException:
        with suppress(FileNotFoundError):
            os.unlink(temp_name)
        raise


_NEW_FILE = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_BINARY", 0) | getattr(os, "O_CLOEXEC", 0)


def write_new_file(path: Path, data: bytes) -> None:
    """Write a file inside a fresh temporary build folder (the folder swap makes the whole build atomic).

    Three system calls (open, write, close): a build writes a thousand files or more, and a
    buffered ``open`` adds a stat, a terminal check and a seek to each."""
    fd = os.open(path, _NEW_FILE, 0o666)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
    finally:
        os.close(fd)


def link_or_copy(src: Path, dst: Path) -> None:
    """Reuse an unchanged file of the previous build: a hard link when possible, else a copy."""
    try:
        os.link(src, dst)
    except OSError:
        shutil.copyfile(src, dst)


def lock_path(out: Path) -> Path:
    """The lock file of an output folder: ``.<name>.cpdgen-lock`` beside it."""
    return out.parent / f".{out.name}.cpdgen-lock"


@contextmanager
def build_lock(out: Path) -> Iterator[None]:
    """Hold the output folder's lock for one build; fail at once (exit 2) when another build holds it."""
    path = lock_path(out)
    path.parent.mkdir(parents=True, exist_ok=True)
    for _ in range(5):
        handle = open(path, "a+")  # noqa: SIM115 - held for the whole build, closed below
        try:
            _lock(handle)
        except OSError as exc:
            handle.close()
            if exc.errno in (errno.EACCES, errno.EAGAIN, errno.EDEADLK):
                raise BuildLocked(
                    f"another cpdgen build is writing {out.name}/ (lock {path.name}); wait for it to finish"
                ) from None
            raise
        try:
            same = os.stat(path).st_ino == os.fstat(handle.fileno()).st_ino
        except FileNotFoundError:
            same = False
        if same:
            break
        handle.close()  # the file was removed by the build that held it: lock the new one
    else:  # pragma: no cover - needs five builds racing
        raise BuildLocked(f"could not lock {path.name}; another cpdgen build keeps starting")
    try:
        yield
    finally:
        with suppress(OSError):
            path.unlink()  # while still holding the lock, so no one else can hold this file
        handle.close()


def _lock(handle: IO[str]) -> None:
    if sys.platform == "win32":  # pragma: no cover - exercised on Windows only
        import msvcrt

        handle.seek(0)
        msvcrt.locking(handle.fileno(), msvcrt.LK_NBLCK, 1)
    else:
        import fcntl

        fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
