"""The dev server's HTTP side over real sockets: what it serves, what it refuses, live reload."""

from __future__ import annotations

import http.client
import json
import os
import socket
import struct
import threading

import pytest

from cpdgen.problems import Problem
from cpdgen.site import devserver
from cpdgen.site.devserver import BuildState, open_server, stop_server


@pytest.fixture
def served(tmp_path):
    site = tmp_path / "build"
    (site / "activities" / "a").mkdir(parents=True)
    (site / "index.html").write_text("<!doctype html><html><body><h1>Home</h1></body></html>")
    (site / "activities" / "a" / "index.html").write_text("<!doctype html><html><body>A</body></html>")
    (site / "style.css").write_text("body{}")
    (site / "404.html").write_text("<!doctype html><html><body>Missing</body></html>")
    (site / ".git").mkdir()
    (site / ".git" / "config").write_text("secret")
    (site / ".hidden").write_text("secret")
    (tmp_path / "outside.txt").write_text("outside-secret")
    os.symlink(tmp_path / "outside.txt", site / "link.txt")
    state = BuildState()
    server = open_server("127.0.0.1", 0, site, state)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield server
    stop_server(server)


def get(server, path: str, host: str | None = None, method: str = "GET"):
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    connection.putrequest(method, path, skip_host=True, skip_accept_encoding=True)
    connection.putheader("Host", f"127.0.0.1:{server.port}" if host is None else host)
    connection.endheaders()
    response = connection.getresponse()
    body = response.read()
    connection.close()
    return response.status, dict(response.getheaders()), body


def test_serves_pages_with_the_reload_script_and_assets_untouched(served):
    status, headers, body = get(served, "/")
    assert status == 200
    assert headers["Content-Type"] == "text/html; charset=utf-8"
    assert b"<h1>Home</h1>" in body and b"/__cpdgen/wait" in body
    assert body.index(b"/__cpdgen/wait") < body.index(b"</body>")
    assert get(served, "/style.css")[2] == b"body{}"
    assert get(served, "/activities/a/")[0] == 200
    status, headers, _ = get(served, "/activities/a")
    assert (status, headers["Location"]) == (301, "/activities/a/")


@pytest.mark.parametrize(
    "path",
    [
        "/../outside.txt",
        "/%2e%2e/outside.txt",
        "/..%2foutside.txt",
        "/activities/../../outside.txt",
        "/link.txt",
        "/.git/config",
        "/.hidden",
        "/%2ehidden",
        "/\\..\\outside.txt",
        "/nothing-here",
    ],
)
def test_refuses_everything_outside_the_build(served, path):
    status, _, body = get(served, path)
    assert status == 404
    assert b"secret" not in body
    assert b"Missing" in body  # the site's own 404 page


@pytest.mark.parametrize("host", ["evil.example", "evil.example:{port}", "localhost:1", "127.0.0.1.nip.io:{port}", ""])
def test_refuses_foreign_host_headers(served, host):
    status, _, body = get(served, "/", host=host.format(port=served.port))
    assert status == 421
    assert b"Home" not in body


@pytest.mark.parametrize("host", ["localhost:{port}", "127.0.0.1:{port}", "[::1]:{port}"])
def test_accepts_localhost_names(served, host):
    assert get(served, "/", host=host.format(port=served.port))[0] == 200


def test_long_poll_returns_when_a_build_is_published(served, monkeypatch):
    monkeypatch.setattr(devserver, "WAIT_SECONDS", 3600)  # so only the build can end the wait (get's timeout: 10 s)
    threading.Timer(0.2, served.state.publish, args=(True, [])).start()
    status, _, body = get(served, "/__cpdgen/wait?since=0")
    assert status == 200
    assert json.loads(body) == {"version": 1, "ok": True, "reload": True}


@pytest.mark.parametrize("reset", [False, True], ids=["closed", "reset"])
def test_a_tab_closed_while_waiting_for_a_reload_prints_no_traceback(served, monkeypatch, capsys, reset):
    """A browser tab closes while its reload request waits; then a file is saved and the answer
    goes to a closed socket (BrokenPipeError or ConnectionResetError): nothing to report."""
    monkeypatch.setattr(devserver, "WAIT_SECONDS", 3600)
    waiting, done = threading.Event(), threading.Event()
    wait, shutdown_request = served.state.wait, served.shutdown_request

    def noting_wait(since: int, timeout: float):
        waiting.set()
        return wait(since, timeout)

    def noting_shutdown(request):
        shutdown_request(request)
        done.set()

    monkeypatch.setattr(served.state, "wait", noting_wait)
    monkeypatch.setattr(served, "shutdown_request", noting_shutdown)
    client = socket.create_connection(("127.0.0.1", served.port), timeout=10)
    client.sendall(
        f"GET /__cpdgen/wait?since=0&page=index.html HTTP/1.1\r\nHost: 127.0.0.1:{served.port}\r\n\r\n".encode()
    )
    assert waiting.wait(10)
    if reset:  # close with a reset, as a browser killed mid-request does
        client.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    client.close()
    served.state.publish(True, [])  # a file was saved: the waiting request answers the closed tab
    assert done.wait(10)
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err and "Error" not in captured.err, captured.err
    assert get(served, "/")[0] == 200  # and the server goes on serving


def test_failed_build_shows_problems_over_the_last_good_page(served):
    problem = Problem("content/activities/a.md", 3, "error", "invalid-date", "'2024-02-30' is <not> a date")
    served.state.publish(False, [problem])
    _, _, body = get(served, "/")
    assert b"cpdgen could not rebuild" in body
    assert b"content/activities/a.md:3: error: &#x27;2024-02-30&#x27; is &lt;not&gt; a date [invalid-date]" in body
    assert b"<h1>Home</h1>" in body
    served.state.publish(True, [])
    assert b"could not rebuild" not in get(served, "/")[2]


def test_busy_default_port_moves_to_the_next(tmp_path, monkeypatch):
    from cpdgen.site import devserver as serve

    blocker = socket.socket()
    blocker.bind(("127.0.0.1", 0))
    blocker.listen()
    busy = blocker.getsockname()[1]
    monkeypatch.setattr(serve, "DEFAULT_PORT", busy)
    server = open_server("127.0.0.1", None, tmp_path, BuildState())
    try:
        assert server.port != busy
        assert busy < server.port < busy + serve.PORT_ATTEMPTS
    finally:
        server.server_close()
        blocker.close()
