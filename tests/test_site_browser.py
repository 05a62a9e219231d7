"""The example site in a real browser (headless Chromium, driven by Playwright).

From ``file://`` and over HTTP under a sub-path: every internal link works, nothing is
requested from another host, the console stays clean, axe-core finds no serious or
critical accessibility problem, and the pages read with JavaScript off. Screenshots go to
``tests/artifacts/`` for people to look at.

Needs Debian's ``chromium`` (``.ci/run`` installs it), the ``playwright`` Python package
(it drives the installed browser; no browser is downloaded) and ``axe-core`` from npm
(``make test`` installs it). Locally, the tests skip with the reason when one is missing.
"""

from __future__ import annotations

import os
import shutil
import threading
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote, urldefrag, urlsplit

import pytest

from conftest import REPO, require_tool

pytestmark = [pytest.mark.browser, pytest.mark.slow]

AXE = REPO / "node_modules" / "axe-core" / "axe.min.js"
EXAMPLE_URL = "https://jordan-hale.example.org/cpd/"  # the example portfolio's site.url
ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
CHROMIUM = os.environ.get("CPDGEN_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
BROWSER_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
    "--no-first-run",
]
AXE_PAGES = [
    "index.html",
    "activities/index.html",
    "activities/2024-03-21-wbit-root-cause-analysis/index.html",
    "activities/2026-05-20-branch-poster/index.html",
    "diplomas/diploma-2/index.html",
    "diplomas/diploma-1/index.html",
    "categories/work-based-learning/index.html",
    "tags/transfusion/index.html",
    "about/index.html",
    "search/index.html",
    "404.html",
]


