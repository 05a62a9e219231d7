"""WeasyPrint under limits: a :class:`PdfJob` laid out into PDF bytes, and the cache of what it made.

A PDF is laid out in a forked child process (Linux) with a wall-clock limit and a memory
limit, because some inputs (an SVG of nested ``<use>``) take WeasyPrint minutes and
gigabytes; elsewhere it runs in-process under an alarm when on the main thread. WeasyPrint
is imported only here, and only when a PDF is actually laid out. The cache keeps one PDF per
diploma and variant, under a key that covers everything the PDF depends on.

The same job gives byte-identical bytes: no clock time anywhere (attachment dates are the
activity's, and the fonts WeasyPrint embeds get a fixed "modified" date).
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import os
import re
import signal
import sys
import traceback
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING

from cpdgen import __version__, alarm
from cpdgen.cache import BlobStore
from cpdgen.doctor import INSTALL, SYSTEM_NAMES
from cpdgen.problems import CpdgenError, Problem, ProblemsFound, RenderFailed

if TYPE_CHECKING:
    from multiprocessing.connection import Connection
    from multiprocessing.process import BaseProcess

    from cpdgen.pdf.fetcher import RestrictedFetcher

CACHE_FORMAT = 1
MEMORY_LIMIT = 4 * 1024**3  # bytes of address space for the rendering process (Linux); 200 activities use ~0.5 GB
LAYOUT_MEMORY = 1024**3  # memory set aside per PDF laid out at once: a 1,000-activity diploma uses under 1 GB
PDF_OPTIONS = {"pdf_variant": "pdf/ua-1", "pdf_identifier": True}  # tagged; /ID from the content, not random
FONT_EPOCH = "0"  # the "modified" date fontTools writes into each embedded font (it reads SOURCE_DATE_EPOCH)
_Rendered = tuple[bytes, list[tuple[str, str, str]], list[str]]  # PDF bytes, fetcher refusals, logged errors


@dataclass(frozen=True)
class Attachment:
    """An evidence file to embed in the PDF."""

    name: str
    description: str
    data: bytes
    when: datetime  # the activity's date: attachment dates must not come from the clock


@dataclass
class PdfJob:
    """Everything one PDF depends on, ready to lay out; ``key`` identifies it in the cache."""

    diploma_id: str
    public: bool
    html: str
    css: str
    css_base_url: str
    base_url: str
    roots: dict[str, Path]  # the folders the PDF may read, by their name in virtual URLs
    attachments: tuple[Attachment, ...]
    timeout: float
    only: frozenset[str] | None = None  # a public PDF: the only files of content/ it may read
    problems: list[Problem] = field(default_factory=list)
    sources: dict[str, tuple[str, int | None]] = field(default_factory=dict)  # file URL -> where it was named
    theme_path: str = "templates/pdf"
    root: Path = Path(".")
    key: str = ""

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "error"]

    @property
    def cache_name(self) -> str:
        """The name of this diploma and variant in the PDF cache (the key is added to it)."""
        variant = "public" if self.public else "complete"
        return f"{variant}-{hashlib.sha256(self.diploma_id.encode('utf-8')).hexdigest()[:12]}"

    def _where(self, url: str) -> tuple[str, int | None]:
        return self.sources.get(url, (self.theme_path, None))

    def refusal(self, url: str, code: str, message: str) -> Problem:
        path, line = self._where(url)
        return Problem(path, line, "error", code, f"not in the PDF: {_shorten(message, self.root)}")

    def logged(self, message: str) -> Problem:
        path, line = next(((p, n) for url, (p, n) in self.sources.items() if url in message), (self.theme_path, None))
        return Problem(path, line, "error", "pdf-render", f"WeasyPrint: {_shorten(message, self.root)}")


def _shorten(message: str, root: Path) -> str:
    """Messages name files relative to the portfolio, never by the machine's absolute path."""
    from cpdgen.pdf.resources import VIRTUAL

    for prefix in ("file://" + VIRTUAL, root.resolve().as_uri() + "/", str(root.resolve()) + os.sep):
        message = message.replace(prefix, "")
    return message


def pdf_bytes(job: PdfJob, store: BlobStore | None = None) -> bytes:
    """The job's PDF: from ``store`` when nothing changed, else laid out now (and kept in ``store``).

    Raises ProblemsFound while the job has errors, or when WeasyPrint could not read a file.
    """
    return pdf_bytes_of([job], store)[0]


