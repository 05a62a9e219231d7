"""A built wheel carries every template the code reads (the theme, the PDF, the scaffolding)."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_the_wheel_holds_every_template(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w", str(tmp_path), str(REPO)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    if result.returncode != 0:
        pytest.fail(f"pip wheel failed: {result.stderr[-2000:]}")
    (wheel,) = tmp_path.glob("cpdgen-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    templates = REPO / "templates"
    expected = {
        f"cpdgen/templates/{p.relative_to(templates).as_posix()}"
        for p in templates.rglob("*")
        if p.is_file() and "__pycache__" not in p.parts
    }
    assert expected, "no templates found"
    assert expected <= names, sorted(expected - names)
    assert not any(name.startswith(("tests/", "bench/", "content/")) for name in names)
