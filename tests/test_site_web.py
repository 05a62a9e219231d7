"""What the site offers the web besides its pages: site.url and the absolute links it makes
(canonical, Open Graph, the 404 page), the Atom feed, the sitemap, robots.txt and
search_engines, the About page, the favicon, and the Pagefind search index; and that no
private activity or patient identifier reaches any of them.
"""

from __future__ import annotations

import gzip
import os
import xml.etree.ElementTree as ET
from datetime import date
from pathlib import Path

import pytest

from conftest import PORTFOLIO, REFLECTION
from cpdgen.site.build import build_site
from test_site_plan import Elements

AS_OF = date(2026, 11, 28)
URL = "https://alex.example.org/cpd/"
ATOM = "{http://www.w3.org/2005/Atom}"
SITEMAP = "{http://www.sitemaps.org/schemas/sitemap/0.9}"
SECRET_TITLE = "Zanzibarine secret appraisal"  # the private activity's title: a word found nowhere else
NHS = "943 476 5919"  # a valid NHS number


def settings(portfolio, **site) -> None:
    portfolio.settings({**PORTFOLIO, "site": site})


def build(portfolio, **options):
    options.setdefault("as_of", AS_OF)
    options.setdefault("pdf", False)
    result = build_site(portfolio.root, **options)
    assert result.written, result.problems
    return result.out


def index_text(site: Path) -> str:
    """Every file of the search index as text, its compressed files opened."""
    parts = []
    for path in sorted((site / "pagefind").rglob("*")):
        if path.is_file():
            data = path.read_bytes()
            if data[:2] == b"\x1f\x8b":
                data = gzip.decompress(data)
            parts.append(data.decode("utf-8", "replace"))
    return "\n".join(parts)


def head(html: str) -> dict[tuple[str, str], str]:
    """A page's meta and link elements: ``{("og:title", "property"): content, ("canonical", "link"): href}``."""
    found = {}
    for tag, attrs in Elements(html).elements:
        if tag == "meta" and ("property" in attrs or "name" in attrs):
            found[(attrs.get("property") or attrs["name"], "meta")] = attrs.get("content") or ""
        elif tag == "link":
            found[(attrs["rel"], "link")] = attrs["href"]
    return found


@pytest.fixture
def public_and_private(portfolio):
    """A portfolio with a site address, two published activities, a private one and a draft."""
    settings(portfolio, url=URL.rstrip("/"), title="Alex's CPD")
    portfolio.activity("2026-03-02-sepsis", date="2026-03-02", title="Journal club: sepsis markers")
    portfolio.activity(
        "2026-05-20-audit",
        date="2026-05-20",
        title="Audit of sample rejection",
        type="audit",
        hours=2.5,
        tags=["quality"],
    )
    portfolio.activity(
        "2026-04-01-secret",
        date="2026-04-01",
        title=SECRET_TITLE,
        private=True,
        body=f"Patient NHS {NHS} reviewed.",
        allow=["nhs-number"],
    )
    portfolio.activity("2026-04-02-draft", date="2026-04-02", title="Zanzibarine draft", draft=True)
    return portfolio


# --- site.url ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("written", "stored"),
    [
        ("https://alex.example.org", "https://alex.example.org/"),
        ("http://localhost:8000/cpd", "http://localhost:8000/cpd/"),
    ],
)
def test_site_url_is_kept_with_one_trailing_slash(portfolio, written, stored):
    from cpdgen.loader import load_portfolio

    settings(portfolio, url=written)
    assert load_portfolio(portfolio.root).settings.site.url == stored


@pytest.mark.parametrize(
    "written",
    ["alex.github.io/cpd", "ftp://example.org/", "https:///path", "https://example.org/?q=1", "javascript:alert(1)"],
)
def test_a_site_url_that_is_not_a_full_web_address_is_an_error_with_its_line(portfolio, run_check, written):
    settings(portfolio, url=written)
    code, out = run_check()
    assert code != 0, out
    line = next(line for line in out.splitlines() if "[invalid-value]" in line)
    assert line.startswith("content/portfolio.yaml:4:"), line
    assert "must be your site's full address" in line or "must be the address of the site alone" in line


