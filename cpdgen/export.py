"""``cpdgen export pdf|csv``: the complete record (private activities and drafts included), outside ``site/``;
and ``cpdgen hcpc-profile``, the draft HCPC CPD profile made from it, written the same way.

The default output folder is ``records/`` in the portfolio; a folder cpdgen creates gets a
``.gitignore`` of ``*``, because a complete record holds private activities. Nothing is
written into ``site/``, ``content/``, ``templates/`` or ``.git``. cpdgen overwrites only the
files it wrote itself and that nobody changed since (it keeps their checksums in the
manifest ``.cpdgen-records.json`` beside them, in the same format as the site's marker);
any other file in the way stops the export, unless ``force``. Everything is rendered first
and written only when all of it succeeded.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

from cpdgen import fsutil
from cpdgen.cache import BlobStore, Caches
from cpdgen.loader import load_portfolio
from cpdgen.portfolio import Portfolio, resolve_as_of
from cpdgen.problems import CpdgenError, Problem, ProblemsFound, has_errors, sort_problems
from cpdgen.record import file_name, find_diploma
from cpdgen.rules import Assessment

if TYPE_CHECKING:
    from cpdgen.hcpc import Profile

MANIFEST = ".cpdgen-records.json"
MANIFEST_NOTE = "Files written by cpdgen export, with their SHA-256 and size: cpdgen replaces only these."
KINDS = ("pdf", "csv")


@dataclass(frozen=True)
class Written:
    path: Path
    status: str  # "written", "unchanged", "replaced" (a file cpdgen had not written, with force), "made";
    # for the member's own files (--start): "created", or "kept" (it exists, and cpdgen never writes over it)


@dataclass(frozen=True)
class ExportResult:
    written: list[Written]
    warnings: list[Problem]  # things left out of a PDF (a link, raw HTML): reported, not fatal


def load_checked(root: Path) -> Portfolio:
    """The portfolio, refusing (with every problem) when a file is invalid: the record would miss it."""
    portfolio = load_portfolio(root)
    if portfolio.setup_failed or has_errors(portfolio.problems):
        errors = [p for p in portfolio.problems if p.severity == "error"]
        raise ProblemsFound(errors, "usage" if portfolio.setup_failed else "failed")
    return portfolio


def plan_files(
    portfolio: Portfolio,
    assessment: Assessment,
    kind: str,
    diploma: str | None,
    out: Path | None,
    progress: Callable[[int, int, str, bool], None] | None = None,
    warnings: list[Problem] | None = None,
    pdfs: BlobStore | None = None,
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
        from cpdgen.pdf.document import render_diploma_pdfs

        made = render_diploma_pdfs(
            portfolio, assessment, ids, public=False, store=pdfs, progress=progress, warnings=warnings
        )
        if single:
            return {target: made[ids[0]]}
        return {target / f"{file_name(i)}.pdf": made[i] for i in ids}
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


def write_files(root: Path, files: dict[Path, bytes], *, force: bool = False) -> list[Written]:
    """Write ``files``, overwriting only what cpdgen wrote itself (or anything, with ``force``)."""
    folders = sorted({path.parent for path in files})
    for folder in folders:
        fsutil.check_output_folder(root, folder, purpose="records")
    manifests = {folder: fsutil.read_manifest(folder / MANIFEST) for folder in folders}
    in_the_way = []
    for path, data in files.items():
        if path.is_symlink() or (path.exists() and not path.is_file()):
            raise CpdgenError(
                f"{path} is not a plain file (a link, a folder, a pipe or a device); cpdgen writes only plain files: "
                "move it away, or choose another --out"
            )
        if not path.exists():
            continue
        current = _digest(path.read_bytes())
        listed = manifests[path.parent].get(path.name)
        ours = bool(listed and listed[0] == current)
        if not ours and current != _digest(data):
            in_the_way.append(path)
    if in_the_way and not force:
        listed_text = "\n".join(f"  {p}" for p in in_the_way)
        raise CpdgenError(
            "these files exist and were not written by cpdgen (or were changed since), so they are left alone:\n"
            f"{listed_text}\nmove them away, choose another --out, or add --force to replace them"
        )
    results = []
    for folder in folders:
        if not folder.exists():
            folder.mkdir(parents=True)
            fsutil.atomic_write_bytes(
                folder / ".gitignore",
                b"# Created by cpdgen export: complete records hold private activities; keep them out of git.\n*\n",
            )
            results.append(Written(folder / ".gitignore", "made"))
    for path, data in files.items():
        if path.exists() and path.read_bytes() == data:
            status = "unchanged"
        else:
            status = "replaced" if path in in_the_way else "written"
            fsutil.atomic_write_bytes(path, data)
        manifests[path.parent][path.name] = [_digest(data), len(data)]
        results.append(Written(path, status))
    for folder, manifest in manifests.items():
        fsutil.atomic_write_bytes(folder / MANIFEST, fsutil.manifest_bytes(manifest, MANIFEST_NOTE))
    return results


def export_records(
    root: Path,
    kind: str,
    *,
    diploma: str | None = None,
    out: Path | None = None,
    as_of: date | None = None,
    force: bool = False,
    use_cache: bool = True,
    progress: Callable[[int, int, str, bool], None] | None = None,
) -> ExportResult:
    """Load and check the portfolio, render the complete record, and write it."""
    portfolio = load_checked(root)
    assessment = portfolio.assess(resolve_as_of(portfolio.timezone, as_of))
    assert assessment is not None  # load_checked refused a portfolio.yaml too broken to judge
    if out is not None:
        folder = out.parent if out.suffix.lower() == f".{kind}" else out
        fsutil.check_output_folder(portfolio.root, folder, purpose="records")
    warnings: list[Problem] = []
    pdfs = BlobStore(Caches(portfolio.root, enabled=use_cache).path("pdf"), ".pdf")
    files = plan_files(portfolio, assessment, kind, diploma, out, progress, warnings, pdfs)
    return ExportResult(write_files(portfolio.root, files, force=force), warnings)


# --- cpdgen hcpc-profile ----------------------------------------------------------------


@dataclass(frozen=True)
class ProfileResult:
    profile: Profile
    written: list[Written]
    problems: list[Problem]  # the profile's own, then warnings about what went into it


def profile_file_name(audit_date: date) -> str:
    """``hcpc-profile-2025-09-01``: the profile's files, without their suffix."""
    return f"hcpc-profile-{audit_date.isoformat()}"


