"""The documentation (docs/, mkdocs.yml) builds under --strict: no broken link, anchor or stray page.

The build needs no network: mkdocs.yml turns off Google Fonts and every Material plugin
that fetches anything, so this runs offline like the rest of the suite.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def docs_build(tmp_path_factory) -> tuple[subprocess.CompletedProcess, Path]:
    """``mkdocs build --strict`` from the repository's root, into a temporary folder."""
    out = tmp_path_factory.mktemp("docs") / "docs-site"
    result = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(out)],
        cwd=REPO,
        # Material prints a notice about its own future on every build: not about our pages.
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
        capture_output=True,
        text=True,
        timeout=180,
    )
    return result, out


def test_the_docs_build_strictly(docs_build):
    result, out = docs_build
    assert result.returncode == 0, result.stdout + result.stderr
    for page in ("index.html", "guide/getting-started.html", "reference/problems.html", "developers/architecture.html"):
        assert (out / page).is_file(), page


def test_the_docs_ask_no_other_site_for_fonts(docs_build):
    result, out = docs_build
    assert result.returncode == 0, result.stdout + result.stderr
    page = (out / "index.html").read_text(encoding="utf-8")
    assert "fonts.googleapis.com" not in page and "fonts.gstatic.com" not in page


_CODE_SITES = (
    r'Problem\(\s*[^,()]+,\s*[^,()]+,\s*"(?:error|warning)",\s*"([a-z0-9-]+)"',
    r'collect\.add\(\s*[^,()]+,\s*[^,()]+,\s*"([a-z0-9-]+)"',
    r'ReadError\(\s*"([a-z0-9-]+)"',
    r'_fail\(\s*"([a-z0-9-]+)"',
    r'allow_problem\(\s*[^,()]+,\s*[^,()]+,\s*"([a-z0-9-]+)"',
)


def test_every_problem_code_the_code_gives_is_in_the_reference():
    # A member who meets a code looks it up: each one cpdgen reports has its row.
    import re

    codes = {
        match.group(1)
        for source in (REPO / "cpdgen").rglob("*.py")
        for pattern in _CODE_SITES
        for match in re.finditer(pattern, source.read_text(encoding="utf-8"))
    }
    assert len(codes) > 30  # the patterns still find the places codes are given
    reference = (REPO / "docs" / "reference" / "problems.md").read_text(encoding="utf-8")
    assert sorted(code for code in codes if f"`{code}`" not in reference) == []


def test_every_commands_usage_block_is_what_help_prints(monkeypatch):
    # docs/reference/commands.md shows each command's usage exactly as `cpdgen COMMAND --help` does.
    import argparse
    import re

    from cpdgen.cli import build_parser

    monkeypatch.setenv("COLUMNS", "80")  # argparse wraps to the terminal; the docs are written at 80
    parser = build_parser()
    doc = (REPO / "docs" / "reference" / "commands.md").read_text(encoding="utf-8")
    (commands,) = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    assert doc.split("```text\n", 1)[1].split("```", 1)[0].strip() == parser.format_usage().strip()
    for name, command in commands.choices.items():
        found = re.search(rf"^## `cpdgen {re.escape(name)}`\n+```text\n(.*?)```", doc, flags=re.S | re.M)
        assert found, f"docs/reference/commands.md has no section for cpdgen {name}"
        assert found.group(1).strip() == command.format_usage().strip(), name
        assert f"[`{name}`](#cpdgen-{name})" in doc, f"the table of commands lacks {name}"