def test_without_site_url_there_is_no_feed_sitemap_or_absolute_link(portfolio):
    portfolio.activity("2026-03-02-sepsis", date="2026-03-02", title="Journal club")
    site = build(portfolio)
    assert not (site / "feed.xml").exists() and not (site / "sitemap.xml").exists()
    assert not (site / "robots.txt").exists()
    meta = head((site / "index.html").read_text())
    assert ("canonical", "link") not in meta and ("og:url", "meta") not in meta
    assert ("alternate", "link") not in meta
    assert meta[("og:title", "meta")] == "Alex Morgan — CPD portfolio"
    assert meta[("icon", "link")] == "favicon.svg"
    assert "https://" not in (site / "404.html").read_text()


# --- the feed, the sitemap, robots.txt ---------------------------------------------------------


def test_the_feed_lists_published_activities_newest_first_dated_by_the_activity(public_and_private):
    site = build(public_and_private)
    feed = ET.parse(site / "feed.xml").getroot()  # noqa: S314 - our own build's output
    assert feed.tag == f"{ATOM}feed"
    assert feed.findtext(f"{ATOM}id") == URL
    assert feed.find(f"{ATOM}link[@rel='self']").get("href") == URL + "feed.xml"
    assert feed.findtext(f"{ATOM}updated") == "2026-05-20T00:00:00Z"  # the newest entry's date, not the clock
    assert feed.findtext(f"{ATOM}author/{ATOM}name") == "Alex Morgan"
    entries = feed.findall(f"{ATOM}entry")
    assert [e.findtext(f"{ATOM}title") for e in entries] == [
        "Audit of sample rejection",
        "Journal club: sepsis markers",
    ]
    audit = entries[0]
    assert audit.findtext(f"{ATOM}id") == URL + "activities/2026-05-20-audit/"
    assert audit.find(f"{ATOM}link").get("href") == URL + "activities/2026-05-20-audit/"
    assert audit.findtext(f"{ATOM}updated") == "2026-05-20T00:00:00Z"
    assert audit.find(f"{ATOM}category").get("term") == "Work-based learning"
    assert audit.findtext(f"{ATOM}summary") == "20 May 2026: Work-based learning · Audit · 2.5 hours"


def test_the_feed_is_the_same_whatever_the_day_it_is_built(public_and_private, tmp_path):
    first = build(public_and_private, out=tmp_path / "a", as_of=date(2026, 11, 28))
    second = build(public_and_private, out=tmp_path / "b", as_of=date(2027, 1, 3))
    assert (first / "feed.xml").read_bytes() == (second / "feed.xml").read_bytes()


def test_the_sitemap_lists_every_page_but_404_and_search(public_and_private):
    site = build(public_and_private)
    root = ET.parse(site / "sitemap.xml").getroot()  # noqa: S314 - our own build's output
    assert root.tag == f"{SITEMAP}urlset"
    listed = [loc.text for loc in root.iter(f"{SITEMAP}loc")]
    pages = {p.relative_to(site).as_posix() for p in site.rglob("*.html")}
    expected = sorted(URL + p.removesuffix("index.html") for p in pages - {"404.html", "search/index.html"})
    assert listed == expected
    assert URL + "activities/2026-05-20-audit/" in listed
    robots = (site / "robots.txt").read_text()
    assert robots == f"User-agent: *\nAllow: /\n\nSitemap: {URL}sitemap.xml\n"


