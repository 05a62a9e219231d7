"""WeasyPrint under limits, and the cache of what it made.

A PDF is laid out in a forked child process (Linux) with a wall-clock limit and a memory
limit, because some inputs (an SVG of nested ``<use>``) take WeasyPrint minutes and
gigabytes; elsewhere it runs in-process under an alarm when on the main thread. WeasyPrint
is imported only here, and only when a PDF is actually rendered. The cache keeps one PDF per
diploma and variant, under a key that covers everything the PDF depends on.
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import os
import signal
import sys
import threading
import traceback
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING

from cpdgen import __version__
from cpdgen.problems import CpdgenError

if TYPE_CHECKING:
    from cpdgen.pdf import PdfJob

CACHE_FORMAT = 1
MEMORY_LIMIT = 4 * 1024**3  # bytes of address space for the rendering process (Linux); 200 activities use ~0.5 GB
PDF_OPTIONS = {"pdf_variant": "pdf/ua-1", "pdf_identifier": True}  # tagged; /ID from the content, not random


class RenderFailed(CpdgenError):
    """WeasyPrint did not finish: too slow, out of memory, or stopped."""

    def __init__(self, message: str):
        super().__init__(message, exit_code=1)


# --- the cache ------------------------------------------------------------------------------


def cache_key(job: PdfJob, files: dict[str, bytes]) -> str:
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


def _cache_stem(job: PdfJob) -> str:
    variant = "public" if job.public else "complete"
    return f"{variant}-{hashlib.sha256(job.diploma_id.encode('utf-8')).hexdigest()[:12]}"


def cache_path(cache_dir: Path, job: PdfJob) -> Path:
    return cache_dir / "pdf" / f"{_cache_stem(job)}-{job.key[:40]}.pdf"


def store(cache_dir: Path, job: PdfJob, pdf: bytes) -> None:
    """Keep one PDF per diploma and variant: the new one replaces the one it supersedes."""
    folder = cache_dir / "pdf"
    folder.mkdir(parents=True, exist_ok=True)
    ignore = cache_dir / ".gitignore"
    if not ignore.exists():
        ignore.write_text("# Created by cpdgen: this folder is a cache, never committed.\n*\n", encoding="utf-8")
    target = cache_path(cache_dir, job)
    temporary = target.with_name(target.name + ".tmp")
    with open(temporary, "wb") as handle:
        handle.write(pdf)
    os.replace(temporary, target)
    for old in folder.glob(f"{_cache_stem(job)}-*.pdf"):
        if old != target:
            old.unlink(missing_ok=True)


# --- rendering, bounded -----------------------------------------------------------------------


class _Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__(level=logging.ERROR)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


def render_html(job: PdfJob) -> tuple[bytes, list[tuple[str, str, str]], list[str]]:
    """Lay out the job with WeasyPrint in this process: (pdf, fetcher refusals, logged errors)."""
    import weasyprint

    from cpdgen.fetcher import RestrictedFetcher

    fetcher = RestrictedFetcher(job.roots)
    collect = _Collect()
    logger = logging.getLogger("weasyprint")
    logger.addHandler(collect)
    try:
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
        pdf = document.write_pdf(stylesheets=[stylesheet], attachments=attachments, **PDF_OPTIONS)
    finally:
        logger.removeHandler(collect)
    return pdf, fetcher.refused, collect.messages


def _child(connection, job: PdfJob) -> None:  # pragma: no cover - runs in the forked process
    try:
        try:
            import resource

            resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))
        except (ImportError, ValueError, OSError):
            pass
        connection.send(("ok", render_html(job)))
    except MemoryError:
        connection.send(("memory", None))
    except BaseException:
        connection.send(("bug", traceback.format_exc()))
    finally:
        connection.close()
        os._exit(0)


def render_bounded(job: PdfJob) -> tuple[bytes, list[tuple[str, str, str]], list[str]]:
    """Render under a wall-clock limit: a forked child on Linux, an alarm on other main threads."""
    if sys.platform.startswith("linux"):
        return _render_forked(job)
    if hasattr(signal, "setitimer") and threading.current_thread() is threading.main_thread():
        return _render_with_alarm(job)
    return render_html(job)  # pragma: no cover - no way to bound it here


def _too_slow(job: PdfJob) -> RenderFailed:
    return RenderFailed(
        f"the PDF of {job.diploma_id} took more than {job.timeout:.0f} s and was stopped; "
        "an image (often an SVG) is probably too complex"
    )


def _render_forked(job: PdfJob):
    import multiprocessing

    import weasyprint  # noqa: F401 - imported once here, so each child starts with it loaded

    context = multiprocessing.get_context("fork")
    receive, send = context.Pipe(duplex=False)
    process = context.Process(target=_child, args=(send, job), daemon=True)
    process.start()
    send.close()
    try:
        if not receive.poll(job.timeout):
            raise _too_slow(job)
        try:
            status, payload = receive.recv()
        except EOFError:
            process.join(5)
            raise RenderFailed(
                f"the PDF of {job.diploma_id} could not be made: the renderer stopped (exit code {process.exitcode})"
            ) from None
    finally:
        if process.is_alive():
            process.kill()
        process.join()
        receive.close()
    if status == "memory":
        raise RenderFailed(
            f"the PDF of {job.diploma_id} needed more than {MEMORY_LIMIT // 1024**3} GB of memory; "
            "an image is probably too large"
        )
    if status == "bug":
        raise RuntimeError(f"WeasyPrint failed while rendering {job.diploma_id}:\n{payload}")
    return payload


class _Alarm(BaseException):
    """Raised by the alarm: a BaseException, so WeasyPrint's ``except Exception`` cannot swallow it."""


def _render_with_alarm(job: PdfJob):  # pragma: no cover - used where fork is not
    def expire(signum, frame):
        raise _Alarm()

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, job.timeout)
    try:
        return render_html(job)
    except _Alarm:
        raise _too_slow(job) from None
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
