"""``cpdgen serve`` as a member runs it: a real process, real HTTP, real file edits."""

from __future__ import annotations

import http.client
import io
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from conftest import activity_text

REPO = Path(__file__).resolve().parents[1]
DEADLINE = 30  # seconds: generous for a busy CI machine; every wait polls and returns as soon as it can


class Served:
    """A running ``cpdgen serve`` and what it printed."""

    def __init__(self, root: Path, *args: str, env: dict | None = None):
        env = {**os.environ, "PYTHONPATH": str(REPO), "PYTHONUNBUFFERED": "1", "NO_COLOR": "1", **(env or {})}
        self.process = subprocess.Popen(
            [sys.executable, "-m", "cpdgen", "serve", "--root", str(root), "--port", "0", *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env=env,
        )
        self.lines: list[str] = []
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()
        match = self.wait_for_line(r"http://127\.0\.0\.1:(\d+)/")
        self.port = int(match.group(1))

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.append(line.rstrip("\n"))

    def wait_for_line(self, pattern: str) -> re.Match:
        deadline = time.monotonic() + DEADLINE
        while time.monotonic() < deadline:
            for line in list(self.lines):
                match = re.search(pattern, line)
                if match:
                    return match
            if self.process.poll() is not None and not self.reader.is_alive():
                break
            time.sleep(0.02)
        raise AssertionError(f"no line matching {pattern!r} in: {self.lines}")

    def wait_for_lines(self, pattern: str, count: int) -> None:
        deadline = time.monotonic() + DEADLINE
        while sum(bool(re.search(pattern, line)) for line in list(self.lines)) < count:
            assert time.monotonic() < deadline, f"fewer than {count} lines matching {pattern!r}: {self.lines}"
            time.sleep(0.02)

    def get(self, path: str, host: str | None = None) -> tuple[int, str]:
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=DEADLINE)
        connection.putrequest("GET", path, skip_host=True)
        connection.putheader("Host", host or f"127.0.0.1:{self.port}")
        connection.endheaders()
        response = connection.getresponse()
        body = response.read().decode("utf-8", "replace")
        connection.close()
        return response.status, body

    def version(self) -> int:
        return json.loads(self.get("/__cpdgen/wait?since=-2")[1])["version"]

    def wait_until(self, path: str, predicate) -> str:
        deadline = time.monotonic() + DEADLINE
        body = ""
        while time.monotonic() < deadline:
            body = self.get(path)[1]
            if predicate(body):
                return body
            time.sleep(0.02)
        raise AssertionError(f"{path} never matched; printed: {self.lines}; last body: {body[:300]}")

    def stop(self, sig: int = signal.SIGINT) -> int:
        if self.process.poll() is None:
            self.process.send_signal(sig)
        try:
            return self.process.wait(timeout=DEADLINE)
        finally:
            self.reader.join(timeout=5)


@pytest.fixture
def served(portfolio):
    portfolio.many(3, start="2026-01-05")
    portfolio.activity("2026-02-02-eqa", title="EQA review", date="2026-02-02")
    server = Served(portfolio.root, "--as-of", "2026-11-28")
    yield server
    server.stop()


@pytest.mark.slow
def test_serves_the_portfolio_with_live_reload_and_never_into_site(served, portfolio):
    status, page = served.get("/")
    assert status == 200
    assert "/__cpdgen/wait" in page
    status, page = served.get("/activities/2026-02-02-eqa/")
    assert status == 200 and "EQA review" in page
    assert not (portfolio.root / "site").exists()  # serve builds privately, never into site/


@pytest.mark.slow
def test_an_edit_rebuilds_the_page_and_signals_open_tabs(served, portfolio):
    before = served.version()
    waiting: dict = {}
    poll = threading.Thread(target=lambda: waiting.update(json.loads(served.get(f"/__cpdgen/wait?since={before}")[1])))
    poll.start()
    portfolio.activity("2026-02-02-eqa", title="EQA review, with the trend chart", date="2026-02-02")
    served.wait_until("/activities/2026-02-02-eqa/", lambda body: "with the trend chart" in body)
    poll.join(DEADLINE)
    assert waiting["version"] > before and waiting["ok"] is True


