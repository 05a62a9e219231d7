"""The benchmark (make bench) still runs what it claims to time: no piece of it fails unseen."""

from __future__ import annotations

import importlib.util
import re
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import Builder, activity_text

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("bench", REPO / "bench" / "bench.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_baseline_check_runs_without_the_privacy_scan(bench, tmp_path):
    portfolio = Builder(tmp_path)
    portfolio.activity("2026-01-10-a", activity_text(body="Reviewed NHS number 943 476 5919 today."))
    args = ["check", "--root", str(tmp_path), "--as-of", "2026-11-01"]
    baseline = subprocess.run(
        [sys.executable, "-c", bench._CHECK_WITHOUT_PRIVACY, *args], capture_output=True, text=True, timeout=120
    )
    full = subprocess.run([sys.executable, "-m", "cpdgen", *args], capture_output=True, text=True, timeout=120)
    assert "Traceback" not in baseline.stderr, baseline.stderr
    assert baseline.returncode in (0, 1) and "nhs-number" not in baseline.stdout + baseline.stderr
    assert "nhs-number" in full.stdout + full.stderr  # the scan the baseline leaves out


@pytest.mark.slow
def test_the_pdf_benchmark_runs(bench, tmp_path, capsys):
    bench.bench_pdf(tmp_path, 3, 1)
    out = capsys.readouterr().out
    assert "overhead, median wall clock" in out
    assert "cached re-render (0 rendered)" in out


@pytest.mark.slow
def test_the_hostile_input_benchmark_times_refusals(bench, capsys):
    bench.bench_hostile_input()  # stops (SystemExit) if any input it times as refused is accepted
    out = capsys.readouterr().out
    assert out.count(" refused ") == 6 and "just under the limits rendered" in out


def test_the_generated_portfolio_is_a_valid_realistic_record(tmp_path):
    sys.path.insert(0, str(REPO / "bench"))
    try:
        from generate import generate
    finally:
        sys.path.remove(str(REPO / "bench"))
    root = generate(tmp_path / "p", 20)
    files = sorted((root / "content" / "activities").rglob("*.md"))
    assert len(files) == 20 and sum(f.name == "index.md" for f in files) == 2  # one in ten a folder
    assert all((f.parent / "certificate.pdf").is_file() for f in files if f.name == "index.md")
    words = sorted(len(f.read_text(encoding="utf-8").split("---", 2)[2].split()) for f in files)
    assert 380 <= words[len(words) // 2] <= 480
    again = generate(tmp_path / "q", 20)
    assert [f.read_bytes() for f in files] == [f.read_bytes() for f in sorted(again.rglob("*.md"))]  # seeded
    args = ["check", "--root", str(root), "--as-of", "2026-11-01", "--no-cache"]
    result = subprocess.run([sys.executable, "-m", "cpdgen", *args], capture_output=True, text=True, timeout=120)
    assert result.returncode in (0, 1) and not result.stderr, result.stderr  # 1: too few activities yet
    assert "20 activities read. Check" in result.stdout
    assert not re.search(r": (error|warning): ", result.stdout), result.stdout  # every file as a member's should be
