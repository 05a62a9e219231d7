"""``cpdgen serve``: a private build, a small HTTP server on 127.0.0.1, and live reload.

The server serves only its own build folder (never site/): no ``..``, no symlinks out, no
dotfiles, no directory listings, and no request whose Host header is a domain name other
than localhost (so a web page cannot reach it by DNS rebinding). The live-reload script is
added to HTML responses as they are sent, so it never reaches a published file. When a
rebuild fails, pages show the problems over the last good page; fixing the file reloads
them by itself.
"""

from __future__ import annotations

import errno
import html
import ipaddress
import json
import mimetypes
import socket
import sys
import shutil
import signal
import tempfile
import threading
import time
from dataclasses import dataclass, field
from datetime import date
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Iterable, Sequence
from urllib.parse import parse_qs, unquote, urlsplit

from cpdgen import fsutil
from cpdgen.problems import CpdgenError, Problem, format_text

DEFAULT_PORT = 8000
PORT_ATTEMPTS = 20
WAIT_SECONDS = 25  # a long poll returns at least this often, so proxies and browsers keep it open
EVENTS_PATH = "/__cpdgen/wait"

# A page asks for the next build and reloads only when that build changed it (or failed,
# or was fixed: the problems are shown on every page).
RELOAD_SCRIPT = """<script>
(function () {
  var version = %(version)d, page = %(page)s;
  function wait() {
    fetch("%(path)s?since=" + version + "&page=" + encodeURIComponent(page), {cache: "no-store"})
      .then(function (r) { return r.json(); })
      .then(function (state) {
        if (state.reload) { location.reload(); } else { version = state.version; wait(); }
      })
      .catch(function () { setTimeout(wait, 1000); });
  }
  wait();
})();
</script>"""

OVERLAY = """<div id="cpdgen-problems" role="alertdialog" aria-labelledby="cpdgen-problems-title" style="position:fixed;inset:0;z-index:2147483647;overflow:auto;background:rgba(255,255,255,.97);color:#1a1a1a;font:15px/1.5 system-ui,sans-serif;padding:2rem">
<h2 id="cpdgen-problems-title" style="color:#b00020;margin-top:0">cpdgen could not rebuild the portfolio</h2>
<p>Fix these and save: this page reloads by itself. Below is the last good version of the page.</p>
<ul style="font-family:ui-monospace,monospace;font-size:14px">%(items)s</ul>
<button type="button" onclick="document.getElementById('cpdgen-problems').remove()">Show the last good page</button>
</div>"""


HISTORY = 200  # builds remembered for the question "did any build since mine change my page?"


@dataclass
class BuildState:
    """What the server knows of the latest build, and which pages each recent build changed."""

    version: int = 0
    ok: bool = True
    problems: list[Problem] = field(default_factory=list)
    condition: threading.Condition = field(default_factory=threading.Condition)
    history: list[tuple[int, frozenset[str] | None]] = field(default_factory=list)  # (version, pages or all)

    def publish(self, ok: bool, problems: Sequence[Problem], pages: Iterable[str] | None = None) -> None:
        """A new build: ``pages`` it changed (site paths), or None for every page."""
        with self.condition:
            every = pages is None or ok != self.ok or not ok  # problems appear on, or leave, every page
            self.version += 1
            self.ok = ok
            self.problems = list(problems)
            self.history.append((self.version, None if every else frozenset(pages or ())))
            del self.history[:-HISTORY]
            self.condition.notify_all()

    def wait(self, since: int, timeout: float) -> tuple[int, bool]:
        with self.condition:
            self.condition.wait_for(lambda: self.version != since, timeout=timeout)
            return self.version, self.ok

    def changed_since(self, since: int, page: str) -> bool:
        """Whether a build after version ``since`` changed ``page`` (True when it cannot tell)."""
        with self.condition:
            if not self.history or since < self.history[0][0] - 1 or since > self.version:
                return since != self.version
            return any(pages is None or page in pages for version, pages in self.history if version > since)


