"""The dev server of ``cpdgen serve``: a small HTTP server on 127.0.0.1, live reload, and a watch loop.

It knows nothing of the build: it is handed a folder to serve, a :class:`BuildState` that
the builder updates, and a ``rebuild(changed paths)`` callable to run when files change
(in a thread of its own, so a save while it runs can be handed to a ``quick`` callable).

The server serves only its folder (never site/): no ``..``, no symlinks out, no dotfiles,
no directory listings, and no request whose Host header is a domain name other than
localhost (so a web page cannot reach it by DNS rebinding). The live-reload script is added
to HTML responses as they are sent, so it never reaches a published file. When the last
rebuild failed, pages show the problems over the last good page; fixing the file reloads
them by itself.
"""

from __future__ import annotations

import errno
import html
import ipaddress
import json
import mimetypes
import socket
import threading
import time
from collections.abc import Callable, Generator, Iterable, Sequence
from dataclasses import dataclass, field
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import TYPE_CHECKING, TextIO
from urllib.parse import parse_qs, unquote, urlsplit

from cpdgen.fsutil import is_ignored
from cpdgen.problems import CpdgenError, Problem, format_text

if TYPE_CHECKING:
    from watchfiles import Change

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

OVERLAY = (
    '<div id="cpdgen-problems" role="alertdialog" aria-labelledby="cpdgen-problems-title" '
    'style="position:fixed;inset:0;z-index:2147483647;overflow:auto;background:rgba(255,255,255,.97);'
    'color:#1a1a1a;font:15px/1.5 system-ui,sans-serif;padding:2rem">'
    """
<h2 id="cpdgen-problems-title" style="color:#b00020;margin-top:0">cpdgen could not rebuild the portfolio</h2>
<p>Fix these and save: this page reloads by itself. Below is the last good version of the page.</p>
<ul style="font-family:ui-monospace,monospace;font-size:14px">%(items)s</ul>
<button type="button" onclick="document.getElementById('cpdgen-problems').remove()">Show the last good page</button>
</div>"""
)


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

    def handle(self) -> None:
        try:
            super().handle()
        except ConnectionError:
            # The browser went away before its answer was sent: a tab closed while its reload
            # request waited for the next build (BrokenPipeError, ConnectionResetError). Nothing
            # is wrong, and socketserver would print a traceback for it.
            self.close_connection = True

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
    host = str(server.server_address[0])  # text for an IP socket; bytes only for a Unix one
    shown = "127.0.0.1" if host in ("0.0.0.0", "") else host  # noqa: S104 - not a bind: what to show for one
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

    def __call__(self, change: Change, path: str) -> bool:
        if any(path == folder or path.startswith(folder + "/") for folder in self.ignored):
            return False
        return self.default(change, path) and not is_ignored(Path(path).name)


def _changes(
    watched: Sequence[Path], ignored: Sequence[Path], stop: threading.Event | None = None
) -> Generator[set[str], None, None]:
    """Bursts of changed paths under ``watched``; an empty set now and then while nothing changes.

    The watcher exists once the first (empty) burst has been returned, so a change made after
    that is never missed.
    """
    from watchfiles import watch

    for changes in watch(
        *watched,
        watch_filter=_Filter(ignored),
        debounce=400,
        step=20,
        yield_on_timeout=True,
        rust_timeout=200,
        stop_event=stop,
    ):
        yield {path for _, path in changes}


class _Builder:
    """Runs ``rebuild`` in a thread of its own, one at a time, over every path changed since the last.

    While a rebuild runs, the watch loop goes on: a save that lands meanwhile is handed to
    ``quick`` at once (a page written ahead), and rebuilt in full when the running one ends.
    """

    def __init__(self, rebuild: Callable[[list[str]], object]):
        self.rebuild = rebuild
        self.pending: set[str] = set()
        self.busy = False
        self.stopping = False
        self.failure: BaseException | None = None  # a bug in a rebuild, raised again by the watch loop
        self.condition = threading.Condition()
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    def add(self, names: Iterable[str]) -> bool:
        """Queue ``names`` for the next rebuild; True when a rebuild is running now."""
        with self.condition:
            self.pending.update(names)
            self.condition.notify_all()
            return self.busy

    def run(self) -> None:
        while True:
            with self.condition:
                self.condition.wait_for(lambda: bool(self.pending) or self.stopping)
                if self.stopping:
                    return
                names, self.busy = sorted(self.pending), True
                self.pending.clear()
            try:
                self.rebuild(names)
            except BaseException as exc:  # noqa: BLE001 - handed to the watch loop, which raises it
                self.failure = exc
            finally:
                with self.condition:
                    self.busy = False
                    self.condition.notify_all()

    def stop(self) -> None:
        """Wait for a running rebuild to end (it writes into the folder the caller then removes)."""
        with self.condition:
            self.stopping = True
            self.condition.notify_all()
        self.thread.join()


def run_server(
    folder: Path,
    state: BuildState,
    rebuild: Callable[[list[str]], object],
    *,
    watched: Sequence[Path],
    ignored: Sequence[Path],
    host: str,
    port: int | None,
    out: TextIO,
    quick: Callable[[list[str]], object] | None = None,
    stop: threading.Event | None = None,
) -> None:
    """Build once, serve ``folder`` on ``host``, and rebuild on every change under ``watched`` until
    Ctrl-C (or until ``stop`` is set).

    The watcher starts before the first build, so nothing saved while it runs is missed.
    Rebuilds run one at a time beside the watcher; ``quick(changed)`` is called for a save
    that lands while one runs, so it need not wait for it.
    """
    changes = _changes(watched, ignored, stop)
    next(changes)  # the watcher is running
    rebuild([])
    server = open_server(host, port, folder, state)
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.2}, daemon=True).start()
    if host not in ("127.0.0.1", "localhost", "::1"):
        print(
            f"Warning: serving on {host}: other computers on this network can read your portfolio, "
            "private activities' pages aside. Use the default (127.0.0.1) unless you mean it.",
            file=out,
            flush=True,
        )
    print(f"Serving your portfolio at {url_of(server)}  (Ctrl-C to stop)", file=out, flush=True)
    builder = _Builder(rebuild)
    try:
        for burst in changes:
            if builder.failure is not None:
                raise builder.failure
            if not burst:
                continue
            names = sorted(burst)
            # Editors' and tools' short-lived temporary files are not worth a mention.
            named = [Path(n).name for n in names if n.endswith((".md", ".yaml")) or Path(n).exists()]
            shown = ", ".join(named[:3]) + (" …" if len(named) > 3 else "")
            print(f"Changed: {shown}", file=out, flush=True)
            if builder.add(names) and quick is not None:
                quick(names)
    except KeyboardInterrupt:
        pass
    finally:
        changes.close()
        stop_server(server)
        builder.stop()
