"""The HTML portfolio: which pages, copied files and downloads the site has.

Nothing here writes files; the data each page shows comes from ``context.py``.
:func:`plan_site` turns a judged portfolio into a list of :class:`Page` (an output path, a
template name, a context of plain data), :class:`SiteFile` (a file copied as it is, such as
evidence) and :class:`Download` (a public PDF or CSV). Contexts hold only strings, numbers,
booleans, lists and dicts, so a page's output is a function of its template and its
context, and an unchanged context means an unchanged page (see ``renderer.py``).

Only published activities (neither private nor draft) appear in any page; the dashboard
and diploma pages may say how many others there are.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from html import unescape
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import quote, unquote

from markupsafe import Markup

from cpdgen import csvfile
from cpdgen.categories import CATEGORIES, TYPE_BY_ID
from cpdgen.models import PublishSettings
from cpdgen.portfolio import URL_SCHEME, Activity, Portfolio
from cpdgen.privacy.images import UNCLEANABLE_IMAGE_SUFFIXES
from cpdgen.privacy.published import check_published
from cpdgen.problems import MarkdownTooComplex, Problem
from cpdgen.record import file_name
from cpdgen.rules import Assessment, DiplomaAssessment, Judgement
from cpdgen.site.charts import category_chart, timeline
from cpdgen.site.context import (
    ABOUT_URL,
    FEED_URL,
    HCPC_STANDARDS,
    PLAN_URL,
    SEARCH_URL,
    category_url,
    diploma_slug,
    diploma_summary,
    diploma_url,
    goal_links,
    hidden_counts,
    hours_text,
    judgement_text,
    plan_goals,
    scheme_cards,
    shift_headings,
    site_context,
    summary,
    tag_url,
    web_path,
)
from cpdgen.words import date_range

STYLESHEET = "style.css"
# The theme's files copied into every site as they are; a portfolio's templates/ may replace each.
THEME_FILES = (STYLESHEET, "favicon.svg", "search.js")
FEED_ENTRIES = 50  # the newest published activities in feed.xml
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".gif", ".webp")


@dataclass
class Page:
    """One HTML page: where it goes, which template draws it, and the data it gets."""

    path: str  # relative to the site root, with forward slashes
    template: str
    context: dict
    source: str = ""  # the content file it shows, for messages


@dataclass
class SiteFile:
    """A file copied into the site as it is: evidence, or the theme's stylesheet."""

    path: str
    source: Path
    kind: str  # "evidence" or "theme"
    owner: str  # the file that asked for it, for messages


@dataclass
class Download:
    """A public record offered for download: a diploma's PDF or CSV, or the CSV of every activity."""

    path: str
    kind: str  # "csv" or "pdf"
    diploma: str | None  # the diploma's id; None for the CSV of every activity
    data: bytes | None = None  # a CSV's bytes; a PDF is laid out while the site is written


@dataclass
class SearchRecord:
    """What the search index holds of one published activity: its page's own text, nothing else."""

    path: str  # the activity page's path in the site
    title: str
    html: Markup  # the page's text as safe HTML: facts, description, and the reflection when published


@dataclass
class SitePlan:
    """Everything a build writes, decided before anything is written."""

    pages: list[Page] = field(default_factory=list)
    files: list[SiteFile] = field(default_factory=list)
    downloads: list[Download] = field(default_factory=list)  # the search index's files too, once it is made
    problems: list[Problem] = field(default_factory=list)
    search: list[SearchRecord] = field(default_factory=list)  # what search.py indexes


# Files a browser would run as a page of the site (scripts included): never published.
BROWSER_RUN_SUFFIXES = (".html", ".htm", ".xhtml", ".xht", ".svg", ".svgz", ".xml", ".js", ".mjs")


def _unpublishable(name: str) -> str | None:
    """Why an evidence file must not be copied into the public site, or None."""
    lower = name.lower()
    if lower.endswith(BROWSER_RUN_SUFFIXES):
        return (
            f"evidence '{name}' would run as a web page of your site, so it is not published; "
            "save it as PDF or PNG, or mark the activity private"
        )
    if lower.endswith(UNCLEANABLE_IMAGE_SUFFIXES):
        return (
            f"evidence '{name}' may carry location and camera details cpdgen cannot remove; "
            "convert it to JPEG or PNG, or mark the activity private"
        )
    return None


