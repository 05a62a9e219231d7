"""The PDF diploma record: one PDF per diploma, for an assessor or an HCPC audit.

``render_diploma_pdf`` is the whole story: it selects the diploma's activities (public or
complete, ``record.py``), renders the members' Markdown and checks every image it names
(``references.py``), attaches the evidence files, fills ``templates/pdf/diploma.html``, and
has WeasyPrint lay it out (``layout.py``) with ``RestrictedFetcher`` (``fetcher.py``) as
its only way to read anything. The same input gives byte-identical bytes (no clock time
anywhere), and with a PDF cache an unchanged diploma is not laid out again.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from markupsafe import Markup

from cpdgen import __version__, theme_dir
from cpdgen.cache import BlobStore
from cpdgen.categories import CATEGORIES, TYPE_BY_ID, category_label
from cpdgen.csvfile import format_hours
from cpdgen.fsutil import read_member_file
from cpdgen.loader import MAX_EVIDENCE_BYTES
from cpdgen.pdf import layout
from cpdgen.pdf.layout import Attachment, PdfJob
from cpdgen.pdf.references import Collector
from cpdgen.pdf.resources import Refused, resolve_inside, virtual_url
from cpdgen.portfolio import Activity, Portfolio
from cpdgen.privacy.images import clean_evidence
from cpdgen.problems import CpdgenError, Problem, ProblemsFound, ReadError
from cpdgen.record import Row, find_diploma, select
from cpdgen.rules import (
    REASON_TEXT,
    REQUIRED_ACTIVITIES,
    Assessment,
    DiplomaAssessment,
    describe_counts,
    describe_needs,
)
from cpdgen.words import date_range, diploma_name, long_date, plural, short_date

if TYPE_CHECKING:
    import jinja2

TEMPLATE = "pdf/diploma.html"
STYLESHEET = "pdf/pdf.css"
BASE_SECONDS = 60  # the wall-clock limit of one PDF: this, plus PER_ACTIVITY_SECONDS per activity
PER_ACTIVITY_SECONDS = 1.0
SHORT_REASON = {  # for the summary table; the activity pages give REASON_TEXT in full
    "draft": "draft",
    "before-start": "before the diploma started",
    "after-submission": "after submission",
    "added-after-submission": "added after submission",
    "future": "after the evaluation date",
    "expired": "over two years old",
    "no-reflection": "no reflection",
}


def render_diploma_pdf(
    portfolio: Portfolio, assessment: Assessment, diploma_id: str, *, public: bool, store: BlobStore | None = None
) -> bytes:
    """The PDF of one diploma; raises ProblemsFound listing every image or file it could not include."""
    return layout.pdf_bytes(prepare_diploma_pdf(portfolio, assessment, diploma_id, public=public), store)


def prepare_diploma_pdf(portfolio: Portfolio, assessment: Assessment, diploma_id: str, *, public: bool) -> PdfJob:
    """Render the HTML and check every file the PDF will read; nothing is laid out yet.

    ``job.problems`` lists what would be missing from the PDF (errors) or left out of it
    (warnings); ``layout.pdf_bytes(job)`` refuses while there are errors.
    """
    diploma = find_diploma(assessment, diploma_id)
    selection = select(portfolio, assessment, diploma_id, public=public)
    content_real = portfolio.content.resolve()
    theme = load_theme(portfolio.root)
    from cpdgen.render import fill_template

    collector = Collector(portfolio.root, content_real)
    attachments = Attachments()
    rows = [_row_context(n, row, collector, attachments) for n, row in enumerate(selection.rows, start=1)]
    member = portfolio.settings.member if portfolio.settings else None
    member_name = member.name if member else "CPD record"
    publish = portfolio.settings.publish if portfolio.settings else None
    show_hcpc = not public or publish is None or publish.hcpc_number
    show_membership = not public or publish is None or publish.membership_number
    facts = _diploma_facts(diploma)
    context = {
        "member": {
            "name": member_name,
            "membership_number": member.membership_number if member and show_membership else None,
            "hcpc_number": member.hcpc_number if member and show_hcpc else None,
            "job_title": member.job_title if member else None,
            "employer": member.employer if member else None,
        },
        "diploma": facts,
        "rows": rows,
        "categories": _category_counts(diploma, selection.rows),
        "public": public,
        "left_out": selection.left_out_sentence(),
        "left_out_count": selection.left_out,
        # A locked diploma's activities whose files are gone since it was submitted (check reports them).
        "missing": [
            {"id": j.id, "date": long_date(j.date), "category": category_label(j.category), "counted": j.counted}
            for j in diploma.judgements
            if diploma.frozen and j.id not in {a.id for a in portfolio.activities}
        ],
        "reflections_withheld": "reflections" in selection.withheld,
        "attachments": attachments.items,
        "as_of": long_date(assessment.as_of),
        "version": __version__,
        "meta": {
            "title": f"CPD Diploma record: {member_name}, {facts['name']}",
            "author": member_name,
            "subject": f"IBMS CPD Diploma record of {member_name}: {facts['name']}, {facts['period']}; "
            f"{'public record' if public else 'complete record'} as of {long_date(assessment.as_of)}",
            "keywords": ["CPD", "CPD Diploma", "IBMS", "HCPC", "biomedical science", diploma.id],
            "generator": f"cpdgen {__version__}",
        },
    }
    html = fill_template(theme.env, TEMPLATE, context)
    if public:
        collector.problems.extend(_published_identifiers(portfolio, selection.rows, rows, html, attachments.items))
    job = PdfJob(
        diploma_id=diploma.id,
        public=public,
        html=html,
        css=theme.css,
        css_base_url=theme.css_base_url,
        base_url=virtual_url("content", ""),
        roots={"content": content_real, **theme.roots},
        only=frozenset(collector.files) if public else None,
        attachments=tuple(attachments.items),
        timeout=BASE_SECONDS + PER_ACTIVITY_SECONDS * len(rows),
        problems=collector.problems,
        sources=collector.sources,
        theme_path=theme.path,
        root=portfolio.root,
    )
    job.key = layout.cache_key(job, {**collector.files, **theme_files(theme.roots)})
    return job


def _published_identifiers(
    portfolio: Portfolio, rows: tuple[Row, ...], contexts: list[dict], html: str, attached: list[Attachment]
) -> list[Problem]:
    """Identifiers the public PDF would show that the scan of the member's files did not see:
    each activity's part, then the whole document (theme, settings, attachments' names)."""
    from cpdgen.privacy.published import check_published
    from cpdgen.privacy.text import html_text

    where = "the public PDF"
    problems: list[Problem] = []
    for row, context in zip(rows, contexts, strict=True):
        shown = [context["title"], context["tags"], str(context["description"]), str(context["reflection"])]
        shown += [item["name"] for item in context["evidence"]]
        problems += check_published(portfolio, html_text("\n".join(shown)), where, row.activity)
    reported = {(p.code, p.message) for p in problems}
    whole = html_text(html, everything=True) + "\n" + "\n".join(f"{a.name}\n{a.description}" for a in attached)
    for problem in check_published(portfolio, whole, where):
        if not any(code == problem.code and message.split(" would be")[0] == problem.message.split(" would be")[0]
                   for code, message in reported):  # fmt: skip
            problems.append(problem)
    return problems


def theme_files(roots: dict[str, Path]) -> dict[str, bytes]:
    """Every file of the theme folders (a stylesheet may name an image or font there), for the cache key."""
    found = {}
    for name, folder in roots.items():
        for path in sorted(folder.rglob("*")):
            try:
                data = read_member_file(path, folder, limit=20_000_000, what="templates/")
            except ReadError:
                continue  # a folder, a link out, a pipe: the fetcher refuses it if the PDF names it
            found[virtual_url(name, path.relative_to(folder).as_posix())] = data
    return found


# --- templates -------------------------------------------------------------------------


@dataclass(frozen=True)
class Theme:
    """The PDF's Jinja environment (the one kind every output uses), the theme folders the PDF may
    read (by their name in virtual URLs), where the PDF's theme is (for messages), and its stylesheet."""

    env: jinja2.Environment
    roots: dict[str, Path]
    path: str
    css: str
    css_base_url: str