def pdf_bytes_of(jobs: list[PdfJob], store: BlobStore | None = None) -> list[bytes]:
    """Several jobs' PDFs, in order: those not in ``store`` laid out side by side, at most
    ``parallel_limit()`` at once; each gives the same bytes as when laid out alone.

    Raises ProblemsFound with every job's problems together, after all of them ran.
    """
    return start_pdfs(jobs, store).result()


def start_pdfs(jobs: list[PdfJob], store: BlobStore | None = None, workshop: Workshop | None = None) -> PendingPdfs:
    """Start making the jobs' PDFs (see :func:`pdf_bytes_of`); ``result()`` gives them.

    With a ``workshop`` (:meth:`Workshop.start`), the PDFs not in ``store`` are laid out there
    while the caller goes on; without one, they are laid out before this returns. Raises
    ProblemsFound at once while a job has errors.
    """
    errors = [p for job in jobs for p in job.errors]
    if errors:
        raise ProblemsFound(errors)
    results: list[bytes | None] = [store.get(job.cache_name, job.key) if store is not None else None for job in jobs]
    todo = [n for n, hit in enumerate(results) if hit is None]
    pending = PendingPdfs(jobs, results, todo, store)
    if todo and workshop is not None:
        workshop.submit([jobs[n] for n in todo])
        pending.workshop = workshop
    elif len(todo) == 1:  # one job: render_bounded, which tests may replace
        pending.rendered = [render_bounded(jobs[todo[0]])]
    else:
        pending.rendered = render_all_bounded([jobs[n] for n in todo])
    return pending


@dataclass
class PendingPdfs:
    """PDFs being made (:func:`start_pdfs`): those from the cache, and those being laid out."""

    jobs: list[PdfJob]
    results: list[bytes | None]
    todo: list[int]  # the jobs being laid out, by index
    store: BlobStore | None
    rendered: list[_Rendered] | None = None  # laid out already, or None while the workshop works
    workshop: Workshop | None = None

    def result(self) -> list[bytes]:
        """Every job's PDF, in order, once all are made. Raises ProblemsFound with every job's problems."""
        rendered = self.rendered if self.workshop is None else self.workshop.result()
        problems = []
        for n, (pdf, refused, logged) in zip(self.todo, rendered or [], strict=True):
            job = self.jobs[n]
            found = [job.refusal(*item) for item in refused]
            # WeasyPrint also logs each refusal ("Failed to load image at ..."): say it once.
            found += [job.logged(m) for m in logged if not any(url in m for url, _, _ in refused)]
            problems += found
            if not found:
                self.results[n] = pdf
                if self.store is not None:
                    self.store.put(job.cache_name, job.key, pdf)
        if problems:
            raise ProblemsFound(problems)
        return [pdf for pdf in self.results if pdf is not None]


