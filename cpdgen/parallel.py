"""Work spread over forked processes, one per core, when there is enough of it to be worth it.

A first build or check of a large portfolio does the same work for every file: reading and
parsing it, reading its evidence documents, rendering its Markdown and its page. The
workers are forked, so each starts with everything the parent has (the parsed portfolio,
the compiled templates) and is handed only a number: the item to do. Forking is used only
where it is safe (no other thread runs) and available (not on Windows or macOS' default);
otherwise the caller does the work itself, so the result never depends on it.
"""

from __future__ import annotations

import gc
import multiprocessing
import multiprocessing.pool
import os
import signal
import threading
from collections.abc import Callable, Generator, Iterator
from typing import TypeVar, cast

T = TypeVar("T")

MIN_ITEMS = 200  # below this, starting worker processes costs more than it saves
MAX_WORKERS = 4

_TASK: Callable[[int], object] | None = None  # the work of the pool being started, read by its forked workers


def worker_count(items: int, min_items: int = MIN_ITEMS) -> int:
    """How many forked workers are worth starting for ``items`` pieces of work: 0 when there are
    too few, one core, no fork on this platform, or another thread runs (forking a threaded
    process is unsafe)."""
    workers = min(os.cpu_count() or 1, MAX_WORKERS)
    if (
        items < min_items
        or workers < 2
        or "fork" not in multiprocessing.get_all_start_methods()
        or threading.active_count() > 1
    ):
        return 0
    return workers


def _forked_pool(workers: int) -> multiprocessing.pool.Pool:
    """``workers`` processes forked from this one. What exists now is frozen for the garbage
    collector first: a collection in a worker would otherwise write to every object it
    inherited, copying the parent's whole memory page by page (a fifth of a first check's
    reading on 1,000 activities).

    The workers ignore Ctrl-C, which the terminal sends to every process of the group: only
    this process stops (and ends them). A worker stopped by it printed its traceback, and one
    stopped in the middle of the pool's bookkeeping left ``terminate()`` waiting for ever on
    the pool's lock. Ctrl-C is held back while they are forked, so none comes in between.
    """
    interrupt = {signal.SIGINT}
    held = hasattr(signal, "pthread_sigmask")
    gc.freeze()
    if held:
        signal.pthread_sigmask(signal.SIG_BLOCK, interrupt)  # the pool's own threads inherit this, too
    try:
        return multiprocessing.get_context("fork").Pool(workers, initializer=_ignore_interrupts)
    finally:
        if held:
            signal.pthread_sigmask(signal.SIG_UNBLOCK, interrupt)  # a Ctrl-C held back arrives here
        gc.unfreeze()  # in this process only: the workers keep theirs frozen


def _ignore_interrupts() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if hasattr(signal, "pthread_sigmask"):
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})


def _run(index: int) -> object:
    assert _TASK is not None  # inherited from the parent at the fork
    return _TASK(index)


def forked_map(task: Callable[[int], T], count: int, min_items: int = MIN_ITEMS) -> list[T] | None:
    """``[task(0), …, task(count - 1)]`` computed by forked workers; None when not worth it or not
    safe (see ``worker_count``), and the caller does the work itself. ``task`` runs in the
    workers as the parent defined it (a closure is fine); its results must pickle."""
    global _TASK
    workers = worker_count(count, min_items)
    if not workers:
        return None
    _TASK = task
    try:
        with _forked_pool(workers) as pool:
            return pool.map(_run, range(count), chunksize=max(1, count // (workers * 8)))  # type: ignore[arg-type]
    finally:
        _TASK = None


def forked_imap(task: Callable[[int], T], count: int, min_items: int = MIN_ITEMS) -> Generator[T] | None:
    """Like ``forked_map``, but the results come as they are made, in order, while the caller
    goes on: the workers are forked at once, so the caller may start threads after this
    returns. None when not worth it or not safe. Close the iterator to stop the workers."""
    global _TASK
    workers = worker_count(count, min_items)
    if not workers:
        return None
    _TASK = task
    try:
        pool = _forked_pool(workers)  # the workers are forked here
    finally:
        _TASK = None
    results = pool.imap(_run, range(count), chunksize=max(1, count // (workers * 16)))
    return _results(pool, cast(Iterator[T], results))


def _results(pool: multiprocessing.pool.Pool, results: Iterator[T]) -> Generator[T]:
    with pool:  # closing the generator (or its end) stops the workers
        yield from results