def _evidence(
    activity: Activity, publish: PublishSettings, problems: list[Problem]
) -> tuple[list[dict], list[tuple[str, Path]]]:
    """The evidence list of a page, and the files to copy beside it (``(file name, source)``)."""
    if not publish.evidence:
        return [], []
    shown, copies = [], []
    for item in activity.evidence:
        if item.path is not None:
            refusal = _unpublishable(item.path.name)
            if refusal:
                refs = list(activity.meta.evidence)
                line = activity.lines.get(("evidence", refs.index(item.ref))) if item.ref in refs else None
                problems.append(Problem(activity.path, line, "error", "evidence-unpublishable", refusal))
                continue
        if item.url:
            # Characters a URL may not hold (quotes, brackets, spaces) are percent-encoded.
            href = quote(item.url, safe=":/?#[]@!$&'()*+,;=%~")
            shown.append({"name": item.url, "href": href, "external": True, "image": False})
        elif item.path is not None:
            name = PurePosixPath(item.rel or item.path.name).name
            shown.append(
                {
                    "name": name,
                    "href": quote(name),
                    "external": False,
                    "image": name.lower().endswith(IMAGE_SUFFIXES),
                }
            )
            copies.append((name, item.path))
    return shown, copies


# --- the pages -----------------------------------------------------------------------------


def judged_activities(assessment: Assessment) -> dict[str, tuple[DiplomaAssessment, Judgement]]:
    """Each activity's diploma and judgement, by the activity's id."""
    return {j.id: (d, j) for d in assessment.diplomas for j in d.judgements}


def page(path: str, template: str, title: str, site: dict, extra: dict, source: str = "", **context: Any) -> Page:
    """A page whose context holds the site's facts, the way back to the site's root, and ``context``."""
    depth = path.count("/")
    # The page's own public address, for canonical and Open Graph links (with site.url only).
    url = site["url"] + web_path(path) if site["url"] and path.endswith(".html") and path != "404.html" else ""
    full = {
        "site": site,
        "root": "../" * depth,
        "page_title": title,
        "page_path": path,
        "page_url": url,
        **extra,
        **context,
    }
    return Page(path, template, full, source)


def activity_page(
    activity: Activity,
    *,
    judged: dict[str, tuple[DiplomaAssessment, Judgement]],
    publish: PublishSettings,
    render_markdown: Callable[[str], Markup],
    site: dict,
    extra: dict,
    previous: dict | None,
    next: dict | None,  # noqa: A002 - the template's own name for it
    problems: list[Problem],
    goals: dict[str, dict] | None = None,
) -> tuple[Page, list[SiteFile]]:
    """An activity's page, and the evidence files to copy beside it.

    The build plans every activity's page with this; ``cpdgen serve`` calls it again for
    the one activity file just saved, so its page is the page the build would write.
    ``goals`` are the published goals' links by id (``context.goal_links``).
    """
    description, reflection = _markdown(activity, publish, render_markdown, problems)
    evidence, copies = _evidence(activity, publish, problems)
    _unpublished_references(activity, publish, [description, reflection], {name for name, _ in copies}, problems)
    diploma, judgement = judged[activity.id]
    meta = activity.meta
    context = {
        **summary(activity, judged),
        "date_range_text": date_range(meta.start, meta.date),
        "type_label": TYPE_BY_ID[meta.type].label if meta.type else "",
        "hours_text": hours_text(meta.hours),
        "tags": [{"label": tag, "url": tag_url(tag)} for tag in meta.tags],
        "standards": [{"number": n, "text": HCPC_STANDARDS[n]} for n in meta.standards],
        "description_html": description,
        "reflection_html": reflection,
        "reflection_published": publish.reflections,
        "has_reflection": activity.has_reflection,
        "evidence": evidence,
        "judgement_text": judgement_text(diploma, judgement),
        "diploma_url": diploma_url(diploma.id),
        "diploma_status": diploma.status,
        "goal": (goals or {}).get(meta.goal or ""),
    }
    folder = f"activities/{activity.slug}"
    files = [SiteFile(f"{folder}/{name}", source, "evidence", activity.path) for name, source in copies]
    shown = page(
        f"{folder}/index.html",
        "activity.html",
        activity.title,
        site,
        extra,
        activity.path,
        activity=context,
        previous=previous,
        next=next,
    )
    return shown, files