def test_search_engines_false_puts_noindex_on_every_page_and_robots_disallows_all(portfolio):
    settings(portfolio, search_engines=False)
    portfolio.activity("2026-03-02-sepsis", date="2026-03-02", title="Journal club")
    site = build(portfolio)
    pages = list(site.rglob("*.html"))
    assert len(pages) > 10
    for page in pages:
        assert head(page.read_text()).get(("robots", "meta")) == "noindex", page
    robots = (site / "robots.txt").read_text()
    assert robots.splitlines()[-2:] == ["User-agent: *", "Disallow: /"]
    assert not (site / "sitemap.xml").exists()


def test_search_engines_false_with_a_url_has_a_feed_but_no_sitemap(portfolio):
    settings(portfolio, search_engines=False, url=URL)
    portfolio.activity("2026-03-02-sepsis", date="2026-03-02", title="Journal club")
    site = build(portfolio)
    assert (site / "feed.xml").is_file() and not (site / "sitemap.xml").exists()
    assert "Sitemap" not in (site / "robots.txt").read_text()


def test_by_default_no_page_asks_search_engines_to_stay_away(public_and_private):
    site = build(public_and_private)
    for page in site.rglob("*.html"):
        assert ("robots", "meta") not in head(page.read_text()), page


# --- the meta a link preview reads ---------------------------------------------------------------


def test_pages_carry_canonical_open_graph_and_twitter_card_meta(public_and_private):
    site = build(public_and_private)
    meta = head((site / "activities/2026-05-20-audit/index.html").read_text())
    assert meta[("canonical", "link")] == URL + "activities/2026-05-20-audit/"
    assert meta[("og:url", "meta")] == URL + "activities/2026-05-20-audit/"
    assert meta[("og:type", "meta")] == "article"
    assert meta[("og:title", "meta")] == "Audit of sample rejection"
    assert meta[("og:description", "meta")] == "Audit of sample rejection: a CPD activity of Alex Morgan"
    assert meta[("og:site_name", "meta")] == "Alex's CPD"
    assert meta[("twitter:card", "meta")] == "summary"
    assert meta[("icon", "link")] == "../../favicon.svg"
    assert meta[("alternate", "link")] == "../../feed.xml"
    home = head((site / "index.html").read_text())
    assert home[("canonical", "link")] == URL and home[("og:type", "meta")] == "website"


def test_the_404_page_links_absolutely_with_a_site_url(public_and_private):
    site = build(public_and_private)
    page = Elements((site / "404.html").read_text())
    hrefs = [attrs["href"] for tag, attrs in page.elements if tag in ("a", "link") and "href" in attrs]
    internal = [h for h in hrefs if not h.startswith("#")]
    assert internal and all(h.startswith(URL) for h in internal), internal
    assert URL + "index.html" in hrefs and URL + "favicon.svg" in hrefs
    assert ("canonical", "link") not in head((site / "404.html").read_text())


def test_the_favicon_is_the_themes_svg_and_a_portfolio_may_replace_it(portfolio):
    site = build(portfolio)
    icon = ET.parse(site / "favicon.svg").getroot()  # noqa: S314 - our own build's output
    assert icon.tag == "{http://www.w3.org/2000/svg}svg"
    (portfolio.root / "templates").mkdir()
    (portfolio.root / "templates/favicon.svg").write_text('<svg xmlns="http://www.w3.org/2000/svg"/>\n')
    site = build(portfolio)
    assert (site / "favicon.svg").read_text() == '<svg xmlns="http://www.w3.org/2000/svg"/>\n'


# --- the About page ------------------------------------------------------------------------------


def test_about_md_becomes_the_about_page_linked_from_every_page(portfolio, run_check):
    portfolio.write("about.md", "# Hello\n\nI work in **blood sciences**.\n\n<script>alert(1)</script>\n")
    code, out = run_check("--content-only")
    assert "about.md" not in out  # not reported as a file cpdgen does not read
    site = build(portfolio)
    html = (site / "about/index.html").read_text()
    assert "<h2>Hello</h2>" in html and "<strong>blood sciences</strong>" in html
    assert "<script" not in html
    assert 'href="about/index.html"' in (site / "index.html").read_text()


