"""The Science Council's and the HCPC's lenses at their boundaries, and properties that hold for any record."""

from __future__ import annotations

import json
from datetime import date, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import activity_text
from cpdgen.schemes import (
    Entry,
    Gap,
    Lenses,
    Period,
    add_months,
    assess_hcpc,
    assess_schemes,
    assess_science_council_year,
    cpd_gaps,
    declaration_year,
    no_cpd_from,
    renewal_window,
    twelve_month_periods,
)

CATS = ("work-based-learning", "formal-educational", "other", "professional-activity", "self-directed-learning")
D = date.fromisoformat
YEAR = declaration_year(2026)


def entry(name: str, day: str, category: str = "other", reflection: bool = True, standards=(), draft=False) -> Entry:
    return Entry(name, D(day), category, reflection, draft, frozenset(standards))


def year_of(*items: Entry, as_of: str = "2027-01-15"):
    return assess_science_council_year(items, YEAR, D(as_of))


def codes(result) -> list[str]:
    return [f.code for f in result.findings if f.severity != "note"]


class TestScienceCouncilYear:
    def test_three_categories_with_reflections_and_standards_3_and_4_are_met(self):
        result = year_of(
            entry("a", "2026-02-01", CATS[0], standards=[3]),
            entry("b", "2026-05-01", CATS[1], standards=[4]),
            entry("c", "2026-09-01", CATS[2]),
        )
        assert result.status == "met" and result.met and codes(result) == []
        assert result.categories == tuple(sorted(CATS[:3]))
        assert result.standard_3 == ("a",) and result.standard_4 == ("b",)
        assert result.declaration_due == D("2026-12-31") and result.complete

    def test_two_categories_are_met_only_exceptionally_with_a_warning(self):
        result = year_of(entry("a", "2026-02-01", CATS[0], standards=[3, 4]), entry("b", "2026-05-01", CATS[1]))
        assert result.status == "exceptionally" and result.met
        warning = next(f for f in result.findings if f.code == "sc-two-categories")
        assert warning.severity == "warning" and "exceptionally" in warning.message

    def test_one_category_is_not_met(self):
        result = year_of(entry("a", "2026-02-01", standards=[3, 4]), entry("b", "2026-05-01"))
        assert result.status == "not-met" and not result.met
        assert codes(result) == ["sc-categories"]

    def test_an_activity_without_a_reflection_is_not_met_and_named(self):
        result = year_of(
            entry("a", "2026-02-01", CATS[0], standards=[3, 4]),
            entry("b", "2026-05-01", CATS[1]),
            entry("c", "2026-09-01", CATS[2], reflection=False),
        )
        assert result.status == "not-met" and codes(result) == ["sc-no-reflection"]
        assert result.without_reflection == ("c",)
        assert "1 activity has no reflection" in result.findings[0].message

    def test_standards_3_and_4_must_each_be_shown(self):
        items = [
            entry("a", "2026-02-01", CATS[0]),
            entry("b", "2026-05-01", CATS[1]),
            entry("c", "2026-09-01", CATS[2]),
        ]
        assert codes(year_of(*items)) == ["sc-no-standard-3", "sc-no-standard-4"]
        shown_3 = [entry("a", "2026-02-01", CATS[0], standards=[2, 3]), *items[1:]]
        assert codes(year_of(*shown_3)) == ["sc-no-standard-4"]

    def test_no_minimum_count_is_a_note_saying_guidance(self):
        result = year_of(entry("a", "2026-02-01", CATS[0], standards=[3, 4]), entry("b", "2026-05-01", CATS[1]))
        note = next(f for f in result.findings if f.code == "sc-count")
        assert note.severity == "note" and "publishes no minimum number, so cpdgen sets none" in note.message

    def test_the_year_boundaries_are_1_january_and_31_december(self):
        items = [
            entry("before", "2025-12-31", CATS[3], standards=[3, 4]),
            entry("first", "2026-01-01", CATS[0], standards=[3]),
            entry("last", "2026-12-31", CATS[1], standards=[4]),
            entry("after", "2027-01-01", CATS[2]),
        ]
        result = year_of(*items)
        assert result.activities == ("first", "last")
        assert result.status == "exceptionally"

    def test_a_year_in_progress_is_judged_up_to_today(self):
        items = [entry("done", "2026-03-01", CATS[0], standards=[3, 4]), entry("planned", "2026-12-01", CATS[1])]
        result = year_of(*items, as_of="2026-06-30")
        assert result.evaluated_on == D("2026-06-30") and not result.complete
        assert result.activities == ("done",) and result.not_yet == ("planned",)
        assert result.status == "not-met"

    def test_drafts_never_count(self):
        result = year_of(entry("a", "2026-02-01", CATS[0], reflection=False, draft=True))
        assert result.activities == () and result.without_reflection == ()

    def test_a_period_other_than_a_calendar_year_has_no_declaration_date(self):
        result = assess_science_council_year([], Period(D("2025-07-01"), D("2026-06-30")), D("2026-07-01"))
        assert result.declaration_due is None and result.complete


