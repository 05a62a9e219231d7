"""cpdgen's benchmarks: whole-process timings on a generated 1,000-activity portfolio,
how quickly hostile input is refused, and the PDF and CSV record measured in-process
against WeasyPrint alone.

Run with ``make bench``. Prints the median and spread of several runs of each command;
the goals are in docs/developers/contributing.md. Nothing here is a pass/fail test.
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
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import NamedTuple

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
        if result.returncode not in expect or "Traceback" in result.stderr:
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
    verdict = "" if goal is None else f"  (goal < {goal:.2f} s: {'met' if median < goal else 'NOT met'})"
    cpu = f"  cpu {CPU_SECONDS.pop():5.2f} s" if CPU_SECONDS else ""
    print(f"{name:<44} median {median:6.3f} s  min {min(timings):6.3f}  max {max(timings):6.3f}{cpu}{verdict}")


# ``cpdgen check`` with the privacy scan replaced by a no-op (never imported), evidence documents
# included (the loader reads them ahead for the scan): the baseline for its cost.
_CHECK_WITHOUT_PRIVACY = (
    "import sys, types; "
    "sys.modules['cpdgen.privacy.scan'] = types.SimpleNamespace("
    "scan_portfolio=lambda p, m=None: [], documents_under=lambda c: [], DOCUMENT='document', document_of=None); "
    "from cpdgen.cli import main; sys.exit(main(sys.argv[1:]))"
)


def bench_privacy(root: Path, check: list[float]) -> None:
    """The privacy scanner's share of ``cpdgen check``: goal under 10%.

    Whole processes are noisy on a shared machine, so the in-process time of the scan is
    compared with the whole check too; both are printed."""
    from cpdgen.loader import load_portfolio
    from cpdgen.privacy.scan import scan_portfolio

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


def refused_in(function: Callable[[], object], error: type[Exception]) -> Callable[[], None]:
    """``function``, which must raise ``error``: the benchmark times a refusal, not a success."""

    def call() -> None:
        try:
            function()
        except error:
            return
        raise SystemExit(f"{function} was not refused")

    return call


def bench_hostile_input() -> None:
    """Hostile input is refused at once, and text just under the limits renders quickly (in process).

    The tests check that each is refused or rendered; these are the speed claims."""
    import io

    from PIL import Image

    from cpdgen.frontmatter import parse_yaml
    from cpdgen.pdf.resources import check_raster, check_svg
    from cpdgen.problems import MarkdownTooComplex, ReadError, Refused
    from cpdgen.render import render_markdown
    from cpdgen.sections import split_reflection

    levels = ['a0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    levels += [f"a{n}: &a{n} [" + ",".join([f"*a{n - 1}"] * 9) + "]" for n in range(1, 9)]
    alias_bomb = "\n".join([*levels, "tags: *a8"]) + "\n"
    report("YAML alias bomb refused", time_call(refused_in(lambda: parse_yaml(alias_bomb, 2), ReadError), RUNS), 0.05)
    groups = ['<g id="l0"><rect width="1" height="1"/></g>']
    for level in range(1, 6):
        groups.append(
            f'<g id="l{level}">' + "".join(f'<use href="#l{level - 1}" x="{i}"/>' for i in range(10)) + "</g>"
        )
    svg = (
        '<svg xmlns="http://www.w3.org/2000/svg"><defs>' + "".join(groups) + '</defs><use href="#l5"/></svg>'
    ).encode()
    report(
        "SVG of 10^5 nested <use> refused", time_call(refused_in(lambda: check_svg(svg, "x.svg"), Refused), RUNS), 0.5
    )
    png = io.BytesIO()
    Image.new("1", (15000, 15000)).save(png, "PNG")
    bomb = png.getvalue()
    report("225 MP PNG refused", time_call(refused_in(lambda: check_raster(bomb, "x.png"), Refused), RUNS), 2)
    for name, text in (("[ x 16,000", "[" * 16000), ("[[ x 8,000", "[[" * 8000), ("<a b= x 20,000", "<a b=" * 20000)):
        refusal = refused_in(lambda text=text: render_markdown(text), MarkdownTooComplex)
        report(f"Markdown {name} refused", time_call(refusal, RUNS), 1)
    under = ("[" * 1000, "<a b=" * 1000)
    report("Markdown just under the limits rendered", time_call(lambda: [render_markdown(t) for t in under], RUNS), 2)
    lines = ["**" + "a " * 200_000, "## " + "(a" * 200_000, "Reflection:" * 40_000, "## Reflection on x\n" * 40_000]
    body = "\n".join(lines)  # about 2 MB, the most an activity file may hold
    report("2 MB of hostile headings split (reflection)", time_call(lambda: split_reflection(body), RUNS), 2)


USAGE = """usage: python bench/bench.py [--peers] [--runs N]

