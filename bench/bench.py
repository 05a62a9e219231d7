"""cpdgen's benchmarks: whole-process timings on a generated 1,000-activity portfolio.

Run with ``make bench``. Prints the median and spread of several runs of each command;
the goals are in the README. Nothing here is a pass/fail test.
"""

from __future__ import annotations

import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path
from typing import Callable

sys.path.insert(0, str(Path(__file__).resolve().parent))
from generate import generate  # noqa: E402

RUNS = 7
# Time cpdgen as members run it: with its compiled bytecode cached (some machines
# disable that for every process, which would time compiling cpdgen instead).
ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
CPU_SECONDS: list[float] = []  # the median CPU time (user + system) of the last timed command


def time_command(
    args: list[str],
    cwd: Path,
    runs: int = RUNS,
    expect: tuple[int, ...] = (0, 1),
    before: Callable[[], None] | None = None,
    env: dict | None = None,
) -> list[float]:
    timings = []
    cpu = []
    for _ in range(runs):
        if before is not None:
            before()
        used = resource.getrusage(resource.RUSAGE_CHILDREN)
        started = time.perf_counter()
        result = subprocess.run(
            args, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env={**ENV, **(env or {})}
        )
        timings.append(time.perf_counter() - started)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu.append(after.ru_utime + after.ru_stime - used.ru_utime - used.ru_stime)
        if result.returncode not in expect:
            raise SystemExit(f"{' '.join(args)} failed ({result.returncode}): {result.stderr}")
    CPU_SECONDS.append(statistics.median(cpu))
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
    """One line: wall-clock median, min and max, the goal, and the median CPU time (less noisy on a busy machine)."""
    median = statistics.median(timings)
    verdict = "" if goal is None else ("  (goal < %.2f s: %s)" % (goal, "met" if median < goal else "NOT met"))
    cpu = f"  cpu {CPU_SECONDS.pop():5.2f} s" if CPU_SECONDS else ""
    print(f"{name:<44} median {median:6.3f} s  min {min(timings):6.3f}  max {max(timings):6.3f}{cpu}{verdict}")


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
        bench_build(cpdgen, root, work)
        new = [cpdgen + ["new", f"Bench activity {n}", "--type", "audit"] for n in range(RUNS)]
        report("cpdgen new (into 1,000 activities)", time_each(new, root), 0.3)
        report("cpdgen schema (all three)", time_command(cpdgen + ["schema"], root), 0.5)
        init = [cpdgen + ["init", str(work / f"new-{n}"), "--name", "Bench"] for n in range(RUNS)]
        report("cpdgen init", time_each(init, work), 0.3)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def bench_build(cpdgen: list[str], root: Path, work: Path) -> None:
    """cpdgen build --no-pdf: from scratch, with nothing changed, and after editing one activity."""
    build = cpdgen + ["build", "--as-of", "2026-11-01", "--no-pdf", "-q"]
    site = root / "site"
    cache = work / "cache"
    env = {"CPDGEN_CACHE_DIR": str(cache)}
    edited = sorted((root / "content" / "activities").rglob("*.md"))[500]
    original = edited.read_text(encoding="utf-8")
    edits = iter(range(1_000_000))

    def fresh_site() -> None:
        shutil.rmtree(site, ignore_errors=True)

    def cold() -> None:
        fresh_site()
        shutil.rmtree(cache, ignore_errors=True)

    def edit_one() -> None:
        edited.write_text(original.replace("\n\n## Reflection", f" Edit {next(edits)}.\n\n## Reflection", 1), encoding="utf-8")

    report("build, full, cold caches", time_command(build, root, before=cold, env=env), 1.5)
    report("build, full (site/ removed, warm cache)", time_command(build, root, before=fresh_site, env=env), 1.5)
    report("build, no-op rebuild", time_command(build, root, env=env), 0.5)
    report("build, rebuild after editing one activity", time_command(build, root, before=edit_one, env=env), 0.5)
    edited.write_text(original, encoding="utf-8")
    bench_in_process(root, edited, original)


def bench_in_process(root: Path, edited: Path, original: str) -> None:
    """Rebuilds as ``cpdgen serve`` does them: one SiteRenderer kept alive, rendering in place."""
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from cpdgen.build import SiteRenderer

    served = root / "served"
    shutil.rmtree(served, ignore_errors=True)
    served.mkdir()
    renderer = SiteRenderer(root, use_disk_cache=False)
    as_of = date(2026, 11, 1)

    cpu: list[float] = []

    def rebuild() -> float:
        started, started_cpu = time.perf_counter(), time.process_time()
        renderer.render_into(served, renderer.prepare(as_of=as_of), previous=served)
        cpu.append(time.process_time() - started_cpu)
        return time.perf_counter() - started

    first = rebuild()
    print(f"{'in-process first render (serve start)':<44} {first:6.3f} s")
    timings = [rebuild() for _ in range(RUNS)]
    CPU_SECONDS.append(statistics.median(cpu[-RUNS:]))
    report("in-process no-op rebuild (serve)", timings, 0.5)
    timings = []
    for n in range(RUNS):
        edited.write_text(original.replace("\n\n## Reflection", f" Edit {n}.\n\n## Reflection", 1), encoding="utf-8")
        timings.append(rebuild())
    CPU_SECONDS.append(statistics.median(cpu[-RUNS:]))
    report("in-process rebuild after one edit (serve)", timings, 0.5)
    edited.write_text(original, encoding="utf-8")


if __name__ == "__main__":
    main()