def _host_allowed(host_header: str | None, port: int, extra: str | None) -> bool:
    """Localhost, an IP literal (rebinding needs a domain name), or the --host given."""
    if not host_header:
        return False
    host, _, given_port = host_header.rpartition(":") if not host_header.endswith("]") else (host_header, "", "")
    if not host or not given_port.isdigit() or int(given_port) != port:
        return False
    name = host.strip("[]").lower()
    if name == "localhost" or (extra and name == extra.strip("[]").lower()):
        return True
    try:
        ipaddress.ip_address(name)
    except ValueError:
        return False
    return True


class DevServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = False  # a busy port must fail, so the next one is tried

    def __init__(self, address: tuple[str, int], directory: Path, state: BuildState, extra_host: str | None):
        self.directory = directory.resolve()
        self.state = state
        self.extra_host = extra_host
        self.stopping = threading.Event()
        family = socket.AF_INET6 if ":" in address[0] else socket.AF_INET
        self.address_family = family
        super().__init__(address, Handler)

    @property
    def port(self) -> int:
        return self.server_address[1]


class Handler(BaseHTTPRequestHandler):
    server: DevServer
    server_version = "cpdgen"
    sys_version = ""

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - the stdlib's name
        pass  # the terminal shows builds and problems, not every request

    def do_HEAD(self) -> None:
        self.respond(head=True)

    def do_GET(self) -> None:
        self.respond(head=False)

    def send_plain(self, status: HTTPStatus, text: str, head: bool = False) -> None:
        body = text.encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        if not head:
            self.wfile.write(body)

    def respond(self, head: bool) -> None:
        if not _host_allowed(self.headers.get("Host"), self.server.port, self.server.extra_host):
            self.send_plain(HTTPStatus.MISDIRECTED_REQUEST, "cpdgen serve answers only to localhost", head)
            return
        parts = urlsplit(self.path)
        if parts.path == EVENTS_PATH:
            self.long_poll(parts.query, head)
            return
        page = self.page_of(parts.path)
        target = self.translate(parts.path)
        if target is None:
            self.send_page(self.not_found_page(), HTTPStatus.NOT_FOUND, "text/html", head, page)
            return
        if target.is_dir():
            if not parts.path.endswith("/"):
                self.send_response(HTTPStatus.MOVED_PERMANENTLY)
                self.send_header("Location", parts.path + "/" + ("?" + parts.query if parts.query else ""))
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            target = target / "index.html"
            if not target.is_file():
                self.send_page(self.not_found_page(), HTTPStatus.NOT_FOUND, "text/html", head, page)
                return
        content_type = mimetypes.guess_type(target.name)[0] or "application/octet-stream"
        try:
            data = target.read_bytes()
        except OSError:
            self.send_page(self.not_found_page(), HTTPStatus.NOT_FOUND, "text/html", head, page)
            return
        self.send_page(data, HTTPStatus.OK, content_type, head, page)

    @staticmethod
    def page_of(url_path: str) -> str:
        """The site path a URL shows: ``/activities/x/`` is ``activities/x/index.html``."""
        path = unquote(url_path).lstrip("/")
        return path + "index.html" if path == "" or path.endswith("/") else path

    def translate(self, url_path: str) -> Path | None:
        """The file for a URL path inside the build, or None for anything outside or hidden."""
        decoded = unquote(url_path)
        if "\\" in decoded or "\x00" in decoded or not decoded.startswith("/"):
            return None
        segments = [s for s in decoded.split("/") if s]
        if any(s.startswith(".") for s in segments):  # dotfiles, "..", and "."
            return None
        base = self.server.directory
        candidate = base.joinpath(*segments) if segments else base
        try:
            resolved = candidate.resolve(strict=True)
        except (OSError, RuntimeError):
            return None
        if not resolved.is_relative_to(base):
            return None  # a symlink pointing out of the build
        return resolved if resolved.is_file() or resolved.is_dir() else None

    def not_found_page(self) -> bytes:
        page = self.server.directory / "404.html"
        if page.is_file():
            return page.read_bytes()
        return b"<!doctype html><title>Not found</title><h1>Not found</h1>"

    def decorate(self, data: bytes, page: str) -> bytes:
        """Add the live-reload script, and the problems when the last rebuild failed."""
        state = self.server.state
        name = json.dumps(page).replace("<", "\\u003c")  # safe inside <script>
        extra = RELOAD_SCRIPT % {"version": state.version, "path": EVENTS_PATH, "page": name}
        if not state.ok:
            items = "".join(f"<li>{html.escape(format_text(p))}</li>" for p in state.problems)
            extra = OVERLAY % {"items": items} + extra
        text = data.decode("utf-8", errors="replace")
        marker = text.lower().rfind("</body>")
        text = text[:marker] + extra + text[marker:] if marker >= 0 else text + extra
        return text.encode("utf-8")

    def send_page(self, data: bytes, status: HTTPStatus, content_type: str, head: bool, page: str = "") -> None:
        if content_type == "text/html":
            data = self.decorate(data, page)
            content_type = "text/html; charset=utf-8"
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Cache-Control", "no-store")
        self.send_header("X-Content-Type-Options", "nosniff")
        self.end_headers()
        if not head:
            self.wfile.write(data)

    def long_poll(self, query: str, head: bool) -> None:
        """Answer when a build newer than ``since`` exists (or after WAIT_SECONDS), saying
        whether ``page`` must reload."""
        fields = parse_qs(query)
        try:
            since = int(fields.get("since", ["-1"])[0])
        except ValueError:
            since = -1
        page = fields.get("page", [""])[0]
        deadline = time.monotonic() + WAIT_SECONDS
        version, ok = self.server.state.version, self.server.state.ok
        while version == since and not self.server.stopping.is_set():
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            version, ok = self.server.state.wait(since, min(remaining, 0.5))
        reload = version != since and self.server.state.changed_since(since, page)
        body = json.dumps({"version": version, "ok": ok, "reload": reload}).encode()
        self.send_response(HTTPStatus.OK)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        if not head:
            self.wfile.write(body)


