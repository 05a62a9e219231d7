"""cpdgen's benchmarks: whole-process timings on a generated 1,000-activity portfolio.

Run with ``make bench``. Prints the median and spread of several runs of each command;
the goals are in the README. Nothing here is a pass/fail test.
"""

from __future__ import annotations

import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from generate import generate  # noqa: E402

RUNS = 7


def time_command(args: list[str], cwd: Path, runs: int = RUNS, expect: tuple[int, ...] = (0, 1)) -> list[float]:
    timings = []
    for _ in range(runs):
        started = time.perf_counter()
        result = subprocess.run(args, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        timings.append(time.perf_counter() - started)
        if result.returncode not in expect:
            raise SystemExit(f"{' '.join(args)} failed ({result.returncode}): {result.stderr}")
    return timings


def time_each(commands: list[list[str]], cwd: Path) -> list[float]:
    """Time different commands once each (for commands that may not repeat, such as creating a file)."""
    timings = []
    for args in commands:
        started = time.perf_counter()
        result = subprocess.run(args, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        timings.append(time.perf_counter() - started)
        if result.returncode != 0:
            raise SystemExit(f"{' '.join(args)} failed ({result.returncode}): {result.stderr}")
    return timings


def report(name: str, timings: list[float], goal: float | None = None) -> None:
    median = statistics.median(timings)
    verdict = "" if goal is None else ("  (goal < %.2f s: %s)" % (goal, "met" if median < goal else "NOT met"))
    print(f"{name:<44} median {median:6.3f} s  min {min(timings):6.3f}  max {max(timings):6.3f}{verdict}")


def main() -> None:
    cpdgen = [sys.executable, "-m", "cpdgen"]
    work = Path(tempfile.mkdtemp(prefix="cpdgen-bench-"))
    try:
        root = generate(work / "portfolio", 1000)
        print(f"Portfolio: 1,000 activities in {root} (Python {sys.version.split()[0]})")
        report("cpdgen --help", time_command(cpdgen + ["--help"], root), 0.2)
        report("cpdgen check (1,000 activities)", time_command(cpdgen + ["check", "--as-of", "2026-11-01"], root), 0.6)
        new = [cpdgen + ["new", f"Bench activity {n}", "--type", "audit"] for n in range(RUNS)]
        report("cpdgen new (into 1,000 activities)", time_each(new, root), 0.3)
        report("cpdgen schema (all three)", time_command(cpdgen + ["schema"], root), 0.5)
        init = [cpdgen + ["init", str(work / f"new-{n}"), "--name", "Bench"] for n in range(RUNS)]
        report("cpdgen init", time_each(init, work), 0.3)
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