def plan_downloads(
    portfolio: Portfolio, assessment: Assessment, *, pdf: bool, problems: list[Problem]
) -> list[Download]:
    """The public records the site offers: each diploma's CSV (and PDF), and the CSV of every activity.

    Each CSV is made here, and each row is checked for identifiers the scan of the files did
    not see (into ``problems``); a PDF is laid out when the site is written. All are public:
    private and draft activities are left out, and each file says how many.
    """
    downloads = []
    lines: dict = {}  # each activity's CSV row, formatted once for all the CSVs
    for diploma in assessment.diplomas:
        base = f"diplomas/{diploma_slug(diploma.id)}/{file_name(diploma.id)}"
        data = csvfile.diploma_csv(portfolio, assessment, diploma.id, public=True, lines=lines)
        downloads.append(Download(f"{base}.csv", "csv", diploma.id, data))
        if pdf:
            downloads.append(Download(f"{base}.pdf", "pdf", diploma.id))
    everything = csvfile.activities_csv(portfolio, assessment, public=True, lines=lines)
    downloads.append(Download("activities.csv", "csv", None, everything))
    by_id = {a.id: a for a in portfolio.activities}
    for key, line in lines.items():
        problems.extend(check_published(portfolio, line, "the site's CSV downloads", by_id.get(key[0])))
    return downloads


def _download_links(downloads: list[Download]) -> dict:
    """What the pages link to: ``{"diplomas": {id: {"csv": path, "pdf": path}}, "activities_csv": path}``."""
    links: dict = {"diplomas": {}, "activities_csv": ""}
    for item in downloads:
        if item.kind not in ("csv", "pdf"):
            continue
        if item.diploma is None:
            links["activities_csv"] = item.path
        else:
            links["diplomas"].setdefault(item.diploma, {"csv": "", "pdf": ""})[item.kind] = item.path
    return links


