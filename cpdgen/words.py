"""How cpdgen writes counts, dates and names for people, the same way in every output.

Month names come from this module, not from ``strftime``, so output never depends on the
machine's language settings.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from datetime import date

MONTHS = ("January February March April May June July August September October November December").split()
SHORT_MONTHS = [month[:3] for month in MONTHS]


def plural(n: int, one: str, many: str | None = None) -> str:
    """``1 activity``, ``3 activities`` (``many`` defaults to ``one`` + "s")."""
    return f"{n} {one if n == 1 else (many or one + 's')}"


def long_date(day: date | None) -> str:
    """``16 June 2025`` (empty for no date)."""
    return f"{day.day} {MONTHS[day.month - 1]} {day.year}" if day else ""


def short_date(day: date | None) -> str:
    """``16 Jun 2025``, for tables (empty for no date)."""
    return f"{day.day} {SHORT_MONTHS[day.month - 1]} {day.year}" if day else ""


def month_name(day: date) -> str:
    """``June``."""
    return MONTHS[day.month - 1]


def date_range(start: date | None, end: date, *, dash: str = "–", spaced: str = " – ") -> str:
    """``18–21 March 2024``, ``30 March – 2 April 2024``, or one day; the PDF says ``18 to 21 March 2024``
    (``dash`` joins days of one month, ``spaced`` anything longer)."""
    if start is None or start == end:
        return long_date(end)
    if (start.year, start.month) == (end.year, end.month):
        return f"{start.day}{dash}{long_date(end)}"
    if start.year == end.year:
        return f"{start.day} {month_name(start)}{spaced}{long_date(end)}"
    return f"{long_date(start)}{spaced}{long_date(end)}"


def diploma_name(diploma_id: str) -> str:
    """``Diploma 2`` for ``diploma-2``; a diploma named otherwise keeps its name (``Diploma`` put first)."""
    numbered = re.fullmatch(r"(?:diploma[-_ ]*)?(\d+)", diploma_id, re.IGNORECASE)
    if numbered:
        return f"Diploma {numbered.group(1)}"
    return diploma_id if diploma_id.casefold().startswith("diploma") else f"Diploma {diploma_id}"


MAX_SLUG = 100


def slugify(text: str, fallback: str = "activity") -> str:
    """Lower-case ASCII letters, digits and hyphens: safe as one segment of a URL or a file name.

    A long text is cut, and a short hash of the whole text keeps two long texts apart, so a
    slug is never too long to be a file name.
    """
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-") or fallback
    if len(slug) > MAX_SLUG:
        digest = hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:8]
        slug = slug[: MAX_SLUG - 9].rstrip("-") + "-" + digest
    return slug
