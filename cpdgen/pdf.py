"""The PDF diploma record: one PDF per diploma, for an assessor or an HCPC audit.

``render_diploma_pdf`` is the whole story: it selects the diploma's activities (public or
complete, see ``record.py``), renders the members' Markdown safely, checks every image
and evidence file the PDF will read, fills ``templates/pdf/diploma.html``, and has
WeasyPrint lay it out with :class:`RestrictedFetcher` (``fetcher.py``) as its only way to
read anything. Evidence files are attached to the PDF, so one file is a complete audit pack.

Rendering runs in a forked child process with a wall-clock limit and a memory limit
(Linux; elsewhere in-process with an alarm on the main thread), because some SVG takes
WeasyPrint minutes. The same input gives byte-identical bytes (no clock time anywhere),
and with a ``cache_dir`` an unchanged diploma is not rendered again.
WeasyPrint is imported only when a PDF is actually rendered.
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import os
import re
import signal
import sys
import threading
import traceback
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from html import escape, unescape
from html.parser import HTMLParser
from importlib import metadata
from pathlib import Path
from typing import Callable
from urllib.parse import unquote, urlsplit

from markupsafe import Markup

from cpdgen import __version__, render
from cpdgen.categories import CATEGORIES, TYPE_BY_ID, category_label
from cpdgen.csvfile import format_hours
from cpdgen.frontmatter import ReadError, read_text
from cpdgen.loader import Activity, Portfolio
from cpdgen.problems import CpdgenError, Problem
from cpdgen.record import RecordProblems, Row, find_diploma, format_day, format_short_day, select
from cpdgen.resources import IMAGE_TYPES, VIRTUAL, Refused, read_checked, resolve_inside, strip_metadata, virtual_url
from cpdgen.rules import REASON_TEXT, REQUIRED_ACTIVITIES, REQUIRED_CATEGORIES, Assessment, DiplomaAssessment

PACKAGE_TEMPLATES = Path(__file__).resolve().parent / "templates"
TEMPLATE = "pdf/diploma.html"
STYLESHEET = "pdf/pdf.css"
CACHE_FORMAT = 1
BASE_SECONDS = 60  # the wall-clock limit of one PDF: this, plus PER_ACTIVITY_SECONDS per activity
PER_ACTIVITY_SECONDS = 1.0
MEMORY_LIMIT = 4 * 1024**3  # bytes of address space for the rendering process (Linux); 200 activities use ~0.5 GB
PDF_OPTIONS = {"pdf_variant": "pdf/ua-1", "pdf_identifier": True}  # tagged; /ID from the content, not random

_URL_ATTRIBUTES = {"src", "href", "data", "poster", "srcset", "action", "background", "xlink:href"}
_REMOVED_ELEMENTS = {"link", "object", "embed", "iframe", "frame", "script", "style", "base", "audio", "video", "source"}
_LINK_SCHEMES = ("http", "https", "mailto")
SHORT_REASON = {  # for the summary table; the activity pages give REASON_TEXT in full
    "draft": "draft",
    "before-start": "before the diploma started",
    "after-submission": "after submission",
    "future": "after the evaluation date",
    "expired": "over two years old",
    "no-reflection": "no reflection",
}
_SCHEME = re.compile(r"^([a-zA-Z][a-zA-Z0-9+.-]*):")


def __getattr__(name: str):
    # The fetcher subclasses WeasyPrint's; importing it lazily keeps a cached build from importing WeasyPrint.
    if name == "RestrictedFetcher":
        from cpdgen.fetcher import RestrictedFetcher

        return RestrictedFetcher
    raise AttributeError(name)


class RenderFailed(CpdgenError):
    """WeasyPrint did not finish: too slow, out of memory, or stopped."""

    def __init__(self, message: str):
        super().__init__(message, exit_code=1)


@dataclass(frozen=True)
class Attachment:
    """An evidence file to embed in the PDF."""

    name: str
    description: str
    data: bytes
    when: datetime  # the activity's date: attachment dates must not come from the clock


@dataclass
class PdfJob:
    """Everything one PDF depends on, ready to render; ``key`` identifies it in the cache."""

    diploma_id: str
    public: bool
    html: str
    css: str
    css_base_url: str
    base_url: str
    roots: dict[str, Path]  # the folders the PDF may read, by their name in virtual URLs
    attachments: tuple[Attachment, ...]
    timeout: float
    problems: list[Problem] = field(default_factory=list)
    sources: dict[str, tuple[str, int | None]] = field(default_factory=dict)  # file URL -> where it was named
    theme_path: str = "templates/pdf"
    root: Path = Path(".")
    key: str = ""

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "error"]

    def cached(self, cache_dir: Path | None) -> bytes | None:
        """The cached PDF, or None when it must be rendered."""
        if cache_dir is None:
            return None
        path = _cache_path(cache_dir, self)
        try:
            return path.read_bytes()
        except OSError:
            return None

    def render(self, cache_dir: Path | None = None) -> bytes:
        """The PDF bytes: from the cache when nothing changed, else rendered (and cached)."""
        if self.errors:
            raise RecordProblems(self.errors)
        hit = self.cached(cache_dir)
        if hit is not None:
            return hit
        pdf, refused, logged = _render_bounded(self)
        problems = [self._refusal(*item) for item in refused] + [self._logged(m) for m in logged]
        if problems:
            raise RecordProblems(problems)
        if cache_dir is not None:
            _store(cache_dir, self, pdf)
        return pdf

    def _where(self, url: str) -> tuple[str, int | None]:
        return self.sources.get(url, (self.theme_path, None))

    def _refusal(self, url: str, code: str, message: str) -> Problem:
        path, line = self._where(url)
        return Problem(path, line, "error", code, f"not in the PDF: {_shorten(message, self.root)}")

    def _logged(self, message: str) -> Problem:
        path, line = next(
            ((p, n) for url, (p, n) in self.sources.items() if url in message), (self.theme_path, None)
        )
        return Problem(path, line, "error", "pdf-render", f"WeasyPrint: {_shorten(message, self.root)}")


def render_diploma_pdf(
    portfolio: Portfolio, assessment: Assessment, diploma_id: str, *, public: bool, cache_dir: Path | None = None
) -> bytes:
    """The PDF of one diploma; raises RecordProblems listing every image or file it could not include."""
    return prepare_diploma_pdf(portfolio, assessment, diploma_id, public=public).render(cache_dir)


def prepare_diploma_pdf(portfolio: Portfolio, assessment: Assessment, diploma_id: str, *, public: bool) -> PdfJob:
    """Render the HTML and check every file the PDF will read; nothing is laid out yet.

    ``job.problems`` lists what would be missing from the PDF (errors) or left out of it
    (warnings); ``job.render()`` refuses while there are errors.
    """
    diploma = find_diploma(assessment, diploma_id)
    selection = select(portfolio, assessment, diploma_id, public=public)
    content_real = portfolio.content.resolve()
    env, theme_roots, theme_path = _environment(portfolio.root)
    css_source, css_file, _ = env.loader.get_source(env, STYLESHEET)
    css_folder = Path(css_file).resolve().parent
    css_root = next(name for name, folder in theme_roots.items() if folder == css_folder)
    collector = _Collector(portfolio.root, content_real)
    attachments = _Attachments()
    rows = [_row_context(n, row, collector, attachments) for n, row in enumerate(selection.rows, start=1)]
    member = portfolio.settings.member if portfolio.settings else None
    member_name = member.name if member else "CPD record"
    facts = _diploma_facts(diploma)
    context = {
        "member": {
            "name": member_name,
            "membership_number": member.membership_number if member else None,
            "hcpc_number": member.hcpc_number if member else None,
            "job_title": member.job_title if member else None,
            "employer": member.employer if member else None,
        },
        "diploma": facts,
        "rows": rows,
        "categories": _category_counts(diploma, selection.rows),
        "public": public,
        "left_out": selection.left_out_sentence(),
        "attachments": attachments.items,
        "as_of": format_day(assessment.as_of),
        "version": __version__,
        "meta": {
            "title": f"CPD Diploma record: {member_name}, {diploma.id}",
            "author": member_name,
            "subject": f"IBMS CPD Diploma record of {member_name}: diploma {diploma.id}, {facts['period']}; "
            f"{'public record' if public else 'complete record'} as of {format_day(assessment.as_of)}",
            "keywords": ["CPD", "CPD Diploma", "IBMS", "HCPC", "biomedical science", diploma.id],
            "generator": f"cpdgen {__version__}",
        },
    }
    html = env.get_template(TEMPLATE).render(context)
    job = PdfJob(
        diploma_id=diploma.id,
        public=public,
        html=html,
        css=css_source,
        css_base_url=virtual_url(css_root, ""),
        base_url=virtual_url("content", ""),
        roots={"content": content_real, **theme_roots},
        attachments=tuple(attachments.items),
        timeout=BASE_SECONDS + PER_ACTIVITY_SECONDS * len(rows),
        problems=collector.problems,
        sources=collector.sources,
        theme_path=theme_path,
        root=portfolio.root,
    )
    job.key = _cache_key(job, collector.files)
    return job


# --- templates -------------------------------------------------------------------------


def _environment(root: Path):
    """The PDF's Jinja environment: the portfolio's ``templates/`` first, then cpdgen's own."""
    import jinja2

    own = root / "templates"
    loaders = []
    roots: dict[str, Path] = {}
    theme_path = "cpdgen/templates/pdf"
    if (own / "pdf").is_dir():
        loaders.append(jinja2.FileSystemLoader(str(own)))
        roots["templates"] = (own / "pdf").resolve()
        theme_path = "templates/pdf"
    loaders.append(jinja2.FileSystemLoader(str(PACKAGE_TEMPLATES)))
    # "default/pdf/diploma.html" is always cpdgen's own, so an override can extend it.
    loaders.append(jinja2.PrefixLoader({"default": jinja2.FileSystemLoader(str(PACKAGE_TEMPLATES))}))
    roots["cpdgen"] = PACKAGE_TEMPLATES / "pdf"
    env = jinja2.Environment(
        loader=jinja2.ChoiceLoader(loaders),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
    )
    return env, roots, theme_path