def plan_site(
    portfolio: Portfolio,
    assessment: Assessment,
    *,
    render_markdown: Callable[[str], Markup],
    theme_files: dict[str, Path],
    pdf: bool = True,
    extra: dict | None = None,
    search: bool = False,
) -> SitePlan:
    """Every page, copied file and download of the site; Markdown problems are collected, not raised.

    ``pdf`` says whether the diplomas' PDFs are offered. ``extra`` goes into every page's
    context (the dev server's live-reload snippet). ``search`` says whether a search index
    will be made (``search.py``, from ``plan.search``): the search page says so.
    """
    assert portfolio.settings is not None
    publish = portfolio.settings.publish
    plan = SitePlan()
    plan.downloads = plan_downloads(portfolio, assessment, pdf=pdf, problems=plan.problems)
    records = _download_links(plan.downloads)
    site = site_context(
        portfolio, assessment, publish, search=search and any(a.published for a in portfolio.activities)
    )
    extra = extra or {}
    judged = judged_activities(assessment)
    published = [a for a in portfolio.activities if a.published]
    summaries = {a.id: summary(a, judged) for a in published}
    public_ids = set(summaries)
    by_date = sorted(published, key=lambda a: (a.date, a.id))

    def add(path: str, template: str, title: str, source: str = "", **context: Any) -> None:
        plan.pages.append(page(path, template, title, site, extra, source, **context))

    # Activity pages.
    goals = goal_links(portfolio)
    for index, activity in enumerate(by_date):
        shown, files = activity_page(
            activity,
            judged=judged,
            publish=publish,
            render_markdown=render_markdown,
            site=site,
            extra=extra,
            previous=summaries[by_date[index - 1].id] if index > 0 else None,
            next=summaries[by_date[index + 1].id] if index + 1 < len(by_date) else None,
            problems=plan.problems,
            goals=goals,
        )
        plan.pages.append(shown)
        plan.files.extend(files)
        plan.search.append(search_record(shown))

    # All activities, newest first, by year.
    years: dict[int, list[dict]] = {}
    for activity in reversed(by_date):
        years.setdefault(activity.date.year, []).append(summaries[activity.id])
    add(
        "activities/index.html",
        "activities.html",
        "All activities",
        years=[{"year": year, "activities": items} for year, items in years.items()],
        count=len(by_date),
        hidden=hidden_counts(portfolio.activities),
    )

    # Diplomas.
    present = {a.id for a in portfolio.activities}
    for diploma in assessment.diplomas:
        ids = {j.id for j in diploma.judgements}
        rows = [summaries[j.id] for j in diploma.judgements if j.id in summaries]
        hidden = hidden_counts(portfolio.activities, ids)
        hidden_counted = sum(1 for j in diploma.judgements if j.counted and j.id not in summaries and j.id in present)
        # A locked diploma keeps activities whose files have gone since (check reports each one).
        missing = [j for j in diploma.judgements if j.id not in present]
        add(
            diploma_url(diploma.id),
            "diploma.html",
            diploma_summary(diploma, public_ids)["label"],
            "content/portfolio.yaml",
            diploma=diploma_summary(diploma, public_ids),
            rows=rows,
            hidden=hidden,
            hidden_counted=hidden_counted,
            missing_count=len(missing),
            missing_counted=sum(j.counted for j in missing),
            records=records,
            category_chart=category_chart(diploma),
        )

    # Categories and tags.
    for category in CATEGORIES:
        items = [summaries[a.id] for a in reversed(by_date) if a.category == category.id]
        add(
            category_url(category.id),
            "category.html",
            category.label,
            category={"id": category.id, "label": category.label, "description": category.description},
            activities=items,
        )
    tags: dict[str, dict] = {}
    for activity in reversed(by_date):
        for tag in activity.meta.tags:
            entry = tags.setdefault(tag_url(tag), {"label": tag, "activities": []})
            if summaries[activity.id] not in entry["activities"]:
                entry["activities"].append(summaries[activity.id])
    for url, entry in sorted(tags.items()):
        add(url, "tag.html", f"Tag: {entry['label']}", tag=entry)
    tag_list = [
        {"label": entry["label"], "url": url, "count": len(entry["activities"])}
        for url, entry in sorted(tags.items(), key=lambda item: item[1]["label"].casefold())
    ]

    # The development plan: a page, when a goal is published.
    goal_list = plan_goals(portfolio, summaries)
    if goal_list:
        by_id = {g.id: g for g in portfolio.goals}
        for item in goal_list:
            goal = by_id[item["id"]]
            item["body_html"] = _render(goal.body, goal.path, goal.body_line, render_markdown, plan.problems)
        add(PLAN_URL, "plan.html", "Development plan", goals=goal_list)

    # The dashboard, with a card per scheme registrations: lists.
    current = assessment.current_diploma
    lenses = portfolio.lenses
    dashboard: dict = {"current": None}
    if current is not None:
        ids = {j.id for j in current.judgements}
        listed = [summaries[j.id] for j in current.judgements if j.id in summaries]
        leaving = sorted(
            (s for s in listed if s["counted"] and s["leaves_text"]),
            key=lambda s: (judged[s["id"]][1].leaves_window_on, s["id"]),
        )
        dashboard = {
            "current": diploma_summary(current, public_ids),
            "leaving": leaving[:6],
            "leaving_more": max(0, len(leaving) - 6),
            "not_counted": [s for s in listed if not s["counted"]],
            "hidden": hidden_counts(portfolio.activities, ids),
            "hidden_not_counted": sum(1 for j in current.judgements if not j.counted and j.id not in summaries),
            "category_chart": category_chart(current),
            # No days count yet in a diploma whose start was written in advance: no timeline.
            "timeline": None if current.not_started else timeline(current, listed),
        }
    dashboard["show_diploma"] = lenses.ibms
    dashboard["schemes"] = []
    if lenses.listed:
        public_days = {a.date for a in by_date}
        schemes = portfolio.assess_schemes(assessment.as_of)
        dashboard["schemes"] = scheme_cards(schemes, summaries, public_days)
    add(
        "index.html",
        "index.html",
        site["title"],
        dashboard=dashboard,
        earlier=[diploma_summary(d, public_ids) for d in reversed(assessment.diplomas) if d is not current],
        recent=[summaries[a.id] for a in reversed(by_date[-8:])],
        goals=[{k: v for k, v in item.items() if k != "body_html"} for item in goal_list],
        tags=tag_list,
        records=records,
        published_count=len(by_date),
    )
    # The About page, from content/about.md.
    if portfolio.about is not None:
        about = portfolio.about
        body = _render(about.text, about.path, 1, render_markdown, plan.problems, top=2)
        add(ABOUT_URL, "about.html", "About", about.path, body_html=body)

    # The search page: its script reads the index search.py makes from plan.search.
    add(SEARCH_URL, "search.html", "Search", searchable=len(by_date))

    # The 404 page is served at any depth, where a relative stylesheet link would break: inline it.
    # With site.url its links are absolute, so they work wherever the host shows it.
    stylesheet = theme_files.get(STYLESHEET)
    css = stylesheet.read_text(encoding="utf-8") if stylesheet else ""
    inline = Markup(css.replace("</", "<\\/"))  # noqa: S704 - the theme's CSS, unable to close its <style>
    # cpdgen serve serves the site at its server's root: there, "/" leads back to the local site.
    add(
        "404.html",
        "404.html",
        "Page not found",
        stylesheet=inline,
        root="/" if extra.get("live_reload") else site["url"],
    )

    # What the web reads beside the pages: the feed, the sitemap, robots.txt.
    add_web_files(plan, site, by_date, summaries, assessment.as_of.isoformat())

    for name, source in sorted(theme_files.items()):
        plan.files.append(SiteFile(name, source, "theme", "templates/" + name))
    plan.problems.extend(find_collisions(plan))
    return plan


