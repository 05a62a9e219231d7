"""Dates written other ways than YYYY-MM-DD: read, offered back as YYYY-MM-DD, never as a day that does not exist."""

from __future__ import annotations

import re
from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cpdgen.dates import EXAMPLE, DateError, iso_hint, parse_iso, read_written


@pytest.mark.parametrize(
    "text, message",
    [
        ("31/02/2025", "'31/02/2025' is not a date: February 2025 has 28 days; write dates as YYYY-MM-DD"),
        ("29/02/2024", "write dates as YYYY-MM-DD: for '29/02/2024' write 2024-02-29"),
        ("31 February 2025", "'31 February 2025' is not a date: February 2025 has 28 days; write dates as YYYY-MM-DD"),
        ("14/11/2026", "write dates as YYYY-MM-DD: for '14/11/2026' write 2026-11-14"),
        ("05/11/2026", "write dates as YYYY-MM-DD: if '05/11/2026' is day/month/year, write 2026-11-05"),
        ("1/2/25", "write dates as YYYY-MM-DD: if '1/2/25' is day/month/year, write 2025-02-01"),
        ("21.05.2025", "write dates as YYYY-MM-DD: for '21.05.2025' write 2025-05-21"),
        ("21 May 2025", "write dates as YYYY-MM-DD: for '21 May 2025' write 2025-05-21"),
        ("21st Sept 2025", "write dates as YYYY-MM-DD: for '21st Sept 2025' write 2025-09-21"),
        ("21-May-25", "write dates as YYYY-MM-DD: for '21-May-25' write 2025-05-21"),
        ("May 21, 2025", "write dates as YYYY-MM-DD: for 'May 21, 2025' write 2025-05-21"),
        ("2025/05/21", "write dates as YYYY-MM-DD: for '2025/05/21' write 2025-05-21"),
        ("2025-5-1", "write dates as YYYY-MM-DD: for '2025-5-1' write 2025-05-01"),
        ("2025-05-21 10:30", "write dates as YYYY-MM-DD: for '2025-05-21 10:30' write 2025-05-21"),
        (
            "05/13/2025",
            "'05/13/2025' is not a date read day first (there is no month 13); "
            "write dates as YYYY-MM-DD: if it is month/day/year, write 2025-05-13",
        ),
        ("13/13/2025", "'13/13/2025' is not a date: there is no month 13; write dates as YYYY-MM-DD"),
        ("yesterday", "'yesterday' is not a date; write it as YYYY-MM-DD, e.g. 2024-03-21"),
        ("21 Mayday 2025", "'21 Mayday 2025' is not a date; write it as YYYY-MM-DD, e.g. 2024-03-21"),
        ("2025-02-29", "'2025-02-29' is not a date: February 2025 has 28 days"),
        ("2024-13-01", "'2024-13-01' is not a date: there is no month 13"),
        ("0001-01-01", "'0001-01-01' is out of range: give a date from 1900 to 2999"),
    ],
)
def test_each_way_of_writing_a_day_gets_a_message_that_helps(text, message):
    with pytest.raises(DateError) as raised:
        parse_iso(text)
    assert raised.value.message == message


def test_only_yyyy_mm_dd_is_a_date():
    assert parse_iso("2024-02-29") == date(2024, 2, 29)
    assert parse_iso(" 2025-05-21 ") == date(2025, 5, 21)


@given(
    st.integers(0, 40),
    st.integers(0, 40),
    st.sampled_from(["25", "2025", "2024", "1999", "3000"]),
    st.sampled_from(["/", ".", "-", " "]),
    st.booleans(),
)
def test_a_suggested_date_is_always_a_real_one(first, second, year, separator, named):
    months = "Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec".split()
    middle = months[(second - 1) % 12] if named else str(second)
    text = separator.join([str(first), middle, year])
    hint = iso_hint(text)
    offered = re.findall(r"\d{4}-\d{2}-\d{2}", hint.replace(text, "").replace(EXAMPLE, ""))
    for suggestion in offered:
        assert parse_iso(suggestion).isoformat() == suggestion, (text, hint)


def test_two_digit_years_are_this_century():
    written = read_written("21-May-25")
    assert written is not None and written.short_year and written.as_date() == date(2025, 5, 21)


@given(st.text(alphabet="0123456789/.- ,:TtMayJunSeptstndrh", max_size=24))
def test_any_text_is_a_date_or_a_date_error(text):
    try:
        parse_iso(text)
    except DateError as exc:
        assert exc.message