class TestHcpc:
    def test_two_years_to_today_with_gaps_and_the_next_renewal_window(self):
        items = [
            entry("a", "2024-12-01", CATS[0], standards=[3]),
            entry("b", "2025-01-15", CATS[1], standards=[4]),
            entry("c", "2025-06-01", CATS[1]),
            entry("earliest", "2024-11-27", CATS[2]),
        ]
        result = assess_hcpc(items, D("2025-07-01"))
        assert result.period == Period(D("2023-07-01"), D("2025-07-01"))
        assert result.activities == ("earliest", "a", "b", "c")
        assert result.renewal == Period(D("2025-09-01"), D("2025-11-30"))
        assert result.gaps == (Gap(D("2023-07-01"), D("2024-11-26")), Gap(D("2025-01-16"), D("2025-05-31")))
        assert [g.months for g in result.gaps] == [16, 4]
        assert result.status == "met"
        assert {f.code for f in result.findings} == {"hcpc-gap", "hcpc-count"}

    def test_one_type_of_learning_is_not_met(self):
        result = assess_hcpc([entry("a", "2025-06-01", standards=[3, 4])], D("2025-07-01"))
        assert result.status == "not-met" and "hcpc-types" in codes(result)


class TestDates:
    @pytest.mark.parametrize(
        "day, months, expected",
        [("2026-01-31", 1, "2026-02-28"), ("2024-11-30", 3, "2025-02-28"), ("2026-03-31", -1, "2026-02-28")],
    )
    def test_add_months_clamps_to_the_month_end(self, day, months, expected):
        assert add_months(D(day), months) == D(expected)

    def test_renewal_windows_are_in_odd_years(self):
        assert renewal_window(D("2026-11-28")) == Period(D("2027-09-01"), D("2027-11-30"))
        assert renewal_window(D("2027-11-30")) == Period(D("2027-09-01"), D("2027-11-30"))
        assert renewal_window(D("2027-12-01")) == Period(D("2029-09-01"), D("2029-11-30"))

    def test_three_months_without_cpd_from_the_last_activity(self):
        assert no_cpd_from([D("2026-11-10"), D("2026-06-01")]) == D("2027-02-10")
        assert no_cpd_from([]) is None

    def test_exactly_three_months_is_a_gap_and_a_day_less_is_not(self):
        period = Period(D("2026-01-01"), D("2026-12-31"))
        around = [D("2026-01-01"), D("2026-12-31")]
        assert cpd_gaps([*around, D("2026-01-10"), D("2026-04-11"), D("2026-07-10")], period) == (
            Gap(D("2026-01-11"), D("2026-04-10")),
            Gap(D("2026-07-11"), D("2026-12-30")),
        )
        assert cpd_gaps([*around, D("2026-01-10"), D("2026-04-10"), D("2026-07-09"), D("2026-10-08")], period) == ()


class TestLenses:
    def test_without_registrations_only_the_diploma_is_judged(self):
        result = assess_schemes([entry("a", "2026-02-01")], Lenses(), D("2026-06-01"))
        assert result.hcpc is None and result.science_council is None and result.failed == []
        assert Lenses().judged == ["ibms"]

    def test_scheme_narrows_to_one(self):
        lenses = Lenses(hcpc=True).only("science-council")
        assert lenses.judged == ["science-council"] and lenses.listed
        result = assess_schemes([], lenses, D("2026-06-01"))
        assert result.failed == ["science-council"]
        assert [y.period for y in result.science_council.years] == [YEAR]


# --- properties ----------------------------------------------------------------------------