def search_record(shown: Page) -> SearchRecord:
    """An activity page's text for the search index: what the page itself shows of the activity."""
    activity = shown.context["activity"]
    facts = " · ".join(x for x in (activity["category_label"], activity["type_label"], activity["hours_text"]) if x)
    tags = ", ".join(tag["label"] for tag in activity["tags"])
    html = Markup("<h1>{}</h1><p>{}</p>").format(activity["title"], facts)
    html += activity["description_html"] + activity["reflection_html"]
    if tags:
        html += Markup("<p>{}</p>").format(tags)
    return SearchRecord(shown.path, activity["title"], html)


def add_web_files(plan: SitePlan, site: dict, by_date: list[Activity], summaries: dict[str, dict], as_of: str) -> None:
    """feed.xml and sitemap.xml (with site.url), and robots.txt (with site.url or search_engines: false)."""
    url = site["url"]

    def add(path: str, template: str, **context: Any) -> None:
        plan.pages.append(page(path, template, path, site, {}, **context))

    if url and site["search_engines"]:
        addresses = sorted(
            url + web_path(p.path)
            for p in plan.pages
            if p.path.endswith(".html") and p.path not in ("404.html", SEARCH_URL)
        )
        add("sitemap.xml", "sitemap.xml", addresses=addresses)
    if url:
        entries = []
        for activity in reversed(by_date[-FEED_ENTRIES:]):
            item = summaries[activity.id]
            type_label = TYPE_BY_ID[activity.meta.type].label if activity.meta.type else ""
            facts = " · ".join(x for x in (item["category_label"], type_label, hours_text(activity.meta.hours)) if x)
            entries.append(
                {
                    "title": item["title"],
                    "url": url + web_path(item["url"]),
                    # The activity's own date, never the clock: the same record gives the same feed.
                    "updated": f"{item['date']}T00:00:00Z",
                    "category": item["category_label"],
                    "summary": f"{item['date_text']}: {facts}",
                }
            )
        updated = entries[0]["updated"] if entries else f"{as_of}T00:00:00Z"
        add(FEED_URL, "feed.xml", entries=entries, updated=updated, feed_url=url + FEED_URL)
    if not site["search_engines"] or url:
        add("robots.txt", "robots.txt", sitemap=url + "sitemap.xml" if url and site["search_engines"] else "")


