"""``cpdgen export pdf|csv``: the complete record (private activities and drafts included), outside ``site/``.

The default output folder is ``records/`` in the portfolio; a folder cpdgen creates gets a
``.gitignore`` of ``*``, because a complete record holds private activities. Nothing is
written into ``site/``, ``content/``, ``templates/`` or ``.git``. cpdgen overwrites only the
files it wrote itself and that nobody changed since (it keeps their checksums in
``.cpdgen-records.json`` beside them); any other file in the way stops the export, unless
``force``. Everything is rendered first and written only when all of it succeeded.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Callable

from cpdgen.loader import Portfolio, load_portfolio, resolve_as_of
from cpdgen.problems import CpdgenError, Problem, has_errors
from cpdgen.record import RecordProblems, find_diploma
from cpdgen.rules import Assessment

MANIFEST = ".cpdgen-records.json"
CACHE_FOLDER = ".cpdgen-cache"
KINDS = ("pdf", "csv")


@dataclass(frozen=True)
class Written:
    path: Path
    status: str  # "written", "unchanged" or "replaced" (a file cpdgen had not written, with force)


@dataclass(frozen=True)
class ExportResult:
    written: list[Written]
    warnings: list[Problem]  # things left out of a PDF (a link, raw HTML): reported, not fatal


def cache_dir(root: Path) -> Path:
    """Where rendered PDFs are kept between runs (git-ignored)."""
    return root / CACHE_FOLDER


def file_name(diploma_id: str) -> str:
    """A diploma id as a file name: letters, digits, '.', '_' and '-' only."""
    return re.sub(r"[^A-Za-z0-9._-]+", "-", diploma_id).strip("-.") or "diploma"


def check_output(root: Path, folder: Path) -> None:
    """Refuse an output folder inside the portfolio's own folders (exit 2)."""
    real = folder.resolve()
    root_real = root.resolve()
    for name in ("site", "content", "templates", ".git", CACHE_FOLDER):
        guarded = (root_real / name).resolve()
        if real == guarded or real.is_relative_to(guarded):
            raise CpdgenError(
                f"cpdgen export does not write into {name}/ ({folder}); "
                "the complete record goes outside it, by default into records/"
            )


def load_checked(root: Path) -> Portfolio:
    """The portfolio, refusing (with every problem) when a file is invalid: the record would miss it."""
    portfolio = load_portfolio(root)
    if portfolio.setup_failed or has_errors(portfolio.problems):
        errors = [p for p in portfolio.problems if p.severity == "error"]
        raise RecordProblems(errors, exit_code=2 if portfolio.setup_failed else 1)
    return portfolio


def plan_files(
    portfolio: Portfolio,
    assessment: Assessment,
    kind: str,
    diploma: str | None,
    out: Path | None,
    progress: Callable[[int, int, str, bool], None] | None = None,
    warnings: list[Problem] | None = None,
) -> dict[Path, bytes]:
    """Every file to write and its bytes: rendered before anything is written."""
    if kind not in KINDS:
        raise CpdgenError(f"export what? '{kind}' is not one of: {', '.join(KINDS)}")
    ids = [find_diploma(assessment, diploma).id] if diploma else [d.id for d in assessment.diplomas]
    target = out if out is not None else portfolio.root / "records"
    single = target.suffix.lower() == f".{kind}"
    if single and kind == "pdf" and len(ids) != 1:
        raise CpdgenError(
            f"--out {target} names one PDF, but there are {len(ids)} diplomas; add --diploma ID, or give a folder"
        )
    if kind == "pdf":
        from cpdgen.pdf import render_diploma_pdfs

        pdfs = render_diploma_pdfs(
            portfolio,
            assessment,
            ids,
            public=False,
            cache_dir=cache_dir(portfolio.root),
            progress=progress,
            warnings=warnings,
        )
        if single:
            return {target: pdfs[ids[0]]}
        return {target / f"{file_name(i)}.pdf": pdfs[i] for i in ids}
    from cpdgen.csvfile import activities_csv, diploma_csv

    if single:
        data = diploma_csv(portfolio, assessment, ids[0], public=False) if diploma else None
        return {target: data if data is not None else activities_csv(portfolio, assessment, public=False)}
    files = {} if diploma else {target / "activities.csv": activities_csv(portfolio, assessment, public=False)}
    for i in ids:
        files[target / f"{file_name(i)}.csv"] = diploma_csv(portfolio, assessment, i, public=False)
    return files


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _read_manifest(folder: Path) -> dict[str, str]:
    try:
        data = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
        written = data.get("written", {})
        return {str(k): str(v) for k, v in written.items()} if isinstance(written, dict) else {}
    except (OSError, ValueError, AttributeError):
        return {}


def _write_atomic(path: Path, data: bytes) -> None:
    temporary = path.with_name(f".{path.name}.cpdgen-tmp")
    try:
        with open(temporary, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


def write_files(root: Path, files: dict[Path, bytes], *, force: bool = False) -> list[Written]:
    """Write ``files``, overwriting only what cpdgen wrote itself (or anything, with ``force``)."""
    folders = sorted({path.parent for path in files})
    for folder in folders:
        check_output(root, folder)
    manifests = {folder: _read_manifest(folder) for folder in folders}
    in_the_way = []
    for path, data in files.items():
        if path.is_symlink() or (path.exists() and not path.is_file()):
            raise CpdgenError(f"{path} is a link or a folder; cpdgen export writes only plain files")
        if not path.exists():
            continue
        current = _digest(path.read_bytes())
        ours = manifests[path.parent].get(path.name) == current
        if not ours and current != _digest(data):
            in_the_way.append(path)
    if in_the_way and not force:
        listed = "\n".join(f"  {p}" for p in in_the_way)
        raise CpdgenError(
            "these files exist and were not written by cpdgen (or were changed since), so they are left alone:\n"
            f"{listed}\nmove them away, choose another --out, or add --force to replace them"
        )
    results = []
    for folder in folders:
        if not folder.exists():
            folder.mkdir(parents=True)
            (folder / ".gitignore").write_text(
                "# Created by cpdgen export: complete records hold private activities; keep them out of git.\n*\n",
                encoding="utf-8",
            )
    for path, data in files.items():
        existed = path.exists()
        if existed and path.read_bytes() == data:
            status = "unchanged"
        else:
            status = "replaced" if path in in_the_way else "written"
            _write_atomic(path, data)
        manifests[path.parent][path.name] = _digest(data)
        results.append(Written(path, status))
    for folder, manifest in manifests.items():
        text = json.dumps({"about": "files written by cpdgen export, with their SHA-256", "written": manifest},
                          indent=2, sort_keys=True)  # fmt: skip
        _write_atomic(folder / MANIFEST, (text + "\n").encode("utf-8"))
    return results


def export_records(
    root: Path,
    kind: str,
    *,
    diploma: str | None = None,
    out: Path | None = None,
    as_of: date | None = None,
    force: bool = False,
    progress: Callable[[int, int, str, bool], None] | None = None,
) -> ExportResult:
    """Load and check the portfolio, render the complete record, and write it."""
    portfolio = load_checked(root)
    assessment = portfolio.assess(resolve_as_of(portfolio.timezone, as_of))
    assert assessment is not None  # load_checked refused a portfolio.yaml too broken to judge
    if out is not None:
        check_output(portfolio.root, out.parent if out.suffix.lower() == f".{kind}" else out)
    warnings: list[Problem] = []
    files = plan_files(portfolio, assessment, kind, diploma, out, progress, warnings)
    return ExportResult(write_files(portfolio.root, files, force=force), warnings)
