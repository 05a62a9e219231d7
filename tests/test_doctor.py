"""``cpdgen doctor``: each check tried for real, what it says when something is missing, and its exit code."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from cpdgen.cli import main
from cpdgen.doctor import SYSTEM_NAMES, install_command, system_of

# Loaded in a doctor subprocess through PYTHONPATH: WeasyPrint's import then fails as cffi's does
# when the Pango library is not installed.
NO_PANGO = """
import sys

class _NoPango:
    def find_spec(self, name, path=None, target=None):
        if name == "weasyprint" or name.startswith("weasyprint."):
            raise OSError("cannot load library 'libpango-1.0-0': libpango-1.0-0: cannot open shared object file: "
                          "No such file or directory")
        return None

sys.meta_path.insert(0, _NoPango())
"""
NO_FONTS = '<?xml version="1.0"?>\n<!DOCTYPE fontconfig SYSTEM "fonts.dtd">\n<fontconfig></fontconfig>\n'


@pytest.mark.parametrize(
    "platform, os_release, system",
    [
        ("linux", 'ID=debian\nVERSION_ID="12"\n', "debian"),
        ("linux", "ID=ubuntu\nID_LIKE=debian\n", "debian"),
        ("linux", 'ID="linuxmint"\nID_LIKE="ubuntu debian"\n', "debian"),
        ("linux", "ID=fedora\n", "fedora"),
        ("linux", 'ID="rocky"\nID_LIKE="rhel centos fedora"\n', "fedora"),
        ("linux", "ID=arch\n", None),
        ("darwin", None, "macos"),
        ("win32", None, "windows"),
    ],
)
def test_the_system_decides_the_install_commands(platform, os_release, system):
    assert system_of(platform, os_release) == system


def test_install_commands_for_each_system_and_all_of_them_when_unknown():
    assert install_command("pango", "debian") == "sudo apt-get install libpango-1.0-0 libpangoft2-1.0-0"
    assert install_command("pango", "fedora") == "sudo dnf install pango"
    assert install_command("pango", "macos") == "brew install pango"
    windows = install_command("pango", "windows")
    assert "MSYS2" in windows and "pacman -S mingw-w64-x86_64-pango" in windows
    assert "WEASYPRINT_DLL_DIRECTORIES" in windows
    every = install_command("git", None)
    assert all(f"{name}: " in every for name in SYSTEM_NAMES.values())


def portfolio_with(tmp_path: Path, requirement: str) -> Path:
    root = tmp_path / "p"
    root.mkdir()
    (root / "requirements.txt").write_text(f"# mine\n{requirement}\n", encoding="utf-8")
    return root


def test_all_is_well_here(tmp_path, capsys):
    root = portfolio_with(tmp_path, "cpdgen==0.1.0")  # what the tests' fixed choice names
    assert main(["doctor", "--root", str(root)]) == 0
    out = capsys.readouterr().out
    assert out.rstrip().endswith("All is well.")
    for line in (
        "  ok       Python: Python 3.",
        "  ok       WeasyPrint and Pango, for the PDF: WeasyPrint ",
        "  ok       Fonts, for the PDF: a line of text was laid out with an embedded font",
        "  ok       git: git version ",
        "  ok       The cpdgen your CI installs: requirements.txt installs cpdgen==0.1.0, as here",
        "  ok       Pagefind, for the site's search: pagefind 1.",
        "  ok       Cache folder: ",
    ):
        assert line in out, line


def test_a_requirement_that_differs_fails_with_the_fix(tmp_path, capsys):
    root = portfolio_with(tmp_path, "cpdgen~=0.1.0")
    assert main(["doctor", "--root", str(root)]) == 1
    out = capsys.readouterr().out
    assert "  missing  The cpdgen your CI installs: requirements.txt has cpdgen~=0.1.0, but this computer runs" in out
    assert f"fix: cpdgen ci-update --root {root}, then commit requirements.txt" in out
    assert out.rstrip().endswith("1 of 7 checks failed: install or fix what is marked missing.")


def test_no_git_and_no_cache_folder(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    blocker = tmp_path / "a-file"
    blocker.write_text("x", encoding="utf-8")
    monkeypatch.setenv("CPDGEN_CACHE_DIR", str(blocker / "cache"))
    assert main(["doctor", "--root", str(portfolio_with(tmp_path, "cpdgen==0.1.0"))]) == 1
    out = capsys.readouterr().out
    system = system_of()
    assert f"  missing  git: not found\n           fix: {install_command('git', system)}\n" in out
    assert f"  missing  Cache folder: {blocker / 'cache'} cannot be written" in out
    assert "set CPDGEN_CACHE_DIR to a folder you can write" in out


def doctor_process(tmp_path: Path, **env: str) -> subprocess.CompletedProcess:
    root = portfolio_with(tmp_path, "cpdgen==0.1.0")
    return subprocess.run(
        [sys.executable, "-m", "cpdgen", "doctor", "--root", str(root)],
        capture_output=True, text=True, timeout=180, env={**os.environ, "NO_COLOR": "1", **env}, cwd=tmp_path,
    )  # fmt: skip


@pytest.mark.slow
def test_without_pango_it_says_so_and_how_to_install_it(tmp_path):
    hooks = tmp_path / "hooks"
    hooks.mkdir()
    (hooks / "sitecustomize.py").write_text(NO_PANGO, encoding="utf-8")
    result = doctor_process(tmp_path, PYTHONPATH=str(hooks))
    assert result.returncode == 1 and "Traceback" not in result.stdout + result.stderr
    assert "  missing  Pango, for the PDF: WeasyPrint could not load the library libpango-1.0-0\n" in result.stdout
    assert f"fix: {install_command('pango', system_of())}\n" in result.stdout


@pytest.mark.slow
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="fontconfig's FONTCONFIG_FILE, as on Linux")
def test_without_fonts_it_says_so_and_how_to_install_them(tmp_path):
    config = tmp_path / "fonts.conf"
    config.write_text(NO_FONTS, encoding="utf-8")
    result = doctor_process(tmp_path, FONTCONFIG_FILE=str(config))
    assert result.returncode == 1, result.stdout + result.stderr
    assert "  ok       WeasyPrint and Pango, for the PDF" in result.stdout
    assert "  missing  Fonts, for the PDF: " in result.stdout
    assert f"fix: {install_command('fonts', system_of())}\n" in result.stdout


@pytest.mark.slow
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="fontconfig's FONTCONFIG_FILE, as on Linux")
def test_a_pdf_that_crashes_for_want_of_fonts_points_at_doctor(portfolio, tmp_path):
    config = tmp_path / "fonts.conf"
    config.write_text(NO_FONTS, encoding="utf-8")
    portfolio.many(2)
    result = subprocess.run(
        [sys.executable, "-m", "cpdgen", "build", "--root", str(portfolio.root), "--as-of", "2025-07-01"],
        capture_output=True, text=True, timeout=180, env={**os.environ, "FONTCONFIG_FILE": str(config)},
    )  # fmt: skip
    if result.returncode == 0:
        pytest.skip("this Pango lays out text without fonts instead of crashing")
    assert "Traceback" not in result.stderr
    assert "could not be made: the renderer stopped" in result.stderr
    assert "'cpdgen doctor' checks what the PDF needs" in result.stderr
    assert not (portfolio.root / "site").exists()


def test_without_pagefind_it_says_what_search_needs(tmp_path, capsys, monkeypatch):
    from cpdgen import pagefind

    monkeypatch.setattr(pagefind, "pagefind_executable", lambda: None)
    assert main(["doctor", "--root", str(portfolio_with(tmp_path, "cpdgen==0.1.0"))]) == 1
    out = capsys.readouterr().out
    assert "  missing  Pagefind, for the site's search: not installed\n" in out
    assert "fix: reinstall cpdgen, which installs it: python -m pip install --force-reinstall cpdgen" in out
