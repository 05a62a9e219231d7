"""Where the Pagefind program is: the one the ``pagefind-bin`` package (a dependency of cpdgen)
ships, which builds the site's search index (``site/search.py``) and which ``cpdgen doctor``
checks. A module of its own, so that ``doctor`` need not import the site.
"""

from __future__ import annotations

from pathlib import Path


def pagefind_executable() -> Path | None:
    """The Pagefind program the ``pagefind-bin`` package ships, or None when it is not installed."""
    try:
        from pagefind_bin import get_executable  # type: ignore[import-untyped,import-not-found,unused-ignore]
    except ImportError:
        return None
    try:
        return Path(get_executable())
    except (FileNotFoundError, OSError):
        return None