def parallel_limit(jobs: int) -> int:
    """How many PDFs to lay out at once: one per core, no more than memory holds, at least one."""
    try:
        cores = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # pragma: no cover - not Linux
        cores = os.cpu_count() or 1
    limit = min(cores, jobs)
    try:
        with open("/proc/meminfo", encoding="ascii") as meminfo:
            for line in meminfo:
                if line.startswith("MemAvailable:"):
                    available = int(line.split()[1]) * 1024
                    limit = min(limit, available // LAYOUT_MEMORY)
                    break
    except (OSError, ValueError):
        pass
    return max(1, limit)


def cached(job: PdfJob, store: BlobStore | None) -> bool:
    """Whether the job's PDF is in ``store`` (so laying it out takes no time)."""
    return store is not None and store.get(job.cache_name, job.key) is not None


# --- the cache key -----------------------------------------------------------------------------


def cache_key(job: PdfJob, files: dict[str, bytes]) -> str:
    from importlib import metadata  # here: it takes longer to import than the rest of this module

    try:
        weasyprint_version = metadata.version("weasyprint")
    except metadata.PackageNotFoundError:  # pragma: no cover - weasyprint is a dependency
        weasyprint_version = "?"
    digest = hashlib.sha256()
    header = {
        "format": CACHE_FORMAT,
        "cpdgen": __version__,
        "weasyprint": weasyprint_version,
        "options": PDF_OPTIONS,
        "public": job.public,
        "css_base_url": job.css_base_url,
        "base_url": job.base_url,
    }
    for part in (json.dumps(header, sort_keys=True), job.html, job.css):
        digest.update(part.encode("utf-8"))
        digest.update(b"\0")
    for url in sorted(files):
        digest.update(url.encode("utf-8") + b"\0" + hashlib.sha256(files[url]).digest())
    for item in job.attachments:
        digest.update(f"{item.name}\0{item.description}\0{item.when.isoformat()}\0".encode())
        digest.update(hashlib.sha256(item.data).digest())
    return digest.hexdigest()


# --- rendering, bounded -----------------------------------------------------------------------


class _Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__(level=logging.ERROR)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


@contextmanager
def _fixed_font_dates() -> Iterator[None]:
    """fontTools stamps each font it subsets with the clock, unless SOURCE_DATE_EPOCH says otherwise."""
    previous = os.environ.get("SOURCE_DATE_EPOCH")
    os.environ["SOURCE_DATE_EPOCH"] = FONT_EPOCH
    try:
        yield
    finally:
        if previous is None:
            del os.environ["SOURCE_DATE_EPOCH"]
        else:
            os.environ["SOURCE_DATE_EPOCH"] = previous


def missing_library_message(error: OSError) -> str:
    """What to tell a member whose computer lacks the libraries WeasyPrint loads."""
    named = re.search(r"cannot load library '([^']+)'", str(error))
    missing = f"the library {named.group(1)}" if named else f"a library it needs ({str(error).split('.')[0]})"
    lines = [
        f"the PDF cannot be made: WeasyPrint, which lays it out, could not load {missing}. "
        "It needs the Pango text library from your operating system.",
        "  Everything else still works: 'cpdgen build --no-pdf' builds the site and the CSVs, "
        "and 'cpdgen export csv' writes your complete record as CSV.",
        "  To make PDFs, install Pango, then run the command again:",
    ]
    lines += [f"    {SYSTEM_NAMES[system]}: {how}" for system, how in INSTALL["pango"].items()]
    lines.append("  'cpdgen doctor' checks everything the PDF needs on this computer, and says what to install.")
    return "\n".join(lines)


def import_weasyprint() -> ModuleType:
    """WeasyPrint, or a CpdgenError saying what is missing and how to install it (the Pango library)."""
    try:
        import weasyprint
    except OSError as exc:  # cffi could not load Pango or one of the libraries it needs
        raise CpdgenError(missing_library_message(exc)) from None
    return weasyprint


def lay_out(job: PdfJob) -> tuple[bytes, list[tuple[str, str, str]], list[str]]:
    """Lay out the job with WeasyPrint in this process: (PDF bytes, fetcher refusals, logged errors)."""
    weasyprint = import_weasyprint()

    from cpdgen.pdf.fetcher import RestrictedFetcher

    fetcher = RestrictedFetcher(job.roots, only=job.only)
    collect = _Collect()
    logger = logging.getLogger("weasyprint")
    logger.addHandler(collect)
    try:
        with _fixed_font_dates():
            pdf = _write_pdf(weasyprint, job, fetcher)
    finally:
        logger.removeHandler(collect)
    return pdf, fetcher.refused, collect.messages


def _write_pdf(weasyprint: ModuleType, job: PdfJob, fetcher: RestrictedFetcher) -> bytes:
    document = weasyprint.HTML(string=job.html, base_url=job.base_url, url_fetcher=fetcher)
    stylesheet = weasyprint.CSS(string=job.css, base_url=job.css_base_url, url_fetcher=fetcher)
    attachments = [
        weasyprint.Attachment(
            file_obj=io.BytesIO(item.data),
            name=item.name,
            description=item.description,
            created=item.when,
            modified=item.when,
            url_fetcher=fetcher,
        )
        for item in job.attachments
    ]
    return document.write_pdf(stylesheets=[stylesheet], attachments=attachments, **PDF_OPTIONS)


def _child(connection: Connection, job: PdfJob) -> None:  # pragma: no cover - runs in the forked process
    try:
        try:
            import resource

            resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))
        except (ImportError, ValueError, OSError):
            pass
        connection.send(("ok", lay_out(job)))
    except MemoryError:
        connection.send(("memory", None))
    except BaseException:
        connection.send(("bug", traceback.format_exc()))
    finally:
        connection.close()
        os._exit(0)


def render_bounded(job: PdfJob) -> tuple[bytes, list[tuple[str, str, str]], list[str]]:
    """Render under a wall-clock limit: a forked child on Linux, an alarm on other main threads."""
    return render_all_bounded([job])[0]


def render_all_bounded(jobs: list[PdfJob]) -> list[_Rendered]:
    """Render each job under its wall-clock limit: forked children side by side on Linux, else one
    after the other (under an alarm on the main thread)."""
    if sys.platform.startswith("linux"):
        return _render_forked(jobs)
    return [_render_with_alarm(job) if alarm.available() else lay_out(job) for job in jobs]  # pragma: no cover


