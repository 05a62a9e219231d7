"""The pages themselves: what a member wrote cannot inject anything, every page is valid HTML,
and the example portfolio's whole site matches its stored expectations (docs/developers/security.md).

Refresh the stored site after an intended change with ``make golden``
(``UPDATE_GOLDEN=1 python -m pytest tests/test_site_plan.py -k golden``), then review the diff.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
from datetime import date
from html.parser import HTMLParser
from pathlib import Path

import pytest

from conftest import REPO, activity_text, pdf_document, require_tool
from cpdgen.fsutil import MARKER
from cpdgen.privacy.identifiers import value_id
from cpdgen.site.build import build_site

GOLDEN = Path(__file__).resolve().parent / "golden" / "site"
BINARY_SUMS = "SHA256SUMS"
TEXT_SUFFIXES = (".html", ".css", ".txt", ".csv", ".json", ".xml", ".svg", ".js")
TEMPLATES = REPO / "templates"
VNU = REPO / "node_modules" / "vnu-jar" / "build" / "dist" / "vnu.jar"

TRAPS = {
    "script": "Hello <script>alert('SCRIPT-TRAP')</script> there.",
    "handler": '<img src="x.png" onerror="alert(1)"> and <a href="https://example.org" onclick="steal()">x</a>',
    "js-link": "[plain](javascript:alert(1)) [mixed](JaVaScRiPt:alert(1)) [entity](jav&#x61;script:alert(1))\n\n"
    "[ref][1]\n\n[1]: javascript:alert(1)\n\n[data](data:text/html;base64,PHNjcmlwdD4=)",
    "comment": "Seen today <!-- pt J. Smith --> in clinic.\n\n<!-- Patient: John Smith, NHS 943 476 5919 -->",
    "attr-list": '# Title {: onclick="alert(1)" style="position:fixed" }\n\n'
    '[link](https://nhs.uk){: href="javascript:alert(3)" }',
    "template": "{{ 7*7 }} {% for i in range(10**9) %}{% endfor %} {{ cycler.__init__.__globals__ }}",
    "style": "<style>body{display:none}</style><iframe src='https://evil.example'></iframe>"
    '<link rel="attachment" href="file:///etc/passwd">',
}
HOSTILE = "\"'><script>alert('TITLE-TRAP')</script>&"


class Elements(HTMLParser):
    """Every element, attribute and comment of a page."""

    def __init__(self, html: str):
        super().__init__(convert_charrefs=True)
        self.elements: list[tuple[str, dict]] = []
        self.comments: list[str] = []
        self.text: list[str] = []
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        self.elements.append((tag, dict(attrs)))

    def handle_startendtag(self, tag, attrs):
        self.elements.append((tag, dict(attrs)))

    def handle_comment(self, data):
        self.comments.append(data)

    def handle_data(self, data):
        self.text.append(data)


# The theme's own links: its stylesheet, favicon and feed (relative), and the page's own address.
THEME_LINKS = {"stylesheet", "icon", "alternate"}


def theme_link(attrs: dict) -> bool:
    if attrs.get("rel") == "canonical":
        return attrs["href"].startswith("https://")
    return attrs.get("rel") in THEME_LINKS and not attrs["href"].startswith(("/", "http"))


def search_script(where: str, tag: str, attrs: dict) -> bool:
    """The search page's one script, the theme's own file, and its form: nowhere else."""
    if not where.endswith("search/index.html"):
        return False
    return tag == "form" or (tag == "script" and attrs.get("src") == "../search.js")


def assert_page_is_inert(html: str, where: str) -> None:
    page = Elements(html)
    assert not page.comments, where
    for tag, attrs in page.elements:
        assert (
            tag not in {"script", "iframe", "object", "embed", "base", "form", "link"}
            or (tag == "link" and theme_link(attrs))
            or search_script(where, tag, attrs)
        ), (where, tag, attrs)
        assert not [name for name in attrs if name.startswith("on")], (where, tag, attrs)
        if tag == "style":
            assert where.endswith("404.html"), where  # only the theme's own inline stylesheet
        for name in ("href", "src"):
            value = (attrs.get(name) or "").strip().lower()
            assert not value.startswith(("javascript:", "data:", "file:", "vbscript:")), (where, tag, attrs)
        assert "style" not in attrs, (where, tag, attrs)


@pytest.fixture(scope="module")
def trap_site(tmp_path_factory) -> Path:
    """A portfolio whose activities hold every trap, and hostile titles, tags and file names."""
    from conftest import Builder

    root = tmp_path_factory.mktemp("traps")
    portfolio = Builder(root)
    portfolio.settings(
        {"member": {"name": HOSTILE, "job_title": HOSTILE, "hcpc_number": HOSTILE}, "site": {"title": HOSTILE}}
    )
    for n, (name, body) in enumerate(sorted(TRAPS.items())):
        # The privacy guard would refuse the patient text in comments: allow it, to show
        # that comments never reach a page even when the guard is told to let them through.
        allow = (
            {"allow": [f"nhs-number 943 *** **** ({value_id('nhs-number', '9434765919')})"]}
            if name == "comment"
            else {}
        )
        portfolio.activity(
            f"2026-0{n + 1}-10-{name}",
            date=f"2026-0{n + 1}-10",
            title=f"Trap {name}",
            body=body,
            reflection=body + " " + "word " * 60,
            **allow,
        )
    portfolio.write("evidence/my cert's (1).pdf", pdf_document("cert"))
    portfolio.activity(
        "2026-09-10-hostile",
        date="2026-09-10",
        title=HOSTILE,
        tags=[HOSTILE, "x onmouseover=alert(1)"],
        evidence=["my cert's (1).pdf", 'https://example.org/"onmouseover="alert(1)'],
    )
    result = build_site(root, as_of=date(2026, 11, 28), pdf=False)
    assert result.written, result.problems
    return result.out


@pytest.fixture(scope="module")
def empty_site(tmp_path_factory) -> Path:
    """A new member's portfolio: no activities and no diplomas listed yet."""
    from conftest import Builder

    root = tmp_path_factory.mktemp("empty")
    Builder(root)
    result = build_site(root, as_of=date(2026, 11, 28), pdf=False)
    assert result.written, result.problems
    return result.out