def test_without_about_md_there_is_no_about_page(portfolio):
    site = build(portfolio)
    assert not (site / "about").exists()
    assert "about/index.html" not in (site / "index.html").read_text()


def test_a_patient_identifier_in_about_md_stops_the_build(portfolio):
    portfolio.write("about.md", f"Ask me about NHS {NHS}.\n")
    result = build_site(portfolio.root, as_of=AS_OF, pdf=False)
    assert not result.written
    assert [(p.path, p.code) for p in result.problems if p.severity == "error"] == [("content/about.md", "nhs-number")]


# --- search ----------------------------------------------------------------------------------------


def test_the_search_index_holds_published_activities_only(public_and_private):
    site = build(public_and_private)
    text = index_text(site)
    assert "Journal club: sepsis markers" in text and "Audit of sample rejection" in text
    assert '"page":"activities/2026-05-20-audit/index.html"' in text  # the address the result links to
    assert "quality" in text  # tags are searched too
    assert "Zanzibarine" not in text and "zanzibarine" not in text
    assert NHS not in text and NHS.replace(" ", "") not in text


def test_nothing_private_reaches_the_feed_sitemap_meta_or_search_index(public_and_private):
    site = build(public_and_private)
    for path in site.rglob("*"):
        if path.is_file() and path.suffix in (".xml", ".txt", ".html", ".js", ".json", ".svg"):
            text = path.read_text(encoding="utf-8")
            assert "Zanzibarine" not in text and NHS not in text, path
            assert "2026-04-01-secret" not in text and "2026-04-02-draft" not in text, path
    assert "Zanzibarine" not in index_text(site)


def test_the_search_index_leaves_out_reflections_when_they_are_not_published(portfolio):
    portfolio.settings({**PORTFOLIO, "publish": {"reflections": False}})
    marker = "Quokkaphrase"
    portfolio.activity("2026-03-02-a", date="2026-03-02", title="A", reflection=REFLECTION + " " + marker)
    site = build(portfolio)
    assert marker not in index_text(site)
    assert "An activity" not in index_text(site) and "A" in index_text(site)


def test_the_same_input_gives_the_same_search_index(public_and_private, tmp_path):
    first = build(public_and_private, out=tmp_path / "a")
    second = build(public_and_private, out=tmp_path / "b", use_cache=False)
    files = sorted(p.relative_to(first).as_posix() for p in (first / "pagefind").rglob("*") if p.is_file())
    assert files and files == sorted(
        p.relative_to(second).as_posix() for p in (second / "pagefind").rglob("*") if p.is_file()
    )
    for name in files:
        assert (first / name).read_bytes() == (second / name).read_bytes(), name


def test_without_pagefind_the_site_builds_and_the_search_page_says_search_is_unavailable(
    public_and_private, monkeypatch
):
    from cpdgen.site import search

    monkeypatch.setattr(search, "pagefind_executable", lambda: None)
    site = build(public_and_private)
    assert not (site / "pagefind").exists()
    html = (site / "search/index.html").read_text()
    assert "Search is not available on this site: it was built without Pagefind" in html
    assert "<script" not in html and "<form" not in html


def test_a_failing_pagefind_is_a_warning_and_the_site_builds_without_search(public_and_private, monkeypatch, tmp_path):
    from cpdgen.site import search

    broken = tmp_path / "pagefind"
    broken.write_text("#!/bin/sh\necho 'Error: out of cheese' >&2\nexit 3\n")
    broken.chmod(0o755)
    monkeypatch.setattr(search, "pagefind_executable", lambda: broken)
    result = build_site(public_and_private.root, as_of=AS_OF, pdf=False)
    assert result.written
    warnings = [p for p in result.problems if p.code == "search-unavailable"]
    assert [p.message for p in warnings] == [
        "Pagefind could not make the search index: Error: out of cheese; the site is built without search"
    ]
    assert "Search is not available" in (result.out / "search/index.html").read_text()