def open_server(host: str, port: int | None, directory: Path, state: BuildState) -> DevServer:
    """Bind ``host``; with no port given, the first free one from 8000 up."""
    extra = None if host in ("127.0.0.1", "localhost", "::1") else host
    bind_host = "127.0.0.1" if host == "localhost" else host
    candidates: Iterable[int] = [port] if port is not None else range(DEFAULT_PORT, DEFAULT_PORT + PORT_ATTEMPTS)
    last_error: OSError | None = None
    for candidate in candidates:
        try:
            return DevServer((bind_host, candidate), directory, state, extra)
        except OSError as exc:
            if exc.errno not in (errno.EADDRINUSE, errno.EACCES):
                raise CpdgenError(f"cannot listen on {host}:{candidate}: {exc.strerror}") from None
            last_error = exc
    tried = f"port {port}" if port is not None else f"ports {DEFAULT_PORT}-{DEFAULT_PORT + PORT_ATTEMPTS - 1}"
    raise CpdgenError(f"cannot listen on {host}: {tried} in use ({last_error.strerror if last_error else ''})")


def url_of(server: DevServer) -> str:
    host = server.server_address[0]
    shown = "127.0.0.1" if host in ("0.0.0.0", "") else host
    shown = f"[{shown}]" if ":" in shown else shown
    return f"http://{shown}:{server.port}/"


def stop_server(server: DevServer) -> None:
    server.stopping.set()
    with server.state.condition:
        server.state.condition.notify_all()
    server.shutdown()
    server.server_close()


