"""The code has none of the mistakes a linter can prove: unused or shadowed names, unsafe YAML, eval."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from conftest import require_tool

REPO = Path(__file__).resolve().parents[1]


def test_ruff_finds_nothing():
    ruff = str(Path(sys.executable).parent / "ruff")
    if not Path(ruff).exists():
        ruff = shutil.which("ruff") or ruff
    require_tool(Path(ruff).exists(), "ruff is not installed (make test installs it)")
    result = subprocess.run(
        [ruff, "check", "--no-cache", "--output-format", "concise", "cpdgen", "tests", "bench"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