def load_theme(root: Path, stylesheets: tuple[str, ...] = (STYLESHEET,)) -> Theme:
    """The PDF theme of the portfolio at ``root``: its own ``templates/pdf/`` first, then cpdgen's.

    The stylesheets are joined in order; URLs in them are read from the first one's folder.
    """
    from cpdgen.render import make_environment

    own = root / "templates" / "pdf"
    roots: dict[str, Path] = {}
    theme_path = "cpdgen/templates/pdf"
    if own.is_dir():
        roots["templates"] = own.resolve()
        theme_path = "templates/pdf"
    roots["cpdgen"] = theme_dir() / "pdf"
    env = make_environment(root)
    assert env.loader is not None  # make_environment always gives one
    sources, css_root = [], None
    for name in stylesheets:
        source, css_file, _ = env.loader.get_source(env, name)
        assert css_file is not None  # its loaders read files
        sources.append(source)
        if css_root is None:
            css_folder = Path(css_file).resolve().parent
            css_root = next(name for name, folder in roots.items() if folder == css_folder)
    assert css_root is not None
    return Theme(env, roots, theme_path, "\n".join(sources), virtual_url(css_root, ""))


# --- the diploma and its activities, as the template shows them --------------------------


def _diploma_facts(diploma: DiplomaAssessment) -> dict:
    last_day = diploma.end - timedelta(days=1) if diploma.end else None
    if diploma.start and last_day:
        period = f"{long_date(diploma.start)} to {long_date(last_day)}"
    elif diploma.start:
        period = f"from {long_date(diploma.start)}"
    else:
        period = f"up to {long_date(last_day)}" if last_day else "no start date"
    if diploma.status == "issued":
        status = (
            f"{diploma.status_text} on {long_date(diploma.issued)} "
            f"(submitted for validation on {long_date(diploma.submitted)})"
        )
    elif diploma.status == "submitted":
        status = f"{diploma.status_text} on {long_date(diploma.submitted)}"
    else:
        status = diploma.status_text if diploma.eligible else "Open: not yet submitted for validation"
        if diploma.assumed:
            status += " (started when the previous diploma was issued)"
    categories = [category_label(c) for c in diploma.categories]
    text = describe_counts(diploma)
    text += f": {', '.join(categories)}." if categories else "."
    needs = None
    if not diploma.eligible:
        needs = f"{'It still needs' if diploma.status == 'open' else 'It needed'} {describe_needs(diploma)}."
    elif diploma.surplus and diploma.status == "open":
        surplus = plural(diploma.surplus, "activity", "activities")
        needs = f"{surplus} beyond {REQUIRED_ACTIVITIES} will not carry over."
    head = "Eligible" if diploma.eligible else ("Not eligible yet" if diploma.status == "open" else "Not eligible")
    return {
        "id": diploma.id,
        "name": diploma_name(diploma.id),
        "period": period,
        "status_text": status,
        "evaluated_on": long_date(diploma.evaluated_on),
        "evaluated_because": "the day it was submitted" if diploma.submitted else "the date of this record",
        "window_start": long_date(diploma.window_start),
        "counts_from": long_date(diploma.counts_from),
        "not_started": diploma.not_started,
        "eligible": diploma.eligible,
        "counted": diploma.counted,
        "result_head": head,
        "result_text": text,
        "needs": needs,
        "lock_sha256": diploma.frozen.set_sha256 if diploma.frozen else None,
        "lock_file": diploma.frozen.file if diploma.frozen else None,
    }


