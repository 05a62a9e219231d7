"""How cpdgen writes counts and dates for people, the same way in every output.

Month names come from this module, not from ``strftime``, so output never depends on the
machine's language settings.
"""

from __future__ import annotations

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