def _too_slow(job: PdfJob) -> RenderFailed:
    return RenderFailed(
        f"the PDF of {job.diploma_id} took more than {job.timeout:.0f} s and was stopped; "
        "an image (often an SVG) is probably too complex"
    )


@dataclass
class _Running:
    job: PdfJob
    process: BaseProcess
    receive: Connection
    deadline: float


class _BuildGone(Exception):
    """The build that handed a workshop its jobs is gone: nobody will take the PDFs."""


def _render_forked(jobs: list[PdfJob], build: Connection | None = None) -> list[_Rendered]:
    """The jobs laid out in forked children; ``build``, in the workshop, is its connection to the
    build, which only ever becomes readable again when the build is gone (then _BuildGone)."""
    import multiprocessing
    import time
    from multiprocessing.connection import wait

    if not jobs:
        return []
    import_weasyprint()  # imported once here, so each child starts with it loaded

    context = multiprocessing.get_context("fork")
    limit = parallel_limit(len(jobs))
    results: dict[int, _Rendered] = {}
    running: dict[int, _Running] = {}
    started = 0
    try:
        while len(results) < len(jobs):
            while started < len(jobs) and len(running) < limit:
                job = jobs[started]
                receive, send = context.Pipe(duplex=False)
                process = context.Process(target=_child, args=(send, job), daemon=True)
                process.start()
                send.close()
                running[started] = _Running(job, process, receive, time.monotonic() + job.timeout)
                started += 1
            soonest = min(r.deadline for r in running.values())
            watched = [r.receive for r in running.values()] + ([build] if build is not None else [])
            ready = wait(watched, max(0.0, soonest - time.monotonic()))
            if build is not None and build in ready:
                raise _BuildGone
            for n, item in list(running.items()):
                if item.receive in ready:
                    del running[n]
                    results[n] = _received(item)
                elif time.monotonic() >= item.deadline:
                    raise _too_slow(item.job)
    finally:
        for item in running.values():
            _stop(item)
    return [results[n] for n in range(len(jobs))]


def _stop(item: _Running) -> None:
    if item.process.is_alive():
        item.process.kill()
    item.process.join()
    item.receive.close()


def _received(item: _Running) -> _Rendered:
    job = item.job
    try:
        try:
            status, payload = item.receive.recv()
        except EOFError:
            item.process.join(5)
            raise RenderFailed(
                f"the PDF of {job.diploma_id} could not be made: the renderer stopped "
                f"(exit code {item.process.exitcode}). A computer without fonts does that: 'cpdgen doctor' checks "
                "what the PDF needs"
            ) from None
    finally:
        _stop(item)
    if status == "memory":
        raise RenderFailed(
            f"the PDF of {job.diploma_id} needed more than {MEMORY_LIMIT // 1024**3} GB of memory; "
            "an image is probably too large"
        )
    if status == "bug":
        raise RuntimeError(f"WeasyPrint failed while rendering {job.diploma_id}:\n{payload}")
    return payload


# --- laying out while the build goes on --------------------------------------------------------