days = st.dates(date(2023, 1, 1), date(2028, 12, 31))
entry_strategy = st.builds(
    Entry,
    st.text("abcdef", min_size=1, max_size=4),
    days,
    st.sampled_from(CATS),
    st.booleans(),
    st.booleans(),
    st.frozensets(st.sampled_from([2, 3, 4]), max_size=3),
)
entry_lists = st.lists(entry_strategy, max_size=30, unique_by=lambda e: e.id)


@settings(max_examples=200, deadline=None)
@given(entry_lists, st.integers(2024, 2027), days)
def test_the_status_is_exactly_the_published_standards(items, year, as_of):
    result = assess_science_council_year(items, declaration_year(year), as_of)
    held = [e for e in items if not e.draft and e.date.year == year and e.date <= result.evaluated_on]
    categories = {e.category for e in held}
    fine = (
        all(e.has_reflection for e in held)
        and any(3 in e.standards for e in held)
        and any(4 in e.standards for e in held)
    )
    expected = "not-met" if not fine or len(categories) < 2 else ("met" if len(categories) >= 3 else "exceptionally")
    assert result.status == expected
    assert sorted(result.activities) == sorted(e.id for e in held)


@settings(max_examples=200, deadline=None)
@given(entry_lists, entry_lists, st.integers(2024, 2027), days)
def test_activities_outside_the_period_change_nothing(items, others, year, as_of):
    period = declaration_year(year)
    outside = [e for e in others if not period.holds(e.date) and e.id not in {i.id for i in items}]
    assert assess_science_council_year(items, period, as_of) == assess_science_council_year(
        items + outside, period, as_of
    )


@settings(max_examples=200, deadline=None)
@given(entry_lists, st.integers(2024, 2027), days, st.sampled_from(CATS), st.frozensets(st.sampled_from([3, 4])))
def test_adding_a_reflected_activity_never_lowers_the_status(items, year, as_of, category, standards):
    period = declaration_year(year)
    before = assess_science_council_year(items, period, as_of)
    day = max(period.start, min(as_of, period.end))
    extra = Entry("extra-activity", day, category, True, False, standards)
    after = assess_science_council_year([*items, extra], period, as_of)
    rank = {"not-met": 0, "exceptionally": 1, "met": 2}
    assert rank[after.status] >= rank[before.status]


@settings(max_examples=200, deadline=None)
@given(entry_lists, st.randoms(use_true_random=False), days)
def test_order_of_files_does_not_matter(items, rnd, as_of):
    shuffled = list(items)
    rnd.shuffle(shuffled)
    lenses = Lenses(hcpc=True, science_council=True)
    assert assess_schemes(items, lenses, as_of) == assess_schemes(shuffled, lenses, as_of)


@settings(max_examples=300, deadline=None)
@given(st.lists(days, max_size=20), days, st.integers(0, 800))
def test_gaps_are_exactly_the_stretches_of_three_months_without_cpd(dates, start, length):
    period = Period(start, start + timedelta(days=length))
    gaps = cpd_gaps(dates, period)
    inside = sorted({d for d in dates if period.holds(d)})
    for gap in gaps:
        assert period.start <= gap.first <= gap.last <= period.end
        assert not any(gap.first <= d <= gap.last for d in inside)
        assert gap.months >= 3
    # Every stretch between neighbouring activities (or the period's ends) not reported is shorter.
    bounds = [period.start - timedelta(days=1), *inside, period.end + timedelta(days=1)]
    reported = {(g.first, g.last) for g in gaps}
    for before, after in zip(bounds, bounds[1:], strict=False):
        stretch = (before + timedelta(days=1), after - timedelta(days=1))
        if stretch not in reported and stretch[0] <= stretch[1]:
            assert add_months(before + timedelta(days=1), 3) > after


@settings(max_examples=300, deadline=None)
@given(days, st.integers(1, 200))
def test_the_lens_the_profile_and_the_calendar_agree_on_what_a_gap_is(before, days_later):
    """The dashboard and check (cpd_gaps), the HCPC profile (hcpc.is_gap) and the calendar's
    reminder (no_cpd_from) must call the same stretch a gap of three months, at month ends too:
    from 29 November to 28 February, check said "no gap" while the profile asked for an explanation."""
    from cpdgen import hcpc

    after = before + timedelta(days=days_later)
    period = Period(before, after)
    first, last = before + timedelta(days=1), after - timedelta(days=1)
    gaps = cpd_gaps([before, after], period)
    profile_says = hcpc.is_gap(first, last)
    assert bool(gaps) == profile_says
    if gaps:
        assert gaps[0].months == hcpc.Gap(first, last, None, None).months
    reminder = no_cpd_from([before])
    assert reminder is not None
    assert hcpc.is_gap(first, reminder) and not hcpc.is_gap(first, reminder - timedelta(days=1))