def test_a_portfolio_with_nothing_published_says_there_is_nothing_to_search(portfolio):
    site = build(portfolio)
    assert "no activity is published yet" in (site / "search/index.html").read_text()
    assert not (site / "pagefind").exists()


def test_the_page_pagefind_reads_escapes_the_title_and_keeps_the_safe_html():
    from markupsafe import Markup

    from cpdgen.site.plan import SearchRecord
    from cpdgen.site.search import record_page

    page = record_page(SearchRecord("activities/a/index.html", "A <b> & C", Markup("<p>x</p>")))
    assert "<title>A &lt;b&gt; &amp; C</title>" in page and "<main data-pagefind-body><p>x</p></main>" in page
    assert '<meta data-pagefind-meta="page:activities/a/index.html">' in page  # where a result links


def test_hostile_titles_stay_text_in_the_feed_sitemap_and_meta(portfolio):
    hostile = "\"'><script>alert('X')</script>&]]>"
    settings(portfolio, url=URL, title=hostile)
    portfolio.activity("2026-03-02-hostile", date="2026-03-02", title=hostile, tags=[hostile])
    site = build(portfolio)
    feed = ET.parse(site / "feed.xml").getroot()  # noqa: S314 - our own build's output
    assert feed.findtext(f"{ATOM}title") == hostile
    assert feed.find(f"{ATOM}entry").findtext(f"{ATOM}title") == hostile
    ET.parse(site / "sitemap.xml")  # noqa: S314 - our own build's output
    meta = head((site / "activities/2026-03-02-hostile/index.html").read_text())
    assert meta[("og:title", "meta")] == hostile and meta[("og:site_name", "meta")] == hostile
    assert "<script>" not in (site / "feed.xml").read_text()


def test_under_cpdgen_serve_the_404_page_leads_back_to_the_local_site(portfolio, tmp_path):
    from cpdgen.site.renderer import SiteRenderer

    settings(portfolio, url=URL)
    renderer = SiteRenderer(portfolio.root, use_cache=False, live_reload='<script src="/__livereload.js"></script>')
    served = tmp_path / "served"
    served.mkdir()
    renderer.render_into(served, renderer.prepare(as_of=AS_OF), previous=served)
    html = (served / "404.html").read_text()
    assert 'href="/index.html"' in html and URL not in html


# --- Pagefind beside the page rendering, and the kept index ------------------------------


def fake_pagefind(folder: Path, does: str = "echo 'Error: out of cheese' >&2\nexit 3") -> tuple[Path, Path]:
    """A program that says it is the installed Pagefind (``--version``) but, asked for an index,
    leaves a trace and does ``does``: ``(program, trace)``."""
    import subprocess

    from cpdgen.pagefind import pagefind_executable

    real = pagefind_executable()
    assert real is not None, "the pagefind-bin package is a dependency of cpdgen"
    version = subprocess.run([real, "--version"], capture_output=True, text=True, check=True).stdout.strip()
    program, trace = folder / "pagefind", folder / "pagefind-ran"
    program.write_text(
        f'#!/bin/sh\nif [ "$1" = --version ]; then echo "{version}"; exit 0; fi\n'
        f'touch "{trace}"\nREAL="{real}"\n{does}\n'
    )
    program.chmod(0o755)
    return program, trace