Times cpdgen on a generated 1,000-activity portfolio, cold and warm, beside its peers on the
same files (a bare PyYAML parse, Hugo when installed, MkDocs, WeasyPrint alone), then the rest.
  --peers   the table against the peers only
  --runs N  rounds of the peer table (default: %d)"""


def main() -> None:
    if {"-h", "--help"} & set(sys.argv[1:]):
        print(USAGE % PEER_RUNS)
        return
    if sys.argv[1:2] == ["--weasyprint-alone"]:  # one child process of bench_peers
        import pickle

        weasyprint_alone(pickle.loads(Path(sys.argv[2]).read_bytes()))  # noqa: S301 - bench_peers wrote it
        return
    cpdgen = [sys.executable, "-m", "cpdgen"]
    work = Path(tempfile.mkdtemp(prefix="cpdgen-bench-"))
    try:
        root = generate(work / "portfolio", 1000)
        print(f"Portfolio: 1,000 activities in {root} (Python {sys.version.split()[0]}, {os.cpu_count()} cores)")
        runs = int(sys.argv[sys.argv.index("--runs") + 1]) if "--runs" in sys.argv else PEER_RUNS
        bench_peers(root, work, runs)
        if "--peers" in sys.argv[1:]:
            return
        print()
        bench_hostile_input()
        report("cpdgen --help", time_command(cpdgen + ["--help"], root), 0.2)
        check = time_command(cpdgen + ["check", "--as-of", "2026-11-01"], root)
        report("cpdgen check (1,000 activities)", check, 0.6)
        bench_privacy(root, check)
        bench_build(cpdgen, root, work)
        bench_serve(root)
        bench_records(work, root)
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
        edited.write_text(
            original.replace("\n\n## Reflection", f" Edit {next(edits)}.\n\n## Reflection", 1), encoding="utf-8"
        )

    report("build, full, cold caches", time_command(build, root, before=cold, env=env), 1.5)
    report("build, full (site/ removed, warm cache)", time_command(build, root, before=fresh_site, env=env), 1.5)
    report("build, no-op rebuild", time_command(build, root, env=env), 0.5)
    report("build, rebuild after editing one activity", time_command(build, root, before=edit_one, env=env), 0.5)
    edited.write_text(original, encoding="utf-8")
    bench_in_process(root, edited, original)


def bench_in_process(root: Path, edited: Path, original: str) -> None:
    """Rebuilds as ``cpdgen serve`` does them: one SiteRenderer kept alive, rendering in place."""
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from cpdgen.site.renderer import SiteRenderer

    served = root / "served"
    shutil.rmtree(served, ignore_errors=True)
    served.mkdir()
    renderer = SiteRenderer(root, use_cache=False, reload_templates=True)
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


def bench_serve(root: Path) -> None:
    """``cpdgen serve`` running: from saving one activity to its page showing the change, over HTTP."""
    import http.client
    import re
    import signal

    process = subprocess.Popen(
        [sys.executable, "-m", "cpdgen", "serve", "--port", "0", "--as-of", "2026-11-01"],
        cwd=root,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**ENV, "PYTHONUNBUFFERED": "1"},
    )
    try:
        port = None
        assert process.stdout is not None
        for line in process.stdout:
            found = re.search(r"http://127\.0\.0\.1:(\d+)/", line)
            if found:
                port = int(found.group(1))
                break
        if port is None:
            raise SystemExit("cpdgen serve did not start")
        edited = sorted((root / "content" / "activities").rglob("*.md"))[400]
        page = f"/activities/{edited.stem}/"
        original = edited.read_text(encoding="utf-8")

        def fetch() -> str:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            connection.request("GET", page)
            body = connection.getresponse().read().decode()
            connection.close()
            return body

        timings = []
        for n in range(RUNS):
            marker = f"Saved edit {n}"
            started = time.perf_counter()
            edited.write_text(
                original.replace("\n\n## Reflection", f" {marker}.\n\n## Reflection", 1), encoding="utf-8"
            )
            while marker not in fetch():
                if time.perf_counter() - started > 30:
                    raise SystemExit("cpdgen serve did not rebuild the page within 30 s")
                time.sleep(0.002)
            timings.append(time.perf_counter() - started)
            time.sleep(0.5)  # let the rest of that rebuild finish before the next save
        report("serve: save one activity -> page rebuilt", timings, 0.15)
        edited.write_text(original, encoding="utf-8")
    finally:
        process.send_signal(signal.SIGINT)
        process.wait(timeout=30)


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

    from cpdgen.pdf.layout import PDF_OPTIONS
    from cpdgen.pdf.resources import virtual_url

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

    from cpdgen.cache import BlobStore
    from cpdgen.loader import load_portfolio
    from cpdgen.pdf import layout
    from cpdgen.pdf.document import prepare_diploma_pdf, render_diploma_pdf

    root = generate(work / f"pdf-{count}", count)
    (root / "content" / "portfolio.yaml").write_text(ONE_DIPLOMA, encoding="utf-8")
    portfolio = load_portfolio(root)
    assessment = portfolio.assess(date(2026, 11, 1))
    job = prepare_diploma_pdf(portfolio, assessment, "diploma-1", public=True)
    assert not job.errors, job.errors
    pages = len(PdfReader(io.BytesIO(weasyprint_alone(job))).pages)
    label = f"PDF, {count}-activity diploma ({pages} pages)"

    def ours(cache_dir: Path | None = None) -> bytes:
        store = BlobStore(cache_dir, ".pdf") if cache_dir is not None else None
        return render_diploma_pdf(portfolio, assessment, "diploma-1", public=True, store=store)

    alone: list[tuple[float, float]] = []
    full: list[tuple[float, float]] = []
    for _ in range(runs):  # interleaved, so a busy moment on a shared machine hits both alike
        alone.append(time_both(lambda: weasyprint_alone(job)))
        full.append(time_both(ours))
    prepare = time_call(lambda: prepare_diploma_pdf(portfolio, assessment, "diploma-1", public=True), runs)
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
    real_render = layout.render_bounded
    layout.render_bounded = lambda job: rendered.append(job) or real_render(job)
    try:
        cached = time_call(lambda: ours(cache), runs)
    finally:
        layout.render_bounded = real_render
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


# --- cpdgen and its peers on the same files, in the same run (issue 14) -------------------------------

PEER_RUNS = 5
REPO = Path(__file__).resolve().parent.parent
AS_OF = "2026-11-01"
EXAMPLE_AS_OF = "2026-11-28"

# Runs one command and prints its exit code, wall-clock and CPU seconds and peak memory (the largest
# process of its tree, in KB): a wrapper of its own, as getrusage's children figures only grow.
_MEASURE = (
    "import resource, subprocess, sys, time\n"
    "started = time.perf_counter()\n"
    "result = subprocess.run(sys.argv[2:], cwd=sys.argv[1], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)\n"
    "wall = time.perf_counter() - started\n"
    "used = resource.getrusage(resource.RUSAGE_CHILDREN)\n"
    "sys.stderr.write(result.stderr.decode(errors='replace')[-3000:])\n"
    "print(result.returncode, wall, used.ru_utime + used.ru_stime, used.ru_maxrss)\n"
)

# The reference for ``cpdgen check``: every front matter parsed by libyaml, nothing else.
_YAML_PARSE = (
    "import pathlib, yaml\n"
    "for path in sorted(pathlib.Path('content').rglob('*.md')):\n"
    "    text = path.read_text(encoding='utf-8')\n"
    "    if text.startswith('---\\n'):\n"
    "        yaml.load(text[4 : text.index('\\n---', 3)], Loader=yaml.CSafeLoader)\n"
    "yaml.load(pathlib.Path('content/portfolio.yaml').read_text(encoding='utf-8'), Loader=yaml.CSafeLoader)\n"
)

# The floor of a cold build that keeps Python-Markdown (the constraint): every activity's
# Markdown rendered once, with cpdgen's extensions, in one process (cpdgen spreads it over the cores).
_MARKDOWN_ONLY = (
    "import pathlib, markdown\n"
    "md = markdown.Markdown(extensions=['tables', 'fenced_code', 'sane_lists'], output_format='html')\n"
    "for path in sorted(pathlib.Path('content/activities').rglob('*.md')):\n"
    "    text = path.read_text(encoding='utf-8')\n"
    "    if text.startswith('---\\n'):\n"
    "        text = text[text.index('\\n---', 3) + 4 :]\n"
    "    md.reset().convert(text)\n"
)

HUGO_CONFIG = """baseURL = "https://bench.invalid/"
title = "Benchmark portfolio"
contentDir = "{content}"
"""
HUGO_SINGLE = """<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{{ .Title }}</title></head>
<body><h1>{{ .Title }}</h1><p>{{ .Date.Format "2 January 2006" }}, {{ .Params.hours }} hours</p>
{{ .Content }}</body></html>
"""
HUGO_LIST = """<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{{ .Title }}</title></head>
<body><h1>{{ .Title }}</h1><ul>{{ range .RegularPagesRecursive }}
<li><a href="{{ .RelPermalink }}">{{ .Title }}</a> {{ .Date.Format "2006-01-02" }}</li>{{ end }}</ul></body></html>
"""
MKDOCS_CONFIG = """site_name: Benchmark portfolio
docs_dir: {content}
"""


class Run(NamedTuple):
    wall: float
    cpu: float
    rss_kb: int


class Row:
    """One line of the table: a command's runs, and the row it is compared with (its goal a ratio to it)."""

    def __init__(
        self, name: str, reference: str | None = None, goal: float | None = None, runs: list[Run] | None = None
    ):
        self.name, self.reference, self.goal = name, reference, goal
        self.runs: list[Run] = runs or []

    def median(self, what: str) -> float:
        return statistics.median(getattr(run, what) for run in self.runs)