@pytest.mark.slow
def test_a_broken_file_shows_its_problem_and_fixing_it_brings_the_page_back(served, portfolio):
    good = activity_text(title="EQA review", date="2026-02-02")
    portfolio.activity("2026-02-02-eqa", good.replace("date: 2026-02-02", "date: 2026-02-30"))
    page = served.wait_until("/activities/2026-02-02-eqa/", lambda body: "could not rebuild" in body)
    assert "content/activities/2026-02-02-eqa.md:3: error: date: &#x27;2026-02-30&#x27; is not a date" in page
    assert "EQA review" in page  # the last good page is still underneath
    served.wait_for_line(r"2026-02-02-eqa\.md:3: error: .*\[invalid-date\]")
    portfolio.activity("2026-02-02-eqa", good)
    served.wait_until("/activities/2026-02-02-eqa/", lambda body: "could not rebuild" not in body)


@pytest.mark.slow
def test_a_new_activity_appears_and_a_deleted_one_goes(served, portfolio):
    portfolio.activity("2026-03-03-new", title="Brand new activity", date="2026-03-03")
    served.wait_until("/activities/2026-03-03-new/", lambda body: "Brand new activity" in body)
    (portfolio.content / "activities" / "2026-03-03-new.md").unlink()
    deadline = time.monotonic() + DEADLINE
    while served.get("/activities/2026-03-03-new/")[0] != 404:
        assert time.monotonic() < deadline, served.lines
        time.sleep(0.02)


@pytest.mark.slow
def test_writes_outside_content_and_editor_files_do_not_rebuild(served, portfolio):
    (portfolio.root / "site").mkdir()
    (portfolio.root / "site" / "index.html").write_text("not ours")
    (portfolio.content / "activities" / ".2026-02-02-eqa.md.swp").write_bytes(b"\x00swap")
    (portfolio.content / "activities" / "2026-02-02-eqa.md~").write_text("backup")
    portfolio.activity("2026-02-02-eqa", title="EQA review again", date="2026-02-02")
    served.wait_until("/activities/2026-02-02-eqa/", lambda body: "EQA review again" in body)
    served.wait_for_lines(r"^Rebuilt in", 2)
    rebuilds = [line for line in served.lines if line.startswith("Rebuilt in")]
    assert len(rebuilds) == 2  # the first build, then the real edit: nothing else rebuilt
    changed = [line for line in served.lines if line.startswith("Changed:")]
    assert changed == ["Changed: 2026-02-02-eqa.md"]


@pytest.mark.slow
@pytest.mark.parametrize(
    "path", ["/../conftest.py", "/%2e%2e/content/portfolio.yaml", "/.cpdgen-output", "/%2ecpdgen-output"]
)
def test_refuses_paths_outside_the_build_and_dotfiles(served, path):
    assert served.get(path)[0] == 404


@pytest.mark.slow
def test_refuses_a_foreign_host_header(served):
    status, body = served.get("/", host="attacker.example")
    assert status == 421 and "EQA" not in body


@pytest.mark.slow
@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_stopping_is_clean_and_removes_the_private_build(portfolio, tmp_path, sig):
    portfolio.many(1, start="2026-01-05")
    temp = tmp_path / "tmp"
    temp.mkdir()
    server = Served(portfolio.root, env={"TMPDIR": str(temp)})
    (build,) = temp.glob("cpdgen-serve-*")
    assert (build / "index.html").is_file()
    assert server.stop(sig) == 0
    assert "Stopped." in server.lines
    assert "Traceback" not in "\n".join(server.lines)
    assert not build.exists()


@pytest.mark.slow
def test_a_busy_port_is_refused_clearly_when_asked_for(portfolio):
    import socket

    blocker = socket.socket()
    blocker.bind(("127.0.0.1", 0))
    blocker.listen()
    port = blocker.getsockname()[1]
    try:
        result = subprocess.run(
            [sys.executable, "-m", "cpdgen", "serve", "--root", str(portfolio.root), "--port", str(port)],
            capture_output=True,
            text=True,
            env={**os.environ, "PYTHONPATH": str(REPO)},
            timeout=DEADLINE,
        )
    finally:
        blocker.close()
    assert result.returncode == 2
    assert f"port {port} in use" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.slow