def test_a_gap_at_the_end_of_november_is_the_same_for_check_and_the_profile():
    from cpdgen import hcpc

    gaps = cpd_gaps([date(2024, 11, 29), date(2025, 2, 28)], Period(date(2024, 11, 29), date(2025, 2, 28)))
    assert hcpc.is_gap(date(2024, 11, 30), date(2025, 2, 27))
    assert [(g.first, g.last, g.months) for g in gaps] == [(date(2024, 11, 30), date(2025, 2, 27), 3)]


@settings(max_examples=300, deadline=None)
@given(days, st.integers(-40, 40))
def test_add_months_moves_whole_months_and_never_overflows_the_month(day, months):
    moved = add_months(day, months)
    assert (moved.year * 12 + moved.month) - (day.year * 12 + day.month) == months
    assert moved.day == day.day or (moved.day < day.day and (moved + timedelta(days=1)).day == 1)


@settings(max_examples=200, deadline=None)
@given(days, st.integers(0, 2000))
def test_twelve_month_periods_cover_the_span_without_overlap(start, length):
    end = start + timedelta(days=length)
    periods = twelve_month_periods(start, end)
    assert periods[0].start == start and periods[-1].end == end
    for first, second in zip(periods, periods[1:], strict=False):
        assert second.start == first.end + timedelta(days=1)
    for period in periods:
        # twelve months at most: from 29 February, to 28 February of the next year
        assert period.end < add_months(period.start, 12) or (period.start.month, period.start.day) == (2, 29)
        assert period.end <= add_months(period.start, 12)


def test_twelve_month_periods_from_a_leap_day_end_on_28_february_and_lose_no_day():
    """From 29 February 2024 to 28 February 2026 is two periods of twelve months, not two of
    twelve months less a day and a third of a single day (which would fail the check, empty)."""
    spans = [(p.start, p.end) for p in twelve_month_periods(date(2024, 2, 29), date(2026, 2, 28))]
    assert spans == [(date(2024, 2, 29), date(2025, 2, 28)), (date(2025, 3, 1), date(2026, 2, 28))]
    spans = [(p.start, p.end) for p in twelve_month_periods(date(2024, 2, 29), date(2028, 2, 29))]
    assert spans[-1] == (date(2027, 3, 1), date(2028, 2, 29)) and len(spans) == 4


@settings(max_examples=300, deadline=None)
@given(days)
def test_the_renewal_window_is_the_next_one_in_an_odd_year(day):
    window = renewal_window(day)
    assert window.start.year % 2 == 1 and (window.start.month, window.start.day) == (9, 1)
    assert (window.end.month, window.end.day) == (11, 30) and window.end >= day
    assert window.start.year - day.year <= 2


# --- cpdgen check with registrations --------------------------------------------------------

SC_ONLY = {"member": {"name": "Alex Morgan"}, "registrations": {"ibms": False, "science-council": {"register": "RSci"}}}


def sc_year(portfolio, categories, *, reflection=True, standards=(3, 4)) -> None:
    """Three activities in 2026 across ``categories``; the first shows ``standards``."""
    for n, day in enumerate(("2026-02-10", "2026-05-10", "2026-09-10")):
        extra = {"standards": list(standards)} if n == 0 and standards else {}
        text = activity_text(date=day, category=categories[n % len(categories)], **extra)
        if n == 2 and not reflection:
            text = activity_text(date=day, category=categories[n % len(categories)], reflection=None, **extra)
        portfolio.activity(f"{day}-a{n}", text)


def check_json(run_check, *args: str) -> tuple[int, dict]:
    code, out = run_check("--format", "json", *args)
    return code, json.loads(out)