def test_a_portfolio_without_activities_still_makes_a_helpful_site(empty_site: Path):
    dashboard = " ".join(" ".join(Elements((empty_site / "index.html").read_text()).text).split())
    assert "Not eligible yet: it needs 24 more activities and 3 more categories." in dashboard
    assert "No published activities yet." in (empty_site / "activities/index.html").read_text()
    assert (empty_site / "diplomas/diploma-1/index.html").is_file()


@pytest.mark.parametrize("name", sorted(TRAPS))
def test_a_trap_in_markdown_never_reaches_the_page(trap_site: Path, name: str):
    page = next(trap_site.glob(f"activities/*-{name}/index.html"))
    html = page.read_text()
    assert_page_is_inert(html, str(page))
    assert "John Smith" not in html and "J. Smith" not in html and "943 476 5919" not in html


def test_no_page_of_the_trap_site_runs_anything(trap_site: Path):
    for page in trap_site.rglob("*.html"):
        html = page.read_text()
        assert_page_is_inert(html, str(page))
        assert "TITLE-TRAP')</script>" not in html
        assert html.count("<script") == (1 if page.relative_to(trap_site).as_posix() == "search/index.html" else 0)


def test_only_the_search_page_loads_a_script(example_site: Path):
    with_script = {
        page.relative_to(example_site).as_posix()
        for page in example_site.rglob("*.html")
        if any(tag == "script" for tag, _ in Elements(page.read_text()).elements)
    }
    assert with_script == {"search/index.html"}
    search = Elements((example_site / "search/index.html").read_text())
    assert [attrs for tag, attrs in search.elements if tag == "script"] == [{"src": "../search.js", "defer": None}]


def test_template_syntax_in_a_reflection_is_shown_as_text(trap_site: Path):
    html = next(trap_site.glob("activities/*-template/index.html")).read_text()
    assert "{{ 7*7 }}" in html and "49" not in html.split("{{ 7*7 }}")[0][-200:]


