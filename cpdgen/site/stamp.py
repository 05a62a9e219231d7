"""Remembering what the last build was made from, so a build with nothing changed is skipped.

After a successful ``cpdgen build`` a stamp is saved in the cache folder: a signature of
every file under ``content/`` and ``templates/`` (path, size, modification and change
times, inode), of cpdgen's own code and theme, the options, the date the diplomas were
judged on, and the problems reported. A later build whose signature, options and date are
the same, and whose output folder still holds every file listed in its marker, has
nothing to do: it reports the same problems and leaves the site as it is.

Only light modules are imported here, so that check costs a few milliseconds.
Any doubt (no stamp, an unreadable one, ``SOURCE_DATE_EPOCH`` set) means a full build.
"""

from __future__ import annotations

import hashlib
import json
import os
from contextlib import suppress
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from cpdgen import fsutil, theme_dir
from cpdgen.cache import code_fingerprint
from cpdgen.problems import Problem

STAMP_FORMAT = 2


def _code_signature() -> str:
    """cpdgen's own code and its default theme: a new version of either means a full build."""
    digest = hashlib.sha256(code_fingerprint().encode())
    theme = theme_dir()
    for path in sorted(p for p in theme.rglob("*") if p.is_file()):
        digest.update(path.relative_to(theme).as_posix().encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


def source_signature(root: Path) -> str:
    """A hash of what a build reads: every file under content/ and templates/, and cpdgen itself.

    A file's change time moves on every write, so an edit is seen even when the size and
    modification time were kept.
    """
    digest = hashlib.sha256(_code_signature().encode())
    for base in ("content", "templates"):
        top = root / base
        for dirpath, dirnames, filenames in os.walk(top):
            dirnames.sort()
            for name in sorted(filenames + dirnames):
                path = os.path.join(dirpath, name)
                try:
                    info = os.stat(path)
                    line = f"{info.st_size}:{info.st_mtime_ns}:{info.st_ctime_ns}:{info.st_ino}:{info.st_mode}"
                except OSError:
                    line = "missing"
                digest.update(f"{os.path.relpath(path, root)}\0{line}\n".encode("utf-8", "surrogatepass"))
    return digest.hexdigest()


def _marker_identity(out: Path) -> list[int] | None:
    try:
        info = os.stat(out / fsutil.MARKER)
    except OSError:
        return None
    return [info.st_size, info.st_mtime_ns, info.st_ino]


def _today(timezone: str) -> date | None:
    if os.environ.get("SOURCE_DATE_EPOCH", "").strip():
        return None  # the loader decides what that means
    try:
        return datetime.now(tz=ZoneInfo(timezone)).date()
    except (ValueError, OSError):
        return None


def save_stamp(
    path: Path, *, signature: str, out: Path, as_of: date, timezone: str, options: dict, problems: list[Problem]
) -> None:
    """Remember a successful build (best effort: a stamp that cannot be saved only costs time)."""
    data = {
        "format": STAMP_FORMAT,
        "signature": signature,
        "out": str(out),
        "marker": _marker_identity(out),
        "as_of": as_of.isoformat(),
        "timezone": timezone,
        "options": options,
        "problems": [p.to_dict() for p in problems],
    }
    with suppress(OSError):
        fsutil.atomic_write_bytes(path, json.dumps(data, sort_keys=True).encode("utf-8"), durable=False)


def unchanged_build(
    path: Path, *, signature: str, out: Path, as_of: date | None, options: dict
) -> tuple[date, list[Problem]] | None:
    """The date and problems of the last build when it can stand as this one; else None."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        if data.get("format") != STAMP_FORMAT or data["signature"] != signature or data["options"] != options:
            return None
        if data["out"] != str(out) or data["marker"] is None or data["marker"] != _marker_identity(out):
            return None
        day = as_of or _today(data["timezone"])
        if day is None or day.isoformat() != data["as_of"]:
            return None
        problems = [
            Problem(p["file"], p["line"], p["severity"], p["code"], p["message"], p.get("column"))
            for p in data["problems"]
        ]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if not _site_intact(out):
        return None
    return day, problems


def _site_intact(out: Path) -> bool:
    """Every file the marker lists is still there with its size (nothing removed or truncated)."""
    files = fsutil.read_manifest(out / fsutil.MARKER)
    if not files:
        return False
    try:
        for relative, entry in files.items():
            if fsutil.safe_join(out, relative).stat().st_size != entry[1]:
                return False
    except (OSError, ValueError):
        return False
    return True
