"""Terminal manners: colour only on a terminal and never with NO_COLOR, --quiet, --verbose,
--version, and a reader that goes away (``cpdgen schema | head``)."""

from __future__ import annotations

import os
import pty
import select
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import Builder, activity_text
from cpdgen import __version__
from cpdgen.cli import Console, main, wants_colour

REPO = Path(__file__).resolve().parents[1]
ANSI = "\x1b["


def env_with(**changes: str | None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "TERM")}
    env["PYTHONPATH"] = str(REPO)
    env["TERM"] = "xterm-256color"
    for key, value in changes.items():
        if value is None:
            env.pop(key, None)
        else:
            env[key] = value
    return env


def run_on_terminal(args: list[str], env: dict[str, str], *, stderr_only: bool = False) -> tuple[int, str]:
    """Run cpdgen with stdout and stderr on a pseudo-terminal (or only stderr); return what the terminal got."""
    master, slave = pty.openpty()
    process = subprocess.Popen(
        [sys.executable, "-m", "cpdgen", *args],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL if stderr_only else slave,
        stderr=slave,
        env=env,
    )
    os.close(slave)
    received = bytearray()
    deadline = time.monotonic() + 60
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([master], [], [], 1)
            if not ready:
                if process.poll() is not None:
                    break
                continue
            try:
                chunk = os.read(master, 65536)
            except OSError:  # the child closed the terminal
                break
            if not chunk:
                break
            received += chunk
        code = process.wait(timeout=max(1, deadline - time.monotonic()))
    finally:
        os.close(master)
        if process.poll() is None:
            process.kill()
    return code, received.decode("utf-8", "replace")


@pytest.fixture
def broken(portfolio):
    portfolio.activity("bad", activity_text(category="nope"))
    return portfolio.root


def test_colour_on_a_terminal(broken):
    code, seen = run_on_terminal(["check", "--root", str(broken), "--as-of", "2026-01-20"], env_with())
    assert code == 1
    assert "\x1b[31;1mcontent/activities/bad.md:4: error:" in seen


@pytest.mark.parametrize("setting", [{"NO_COLOR": "1"}, {"NO_COLOR": "0"}, {"NO_COLOR": "false"}, {"TERM": "dumb"}])
def test_no_colour_with_no_color_or_a_dumb_terminal(broken, setting):
    code, seen = run_on_terminal(["check", "--root", str(broken), "--as-of", "2026-01-20"], env_with(**setting))
    assert code == 1 and "content/activities/bad.md:4: error:" in seen
    assert ANSI not in seen


def test_an_empty_no_color_is_as_if_unset(broken):
    # no-color.org: "when present and not an empty string".
    code, seen = run_on_terminal(["check", "--root", str(broken), "--as-of", "2026-01-20"], env_with(NO_COLOR=""))
    assert ANSI in seen


def test_no_colour_when_piped(broken):
    result = subprocess.run(
        [sys.executable, "-m", "cpdgen", "check", "--root", str(broken), "--as-of", "2026-01-20"],
        capture_output=True,
        text=True,
        env=env_with(),
        timeout=60,
    )
    assert result.returncode == 1 and "bad.md:4: error:" in result.stdout
    assert ANSI not in result.stdout + result.stderr


def test_errors_are_red_only_on_a_terminal(tmp_path):
    args = ["check", "--root", str(tmp_path / "missing")]
    code, seen = run_on_terminal(args, env_with(), stderr_only=True)
    assert code == 2 and "\x1b[31;1mcpdgen:\x1b[0m no content/ folder" in seen
    code, seen = run_on_terminal(args, env_with(NO_COLOR="1"), stderr_only=True)
    assert code == 2 and seen.startswith("cpdgen: no content/ folder")


def test_console_decides_per_stream(monkeypatch):
    class Terminal:
        def isatty(self):
            return True

    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.setenv("TERM", "xterm")
    assert wants_colour(Terminal()) and not wants_colour(object())
    console = Console(stream=Terminal(), err=object())
    assert console.colour and not console.err_colour
    assert console.paint("x", "error") == "\x1b[31;1mx\x1b[0m"
    assert console.paint("x", "no-such-style") == "x"


def test_version(capsys):
    assert main(["--version"]) == 0
    assert capsys.readouterr().out == f"cpdgen {__version__}\n"


@pytest.mark.parametrize("where", ["before", "after"])
def test_quiet_prints_only_problems(broken, capsys, where):
    args = ["check", "--root", str(broken), "--as-of", "2026-01-20"]
    args = ["-q", *args] if where == "before" else [*args, "-q"]
    assert main(args) == 1
    out = capsys.readouterr().out
    assert out.splitlines() == [
        "content/activities/bad.md:4: error: category 'nope' is not a CPD category; use one of: "
        "work-based-learning, professional-activity, formal-educational, self-directed-learning, other "
        "[unknown-category]"
    ]


def test_quiet_keeps_what_a_command_exists_to_print(capsys):
    assert main(["types", "-q"]) == 0
    out = capsys.readouterr().out
    assert "journal-club" in out and "Use one in an activity" not in out and "cpdgen new" not in out
    assert main(["types"]) == 0
    assert 'cpdgen new "Title" --type journal-club' in capsys.readouterr().out
    assert main(["-q", "schema", "--which", "reflection"]) == 0
    assert '"title": "cpdgen reflection front matter"' in capsys.readouterr().out


def test_verbose_adds_detail(portfolio, capsys):
    portfolio.many(3)
    portfolio.activity("2025-02-01-bare", activity_text(date="2025-02-01", reflection=None))
    assert main(["check", "--root", str(portfolio.root), "--as-of", "2025-07-01"]) == 1
    plain = capsys.readouterr().out
    assert main(["check", "--root", str(portfolio.root), "--as-of", "2025-07-01", "--verbose"]) == 1
    verbose = capsys.readouterr().out
    assert len(verbose.splitlines()) > len(plain.splitlines())


def test_quiet_and_verbose_together_is_a_usage_error(capsys):
    assert main(["-q", "types", "-v"]) == 2
    assert "choose --quiet or --verbose" in capsys.readouterr().err


def test_a_reader_that_goes_away_is_not_an_error():
    process = subprocess.Popen(
        [sys.executable, "-m", "cpdgen", "schema"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env_with(),
    )
    process.stdout.close()  # like `cpdgen schema | head -0`
    _, err = process.communicate(timeout=60)
    assert process.returncode == 141
    assert b"Traceback" not in err and b"Exception ignored" not in err


@pytest.mark.slow  # lays out a PDF in a real process
def test_the_pdf_progress_line_names_the_diploma_as_people_do(tmp_path):
    Builder(tmp_path).activity("a", activity_text())
    args = ["export", "pdf", "--root", str(tmp_path), "--as-of", "2026-02-01"]
    code, seen = run_on_terminal(args, env_with(NO_COLOR="1"), stderr_only=True)
    assert code == 0 and "PDF 1 of 1: Diploma 1 (rendering)" in seen