class _Filter:
    """What a rebuild needs to see: no editor swap and temp files, no hidden files, no output."""

    def __init__(self, ignored: Sequence[Path]):
        from watchfiles import DefaultFilter

        self.default = DefaultFilter()
        self.ignored = [str(path) for path in ignored]

    def __call__(self, change: object, path: str) -> bool:
        from cpdgen.loader import is_ignored

        if any(path == folder or path.startswith(folder + "/") for folder in self.ignored):
            return False
        return self.default(change, path) and not is_ignored(Path(path).name)


class Session:
    """One ``cpdgen serve``: a private build folder kept up to date, and what the server shows."""

    def __init__(self, root: Path, as_of: date | None = None, out=None):
        from cpdgen.build import SiteRenderer

        self.root = root.resolve()
        self.as_of = as_of
        self.out = out or sys.stdout
        self.folder = Path(tempfile.mkdtemp(prefix="cpdgen-serve-"))
        self.renderer = SiteRenderer(self.root)  # keeps each unchanged file's parse between rebuilds
        self.state = BuildState()
        self.last = None  # the last good build's Prepared: the base of quick pages
        self.quick: dict[str, bytes] = {}  # pages written ahead of the full rebuild, by site path

    def rebuild(self, changed: Iterable[str] = ()) -> bool:
        """Bring the build folder up to date; on problems keep the last good pages and say why.

        A lone edit of one activity's file first gets its own page written and announced
        (``quick_page``), then everything is rebuilt as usual.
        """
        from cpdgen.build import read_manifest

        changed = list(changed)
        started = time.perf_counter()
        if len(changed) == 1:
            quick = self.quick_page(Path(changed[0]))
            if quick is not None:
                self.state.publish(True, [], [quick])
        before = read_manifest(self.folder)
        try:
            prepared = self.renderer.prepare(as_of=self.as_of)
            if prepared.plan is not None:
                stats = self.renderer.render_into(self.folder, prepared, previous=self.folder)
        except CpdgenError as exc:
            self.state.publish(False, [Problem("content", None, "error", "build-failed", exc.message)])
            print(f"cpdgen: {exc.message}", file=self.out, flush=True)
            return False
        ok = prepared.plan is not None
        if ok:
            self.last = prepared
            after = stats.manifest
            pages = {path for path in after if before.get(path) != after[path]} | (set(before) - set(after))
            pages -= self.settle_quick_pages(prepared)
            self.state.publish(True, [], pages)
        else:
            self.quick.clear()
            self.state.publish(False, prepared.problems)
        for problem in prepared.problems:
            print(format_text(problem), file=self.out, flush=True)
        if ok:
            print(f"Rebuilt in {time.perf_counter() - started:.2f} s.", file=self.out, flush=True)
        else:
            print("Not rebuilt: fix the problems above; the pages show them until you do.", file=self.out, flush=True)
        return ok

    def quick_page(self, path: Path) -> str | None:
        """Write the page of the one activity file just saved, from the last good build; its site path.

        Only when nothing but that page's own text could have changed: the file has no
        problem and no possible patient identifier, and its id, date, category, privacy,
        draft state, reflection and evidence are as before. Otherwise None: the full
        rebuild (which always follows) does the work and reports the problems.
        """
        from dataclasses import replace

        from cpdgen.html import activity_context
        from cpdgen.identifiers import compile_pattern, find_identifiers
        from cpdgen.loader import read_activity

        last = self.last
        if last is None or last.plan is None or last.assessment is None or last.portfolio.settings is None:
            return None
        try:
            source = path.resolve()
            where = source.relative_to(self.root).as_posix()
        except (OSError, ValueError):
            return None
        old = next((a for a in last.portfolio.activities if a.path == where), None)
        page = next((p for p in last.plan.pages if p.source == where and p.template == "activity.html"), None)
        if old is None or page is None or not source.is_file():
            return None
        activity, problems, text = read_activity(self.root, source, self.renderer.load_cache)
        if activity is None or problems:
            return None
        if old.reflection_path != old.path:  # the reflection lives in content/reflections/
            if activity.reflection is not None:
                return None
            activity = replace(
                activity,
                reflection=old.reflection,
                reflection_path=old.reflection_path,
                reflection_line=old.reflection_line,
            )
        facts = ("id", "date", "category", "draft", "private", "has_reflection", "evidence")
        if any(getattr(activity, name) != getattr(old, name) for name in facts):
            return None
        settings = last.portfolio.settings
        patterns = {}
        for name, regex in settings.privacy.patterns.items():
            try:
                patterns[name] = compile_pattern(regex)
            except ValueError:
                return None
        if find_identifiers(text, patterns):
            return None  # whatever it is, the full rebuild decides and says so
        judged = {j.id: (d, j) for d in last.assessment.diplomas for j in d.judgements}
        found: list[Problem] = []
        context, _ = activity_context(activity, judged, settings.publish, self.renderer.markdown.render, found)
        if found:
            return None
        data = self.renderer.render_page(page.template, {**page.context, "activity": context, "page_title": activity.title})
        fsutil.atomic_write_bytes(self.folder / page.path, data, durable=False)
        self.quick[page.path] = data
        return page.path

    def settle_quick_pages(self, prepared) -> set[str]:
        """After a full rebuild: make each quick page exactly what the build says it is.

        Returns the quick pages that needed nothing more (already announced), so their
        open tabs are not reloaded a second time.
        """
        announced: set[str] = set()
        pages = {page.path: page for page in prepared.plan.pages}
        for path, data in self.quick.items():
            page = pages.get(path)
            if page is None:
                continue  # gone from the site: the rebuild removed it
            target = self.folder / path
            wanted = self.renderer.render_page(page.template, page.context)
            if wanted == data and target.read_bytes() == wanted:
                announced.add(path)
            else:
                fsutil.atomic_write_bytes(target, wanted, durable=False)
        self.quick.clear()
        return announced

    def close(self) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)


