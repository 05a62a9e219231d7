"""The code is formatted, has none of the mistakes ruff can find, and type-checks; the checks
run before each commit are set up correctly."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from conftest import require_tool

REPO = Path(__file__).resolve().parents[1]
SOURCES = ["cpdgen", "tests", "bench"]


def venv_tool(name: str) -> str:
    """The tool installed beside this Python (make test installs it), else the one on PATH."""
    path = Path(sys.executable).parent / name
    if not path.exists():
        path = Path(shutil.which(name) or path)
    require_tool(path.exists(), f"{name} is not installed (make test installs it)")
    return str(path)


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(args, cwd=REPO, capture_output=True, text=True, timeout=300)


def test_ruff_finds_nothing():
    result = run(venv_tool("ruff"), "check", "--no-cache", "--output-format", "concise", *SOURCES)
    assert result.returncode == 0, result.stdout + result.stderr


def test_code_is_formatted():
    result = run(venv_tool("ruff"), "format", "--check", "--no-cache", *SOURCES)
    assert result.returncode == 0, "run 'ruff format' (make lint checks it):\n" + result.stdout + result.stderr


@pytest.mark.slow  # a few seconds; make lint and pre-commit run it too
def test_mypy_finds_no_type_errors(tmp_path):
    result = run(venv_tool("mypy"), "--cache-dir", str(tmp_path / "mypy-cache"), "cpdgen")
    assert result.returncode == 0, result.stdout + result.stderr


def test_pre_commit_config_is_valid_and_needs_no_network(tmp_path):
    config = REPO / ".pre-commit-config.yaml"
    env = {**os.environ, "PRE_COMMIT_HOME": str(tmp_path)}
    result = subprocess.run(
        [venv_tool("pre-commit"), "validate-config", str(config)],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    (repo,) = yaml.safe_load(config.read_text(encoding="utf-8"))["repos"]
    assert repo["repo"] == "local"
    hooks = {hook["id"]: hook for hook in repo["hooks"]}
    assert set(hooks) == {"ruff-format", "ruff-check", "mypy", "lint-imports"}
    assert all(hook["language"] == "system" and hook["entry"].startswith(".venv/bin/") for hook in hooks.values())
