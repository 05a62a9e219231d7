"""The dates people write: YYYY-MM-DD, and the other ways a day is written.

Files and options take YYYY-MM-DD only. Any other way of writing a day (``21/05/2025``,
``21 May 2025``, Excel's ``21-May-25``) is read here, so that a message can offer the same
day as YYYY-MM-DD and so that ``cpdgen import`` can read what a spreadsheet wrote. A
suggestion is always a real date: ``31/02/2025`` is said not to be one, never "write
2025-02-31". Numbers are read day first, as in the UK.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import date
from typing import Literal

from cpdgen.rules import MAX_YEAR, MIN_YEAR
from cpdgen.words import MONTHS

EXAMPLE = "2024-03-21"
_ISO = re.compile(r"(\d{4})-(\d{2})-(\d{2})")
# A time after the day, as spreadsheets and other tools add it: " 10:30", "T10:30:00Z", " 9:05 pm".
_TIME = r"(?:[ T]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?: ?[AaPp][Mm])?(?:Z|[+-]\d{2}:?\d{2})?)?"
_MONTH_NUMBERS = {name.lower(): n for n, month in enumerate(MONTHS, start=1) for name in (month, month[:3])}
_MONTH_NUMBERS["sept"] = 9
_MONTH = "|".join(sorted(_MONTH_NUMBERS, key=len, reverse=True))
_ORDINAL = r"(?:st|nd|rd|th)?"

Order = Literal["year-month-day", "day/month/year", "named"]


class DateError(ValueError):
    """Why a text is not a date, in words for a member."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def real_date(year: int, month: int, day: int) -> date:
    """The date, or a DateError saying why there is none ("February 2025 has 28 days")."""
    if not 1 <= month <= 12:
        raise DateError(f"there is no month {month}")
    if not MIN_YEAR <= year <= MAX_YEAR:
        raise DateError(f"the year {year} is out of range: give a date from {MIN_YEAR} to {MAX_YEAR}")
    last = calendar.monthrange(year, month)[1]
    if not 1 <= day <= last:
        raise DateError(f"{MONTHS[month - 1]} {year} has {last} days")
    return date(year, month, day)


@dataclass(frozen=True)
class Written:
    """A day written some other way than YYYY-MM-DD, read into its parts (not yet checked)."""

    year: int
    month: int
    day: int
    order: Order  # how the parts were written: numbers year first or day first, or the month named
    short_year: bool  # the year had two digits, read as 20YY

    def as_date(self) -> date:
        return real_date(self.year, self.month, self.day)


_FORMS: tuple[tuple[Order, re.Pattern[str]], ...] = (
    ("year-month-day", re.compile(rf"(?P<y>\d{{4}})[-/.](?P<m>\d{{1,2}})[-/.](?P<d>\d{{1,2}}){_TIME}")),
    ("day/month/year", re.compile(rf"(?P<d>\d{{1,2}})[-/.](?P<m>\d{{1,2}})[-/.](?P<y>\d{{4}}|\d{{2}}){_TIME}")),
    (
        "named",
        re.compile(
            rf"(?P<d>\d{{1,2}}){_ORDINAL}[ ./-]+(?P<m>{_MONTH})\.?,?[ ./-]+(?P<y>\d{{4}}|\d{{2}}){_TIME}",
            re.IGNORECASE | re.ASCII,  # ASCII: "ſep" or "Aprıl" folds to no month cpdgen knows
        ),
    ),
    (
        "named",
        re.compile(
            rf"(?P<m>{_MONTH})\.?[ /-]+(?P<d>\d{{1,2}}){_ORDINAL},?[ /-]+(?P<y>\d{{4}}|\d{{2}}){_TIME}",
            re.IGNORECASE | re.ASCII,
        ),
    ),
)


def read_written(text: str) -> Written | None:
    """The parts of a day written as 2025-05-21 10:30, 2025/5/21, 21/05/2025, 21.5.25, 21 May 2025,
    21st May 2025, 21-May-25 or May 21, 2025; None for anything else."""
    value = text.strip()
    for order, pattern in _FORMS:
        match = pattern.fullmatch(value)
        if match:
            month = match["m"]
            number = int(month) if month.isdigit() else _MONTH_NUMBERS.get(month.lower(), 0)
            if not number:
                continue
            year = match["y"]
            short = len(year) == 2
            return Written(2000 + int(year) if short else int(year), number, int(match["d"]), order, short)
    return None


def parse_iso(text: str) -> date:
    """A date written YYYY-MM-DD; anything else raises a DateError that offers the same day
    as YYYY-MM-DD when the text is a real day written another way."""
    value = text.strip()
    match = _ISO.fullmatch(value)
    if match is None:
        raise DateError(iso_hint(value))
    year, month, day = (int(part) for part in match.groups())
    if not MIN_YEAR <= year <= MAX_YEAR:
        raise DateError(f"'{value}' is out of range: give a date from {MIN_YEAR} to {MAX_YEAR}")
    try:
        return real_date(year, month, day)
    except DateError as exc:
        raise DateError(f"'{value}' is not a date: {exc.message}") from None


def iso_hint(text: str) -> str:
    """What to say of a date not written YYYY-MM-DD: the same day as YYYY-MM-DD, when there is one."""
    written = read_written(text)
    if written is None:
        return f"'{text}' is not a date; write it as YYYY-MM-DD, e.g. {EXAMPLE}"
    try:
        day = written.as_date()
    except DateError as exc:
        if written.order == "day/month/year" and written.month > 12:
            try:  # 05/13/2025 read month first, as in the US
                us = real_date(written.year, written.day, written.month)
            except DateError:
                pass
            else:
                return (
                    f"'{text}' is not a date read day first (there is no month {written.month}); write dates as "
                    f"YYYY-MM-DD: if it is month/day/year, write {us.isoformat()}"
                )
        return f"'{text}' is not a date: {exc.message}; write dates as YYYY-MM-DD"
    if written.order == "day/month/year" and written.day <= 12 and written.day != written.month:
        return f"write dates as YYYY-MM-DD: if '{text}' is day/month/year, write {day.isoformat()}"
    return f"write dates as YYYY-MM-DD: for '{text}' write {day.isoformat()}"