def serve(root: Path, host: str = "127.0.0.1", port: int | None = None, as_of: date | None = None, out=None) -> int:
    """Build, serve on ``host``, and rebuild on every change until Ctrl-C."""
    from watchfiles import watch

    out = out or sys.stdout
    if not (root / "content").is_dir():
        raise CpdgenError(f"no content/ folder in {root.resolve()}; run cpdgen in your portfolio's folder, or give --root")
    session = Session(root, as_of, out)
    # A terminal closing or a process manager stopping us is Ctrl-C too: the private build is removed.
    previous_term = signal.signal(signal.SIGTERM, signal.default_int_handler)
    try:
        session.rebuild()
        server = open_server(host, port, session.folder, session.state)
        threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.2}, daemon=True).start()
        if host not in ("127.0.0.1", "localhost", "::1"):
            print(
                f"Warning: serving on {host}: other computers on this network can read your portfolio, "
                "private activities' pages aside. Use the default (127.0.0.1) unless you mean it.",
                file=out,
                flush=True,
            )
        print(f"Serving your portfolio at {url_of(server)}  (Ctrl-C to stop)", file=out, flush=True)
        watched = [session.root / "content"]
        if (session.root / "templates").is_dir():
            watched.append(session.root / "templates")
        ignored = [session.root / "site", session.folder]
        try:
            for changes in watch(*watched, watch_filter=_Filter(ignored), debounce=400, step=20):
                names = sorted({path for _, path in changes})
                # Editors' and tools' short-lived temporary files are not worth a mention.
                named = [Path(n).name for n in names if n.endswith((".md", ".yaml")) or Path(n).exists()]
                shown = ", ".join(named[:3]) + (" …" if len(named) > 3 else "")
                print(f"Changed: {shown}", file=out, flush=True)
                session.rebuild(names)
        except KeyboardInterrupt:
            pass
        stop_server(server)
        print("Stopped.", file=out, flush=True)
        return 0
    finally:
        signal.signal(signal.SIGTERM, previous_term)
        session.close()