# --- the diploma and its activities, as the template shows them --------------------------


def _plural(n: int, word: str, plural: str | None = None) -> str:
    return f"{n} {word if n == 1 else (plural or word + 's')}"


def _diploma_facts(diploma: DiplomaAssessment) -> dict:
    last_day = diploma.end - timedelta(days=1) if diploma.end else None
    if diploma.start and last_day:
        period = f"{format_day(diploma.start)} to {format_day(last_day)}"
    elif diploma.start:
        period = f"from {format_day(diploma.start)}"
    else:
        period = f"up to {format_day(last_day)}" if last_day else "no start date"
    if diploma.status == "issued":
        status = f"Issued on {format_day(diploma.issued)} (submitted on {format_day(diploma.submitted)})"
    elif diploma.status == "submitted":
        status = f"Submitted on {format_day(diploma.submitted)}"
    else:
        status = "Open: not yet submitted"
        if diploma.assumed:
            status += " (started when the previous diploma was issued)"
    categories = [category_label(c) for c in diploma.categories]
    counted = _plural(diploma.counted, "activity", "activities")
    text = (
        f"{counted} {'counts' if diploma.counted == 1 else 'count'} ({REQUIRED_ACTIVITIES} are needed), in "
        f"{_plural(len(categories), 'category', 'categories')} ({REQUIRED_CATEGORIES} are needed)"
    )
    text += f": {', '.join(categories)}." if categories else "."
    needs = None
    if not diploma.eligible:
        parts = []
        if diploma.missing_activities:
            parts.append(f"{_plural(diploma.missing_activities, 'more activity', 'more activities')}")
        if diploma.missing_categories:
            parts.append(f"{_plural(diploma.missing_categories, 'more category', 'more categories')}")
        needs = f"{'It still needs' if diploma.status == 'open' else 'It needed'} {' and '.join(parts)}."
    elif diploma.surplus and diploma.status == "open":
        needs = f"{_plural(diploma.surplus, 'activity', 'activities')} beyond {REQUIRED_ACTIVITIES} will not carry over."
    head = "Eligible" if diploma.eligible else ("Not eligible yet" if diploma.status == "open" else "Not eligible")
    return {
        "id": diploma.id,
        "period": period,
        "status_text": status,
        "evaluated_on": format_day(diploma.evaluated_on),
        "evaluated_because": "the day it was submitted" if diploma.submitted else "the date of this record",
        "window_start": format_day(diploma.window_start),
        "eligible": diploma.eligible,
        "counted": diploma.counted,
        "result_head": head,
        "result_text": text,
        "needs": needs,
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
    start, end = activity.meta.start, activity.date
    if not start or start == end:
        return format_day(end)
    if (start.year, start.month) == (end.year, end.month):
        return f"{start.day} to {format_day(end)}"
    if start.year == end.year:
        return f"{start.day} {start:%B} to {format_day(end)}"
    return f"{format_day(start)} to {format_day(end)}"


def _row_context(number: int, row: Row, collector: _Collector, attachments: _Attachments) -> dict:
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
        "short_date": format_short_day(activity.date),
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


class _Attachments:
    """Evidence files to embed, each once, under names that do not clash."""

    def __init__(self) -> None:
        self.items: list[Attachment] = []
        self._by_rel: dict[str, str] = {}

    def add(self, path: Path, rel: str, activity: Activity, collector: _Collector) -> str | None:
        if rel in self._by_rel:
            return self._by_rel[rel]
        try:
            real = resolve_inside(path, [collector.content], rel)
            data = strip_metadata(real.read_bytes())
        except (Refused, OSError) as exc:
            message = exc.message if isinstance(exc, Refused) else str(exc)
            collector.problem(activity.path, None, "error", "pdf-evidence", f"evidence not attached: {message}")
            return None
        name = path.name
        taken = {a.name.casefold() for a in self.items}
        if name.casefold() in taken:
            name = f"{activity.id}-{path.name}"
        when = datetime(activity.date.year, activity.date.month, activity.date.day, tzinfo=timezone.utc)
        description = f"Evidence for “{activity.title}” ({format_day(activity.date)})"
        self.items.append(Attachment(name, description, data, when))
        self._by_rel[rel] = name
        return name


# --- members' Markdown: every URL checked, images made absolute ----------------------------


class _Urls(HTMLParser):
    """Every URL-bearing attribute, and every element the sanitiser removes, in raw HTML."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: list[tuple[str, str | None, str | None]] = []

    def handle_starttag(self, tag, attrs):
        if tag in _REMOVED_ELEMENTS:
            self.found.append((tag, None, None))
            return
        for name, value in attrs:
            if name in _URL_ATTRIBUTES and value is not None:
                self.found.append((tag, name, value))

    handle_startendtag = handle_starttag


_RAW_MARKDOWN = None
_RAW_LOCK = threading.Lock()


def _raw_html(text: str) -> str:
    """The Markdown as HTML *before* sanitising, to see what the member meant (and what nh3 removes)."""
    global _RAW_MARKDOWN
    with _RAW_LOCK:
        if _RAW_MARKDOWN is None:
            _RAW_MARKDOWN = render._new_markdown()  # the same extensions as render_markdown
        _RAW_MARKDOWN.reset()
        return _RAW_MARKDOWN.convert(text)


_IMG = re.compile(r'<img\b(?:[^>"]|"[^"]*")*>')
_A = re.compile(r'<a\b(?:[^>"]|"[^"]*")*>')
_ATTR = re.compile(r'([a-zA-Z_:][-a-zA-Z0-9_:.]*)="([^"]*)"')


def _tag(name: str, attrs: dict[str, str]) -> str:
    return "<" + " ".join([name] + [f'{k}="{v}"' for k, v in attrs.items()]) + ">"


class _Collector:
    """Renders Markdown for the PDF and collects problems, the files read, and where URLs came from."""

    def __init__(self, root: Path, content: Path):
        self.root = root
        self.content = content
        self.problems: list[Problem] = []
        self.files: dict[str, bytes] = {}  # file URL -> bytes the PDF will read (for the cache key)
        self.sources: dict[str, tuple[str, int | None]] = {}
        self._texts: dict[Path, list[str]] = {}
        self._mentions: dict[tuple[Path, str], int] = {}

    def problem(self, path: str, line: int | None, severity: str, code: str, message: str) -> None:
        self.problems.append(Problem(path, line, severity, code, message))  # type: ignore[arg-type]

    def url_of(self, file: Path) -> str:
        """The virtual URL of a checked file inside content/."""
        return virtual_url("content", file.resolve().relative_to(self.content).as_posix())

    def line_of(self, source: Path, needle: str, fallback: int | None) -> int | None:
        """The line of ``source`` naming ``needle``: its first mention, then the next one, and so on."""
        if source not in self._texts:
            try:
                self._texts[source] = read_text(source).split("\n")
            except (ReadError, OSError):
                self._texts[source] = []
        hits = [n for n, line in enumerate(self._texts[source], start=1) if needle and needle in line]
        if not hits:
            return fallback
        seen = self._mentions.get((source, needle), 0)
        self._mentions[(source, needle)] = seen + 1
        return hits[min(seen, len(hits) - 1)]

    def markdown(self, text: str, source: Path, path: str, line: int | None) -> Markup:
        """Safe HTML for the PDF; each image resolved to a checked file, each unusable URL a problem."""
        try:
            safe = render.render_markdown(text)
        except render.MarkdownTooComplex as exc:
            self.problem(path, line, "error", "markdown-too-complex", exc.message)
            return Markup("")
        images: dict[str, str] = {}
        parser = _Urls()
        parser.feed(_raw_html(text))
        for tag, attribute, value in parser.found:
            where = self.line_of(source, value or f"<{tag}", line)
            if attribute is None:
                self.problem(path, where, "warning", "pdf-html-removed", f"the <{tag}> element is left out of the PDF")
            elif tag == "img" and attribute == "src":
                url = self._image(value, source.parent, path, where)
                if url:
                    images[value] = url
            elif attribute == "href" and tag == "a":
                self._link(value, path, where)
            else:
                self.problem(path, where, "warning", "pdf-html-removed", f"the {attribute} of <{tag}> is left out of the PDF")
        return Markup(self._localise(str(safe), images, path, line))

    def _image(self, src: str, folder: Path, path: str, line: int | None) -> str | None:
        value = src.strip()
        scheme = _SCHEME.match(value)
        if scheme:
            name = scheme.group(1).lower()
            if name in ("http", "https"):
                self.problem(
                    path, line, "error", "pdf-image-remote",
                    f"image '{value}' is on the web; the PDF reads no web address. "
                    "Save the image in content/ and give its file name",
                )  # fmt: skip
            else:
                self.problem(
                    path, line, "error", "pdf-image-refused",
                    f"image '{value}' is not allowed: an image must be a file inside content/",
                )  # fmt: skip
            return None
        relative = unquote(urlsplit(value).path)
        parts = relative.replace("\\", "/").split("/")
        if not relative or relative.startswith(("/", "\\", "~")) or ".." in parts or re.match(r"^[A-Za-z]:", relative):
            self.problem(
                path, line, "error", "pdf-image-outside",
                f"image '{value}' is outside content/; give a path inside content/ without '..'",
            )  # fmt: skip
            return None
        candidates = [folder / relative, self.content / "evidence" / relative]
        found = next((c for c in candidates if os.path.lexists(c)), None)
        if found is None:
            self.problem(
                path, line, "error", "pdf-image-missing",
                f"image '{value}' not found next to this file or in content/evidence/",
            )  # fmt: skip
            return None
        try:
            data, _ = read_checked(found, [self.content], value)
        except Refused as exc:
            self.problem(path, line, "error", exc.code, f"image {exc.message}")
            return None
        url = self.url_of(found)
        self.files[url] = data
        self.sources.setdefault(url, (path, line))
        return url

    def _link(self, href: str, path: str, line: int | None) -> None:
        value = href.strip()
        scheme = _SCHEME.match(value)
        if scheme and scheme.group(1).lower() in _LINK_SCHEMES:
            return
        parts = value.split("#", 1)[0].replace("\\", "/").split("/")
        if scheme or value.startswith(("/", "\\", "~")) or ".." in parts:
            self.problem(
                path, line, "warning", "pdf-link-refused",
                f"link '{value}' is left out of the PDF: links must be https://, mailto: or inside content/",
            )  # fmt: skip

    def evidence_image(self, file: Path, ref: str, activity: Activity) -> str | None:
        """A file URL to show an evidence image on the page, or None (it is still attached)."""
        if file.suffix.lower() not in IMAGE_TYPES:
            return None
        try:
            data, _ = read_checked(file, [self.content], ref)
        except Refused as exc:
            self.problem(activity.path, None, "warning", exc.code, f"evidence {exc.message}; it is attached but not shown")
            return None
        url = self.url_of(file)
        self.files[url] = data
        self.sources.setdefault(url, (activity.path, None))
        return url

    def _localise(self, html: str, images: dict[str, str], path: str, line: int | None) -> str:
        def image(match: re.Match) -> str:
            attrs = dict(_ATTR.findall(match.group(0)))
            src = unescape(attrs.get("src", ""))
            url = images.get(src)
            if url is None:
                if src and not any(p.path == path and src in p.message for p in self.problems):
                    self.problem(path, line, "error", "pdf-image-missing", f"image '{src}' could not be included")
                return ""
            attrs["src"] = escape(url)
            if not attrs.get("alt"):
                attrs["alt"] = escape(Path(unquote(urlsplit(src).path)).name)
            return _tag("img", attrs)

        def link(match: re.Match) -> str:
            attrs = dict(_ATTR.findall(match.group(0)))
            href = unescape(attrs.get("href", ""))
            scheme = _SCHEME.match(href)
            if href and not (scheme and scheme.group(1).lower() in _LINK_SCHEMES) and not href.startswith("#"):
                del attrs["href"]  # a file of the portfolio: a link from the PDF cannot reach it
            return _tag("a", attrs)

        return _A.sub(link, _IMG.sub(image, html))


def _shorten(message: str, root: Path) -> str:
    """Messages name files relative to the portfolio, never by the machine's absolute path."""
    for prefix in ("file://" + VIRTUAL, root.resolve().as_uri() + "/", str(root.resolve()) + os.sep):
        message = message.replace(prefix, "")
    return message


# --- the cache ------------------------------------------------------------------------------


def _cache_key(job: PdfJob, files: dict[str, bytes]) -> str:
    try:
        weasyprint_version = metadata.version("weasyprint")
    except metadata.PackageNotFoundError:  # pragma: no cover - weasyprint is a dependency
        weasyprint_version = "?"
    digest = hashlib.sha256()
    header = {
        "format": CACHE_FORMAT,
        "cpdgen": __version__,
        "weasyprint": weasyprint_version,
        "options": PDF_OPTIONS,
        "public": job.public,
        "css_base_url": job.css_base_url,
        "base_url": job.base_url,
    }
    for part in (json.dumps(header, sort_keys=True), job.html, job.css):
        digest.update(part.encode("utf-8"))
        digest.update(b"\0")
    for url in sorted(files):
        digest.update(url.encode("utf-8") + b"\0" + hashlib.sha256(files[url]).digest())
    for item in job.attachments:
        digest.update(f"{item.name}\0{item.description}\0{item.when.isoformat()}\0".encode())
        digest.update(hashlib.sha256(item.data).digest())
    return digest.hexdigest()


def _cache_stem(job: PdfJob) -> str:
    variant = "public" if job.public else "complete"
    return f"{variant}-{hashlib.sha256(job.diploma_id.encode('utf-8')).hexdigest()[:12]}"


def _cache_path(cache_dir: Path, job: PdfJob) -> Path:
    return cache_dir / "pdf" / f"{_cache_stem(job)}-{job.key[:40]}.pdf"


def _store(cache_dir: Path, job: PdfJob, pdf: bytes) -> None:
    """Keep one PDF per diploma and variant: the new one replaces the one it supersedes."""
    folder = cache_dir / "pdf"
    folder.mkdir(parents=True, exist_ok=True)
    ignore = cache_dir / ".gitignore"
    if not ignore.exists():
        ignore.write_text("# Created by cpdgen: this folder is a cache, never committed.\n*\n", encoding="utf-8")
    target = _cache_path(cache_dir, job)
    temporary = target.with_name(target.name + ".tmp")
    with open(temporary, "wb") as handle:
        handle.write(pdf)
    os.replace(temporary, target)
    for old in folder.glob(f"{_cache_stem(job)}-*.pdf"):
        if old != target:
            old.unlink(missing_ok=True)


# --- rendering, bounded -----------------------------------------------------------------------


class _Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__(level=logging.ERROR)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


def render_html(job: PdfJob) -> tuple[bytes, list[tuple[str, str, str]], list[str]]:
    """Lay out the job with WeasyPrint in this process: (pdf, fetcher refusals, logged errors)."""
    import weasyprint

    from cpdgen.fetcher import RestrictedFetcher

    fetcher = RestrictedFetcher(job.roots)
    collect = _Collect()
    logger = logging.getLogger("weasyprint")
    logger.addHandler(collect)
    try:
        document = weasyprint.HTML(string=job.html, base_url=job.base_url, url_fetcher=fetcher)
        stylesheet = weasyprint.CSS(string=job.css, base_url=job.css_base_url, url_fetcher=fetcher)
        attachments = [
            weasyprint.Attachment(
                file_obj=io.BytesIO(item.data),
                name=item.name,
                description=item.description,
                created=item.when,
                modified=item.when,
                url_fetcher=fetcher,
            )
            for item in job.attachments
        ]
        pdf = document.write_pdf(stylesheets=[stylesheet], attachments=attachments, **PDF_OPTIONS)
    finally:
        logger.removeHandler(collect)
    return pdf, fetcher.refused, collect.messages


def _child(connection, job: PdfJob) -> None:  # pragma: no cover - runs in the forked process
    try:
        try:
            import resource

            resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))
        except (ImportError, ValueError, OSError):
            pass
        connection.send(("ok", render_html(job)))
    except MemoryError:
        connection.send(("memory", None))
    except BaseException:
        connection.send(("bug", traceback.format_exc()))
    finally:
        connection.close()
        os._exit(0)


