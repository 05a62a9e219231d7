"""cpdgen's benchmarks: whole-process timings on a generated 1,000-activity portfolio,
and the PDF and CSV record measured in-process against WeasyPrint alone.

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
        bench_records(work, root)
    finally:
        shutil.rmtree(work, ignore_errors=True)


# --- the PDF and CSV record (issue 4) -----------------------------------------------------------------

ONE_DIPLOMA = """member:
  name: Bench Member
  membership_number: "100001"
diplomas:
  - start: 2020-01-01
"""


def time_call(function, runs: int) -> list[float]:
    timings = []
    for _ in range(runs):
        started = time.perf_counter()
        function()
        timings.append(time.perf_counter() - started)
    return timings


def cpu_seconds() -> float:
    """CPU time of this process and its finished children: steadier than the clock on a shared machine."""
    import resource

    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return time.process_time() + children.ru_utime + children.ru_stime


def time_both(function) -> tuple[float, float]:
    """(wall-clock seconds, CPU seconds) of one call."""
    wall, cpu = time.perf_counter(), cpu_seconds()
    function()
    return time.perf_counter() - wall, cpu_seconds() - cpu


def weasyprint_alone(job) -> bytes:
    """The same HTML, stylesheet, attachments and options, laid out by WeasyPrint with its own fetcher."""
    import io

    import weasyprint

    from cpdgen.rendering import PDF_OPTIONS
    from cpdgen.resources import virtual_url

    html, css = job.html, job.css
    for name, folder in job.roots.items():
        real = folder.resolve().as_uri() + "/"
        html, css = html.replace(virtual_url(name, ""), real), css.replace(virtual_url(name, ""), real)
    base = job.roots["content"].resolve().as_uri() + "/"
    attachments = [
        weasyprint.Attachment(
            file_obj=io.BytesIO(a.data), name=a.name, description=a.description, created=a.when, modified=a.when
        )
        for a in job.attachments
    ]
    return weasyprint.HTML(string=html, base_url=base).write_pdf(
        stylesheets=[weasyprint.CSS(string=css, base_url=base)], attachments=attachments, **PDF_OPTIONS
    )


def bench_pdf(work: Path, count: int, runs: int) -> None:
    import io
    from datetime import date

    from pypdf import PdfReader

    from cpdgen import pdf, rendering
    from cpdgen.loader import load_portfolio

    root = generate(work / f"pdf-{count}", count)
    (root / "content" / "portfolio.yaml").write_text(ONE_DIPLOMA, encoding="utf-8")
    portfolio = load_portfolio(root)
    assessment = portfolio.assess(date(2026, 11, 1))
    job = pdf.prepare_diploma_pdf(portfolio, assessment, "diploma-1", public=True)
    assert not job.errors, job.errors
    pages = len(PdfReader(io.BytesIO(weasyprint_alone(job))).pages)
    label = f"PDF, {count}-activity diploma ({pages} pages)"

    def ours(cache_dir: Path | None = None) -> bytes:
        return pdf.render_diploma_pdf(portfolio, assessment, "diploma-1", public=True, cache_dir=cache_dir)

    alone: list[tuple[float, float]] = []
    full: list[tuple[float, float]] = []
    for _ in range(runs):  # interleaved, so a busy moment on a shared machine hits both alike
        alone.append(time_both(lambda: weasyprint_alone(job)))
        full.append(time_both(ours))
    prepare = time_call(lambda: pdf.prepare_diploma_pdf(portfolio, assessment, "diploma-1", public=True), runs)
    report(f"{label}: WeasyPrint alone", [wall for wall, _ in alone])
    report(f"{label}: cpdgen", [wall for wall, _ in full])
    for name, index in (("wall clock", 0), ("CPU time", 1)):
        theirs, mine = statistics.median(t[index] for t in alone), statistics.median(t[index] for t in full)
        share = (mine - theirs) / theirs
        verdict = "met" if share < 0.10 else "NOT met"
        print(f"{'':<44} overhead, median {name}: {mine - theirs:+.3f} s = {share:+.1%} (goal < 10%: {verdict})")
    print(f"{'':<44} of which preparing the HTML and checking its files: {statistics.median(prepare):.3f} s")
    cache = work / f"cache-{count}"
    ours(cache)
    rendered = []
    real_render = rendering.render_bounded
    rendering.render_bounded = lambda job: rendered.append(job) or real_render(job)
    try:
        cached = time_call(lambda: ours(cache), runs)
    finally:
        rendering.render_bounded = real_render
    report(f"{label}: cached re-render ({len(rendered)} rendered)", cached)


def bench_records(work: Path, root: Path) -> None:
    from datetime import date

    from cpdgen.csvfile import activities_csv
    from cpdgen.loader import load_portfolio

    portfolio = load_portfolio(root)
    assessment = portfolio.assess(date(2026, 11, 1))
    csv_timings = time_call(lambda: activities_csv(portfolio, assessment, public=True), RUNS)
    report("CSV of 1,000 activities (in-process)", csv_timings)
    cpdgen = [sys.executable, "-m", "cpdgen"]
    export = cpdgen + ["export", "csv", "--as-of", "2026-11-01", "--out", str(work / "csv-out"), "--force"]
    report("cpdgen export csv (1,000 activities)", time_command(export, root, expect=(0,)))
    bench_pdf(work, 30, 5)
    bench_pdf(work, 200, 3)


if __name__ == "__main__":
    main()