def measure(args: list[str], cwd: Path, env: dict | None = None, expect: tuple[int, ...] = (0,)) -> Run:
    """One whole process (and its children), measured by a wrapper of its own."""
    result = subprocess.run(
        [sys.executable, "-c", _MEASURE, str(cwd), *args],
        capture_output=True,
        text=True,
        env={**ENV, **(env or {})},
    )
    code, wall, cpu, rss = result.stdout.split()
    if int(code) not in expect or "Traceback" in result.stderr:
        raise SystemExit(f"{' '.join(args)} failed ({code}): {result.stderr}")
    return Run(float(wall), float(cpu), int(rss))


def pdf_jobs(root: Path, as_of: str) -> list:
    """The public PDF job of each diploma, as ``cpdgen build`` prepares them."""
    from cpdgen.loader import load_portfolio
    from cpdgen.pdf.document import prepare_diploma_pdf

    portfolio = load_portfolio(root)
    assessment = portfolio.assess(date.fromisoformat(as_of))
    return [prepare_diploma_pdf(portfolio, assessment, d.id, public=True) for d in assessment.diplomas]


def bench_peers(root: Path, work: Path, runs: int = PEER_RUNS) -> list[Row]:
    """cpdgen cold and warm against its peers on the same files, interleaved, as whole processes.

    Each round runs every command once, so a busy moment on a shared machine hits all alike;
    the table shows medians, the ratio to the reference, and the largest process's peak memory."""
    import pickle

    cpdgen = [sys.executable, "-m", "cpdgen"]
    cache, site = work / "peer-cache", root / "site"
    env = {"CPDGEN_CACHE_DIR": str(cache)}

    def cold() -> None:
        shutil.rmtree(site, ignore_errors=True)
        shutil.rmtree(cache, ignore_errors=True)

    example = work / "example"
    shutil.copytree(REPO / "content", example / "content")
    shutil.copytree(REPO / "templates", example / "templates")
    example_cache = work / "example-cache"

    def example_cold() -> None:
        shutil.rmtree(example / "site", ignore_errors=True)
        shutil.rmtree(example_cache, ignore_errors=True)

    steps: list[tuple[Row, Callable[[], Run]]] = []
    yaml_row = Row("bare PyYAML (libyaml) parse of the front matters")
    steps.append((yaml_row, lambda: measure([sys.executable, "-c", _YAML_PARSE], root)))
    check = cpdgen + ["check", "--as-of", AS_OF]
    row = Row("cpdgen check, cold", yaml_row.name, 2.5)
    steps.append((row, lambda: (cold(), measure(check, root, env, (0, 1)))[1]))
    row = Row("cpdgen check, warm", yaml_row.name, 2.5)
    steps.append((row, lambda: measure(check, root, env, (0, 1))))

    build = cpdgen + ["build", "--as-of", AS_OF, "--no-pdf", "-q"]
    reference = None
    if shutil.which("hugo"):
        hugo = work / "hugo"
        (hugo / "layouts" / "_default").mkdir(parents=True)
        (hugo / "config.toml").write_text(HUGO_CONFIG.format(content=root / "content" / "activities"))
        (hugo / "layouts" / "_default" / "single.html").write_text(HUGO_SINGLE)
        (hugo / "layouts" / "_default" / "list.html").write_text(HUGO_LIST)
        (hugo / "layouts" / "index.html").write_text(HUGO_LIST)
        hugo_out, hugo_cache = work / "hugo-out", work / "hugo-cache"

        def hugo_cold() -> Run:
            shutil.rmtree(hugo_out, ignore_errors=True)
            shutil.rmtree(hugo_cache, ignore_errors=True)
            return measure(["hugo", "--quiet", "-d", str(hugo_out), "--cacheDir", str(hugo_cache)], hugo)

        reference = Row("Hugo, cold, on the same Markdown files")
        steps.append((reference, hugo_cold))
    mkdocs = work / "mkdocs"
    mkdocs.mkdir()
    (mkdocs / "mkdocs.yml").write_text(MKDOCS_CONFIG.format(content=root / "content" / "activities"))
    mkdocs_out = work / "mkdocs-out"
    mkdocs_row = Row("MkDocs, cold, on the same Markdown files")
    mkdocs_build = [sys.executable, "-m", "mkdocs", "build", "-q", "-d", str(mkdocs_out)]
    steps.append(
        (mkdocs_row, lambda: (shutil.rmtree(mkdocs_out, ignore_errors=True), measure(mkdocs_build, mkdocs))[1])
    )
    reference = reference or mkdocs_row
    markdown_row = Row("Python-Markdown alone on the same files, one core", reference.name)
    steps.append((markdown_row, lambda: measure([sys.executable, "-c", _MARKDOWN_ONLY], root)))
    row = Row("cpdgen build --no-pdf, cold (no site, no cache)", reference.name, 1.0)
    steps.append((row, lambda: (cold(), measure(build, root, env))[1]))
    row = Row("cpdgen build --no-pdf, warm (site removed)", reference.name)
    steps.append((row, lambda: (shutil.rmtree(site, ignore_errors=True), measure(build, root, env))[1]))
    row = Row("cpdgen build --no-pdf, nothing changed", reference.name)
    steps.append((row, lambda: measure(build, root, env)))

    alone = []
    for job in pdf_jobs(example, EXAMPLE_AS_OF):
        saved = work / f"job-{job.diploma_id}.pickle"
        saved.write_bytes(pickle.dumps(job))
        alone.append(Row(f"WeasyPrint alone, the example's {job.diploma_id}"))
        command = [sys.executable, str(Path(__file__).resolve()), "--weasyprint-alone", str(saved)]
        steps.append((alone[-1], lambda command=command: measure(command, example)))
    slowest = "the slower diploma alone"
    row = Row("example portfolio, cold build with its PDFs", slowest, 1.1)
    example_build = cpdgen + ["build", "--as-of", EXAMPLE_AS_OF, "-q"]
    steps.append(
        (row, lambda: (example_cold(), measure(example_build, example, {"CPDGEN_CACHE_DIR": str(example_cache)}))[1])
    )

    for n in range(runs):
        print(f"  round {n + 1} of {runs}", file=sys.stderr)
        for step_row, step in steps:
            step_row.runs.append(step())
    rows = [step_row for step_row, _ in steps]
    if alone:
        rows.append(Row(slowest, runs=max(alone, key=lambda r: r.median("wall")).runs))
    print_table(rows, runs)
    return rows


def print_table(rows: list[Row], runs: int) -> None:
    by_name = {row.name: row for row in rows}
    print(f"\nMedians of {runs} interleaved runs; ratio = median wall clock / the reference's (CPU time in brackets).")
    print("| measure | wall s | CPU s | peak MB | reference | ratio | goal |")
    print("|---|---|---|---|---|---|---|")
    for row in rows:
        ratio = goal = ""
        if row.reference is not None:
            ref = by_name[row.reference]
            ratio = f"{row.median('wall') / ref.median('wall'):.2f}× ({row.median('cpu') / ref.median('cpu'):.2f}×)"
            if row.goal is not None:
                met = "met" if row.median("wall") <= row.goal * ref.median("wall") else "NOT met"
                goal = f"≤ {row.goal:g}× ({met})"
        peak = max(run.rss_kb for run in row.runs) / 1024
        print(
            f"| {row.name} | {row.median('wall'):.2f} | {row.median('cpu'):.2f} | {peak:.0f} "
            f"| {row.reference or ''} | {ratio} | {goal} |"
        )


if __name__ == "__main__":
    main()