@pytest.mark.parametrize(
    "categories, code, status",
    [(CATS[:3], 0, "met"), (CATS[:2], 0, "exceptionally"), (CATS[:1], 1, "not-met")],
)
def test_a_year_in_three_two_and_one_categories(portfolio, run_check, categories, code, status):
    portfolio.settings(SC_ONLY)
    sc_year(portfolio, categories)
    got, report = check_json(run_check, "--as-of", "2027-01-10", "--year", "2026")
    assert got == code and report["ok"] == (code == 0)
    period = report["schemes"]["science_council"]["periods"][0]
    assert period["status"] == status and period["start"] == "2026-01-01" and period["end"] == "2026-12-31"
    assert report["registrations"] == {"ibms": False, "hcpc": False, "science_council": {"register": "RSci"}}
    assert report["schemes"]["judged"] == ["science-council"]
    text = run_check("--as-of", "2027-01-10", "--year", "2026")[1]
    assert "Science Council (RSci), 2026 (1 January to 31 December 2026), judged on 31 December 2026:" in text
    assert "Diploma" not in text  # ibms: false
    if status == "exceptionally":
        assert "Met exceptionally:" in text and "accepts two only exceptionally" in text


def test_a_missing_reflection_fails_and_names_the_activity(portfolio, run_check):
    portfolio.settings(SC_ONLY)
    sc_year(portfolio, CATS[:3], reflection=False)
    code, text = run_check("--as-of", "2026-12-31")
    assert code == 1
    assert "    1 activity has no reflection: the Science Council asks for a reflection on every activity." in text
    assert "      2026-09-10-a2: An activity" in text
    assert "Declare your CPD to the Science Council by 31 December 2026." in text
    assert run_check("--as-of", "2026-12-31", "--content-only")[0] == 0


def test_no_activity_showing_standards_3_and_4_fails(portfolio, run_check):
    portfolio.settings(SC_ONLY)
    sc_year(portfolio, CATS[:3], standards=(2,))
    code, report = check_json(run_check, "--as-of", "2026-12-31")
    assert code == 1
    codes = [f["code"] for f in report["schemes"]["science_council"]["periods"][0]["findings"]]
    assert codes == ["sc-no-standard-3", "sc-no-standard-4", "sc-count"]


def test_the_default_year_is_the_current_one_and_a_period_is_cut_in_twelve_months(portfolio, run_check):
    portfolio.settings(SC_ONLY)
    sc_year(portfolio, CATS[:3])
    _, report = check_json(run_check, "--as-of", "2026-03-01")
    period = report["schemes"]["science_council"]["periods"][0]
    assert period["evaluated_on"] == "2026-03-01" and not period["complete"]
    assert period["not_yet"] == ["2026-05-10-a1", "2026-09-10-a2"]
    _, report = check_json(run_check, "--as-of", "2027-06-01", "--period", "2025-07-01:2027-03-31")
    spans = [(p["start"], p["end"]) for p in report["schemes"]["science_council"]["periods"]]
    assert spans == [("2025-07-01", "2026-06-30"), ("2026-07-01", "2027-03-31")]
    assert [p["declaration_due"] for p in report["schemes"]["science_council"]["periods"]] == [None, None]


def test_a_year_still_to_come_says_it_has_not_begun(portfolio, run_check):
    portfolio.settings(SC_ONLY)
    sc_year(portfolio, CATS[:3])
    code, text = run_check("--as-of", "2026-03-01", "--year", "2027")
    assert code == 1
    assert "Science Council (RSci), 2027 (1 January to 31 December 2027), not begun on 1 March 2026:" in text
    assert "judged on 31 December 2026" not in text


def test_without_registrations_check_is_as_before(portfolio, run_check):
    portfolio.many(24)
    code, report = check_json(run_check, "--as-of", "2025-07-01")
    assert code == 0 and "registrations" not in report and "schemes" not in report
    text = run_check("--as-of", "2025-07-01")[1]
    assert "Science Council" not in text and "HCPC" not in text


def test_scheme_judges_one_scheme_alone(portfolio, run_check):
    portfolio.many(24, start="2026-01-05")  # an eligible diploma; three categories, no standard 3 or 4
    code, report = check_json(run_check, "--as-of", "2026-12-31", "--scheme", "science-council")
    assert code == 1 and report["eligible"] and report["registrations"] is None
    assert report["schemes"]["science_council"]["register"] is None
    assert report["schemes"]["failed"] == ["science-council"]
    assert run_check("--as-of", "2026-12-31", "--scheme", "ibms")[0] == 0
    code, text = run_check("--as-of", "2026-12-31", "--scheme", "hcpc")
    assert code == 0 and "HCPC, the two years from 31 December 2024 to 31 December 2026:" in text
    assert "Reported only: the HCPC judges a profile when it audits, so this never fails check." in text
    assert "Diploma" not in text