def test_another_host_is_announced_with_a_warning(portfolio):
    server = Served(portfolio.root, "--host", "0.0.0.0")
    try:
        server.wait_for_line(r"^Warning: serving on 0\.0\.0\.0")
        assert server.get("/")[0] == 200
    finally:
        assert server.stop() == 0


@pytest.mark.slow
def test_only_tabs_whose_page_changed_reload_and_the_quick_page_matches_a_full_build(portfolio, tmp_path):
    from datetime import date

    from cpdgen.site.build import build_site

    portfolio.many(6, start="2026-01-05")
    temp = tmp_path / "tmp"
    temp.mkdir()
    server = Served(portfolio.root, "--as-of", "2026-11-28", env={"TMPDIR": str(temp)})
    page = "activities/2026-01-26-a3/index.html"
    other = "activities/2026-01-05-a0/index.html"  # not a neighbour: nothing on it changes
    try:
        (served_folder,) = temp.glob("cpdgen-serve-*")
        version = server.version()
        edited = portfolio.content / "activities" / "2026-01-26-a3.md"
        edited.write_text(edited.read_text().replace("What I did.", "What I did, and a new sentence."))
        server.wait_for_lines(r"^Rebuilt in", 2)
        answer = json.loads(server.get(f"/__cpdgen/wait?since={version}&page={page}")[1])
        assert answer["reload"] is True and answer["version"] > version
        answer = json.loads(server.get(f"/__cpdgen/wait?since={version}&page={other}")[1])
        assert answer["reload"] is False and answer["version"] > version
        served_page = (served_folder / page).read_bytes()
    finally:
        assert server.stop() == 0
    assert b"a new sentence" in served_page
    result = build_site(portfolio.root, tmp_path / "built", as_of=date(2026, 11, 28), pdf=False, reuse_unchanged=False)
    assert result.written
    assert (tmp_path / "built" / page).read_bytes() == served_page  # the quick page, settled, is the real one


class TestQuickPage:
    """The saved activity's page is written before the full rebuild, only when that is safe."""

    @pytest.fixture
    def session(self, portfolio):
        from datetime import date

        from cpdgen.site.serve import Session

        portfolio.many(4, start="2026-01-05")
        session = Session(portfolio.root, date(2026, 11, 28), out=io.StringIO())
        assert session.rebuild()
        yield session
        session.close()

    def edit(self, portfolio, old: str, new: str) -> Path:
        path = portfolio.content / "activities" / "2026-01-12-a1.md"
        path.write_text(path.read_text().replace(old, new))
        return path

    def test_a_text_edit_is_written_at_once(self, session, portfolio):
        path = self.edit(portfolio, "What I did.", "What I did, quickly.")
        assert session.quick_page(path) == "activities/2026-01-12-a1/index.html"
        assert "What I did, quickly." in (session.folder / "activities/2026-01-12-a1/index.html").read_text()

    @pytest.mark.parametrize(
        "old, new",
        [
            ("date: 2026-01-12", "date: 2026-01-13"),  # the judgement and the neighbours may change
            ("category: formal-educational", "category: other"),
            ("date: 2026-01-12", "date: 2026-02-30"),  # a problem: the full rebuild reports it
            ("What I did.", "What I did for NHS number 943 476 5919."),  # never published ahead of the guard
            ("What I did.", "What I did.\n\nprivate: true"),  # body text only: still fine
        ],
    )
    def test_anything_beyond_its_own_text_waits_for_the_full_rebuild(self, session, portfolio, old, new):
        page = session.folder / "activities/2026-01-12-a1/index.html"
        before = page.read_bytes()
        path = self.edit(portfolio, old, new)
        quick = session.quick_page(path)
        if "private: true" in new:
            assert quick is not None
        else:
            assert quick is None
            assert page.read_bytes() == before