def test_hostile_titles_and_tags_are_escaped_everywhere(trap_site: Path):
    escaped = "&#34;&#39;&gt;&lt;script&gt;alert(&#39;TITLE-TRAP&#39;)&lt;/script&gt;&amp;"
    for page in ("index.html", "activities/index.html", "activities/2026-09-10-hostile/index.html"):
        html = (trap_site / page).read_text()
        assert escaped in html, page
    tag_pages = sorted(p.parent.name for p in trap_site.glob("tags/*/index.html"))
    assert tag_pages == ["script-alert-title-trap-script", "x-onmouseover-alert-1"]


def test_evidence_file_names_are_escaped_in_links(trap_site: Path):
    html = (trap_site / "activities/2026-09-10-hostile/index.html").read_text()
    assert 'href="https://example.org/%22onmouseover=%22alert(1)"' in html
    assert 'href="my%20cert%27s%20%281%29.pdf"' in html
    assert (trap_site / "activities/2026-09-10-hostile/my cert's (1).pdf").is_file()


def test_templates_quote_every_attribute_and_never_mark_text_safe():
    for template in TEMPLATES.glob("*.html"):
        source = template.read_text()
        assert not re.search(r"=\s*\{\{", source), f"{template.name}: an unquoted attribute value"
        assert "|safe" not in source.replace(" ", ""), f"{template.name}: |safe bypasses escaping"
        assert "autoescape false" not in source, template.name


def test_links_are_relative_and_point_at_files(example_site: Path):
    for page in example_site.rglob("*.html"):
        for tag, attrs in Elements(page.read_text()).elements:
            for name in ("href", "src"):
                value = attrs.get(name)
                if value is None or value.startswith(("https://", "mailto:", "#")):
                    continue
                assert not value.startswith(("/", "http:")), (page, value)
                if tag == "a" or tag == "link":
                    assert not value.endswith("/"), f"{page}: {value} needs index.html to work from file://"


# --- the Nu HTML checker, once over every page -------------------------------------------