def export_profile(
    root: Path,
    *,
    audit_date: date | None = None,
    since: date | None = None,
    select: list[str] | None = None,
    out: Path | None = None,
    force: bool = False,
) -> ProfileResult:
    """Load and check the portfolio, gather the HCPC profile, and write it as PDF and Word documents.

    Refuses (ProblemsFound) while a file in content/ has an error, the privacy scan's included,
    or ``select`` names an activity that is not on the list; nothing is written then. The
    profile's own errors (an unexplained gap, a text not written yet) do not stop the draft.
    """
    from cpdgen.hcpc import gather_profile
    from cpdgen.pdf import layout
    from cpdgen.pdf.profile import prepare_profile_pdf
    from cpdgen.wordfile import profile_docx

    portfolio = load_checked(root)
    today = resolve_as_of(portfolio.timezone)
    audit = audit_date or today
    folder = out if out is not None else portfolio.root / "records"
    if folder.suffix.lower() in (".pdf", ".docx"):
        raise CpdgenError(
            f"--out {folder} names a file; give a folder: the profile is written into it as "
            f"{profile_file_name(audit)}.pdf and .docx"
        )
    fsutil.check_output_folder(portfolio.root, folder, purpose="records")
    profile = gather_profile(portfolio, audit, today, since=since, select=select)
    refused = [p for p in profile.problems if p.code == "hcpc-unknown-activity"]
    if refused:
        raise ProblemsFound(refused)
    inputs = _profile_inputs(portfolio, profile)
    warnings = [p for p in portfolio.problems if p.severity == "warning" and p.path in inputs]
    made: list[Problem] = []
    docx = profile_docx(profile, made)
    if any(p.severity == "error" for p in made):
        raise ProblemsFound(made)
    job = prepare_profile_pdf(portfolio, profile)
    pdf = layout.pdf_bytes(job)  # ProblemsFound for what it cannot include
    left_out = [p for p in job.problems if p.severity != "error"]  # a link left out: said, not fatal
    name = profile_file_name(audit)
    files = {folder / f"{name}.pdf": pdf, folder / f"{name}.docx": docx}
    written = write_files(portfolio.root, files, force=force)
    return ProfileResult(profile, written, sort_problems([*profile.problems, *warnings, *left_out]))


def _profile_inputs(portfolio: Portfolio, profile: Profile) -> set[str]:
    """The files whose words go into the profile: its activities (and their reflections), the
    member's texts, portfolio.yaml."""
    paths = {"content/portfolio.yaml", *(t.path for t in portfolio.hcpc_texts.values())}
    for item in profile.listed:
        paths.add(item.activity.path)
        if item.activity.reflection_path:
            paths.add(item.activity.reflection_path)
    return paths


def start_profile(root: Path, *, audit_date: date | None = None, since: date | None = None) -> list[Written]:
    """``--start``: the member's files for the profile, with prompts, where they do not exist yet;
    gaps.md gets a heading for each gap the record has now."""
    from cpdgen.hcpc import gather_profile
    from cpdgen.scaffold import start_hcpc_texts

    portfolio = load_portfolio(root)
    gaps: list[tuple[date, date]] = []
    if portfolio.settings is not None:
        today = resolve_as_of(portfolio.timezone)
        profile = gather_profile(portfolio, audit_date or today, today, since=since)
        gaps = [(gap.first, gap.last) for gap in profile.gaps]
    return [Written(path, status) for path, status in start_hcpc_texts(portfolio.root, gaps)]