def _category_counts(diploma: DiplomaAssessment, rows: tuple[Row, ...]) -> list[dict]:
    counted = {c.id: 0 for c in CATEGORIES}
    for judgement in diploma.judgements:
        if judgement.counted:
            counted[judgement.category] += 1
    recorded = {c.id: 0 for c in CATEGORIES}
    for row in rows:
        recorded[row.activity.category] += 1
    return [{"label": c.label, "counted": counted[c.id], "recorded": recorded[c.id]} for c in CATEGORIES]


def _dates(activity: Activity) -> str:
    return date_range(activity.meta.start, activity.date, dash=" to ", spaced=" to ")


def _row_context(number: int, row: Row, collector: Collector, attachments: Attachments) -> dict:
    activity, judgement = row.activity, row.judgement
    meta = activity.meta
    description = collector.markdown(activity.description, activity.source, activity.path, activity.description_line)
    reflection = Markup("")
    if activity.has_reflection and activity.reflection is not None:
        reflection_path = activity.reflection_path or activity.path
        reflection = collector.markdown(
            activity.reflection, collector.root / reflection_path, reflection_path, activity.reflection_line
        )
    evidence = []
    for item in activity.evidence:
        entry = {"name": item.name, "url": item.url, "attachment": None, "image": None}
        if item.path is not None:
            entry["attachment"] = attachments.add(item.path, item.rel or item.ref, activity, collector)
            entry["image"] = collector.evidence_image(item.path, item.ref, activity)
        evidence.append(entry)
    return {
        "number": number,
        "anchor": f"activity-{activity.slug}",
        "title": meta.title,
        "short_date": short_date(activity.date),
        "dates": _dates(activity),
        "category": category_label(activity.category),
        "type": TYPE_BY_ID[meta.type].label if meta.type else None,
        "hours": f"{format_hours(meta.hours)} h" if meta.hours is not None else None,
        "standards": ", ".join(str(s) for s in meta.standards),
        "tags": ", ".join(meta.tags),
        "private": meta.private,
        "draft": meta.draft,
        "counted": judgement.counted,
        "reason": REASON_TEXT[judgement.reason] if judgement.reason else None,
        "short_reason": SHORT_REASON[judgement.reason] if judgement.reason else None,
        "description": description,
        "reflection": reflection,
        "evidence": evidence,
    }