@pytest.fixture(scope="module")
def browser():
    require_tool(CHROMIUM is not None, "Chromium is not installed (Debian: apt-get install chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        require_tool(False, "the playwright Python package is not installed (pip install -e '.[dev]')")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=BROWSER_ARGS)
        yield launched
        launched.close()


class Visit:
    """A browser context that records every request, failed response and console error.

    ``mirror`` (a web address and a folder) answers requests to that address from the
    folder: the example site's own address (``site.url``), which its 404 page links to.
    """

    def __init__(self, browser, allowed_prefix: str, mirror: tuple[str, Path] | None = None, **options):
        self.allowed = allowed_prefix
        self.context = browser.new_context(**options)
        if mirror is not None:
            address, folder = mirror
            self.context.route(
                lambda url: url.startswith(address),
                lambda route: route.fulfill(
                    path=str(folder / unquote(urlsplit(route.request.url).path[len(urlsplit(address).path) :]))
                ),
            )
        self.requests: list[str] = []
        self.failures: list[str] = []
        self.aborted: list[str] = []
        self.errors: list[str] = []
        self.context.on("request", lambda request: self.requests.append(request.url))
        self.context.on("requestfailed", self._failed)
        self.context.on(
            "response",
            lambda response: response.status >= 400 and self.failures.append(f"{response.url}: {response.status}"),
        )
        # Anything addressed elsewhere is refused before it leaves the machine.
        mirrored = mirror[0] if mirror is not None else self.allowed
        self.context.route(
            lambda url: not url.startswith(self.allowed) and not url.startswith(mirrored), lambda route: route.abort()
        )
        self.page = self.context.new_page()
        self.page.on("console", lambda message: message.type == "error" and self.errors.append(message.text))
        self.page.on("pageerror", lambda error: self.errors.append(str(error)))

    def _failed(self, request) -> None:
        # Leaving a page cancels what it was still loading (a lazy image scrolled into view):
        # such a request is fetched again at the end, to tell a cancelled load from a broken one.
        if request.failure == "net::ERR_ABORTED" and request.url.startswith(self.allowed):
            self.aborted.append(request.url)
        else:
            self.failures.append(f"{request.url}: {request.failure}")

    def refetch_aborted(self) -> None:
        for url in dict.fromkeys(self.aborted):
            if url.startswith("file:"):
                if not Path(unquote(urlsplit(url).path)).is_file():
                    self.failures.append(f"{url}: missing")
            elif (status := self.context.request.get(url).status) != 200:
                self.failures.append(f"{url}: {status}")

    def close(self):
        self.context.close()


def crawl(visit: Visit, start: str) -> list[str]:
    """Open ``start`` and every page it links to inside the site; return every internal link target.

    Pages are opened in the browser; other files (evidence) are checked to exist, not
    opened, since the browser would show them with its own built-in viewers.
    """
    queue, seen = [start], {start}
    for url in queue:
        if not url.endswith(".html"):
            if url.startswith("file:"):
                assert Path(unquote(urlsplit(url).path)).is_file(), f"broken link to {url}"
            else:
                status = visit.context.request.get(url).status
                assert status == 200, f"{url}: {status}"
            continue
        response = visit.page.goto(url)
        if url.startswith("http"):
            assert response is not None and response.status == 200, url
        hrefs = visit.page.eval_on_selector_all("a[href]", "links => links.map(a => a.href)")
        for href in hrefs:
            target = urldefrag(href).url
            if target.startswith(visit.allowed) and target not in seen:
                seen.add(target)
                queue.append(target)
            # Links to other sites (evidence pages) are for the reader: never opened here.
    return queue


def assert_clean(visit: Visit, pages: list[str]) -> None:
    visit.refetch_aborted()
    assert not visit.failures, "broken links or resources:\n" + "\n".join(visit.failures)
    assert not visit.errors, "console errors:\n" + "\n".join(visit.errors)
    leaving = [url for url in visit.requests if not url.startswith(visit.allowed)]
    assert not leaving, f"requests left the site: {leaving}"
    assert len(pages) > 60


def test_every_link_works_from_file_urls_and_nothing_leaves_the_site(browser, example_site: Path):
    base = example_site.as_uri() + "/"
    visit = Visit(browser, base)
    try:
        pages = crawl(visit, base + "index.html")
        for url in pages:
            assert Path(unquote(urlsplit(url).path)).is_file(), f"broken link to {url}"
        assert_clean(visit, pages)
        site_pages = {p.relative_to(example_site).as_posix() for p in example_site.rglob("*.html")}
        reached = {url[len(base) :] for url in pages if url.endswith(".html")}
        assert site_pages - reached <= {"404.html"}, f"pages no link reaches: {site_pages - reached}"
    finally:
        visit.close()


@pytest.fixture(scope="module")
def served(example_site: Path, tmp_path_factory):
    """The site at http://127.0.0.1:<port>/portfolio/, as on a GitHub project page."""
    www = tmp_path_factory.mktemp("www")
    shutil.copytree(example_site, www / "portfolio")

    class Quiet(SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(Quiet, directory=str(www)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/portfolio/"
    server.shutdown()
    server.server_close()


def test_every_link_works_under_a_sub_path_over_http(browser, served: str):
    visit = Visit(browser, served)
    try:
        pages = crawl(visit, served + "index.html")
        assert_clean(visit, pages)
        assert all(url.startswith(served) for url in pages)
    finally:
        visit.close()


@pytest.mark.parametrize("scheme", ["light", "dark"])
@pytest.mark.parametrize("width", [1280, 390])
def test_axe_finds_no_serious_accessibility_problem(browser, served: str, example_site: Path, width: int, scheme: str):
    require_tool(AXE.is_file(), "axe-core is not installed: run `make test` (npm install)")
    visit = Visit(
        browser,
        served,
        mirror=(EXAMPLE_URL, example_site),
        viewport={"width": width, "height": 900},
        color_scheme=scheme,
    )
    found = []
    try:
        for path in AXE_PAGES:
            visit.page.goto(served + path)
            background = visit.page.evaluate("getComputedStyle(document.documentElement).backgroundColor")
            assert background == ("rgb(17, 22, 28)" if scheme == "dark" else "rgb(245, 246, 248)"), (path, background)
            if path == "search/index.html":  # with results shown, as a reader sees them
                visit.page.fill("#search-input", "transfusion")
                visit.page.wait_for_selector("#search-results li")
            visit.page.add_script_tag(path=str(AXE))
            result = visit.page.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")
            for violation in result["violations"]:
                if violation["impact"] in ("serious", "critical"):
                    targets = [node["target"] for node in violation["nodes"][:3]]
                    found.append(f"{path}: {violation['id']} ({violation['impact']}): {violation['help']} {targets}")
        assert not found, "\n".join(found)
        assert not visit.errors, visit.errors
    finally:
        visit.close()


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_pages_read_with_javascript_off_and_screenshots_are_saved(browser, served: str, scheme: str):
    ARTIFACTS.mkdir(exist_ok=True)
    shots = {
        "dashboard": "index.html",
        "activity": "activities/2024-03-21-wbit-root-cause-analysis/index.html",
        "diploma": "diplomas/diploma-2/index.html",
    }
    suffix = "" if scheme == "light" else "-dark"
    for width, device in ((1280, "desktop"), (390, "phone")):
        visit = Visit(
            browser, served, viewport={"width": width, "height": 900}, java_script_enabled=False, color_scheme=scheme
        )
        try:
            for name, path in shots.items():
                visit.page.goto(served + path)
                text = visit.page.inner_text("main")
                assert len(text) > 400, path
                target = ARTIFACTS / f"{name}-{device}{suffix}.png"
                visit.page.screenshot(path=str(target), full_page=True)
                assert target.stat().st_size > 10_000
                # Nothing is wider than the screen, apart from the scrollable table and timeline.
                overflow = visit.page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
                assert overflow <= 0, f"{path} at {width}px is {overflow}px too wide"
        finally:
            visit.close()


# --- search, and no script anywhere else ------------------------------------------------------------


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_search_finds_the_activity_whose_title_is_typed(browser, served: str, scheme: str):
    visit = Visit(browser, served, viewport={"width": 1280, "height": 900}, color_scheme=scheme)
    try:
        visit.page.goto(served + "search/index.html")
        visit.page.fill("#search-input", "wrong-blood-in-tube")
        visit.page.wait_for_selector("#search-results li")
        ARTIFACTS.mkdir(exist_ok=True)
        visit.page.screenshot(path=str(ARTIFACTS / f"search-desktop{'' if scheme == 'light' else '-dark'}.png"))
        titles = visit.page.eval_on_selector_all("#search-results li a", "links => links.map(a => a.textContent)")
        assert titles[0] == "Root-cause analysis of a wrong-blood-in-tube incident"
        hrefs = visit.page.eval_on_selector_all("#search-results li a", "links => links.map(a => a.href)")
        assert hrefs[0] == served + "activities/2024-03-21-wbit-root-cause-analysis/index.html"
        assert visit.page.inner_text("#search-status").startswith(f"{len(titles)} activit")
        assert visit.page.eval_on_selector_all("#search-results mark", "marks => marks.length") > 0
        visit.page.click("#search-results li a")  # the result's link leads to the activity's page
        assert visit.page.url == hrefs[0]
        # A word in no published activity finds nothing, and says so.
        visit.page.goto(served + "search/index.html?q=zanzibarine")
        visit.page.wait_for_function("document.getElementById('search-status').textContent.startsWith('No activity')")
        assert visit.page.eval_on_selector_all("#search-results li", "items => items.length") == 0
        assert not visit.errors, visit.errors
        assert all(url.startswith(served) for url in visit.requests)
    finally:
        visit.close()


def test_search_from_a_file_says_it_needs_the_web_address(browser, example_site: Path):
    base = example_site.as_uri() + "/"
    visit = Visit(browser, base)
    try:
        visit.page.goto(base + "search/index.html")
        visit.page.wait_for_function("!document.getElementById('search-status').textContent.includes('JavaScript')")
        assert "opened from its web address" in visit.page.inner_text("#search-status")
        assert visit.page.is_hidden("#search-form")
        assert not visit.errors, visit.errors
    finally:
        visit.close()


def test_no_page_but_search_runs_or_loads_a_script(browser, served: str, example_site: Path):
    visit = Visit(browser, served, mirror=(EXAMPLE_URL, example_site))
    try:
        pages = sorted(p.relative_to(example_site).as_posix() for p in example_site.rglob("*.html"))
        assert len(pages) > 60
        # The search page last: what its script fetches later (the index) must not count against the next page.
        pages.sort(key=lambda path: path == "search/index.html")
        for path in pages:
            visit.requests.clear()
            visit.page.goto(served + path)
            scripts = visit.page.evaluate("document.scripts.length")
            loaded = sorted(url[len(served) :] for url in visit.requests if url.endswith((".js", ".mjs", ".pagefind")))
            if path == "search/index.html":
                visit.page.wait_for_function("!document.getElementById('search-form').hidden")
                loaded = sorted(url[len(served) :] for url in visit.requests if url.endswith(".js"))
                assert scripts == 1 and {"search.js", "pagefind/pagefind.js"} <= set(loaded), loaded
            else:
                assert (scripts, loaded) == (0, []), path
        assert not visit.errors, visit.errors
    finally:
        visit.close()