class Workshop:
    """A process forked as a build starts, which imports WeasyPrint (half a second) while the
    build reads the portfolio, then lays out the PDFs the build hands it, each in a child of its
    own forked from it under the usual limits (:func:`render_all_bounded`), while the build
    renders the pages. A workshop serves one batch of jobs; :meth:`close` ends it, used or not.
    """

    def __init__(self, process: BaseProcess, connection: Connection):
        self._process = process
        self._connection = connection
        self._jobs: list[PdfJob] | None = None
        self._closed = False

    @classmethod
    def start(cls) -> Workshop | None:
        """A workshop, or None where it would not help or is not safe: not Linux, a single core,
        or another thread running (forking a threaded process is unsafe)."""
        import multiprocessing
        import threading

        if not sys.platform.startswith("linux") or parallel_limit(2) < 2 or threading.active_count() > 1:
            return None
        context = multiprocessing.get_context("fork")
        mine, theirs = context.Pipe()
        process = context.Process(target=_workshop, args=(theirs, mine))  # not a daemon: it forks children
        process.start()
        theirs.close()
        if process.pid is not None:
            with suppress(OSError):  # as the workshop does itself: whichever runs first
                os.setpgid(process.pid, process.pid)
        return cls(process, mine)

    def submit(self, jobs: list[PdfJob]) -> None:
        """Start laying out ``jobs`` (once)."""
        if self._jobs is not None:
            raise ValueError("a workshop lays out one batch of PDFs")
        self._jobs = jobs
        with suppress(OSError):  # the workshop is gone: result() says so
            self._connection.send(jobs)

    def result(self) -> list[_Rendered]:
        """What :func:`render_all_bounded` would give for the jobs submitted; raises what it would raise."""
        jobs = self._jobs or []
        # Each job has its own limit in the workshop; this one only guards against the workshop itself hanging.
        rounds = -(-len(jobs) // parallel_limit(len(jobs) or 1))
        limit = rounds * max((job.timeout for job in jobs), default=0) + 120
        try:
            if not self._connection.poll(limit):
                raise RenderFailed(f"the PDFs could not be made: the renderer gave no answer in {limit:.0f} s")
            status, payload = self._connection.recv()
        except EOFError:
            self._process.join(5)
            raise RenderFailed(
                f"the PDFs could not be made: the renderer stopped (exit code {self._process.exitcode}). "
                "A computer without fonts does that: 'cpdgen doctor' checks what the PDF needs"
            ) from None
        finally:
            self.close()
        if status == "ok":
            return payload
        kind, message, outcome = payload
        if kind == "bug":
            raise RuntimeError(message)
        raise (RenderFailed if kind == "render" else CpdgenError)(message, outcome)

    def close(self) -> None:
        """End the workshop and the children it forked, whatever they are doing: unused, it
        holds nothing of value (a build with nothing to lay out need not wait for its import).
        Once only: after the join its process id, which names the group, may be another's."""
        if self._closed:
            return
        self._closed = True
        if self._process.pid is not None:
            with suppress(OSError):  # gone already (unreaped until the join below, so still its id)
                os.killpg(self._process.pid, signal.SIGKILL)
        self._process.kill()
        self._connection.close()
        self._process.join()


@contextmanager
def pdf_workshop(wanted: bool = True) -> Iterator[Workshop | None]:
    """A :class:`Workshop` for the PDFs of one build, ended when the build ends (None when not
    ``wanted``, or where one would not help)."""
    workshop = Workshop.start() if wanted else None
    try:
        yield workshop
    finally:
        if workshop is not None:
            workshop.close()


def _workshop(connection: Connection, builds_end: Connection) -> None:  # pragma: no cover - forked process
    """The workshop's life: import WeasyPrint, wait for the jobs, lay them out, send what came of it."""
    import threading

    # The fork copied the build's end of the pipe too: while this process held it, a build that
    # was killed (or hung up on) never looked closed, and the workshop waited for ever, for jobs
    # or to hand over its PDFs, holding the build's output open.
    builds_end.close()
    os.setpgid(0, 0)  # a group of its own, with the children it forks: close() ends them together
    received: list[list[PdfJob] | None] = []

    def receive() -> None:
        try:
            received.append(connection.recv())
        except (EOFError, OSError):
            received.append(None)  # the build ended (or stopped) before handing anything over

    # The jobs are read while WeasyPrint is imported, so the build never waits to hand them over;
    # the reader is done before any child is forked.
    reader = threading.Thread(target=receive)
    reader.start()
    try:
        try:
            import_weasyprint()
            failed: CpdgenError | None = None
        except CpdgenError as exc:
            failed = exc
        reader.join()
        jobs = received[0]
        if jobs is None:
            return
        try:
            if failed is not None:
                raise failed
            connection.send(("ok", _render_forked(jobs, connection)))
        except _BuildGone:
            pass  # killed without a word (a closed terminal, a CI time limit): its children are stopped
        except CpdgenError as exc:
            kind = "render" if isinstance(exc, RenderFailed) else "cpdgen"
            connection.send(("error", (kind, exc.message, exc.outcome)))
        except RuntimeError as exc:  # WeasyPrint failed in a child (_received): its own message says so
            connection.send(("error", ("bug", str(exc), None)))
        except Exception:  # noqa: BLE001 - a bug: the build reports it as one
            connection.send(("error", ("bug", traceback.format_exc(), None)))
    except OSError:
        pass  # the build ended (or stopped) before taking the PDFs
    finally:
        connection.close()
        os._exit(0)


class _Alarm(BaseException):
    """Raised by the alarm: a BaseException, so WeasyPrint's ``except Exception`` cannot swallow it."""


def _render_with_alarm(job: PdfJob) -> _Rendered:  # pragma: no cover - used where fork is not
    try:
        with alarm.time_limit(job.timeout, _Alarm):
            return lay_out(job)
    except _Alarm:
        raise _too_slow(job) from None
