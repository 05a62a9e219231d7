"""cpdgen's benchmarks: whole-process timings on a generated 1,000-activity portfolio.

Run with ``make bench``. Prints the median and spread of several runs of each command;
the goals are in the README. Nothing here is a pass/fail test.
"""

from __future__ import annotations

import os
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
# Time cpdgen as members run it: with its compiled bytecode cached (some machines
# disable that for every process, which would time compiling cpdgen instead).
ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def time_command(args: list[str], cwd: Path, runs: int = RUNS, expect: tuple[int, ...] = (0, 1)) -> list[float]:
    timings = []
    for _ in range(runs):
        started = time.perf_counter()
        result = subprocess.run(args, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=ENV)
        timings.append(time.perf_counter() - started)
        if result.returncode not in expect:
            raise SystemExit(f"{' '.join(args)} failed ({result.returncode}): {result.stderr}")
    return timings


def time_each(commands: list[list[str]], cwd: Path) -> list[float]:
    """Time different commands once each (for commands that may not repeat, such as creating a file)."""
    timings = []
    for args in commands:
        started = time.perf_counter()
        result = subprocess.run(args, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=ENV)
        timings.append(time.perf_counter() - started)
        if result.returncode != 0:
            raise SystemExit(f"{' '.join(args)} failed ({result.returncode}): {result.stderr}")
    return timings


def report(name: str, timings: list[float], goal: float | None = None) -> None:
    median = statistics.median(timings)
    verdict = "" if goal is None else ("  (goal < %.2f s: %s)" % (goal, "met" if median < goal else "NOT met"))
    print(f"{name:<44} median {median:6.3f} s  min {min(timings):6.3f}  max {max(timings):6.3f}{verdict}")


# ``cpdgen check`` with the privacy module replaced by a no-op (never imported): the baseline for its cost.
_CHECK_WITHOUT_PRIVACY = (
    "import sys, types; sys.modules['cpdgen.privacy'] = types.SimpleNamespace(scan_portfolio=lambda portfolio: []); "
    "from cpdgen.cli import main; sys.exit(main(sys.argv[1:]))"
)


def bench_privacy(root: Path, check: list[float]) -> None:
    """The privacy scanner's share of ``cpdgen check``: goal under 10%.

    Whole processes are noisy on a shared machine, so the in-process time of the scan is
    compared with the whole check too; both are printed."""
    from cpdgen.loader import load_portfolio
    from cpdgen.privacy import scan_portfolio

    without = time_command([sys.executable, "-c", _CHECK_WITHOUT_PRIVACY, "check", "--as-of", "2026-11-01"], root)
    report("cpdgen check without the privacy scan", without)
    portfolio = load_portfolio(root)
    scans = []
    for _ in range(RUNS):
        started = time.perf_counter()
        scan_portfolio(portfolio)
        scans.append(time.perf_counter() - started)
    report("privacy scan alone (in process)", scans)
    base = statistics.median(without)
    added = statistics.median(check) - base
    share = statistics.median(scans) / base
    verdict = "met" if share < 0.10 else "NOT met"
    print(
        f"{'privacy scan adds to cpdgen check':<44} {added * 1000:+.0f} ms whole-process ({added / base:+.1%}), "
        f"{statistics.median(scans) * 1000:.0f} ms in process ({share:.1%})  (goal < 10%: {verdict})"
    )


def main() -> None:
    cpdgen = [sys.executable, "-m", "cpdgen"]
    work = Path(tempfile.mkdtemp(prefix="cpdgen-bench-"))
    try:
        root = generate(work / "portfolio", 1000)
        print(f"Portfolio: 1,000 activities in {root} (Python {sys.version.split()[0]})")
        report("cpdgen --help", time_command(cpdgen + ["--help"], root), 0.2)
        check = time_command(cpdgen + ["check", "--as-of", "2026-11-01"], root)
        report("cpdgen check (1,000 activities)", check, 0.6)
        bench_privacy(root, check)
        new = [cpdgen + ["new", f"Bench activity {n}", "--type", "audit"] for n in range(RUNS)]
        report("cpdgen new (into 1,000 activities)", time_each(new, root), 0.3)
        report("cpdgen schema (all three)", time_command(cpdgen + ["schema"], root), 0.5)
        init = [cpdgen + ["init", str(work / f"new-{n}"), "--name", "Bench"] for n in range(RUNS)]
        report("cpdgen init", time_each(init, work), 0.3)
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