def test_the_hcpc_lens_starts_at_the_registration_as_the_profile_does(portfolio, run_check):
    """A member registered for a year: the days before the registration are no gap to explain
    (hcpc-profile starts there too), and the report says where its period starts and why."""
    portfolio.settings({"member": {"name": "A"}, "hcpc": {"registered_since": "2025-09-01"}})
    for day in ("2025-09-10", "2025-11-10", "2026-01-10", "2026-03-10", "2026-05-10", "2026-07-10"):
        portfolio.activity(f"{day}-a", date=day, category="other" if day < "2026" else "work-based-learning")
    code, report = check_json(run_check, "--as-of", "2026-08-01", "--scheme", "hcpc")
    hcpc = report["schemes"]["hcpc"]
    assert (hcpc["start"], hcpc["end"]) == ("2025-09-01", "2026-08-01")
    assert [f["code"] for f in hcpc["findings"] if f["code"] == "hcpc-gap"] == []
    text = run_check("--as-of", "2026-08-01", "--scheme", "hcpc")[1]
    assert "HCPC, from your registration on 1 September 2025 to 1 August 2026:" in text
    assert "No CPD from" not in text


def test_registrations_turn_each_lens_on_and_an_unmet_year_fails(portfolio, run_check):
    portfolio.settings(
        {"member": {"name": "A"}, "registrations": {"hcpc": True, "science-council": {"register": "CSci"}}}
    )
    portfolio.many(24, start="2026-01-05")
    code, report = check_json(run_check, "--as-of", "2026-12-31")
    assert code == 1 and report["eligible"]  # the diploma is eligible; the Science Council's year is not met
    assert report["schemes"]["judged"] == ["ibms", "hcpc", "science-council"]
    assert report["schemes"]["hcpc"]["renewal_window"] == {"start": "2027-09-01", "end": "2027-11-30"}
    code, out = run_check("--as-of", "2026-12-31", "--format", "github")
    assert "::notice title=CPD Diploma 1::" in out
    assert "::warning title=HCPC::" in out  # a gap of three months or more in the two years
    assert "::warning title=Science Council (CSci)%2C 2026::24 activities in 3 categories. Not met: no activity" in out


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--year", "2026"], "--year and --period choose the Science Council's year"),
        (["--period", "2026-01-01"], "write the period as FIRST:LAST"),
        (["--period", "2026-06-01:2026-01-01"], "starts (2026-06-01) after it ends (2026-01-01)"),
        (["--year", "26"], "'26' is not a year from 1900 to 2999"),
        (["--scheme", "ibm"], "invalid choice: 'ibm'"),
    ],
)
def test_bad_scheme_options_are_usage_errors(portfolio, run_check, argv, message):
    code, out = run_check(*argv)
    assert code == 2 and message in out and "Traceback" not in out


@pytest.mark.parametrize(
    "registrations, line, expected",
    [
        ("  science-council:\n    register: CSc\n", 5, "register 'CSc' is not one of the Science Council's"),
        (
            "  science-council:\n    regster: CSci\n",
            5,
            "unknown key 'registrations.science-council.regster'; did you mean 'register'?",
        ),
        ("  hpcp: true\n", 4, "unknown key 'registrations.hpcp'; did you mean 'hcpc'?"),
        ("  hcpc: yes\n", 4, "write true or false, not 'yes'"),
        ("  science_council: {register: CSci}\n", 4, "did you mean 'science-council'?"),
        ("  science-council:\n", 4, "write the register you are on under it: register: CSci, RSci, RSciTech"),
        ("  science-council: RSci\n", 4, "write it on the line under science-council:, indented: register: RSci"),
        ("  science-council: true\n", 4, "write the register you are on under it: register: CSci, RSci, RSciTech"),
    ],
)
def test_registrations_mistakes_have_a_line_and_a_hint(portfolio, run_check, registrations, line, expected):
    portfolio.settings("member:\n  name: A\nregistrations:\n" + registrations)
    code, out = run_check()
    assert code == 1 and f"content/portfolio.yaml:{line}: error: " in out and expected in out, out
