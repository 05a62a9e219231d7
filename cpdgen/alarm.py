"""Bounding how long one step may take: an alarm that interrupts it.

Some inputs make a library take minutes (Python-Markdown on unbalanced brackets, a
damaged PDF in pypdf, WeasyPrint on nested SVG). :func:`time_limit` stops such a step
with the error its caller chooses. The alarm is a POSIX signal, so it works on the main
thread of a POSIX system only; elsewhere the step runs unbounded, and the callers keep
their other limits (sizes, counts, a forked child for the PDF).
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager


def available() -> bool:
    """Whether an alarm can interrupt a step here (POSIX, on the main thread)."""
    return hasattr(signal, "setitimer") and threading.current_thread() is threading.main_thread()


@contextmanager
def time_limit(seconds: float, expired: Callable[[], BaseException]) -> Iterator[None]:
    """Raise ``expired()`` in the step if it runs longer than ``seconds`` (where an alarm is available)."""
    if not available():
        yield
        return

    def expire(signum: int, frame: object) -> None:
        raise expired()

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