_REFERENCE = re.compile(r'<(img|a)\b[^>]*?\s(?:src|href)="([^"]*)"')


def _unpublished_references(
    activity: Activity, publish: PublishSettings, html: list[Markup], published: set[str], problems: list[Problem]
) -> None:
    """A warning for each picture or link in the activity's text to a file beside it that the
    site does not publish (only evidence is copied), so the page would show it broken."""
    texts: list[tuple[str, str, int | None]] = [(activity.description, activity.path, activity.description_line)]
    if publish.reflections and activity.reflection:
        texts.append((activity.reflection, activity.reflection_path or activity.path, activity.reflection_line))
    seen = set()
    for tag, raw in _REFERENCE.findall("".join(html)):
        ref = unescape(raw).strip()
        target = unquote(ref.split("#", 1)[0].split("?", 1)[0])
        if (
            not target
            or URL_SCHEME.match(ref)
            or ref.startswith(("/", "\\"))
            or target.endswith("/")
            or ".." in target.replace("\\", "/").split("/")
            or PurePosixPath(target).name in published
            or (tag, ref) in seen
        ):
            continue
        seen.add((tag, ref))
        where, line = activity.path, None
        for text, path, first in texts:
            at = text.find(raw) if raw in text else text.find(ref)
            if at >= 0:
                where, line = path, (first or 1) + text.count("\n", 0, at)
                break
        what = f"picture '{ref}'" if tag == "img" else f"link to '{ref}'"
        why = (
            "publish: evidence is false, so no file of an activity is"
            if not publish.evidence
            else "only the files listed under evidence: are"
        )
        problems.append(
            Problem(
                where,
                line,
                "warning",
                "unpublished-file",
                f"the {what} would be broken on the site: {why} copied beside its page. List the file under "
                "evidence:, or link to a web address",
            )  # fmt: skip
        )


def _markdown(
    activity: Activity,
    publish: PublishSettings,
    render: Callable[[str], Markup],
    problems: list[Problem],
) -> tuple[Markup, Markup]:
    """The activity's description and (if published) reflection as safe HTML."""
    results = []
    parts: list[tuple[str, str, int | None]] = [(activity.description, activity.path, activity.description_line)]
    if publish.reflections:
        parts.append((activity.reflection or "", activity.reflection_path or activity.path, activity.reflection_line))
    for text, where, line in parts:
        results.append(_render(text, where, line, render, problems))
    if len(results) == 1:
        results.append(Markup(""))
    return results[0], results[1]


def _render(
    text: str,
    where: str,
    line: int | None,
    render: Callable[[str], Markup],
    problems: list[Problem],
    top: int = 3,
) -> Markup:
    """A member's Markdown as safe HTML under the page's own headings (the highest at ``top``);
    a problem when it is too complex."""
    try:
        return shift_headings(render(text), top)
    except MarkdownTooComplex as exc:
        problems.append(Problem(where, line, "error", "markdown-too-complex", exc.message))
        return Markup("")


def find_collisions(plan: SitePlan) -> list[Problem]:
    """Two outputs that would be written to the same path (ignoring case): each is an error."""
    seen: dict[str, str] = {}
    problems = []
    outputs = [(p.path, p.source, f"the page of {p.source or p.path}") for p in plan.pages]
    outputs += [(f.path, f.owner, f"{f.kind} {f.source.name} of {f.owner}") for f in plan.files]
    outputs += [(d.path, "content/portfolio.yaml", f"the {d.kind.upper()} download") for d in plan.downloads]
    for path, owner, what in outputs:
        key = path.casefold()
        if key in seen:
            problems.append(
                Problem(
                    owner or "content",
                    None,
                    "error",
                    "output-collision",
                    f"two files would be written to {path} in the site ({seen[key]}, and {what}); rename one of them",
                )
            )
        else:
            seen[key] = what
    return problems