@pytest.mark.slow
def test_a_save_while_a_full_rebuild_runs_gets_its_page_without_waiting_for_it(portfolio):
    """The full rebuild is held (on an event) while a second activity is saved: the server
    answers that activity's new page all the same, then the held rebuild ends cleanly."""
    from datetime import date

    from cpdgen.site.devserver import run_server
    from cpdgen.site.serve import Session

    portfolio.many(4, start="2026-01-05")
    out = io.StringIO()
    session = Session(portfolio.root, date(2026, 11, 28), out=out)
    held, entered, release, stop = threading.Event(), threading.Event(), threading.Event(), threading.Event()
    prepare = session.renderer.prepare

    def held_prepare(*args, **kwargs):
        if held.is_set():
            entered.set()
            assert release.wait(DEADLINE), "the test never released the rebuild"
        return prepare(*args, **kwargs)

    session.renderer.prepare = held_prepare  # type: ignore[method-assign]
    options = {"watched": [portfolio.content], "ignored": [], "host": "127.0.0.1", "port": 0, "out": out}
    server = threading.Thread(
        target=run_server,
        args=(session.folder, session.state, session.rebuild),
        kwargs={**options, "quick": session.quick_rebuild, "stop": stop},
        daemon=True,
    )
    server.start()
    try:
        deadline = time.monotonic() + DEADLINE
        while not (match := re.search(r"http://127\.0\.0\.1:(\d+)/", out.getvalue())):
            assert time.monotonic() < deadline and server.is_alive(), out.getvalue()
            time.sleep(0.02)
        served = Served.__new__(Served)  # its HTTP helpers, on this in-process server
        served.port, served.lines = int(match.group(1)), []
        held.set()
        first = portfolio.content / "activities" / "2026-01-05-a0.md"
        first.write_text(first.read_text().replace("What I did.", "What I did first."))
        assert entered.wait(DEADLINE), out.getvalue()  # a full rebuild is running, and held
        second = portfolio.content / "activities" / "2026-01-19-a2.md"
        second.write_text(second.read_text().replace("What I did.", "What I did while it ran."))
        body = served.wait_until("/activities/2026-01-19-a2/", lambda body: "What I did while it ran." in body)
        assert "could not rebuild" not in body
        assert not release.is_set() and "Rebuilt in" not in out.getvalue().split("Changed:")[-1]
    finally:
        release.set()
        held.clear()
    served.wait_until("/activities/2026-01-05-a0/", lambda body: "What I did first." in body)
    deadline = time.monotonic() + DEADLINE
    while out.getvalue().count("Rebuilt in") < 3:  # the first build, the held one, and the one after it
        assert time.monotonic() < deadline, out.getvalue()
        time.sleep(0.02)
    body = served.wait_until("/activities/2026-01-19-a2/", lambda body: "What I did while it ran." in body)
    stop.set()
    server.join(DEADLINE)
    assert not server.is_alive()
    session.close()


def test_an_edit_to_the_theme_shows_in_the_next_rebuild(portfolio):
    """serve keeps its templates between rebuilds, but reads one again when its file changed."""
    from datetime import date

    from cpdgen.site.serve import Session

    portfolio.many(2, start="2026-01-05")
    theme = portfolio.root / "templates" / "base.html"
    theme.parent.mkdir()
    from cpdgen import theme_dir

    base = (theme_dir() / "base.html").read_text()
    theme.write_text(base.replace("</head>", "<!-- Theme one -->\n</head>"))
    session = Session(portfolio.root, date(2026, 11, 28), out=io.StringIO())
    try:
        assert session.rebuild()
        page = session.folder / "activities/2026-01-05-a0/index.html"
        assert "Theme one" in page.read_text()
        theme.write_text(base.replace("</head>", "<!-- Theme two -->\n</head>"))
        later = theme.stat().st_mtime + 5
        os.utime(theme, (later, later))  # a new time even where the clock is coarse
        assert session.rebuild()
        assert "Theme two" in page.read_text() and "Theme one" not in page.read_text()
    finally:
        session.close()