def _render_bounded(job: PdfJob) -> tuple[bytes, list[tuple[str, str, str]], list[str]]:
    """Render under a wall-clock limit: a forked child on Linux, an alarm on other main threads."""
    if sys.platform.startswith("linux"):
        return _render_forked(job)
    if hasattr(signal, "setitimer") and threading.current_thread() is threading.main_thread():
        return _render_with_alarm(job)
    return render_html(job)  # pragma: no cover - no way to bound it here


def _too_slow(job: PdfJob) -> RenderFailed:
    return RenderFailed(
        f"the PDF of {job.diploma_id} took more than {job.timeout:.0f} s and was stopped; "
        "an image (often an SVG) is probably too complex"
    )


def _render_forked(job: PdfJob):
    import multiprocessing

    import weasyprint  # noqa: F401 - imported once here, so each child starts with it loaded

    context = multiprocessing.get_context("fork")
    receive, send = context.Pipe(duplex=False)
    process = context.Process(target=_child, args=(send, job), daemon=True)
    process.start()
    send.close()
    try:
        if not receive.poll(job.timeout):
            raise _too_slow(job)
        try:
            status, payload = receive.recv()
        except EOFError:
            process.join(5)
            raise RenderFailed(
                f"the PDF of {job.diploma_id} could not be made: the renderer stopped (exit code {process.exitcode})"
            ) from None
    finally:
        if process.is_alive():
            process.kill()
        process.join()
        receive.close()
    if status == "memory":
        raise RenderFailed(
            f"the PDF of {job.diploma_id} needed more than {MEMORY_LIMIT // 1024**3} GB of memory; "
            "an image is probably too large"
        )
    if status == "bug":
        raise RuntimeError(f"WeasyPrint failed while rendering {job.diploma_id}:\n{payload}")
    return payload