def all_files(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_a_later_build_takes_the_search_index_it_kept_and_does_not_run_pagefind(
    public_and_private, monkeypatch, tmp_path
):
    from cpdgen.site import search

    first = build(public_and_private, out=tmp_path / "a")
    program, trace = fake_pagefind(tmp_path)  # fails, were it run
    monkeypatch.setattr(search, "pagefind_executable", lambda: program)
    result = build_site(public_and_private.root, out=tmp_path / "b", as_of=AS_OF, pdf=False)
    assert result.written and not [p for p in result.problems if p.code == "search-unavailable"]
    assert not trace.exists()
    assert all_files(result.out) == all_files(first)  # the index, every page and the marker's keys


@pytest.mark.parametrize("cached", ["first", "second"])
def test_no_cache_keeps_no_search_index_and_reads_none(public_and_private, monkeypatch, tmp_path, cached):
    from cpdgen.site import search

    build(public_and_private, out=tmp_path / "a", use_cache=cached == "first")
    program, trace = fake_pagefind(tmp_path)
    monkeypatch.setattr(search, "pagefind_executable", lambda: program)
    result = build_site(
        public_and_private.root, out=tmp_path / "b", as_of=AS_OF, pdf=False, use_cache=cached == "second"
    )
    assert trace.exists()  # nothing kept by the first build, or nothing read by the second
    assert [p.code for p in result.problems if p.code == "search-unavailable"] == ["search-unavailable"]
    assert "Search is not available" in (result.out / "search/index.html").read_text()


def with_search_on_every_page(portfolio) -> None:
    """A theme that shows on every page whether the site has search, as a member's theme may."""
    from cpdgen import theme_dir

    base = (theme_dir() / "base.html").read_text()
    (portfolio.root / "templates").mkdir(exist_ok=True)
    (portfolio.root / "templates/base.html").write_text(
        base.replace("</head>", "<!-- search={{ site.search_ready }} -->\n</head>")
    )


def test_pagefind_failing_while_the_pages_render_on_every_core_gives_the_site_without_search(
    public_and_private, monkeypatch, tmp_path
):
    import os

    from cpdgen import render
    from cpdgen.site import search

    with_search_on_every_page(public_and_private)
    monkeypatch.setattr(render, "PARALLEL_MIN_TEXTS", 1)  # a small portfolio: fork anyway
    monkeypatch.setattr(os, "cpu_count", lambda: 2)
    program, trace = fake_pagefind(tmp_path)
    monkeypatch.setattr(search, "pagefind_executable", lambda: program)
    failed = build_site(public_and_private.root, out=tmp_path / "failed", as_of=AS_OF, pdf=False)
    assert trace.exists() and failed.written
    assert [p.message for p in failed.problems if p.code == "search-unavailable"] == [
        "Pagefind could not make the search index: Error: out of cheese; the site is built without search"
    ]
    monkeypatch.setattr(search, "pagefind_executable", lambda: None)
    without = build_site(public_and_private.root, out=tmp_path / "without", as_of=AS_OF, pdf=False)
    pages = all_files(failed.out)
    html = [data.decode() for path, data in pages.items() if path.endswith(".html")]
    assert len(html) > 10 and all("search=False" in page for page in html)
    assert pages == all_files(without.out)


def test_pagefind_failing_in_a_serve_rebuild_rewrites_every_page_in_place(public_and_private, monkeypatch, tmp_path):
    from cpdgen.site import search
    from cpdgen.site.serve import Session

    with_search_on_every_page(public_and_private)
    session = Session(public_and_private.root, AS_OF, out=open(os.devnull, "w"))  # noqa: SIM115
    try:
        assert session.rebuild()
        before = all_files(session.folder)
        assert all("search=True" in data.decode() for path, data in before.items() if path.endswith(".html"))
        public_and_private.activity("2026-03-09-new", date="2026-03-09", title="A new one")
        program, _ = fake_pagefind(tmp_path)
        monkeypatch.setattr(search, "pagefind_executable", lambda: program)
        assert session.rebuild()
        served = all_files(session.folder)
    finally:
        session.close()
    monkeypatch.setattr(search, "pagefind_executable", lambda: None)
    without = build_site(public_and_private.root, out=tmp_path / "without", as_of=AS_OF, pdf=False, use_cache=False)
    expected = all_files(without.out)
    assert not any(path.startswith("pagefind/") for path in served)
    assert all("search=False" in data.decode() for path, data in served.items() if path.endswith(".html"))
    assert {path: data for path, data in served.items() if path != ".cpdgen-output"} == {
        path: data for path, data in expected.items() if path != ".cpdgen-output"
    }


def test_pagefind_that_takes_too_long_is_stopped_and_the_site_builds_without_search(
    public_and_private, monkeypatch, tmp_path
):
    from cpdgen.site import search

    program, _ = fake_pagefind(tmp_path, "exec sleep 60")
    monkeypatch.setattr(search, "pagefind_executable", lambda: program)
    monkeypatch.setattr(search, "TIMEOUT_SECONDS", 1)
    result = build_site(public_and_private.root, as_of=AS_OF, pdf=False)
    assert [p.message for p in result.problems if p.code == "search-unavailable"] == [
        "Pagefind could not make the search index (it took more than 1 s); the site is built without search"
    ]
    assert "Search is not available" in (result.out / "search/index.html").read_text()


def test_pagefind_saying_a_lot_is_not_stopped_by_a_full_pipe(public_and_private, monkeypatch, tmp_path):
    from cpdgen.site import search

    expected = build(public_and_private, out=tmp_path / "a", use_cache=False)
    # More than a pipe holds (64 KiB), on both outputs, before the real program runs.
    program, trace = fake_pagefind(
        tmp_path, 'head -c 300000 /dev/zero\nhead -c 300000 /dev/zero >&2\nexec "$REAL" "$@"'
    )
    monkeypatch.setattr(search, "pagefind_executable", lambda: program)
    monkeypatch.setattr(search, "TIMEOUT_SECONDS", 20)
    result = build_site(public_and_private.root, out=tmp_path / "b", as_of=AS_OF, pdf=False, use_cache=False)
    assert trace.exists() and not [p for p in result.problems if p.code == "search-unavailable"]
    assert all_files(result.out / "pagefind") == all_files(expected / "pagefind")


def test_a_damaged_kept_index_is_not_used():
    from cpdgen.site.search import pack_index, unpack_index

    files = [("pagefind/pagefind.js", b"script"), ("pagefind/index/en_1.pf_index", b"\x1f\x8b\n\0index")]
    blob = pack_index(files)
    assert unpack_index(blob) == files
    assert unpack_index(blob[:-1]) is None and unpack_index(b"x" + blob) is None and unpack_index(None) is None
    assert unpack_index(pack_index([("../outside.js", b"x"), *files])) is None


@pytest.mark.slow  # lays out the diploma's PDF twice
def test_pagefind_failing_while_the_workshop_lays_out_the_pdf_gives_the_site_without_search(
    public_and_private, monkeypatch, tmp_path
):
    from cpdgen.pdf import layout
    from cpdgen.site import search

    handed = []
    submit = layout.Workshop.submit
    monkeypatch.setattr(layout.Workshop, "submit", lambda self, jobs: (handed.append(len(jobs)), submit(self, jobs)))
    program, trace = fake_pagefind(tmp_path)
    monkeypatch.setattr(search, "pagefind_executable", lambda: program)
    failed = build_site(public_and_private.root, out=tmp_path / "a", as_of=AS_OF, use_cache=False)
    assert trace.exists() and handed == [1]  # Pagefind ran and failed while the PDF was laid out
    assert [p.code for p in failed.problems if p.code == "search-unavailable"] == ["search-unavailable"]
    monkeypatch.setattr(search, "pagefind_executable", lambda: None)
    without = build_site(public_and_private.root, out=tmp_path / "b", as_of=AS_OF, use_cache=False)
    made, expected = all_files(failed.out), all_files(without.out)
    [pdf] = [name for name in made if name.endswith(".pdf")]
    assert made[pdf].startswith(b"%PDF-") and made[pdf] == expected[pdf]
    assert failed.stats.written + failed.stats.reused == len(made) - 1  # each file made once (and the marker)
    assert {k: v for k, v in made.items() if k != ".cpdgen-output"} == {
        k: v for k, v in expected.items() if k != ".cpdgen-output"
    }