class Attachments:
    """Evidence files to embed, each once, under names that do not clash."""

    def __init__(self) -> None:
        self.items: list[Attachment] = []
        self._by_rel: dict[str, str] = {}

    def add(self, path: Path, rel: str, activity: Activity, collector: Collector, prefix: str = "") -> str | None:
        """The attachment's name (``prefix`` before the file's name), or None after a problem."""
        if rel in self._by_rel:
            return self._by_rel[rel]
        try:
            real = resolve_inside(path, [collector.content], rel)
            data = clean_evidence(read_member_file(real, collector.content, limit=MAX_EVIDENCE_BYTES), real.name)
        except (Refused, CpdgenError, ReadError) as exc:
            message = exc.message
            collector.problem(activity.path, None, "error", "pdf-evidence", f"evidence not attached: {message}")
            return None
        name = prefix + path.name
        taken = {a.name.casefold() for a in self.items}
        if name.casefold() in taken:
            name = f"{activity.id}-{path.name}"
        when = datetime(activity.date.year, activity.date.month, activity.date.day, tzinfo=UTC)
        description = f"Evidence for “{activity.title}” ({long_date(activity.date)})"
        self.items.append(Attachment(name, description, data, when))
        self._by_rel[rel] = name
        return name


def render_diploma_pdfs(
    portfolio: Portfolio,
    assessment: Assessment,
    diploma_ids: list[str],
    *,
    public: bool,
    store: BlobStore | None = None,
    progress: Callable[[int, int, str, bool], None] | None = None,
    warnings: list[Problem] | None = None,
) -> dict[str, bytes]:
    """Several diplomas' PDFs; every problem of every diploma is raised together, before any rendering.

    ``progress(n, total, diploma_id, cached)`` is called for each one before any is laid out;
    problems that do not stop the PDF (a link left out) are added to ``warnings``.
    """
    jobs = [prepare_diploma_pdf(portfolio, assessment, d, public=public) for d in diploma_ids]
    errors = [p for job in jobs for p in job.errors]
    if errors:
        raise ProblemsFound(errors)
    if warnings is not None:
        warnings.extend(p for job in jobs for p in job.problems if p.severity != "error")
    if progress:
        for n, job in enumerate(jobs, start=1):
            progress(n, len(jobs), job.diploma_id, layout.cached(job, store))
    # The diplomas not in the cache are laid out side by side.
    return dict(zip([job.diploma_id for job in jobs], layout.pdf_bytes_of(jobs, store), strict=True))
