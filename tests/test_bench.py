"""The benchmark (make bench) still runs what it claims to time: no piece of it fails unseen."""

from __future__ import annotations

import importlib.util
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