class _Alarm(BaseException):
    """Raised by the alarm: a BaseException, so WeasyPrint's ``except Exception`` cannot swallow it."""


def _render_with_alarm(job: PdfJob):  # pragma: no cover - used where fork is not
    def expire(signum, frame):
        raise _Alarm()

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, job.timeout)
    try:
        return render_html(job)
    except _Alarm:
        raise _too_slow(job) from None
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def render_diploma_pdfs(
    portfolio: Portfolio,
    assessment: Assessment,
    diploma_ids: list[str],
    *,
    public: bool,
    cache_dir: Path | None = None,
    progress: Callable[[int, int, str, bool], None] | None = None,
    warnings: list[Problem] | None = None,
) -> dict[str, bytes]:
    """Several diplomas' PDFs; every problem of every diploma is raised together, before any rendering.

    ``progress(n, total, diploma_id, cached)`` is called before each one, for a progress line;
    problems that do not stop the PDF (a link left out) are added to ``warnings``.
    """
    jobs = [prepare_diploma_pdf(portfolio, assessment, d, public=public) for d in diploma_ids]
    errors = [p for job in jobs for p in job.errors]
    if errors:
        raise RecordProblems(errors)
    if warnings is not None:
        warnings.extend(p for job in jobs for p in job.problems if p.severity != "error")
    result = {}
    for n, job in enumerate(jobs, start=1):
        if progress:
            progress(n, len(jobs), job.diploma_id, job.cached(cache_dir) is not None)
        result[job.diploma_id] = job.render(cache_dir)
    return result