@pytest.mark.browser
@pytest.mark.slow
def test_every_page_passes_the_nu_html_checker(example_site: Path, trap_site: Path, empty_site: Path):
    require_tool(shutil.which("java") is not None, "Java is not installed (the Nu HTML checker runs on it)")
    require_tool(VNU.is_file(), "the Nu HTML checker is not installed: run `make test` (npm install)")
    done = subprocess.run(
        [
            "java",
            "-jar",
            str(VNU),
            "--format",
            "json",
            "--also-check-css",
            "--skip-non-html",
            str(example_site),
            str(trap_site),
            str(empty_site),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    messages = json.loads(done.stderr or "{}").get("messages", [])
    problems = [
        f"{m.get('url', '').rsplit('/', 3)[-3:]}:{m.get('lastLine')}: "
        f"{m.get('type')}/{m.get('subType', '')}: {m.get('message')}"
        for m in messages
    ]
    assert not problems, "\n".join(problems)
    checked = len(list(example_site.rglob("*.html"))) + len(list(trap_site.rglob("*.html")))
    assert checked > 60


# --- the whole example site against its stored expectations ------------------------------


def _site_files(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def _expected_view(files: dict[str, bytes]) -> tuple[dict[str, bytes], str]:
    """Text files verbatim; other files (evidence copies, the search index) by their SHA-256.

    The marker's list of files is compared, not its keys: those are hashes of the code too.
    """
    marker = json.loads(files.pop(MARKER))
    files[MARKER] = json.dumps(sorted(marker["files"]), indent=0).encode()
    # Pagefind's files (its script and the index, which is compressed) by their SHA-256 too.
    text = {
        path: data
        for path, data in files.items()
        if (path.endswith(TEXT_SUFFIXES) or path.startswith(".")) and not path.startswith("pagefind/")
    }
    sums = "".join(
        f"{hashlib.sha256(data).hexdigest()}  {path}\n" for path, data in sorted(files.items()) if path not in text
    )
    return text, sums


def test_the_example_site_matches_the_stored_golden_site(example_site: Path):
    text, sums = _expected_view(_site_files(example_site))
    if os.environ.get("UPDATE_GOLDEN"):
        shutil.rmtree(GOLDEN, ignore_errors=True)
        for path, data in text.items():
            (GOLDEN / path).parent.mkdir(parents=True, exist_ok=True)
            (GOLDEN / path).write_bytes(data)
        (GOLDEN.parent / BINARY_SUMS).write_text(sums)
        pytest.skip("golden site refreshed: review the diff and commit it")
    assert GOLDEN.is_dir(), "no stored site yet: run `make golden`"
    stored = _site_files(GOLDEN)
    assert sorted(text) == sorted(stored), "pages added or removed; if intended, run `make golden`"
    changed = [path for path in text if text[path] != stored[path]]
    assert not changed, f"{len(changed)} files differ, first {changed[:5]}; if intended, run `make golden` and review"
    assert sums == (GOLDEN.parent / BINARY_SUMS).read_text()


def test_the_golden_build_does_not_depend_on_the_markdown_cache(example_site: Path, tmp_path: Path):
    root = tmp_path / "again"
    shutil.copytree(REPO / "content", root / "content")
    build_site(root, as_of=date(2026, 11, 28), pdf=False)  # warms the disk cache
    result = build_site(root, as_of=date(2026, 11, 28), pdf=False, out=root / "second")
    assert _site_files(result.out) == _site_files(example_site)  # keys in the marker included


def test_pages_rendered_on_every_core_are_the_golden_ones(example_site: Path, tmp_path: Path, monkeypatch):
    """A first build of a large portfolio renders its pages in forked processes: the same bytes."""
    from cpdgen import render
    from cpdgen.site.renderer import SiteRenderer

    monkeypatch.setattr(render, "PARALLEL_MIN_TEXTS", 1)  # the example is small: fork anyway
    monkeypatch.setattr(os, "cpu_count", lambda: 2)
    in_parallel: list[bool] = []
    real = SiteRenderer.render_pages_in_parallel

    def spy(self, pages):
        rendered = real(self, pages)
        assert rendered is not None, "not rendered in parallel"

        def counted():
            try:
                for page in rendered:
                    in_parallel.append(page is not None)
                    yield page
            finally:
                rendered.close()

        return counted()

    monkeypatch.setattr(SiteRenderer, "render_pages_in_parallel", spy)
    root = tmp_path / "again"
    shutil.copytree(REPO / "content", root / "content")
    result = build_site(root, as_of=date(2026, 11, 28), pdf=False, use_cache=False)
    assert len(in_parallel) > 50 and all(in_parallel)  # every page was rendered by a worker
    assert _site_files(result.out) == _site_files(example_site)  # keys in the marker included


def test_an_example_activity_page_says_what_an_assessor_needs(example_site: Path):
    html = (example_site / "activities/2024-03-21-wbit-root-cause-analysis/index.html").read_text()
    text = " ".join(" ".join(Elements(html).text).split())
    for expected in (
        "Root-cause analysis of a wrong-blood-in-tube incident",
        "18–21 March 2024",
        "Work-based learning",
        "3.5 hours",
        "Reflection",
        "Contributes to the quality of practice and service delivery",
        "rca-learning-summary.pdf",
        "Counts towards Diploma 1.",
    ):
        assert expected in text, expected


def test_activity_folder_text(portfolio):
    """The fixture helper writes what the tests above rely on."""
    assert "## Reflection" in activity_text()


def test_the_dashboard_says_when_counting_starts_and_the_status_in_the_ibms_words(example_site: Path):
    # The example's diploma-2 started on 16 June 2025, inside the two years before 28 November 2026.
    dashboard = " ".join(" ".join(Elements((example_site / "index.html").read_text()).text).split())
    assert "Counted: activities with a reflection dated from 16 June 2025 to 28 November 2026." in dashboard
    assert "Counted: 16 Jun 2025 – 28 Nov 2026" in dashboard  # the timeline
    assert "Ready to submit for validation: 27 activities count (24 needed), in 5 categories (3 needed)." in dashboard
    assert "Diploma 1 Validated and issued Validated and issued on 16 June 2025 · 24 counted (24 needed)" in dashboard
    assert " of 24 " not in dashboard
    page = " ".join(" ".join(Elements((example_site / "diplomas/diploma-2/index.html").read_text()).text).split())
    assert "Activities that can count dated 16 June 2025 to 28 November 2026, with a reflection" in page
    assert "Diploma 2 Ready to submit for validation" in page
    page = " ".join(" ".join(Elements((example_site / "diplomas/diploma-1/index.html").read_text()).text).split())
    assert "Submitted for validation 14 April 2025 Validated and issued 16 June 2025" in page
