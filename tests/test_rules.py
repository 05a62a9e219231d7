"""The diploma rules at their boundaries, and properties that hold for any record."""

from __future__ import annotations

import random
from datetime import date, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cpdgen.rules import (
    Diploma,
    Entry,
    add_years,
    assess,
    describe_needs,
    leaves_window_on,
    window_start,
)

CATS = ("work-based-learning", "formal-educational", "other", "professional-activity", "self-directed-learning")
D = date.fromisoformat


def entries(n: int, first: str = "2025-01-01", step: int = 7, cats=CATS[:3], prefix="a") -> list[Entry]:
    start = D(first)
    return [Entry(f"{prefix}{i:03}", start + timedelta(days=step * i), cats[i % len(cats)], True) for i in range(n)]


def one(diploma: Diploma, items: list[Entry], as_of: str):
    return assess([diploma], items, D(as_of)).diplomas[0]


OPEN = Diploma("d1", D("2024-01-01"))


class TestAddYears:
    @pytest.mark.parametrize(
        "day, years, expected",
        [
            ("2024-02-29", 2, "2026-02-28"),
            ("2024-02-29", 4, "2028-02-29"),
            ("2028-02-29", -2, "2026-02-28"),
            ("2026-03-01", -2, "2024-03-01"),
        ],
    )
    def test_leap_day_clamps_to_28_february(self, day, years, expected):
        assert add_years(D(day), years) == D(expected)


class TestWindow:
    def test_exactly_two_years_before_counts_and_the_day_before_does_not(self):
        items = [Entry("edge", D("2024-03-01"), "other", True), Entry("out", D("2024-02-29"), "other", True)]
        result = one(Diploma("d1", D("2023-01-01")), items, "2026-03-01")
        by_id = {j.id: j for j in result.judgements}
        assert by_id["edge"].counted and by_id["edge"].reason is None
        assert by_id["out"].reason == "expired"
        assert result.window_start == D("2024-03-01")

    def test_evaluated_on_29_february(self):
        items = [Entry("in", D("2026-02-28"), "other", True), Entry("out", D("2026-02-27"), "other", True)]
        result = one(Diploma("d1", D("2025-01-01")), items, "2028-02-29")
        assert result.window_start == D("2026-02-28")
        assert [j.reason for j in result.judgements] == ["expired", None]

    def test_the_evaluation_day_counts_and_tomorrow_is_future(self):
        items = [Entry("today", D("2026-03-01"), "other", True), Entry("tomorrow", D("2026-03-02"), "other", True)]
        result = one(OPEN, items, "2026-03-01")
        assert [j.reason for j in result.judgements] == [None, "future"]

    def test_leaves_window_on_is_the_first_day_it_no_longer_counts(self):
        for day in ("2024-02-29", "2026-02-28", "2025-06-30", "2027-02-28"):
            leaving = leaves_window_on(D(day))
            assert window_start(leaving) > D(day)
            assert window_start(leaving - timedelta(days=1)) <= D(day)


class TestEligibility:
    def test_exactly_24_in_three_categories_is_eligible(self):
        result = one(OPEN, entries(24), "2025-12-31")
        assert result.eligible
        assert (result.counted, result.missing_activities, result.surplus) == (24, 0, 0)
        assert describe_needs(result) == "nothing more"

    def test_23_is_not(self):
        result = one(OPEN, entries(23), "2025-12-31")
        assert not result.eligible
        assert describe_needs(result) == "1 more activity"

    def test_two_categories_is_not(self):
        result = one(OPEN, entries(30, cats=CATS[:2]), "2025-12-31")
        assert not result.eligible
        assert result.categories == ("formal-educational", "work-based-learning")
        assert describe_needs(result) == "1 more category"

    def test_needs_both(self):
        result = one(OPEN, entries(21, cats=CATS[:1]), "2025-12-31")
        assert describe_needs(result) == "3 more activities and 2 more categories"

    def test_no_minimum_per_category(self):
        items = entries(22, cats=CATS[:1]) + [
            Entry("x", D("2025-06-01"), "other", True),
            Entry("y", D("2025-06-02"), "professional-activity", True),
        ]
        assert one(OPEN, items, "2025-12-31").eligible

    def test_surplus_beyond_24(self):
        assert one(OPEN, entries(27), "2025-12-31").surplus == 3


class TestReasons:
    def test_draft_and_no_reflection(self):
        items = [
            Entry("draft", D("2025-01-01"), "other", True, draft=True),
            Entry("bare", D("2025-01-02"), "other", False),
        ]
        assert [j.reason for j in one(OPEN, items, "2025-06-01").judgements] == ["draft", "no-reflection"]

    def test_before_the_first_diploma_start(self):
        items = [Entry("early", D("2023-12-31"), "other", True), Entry("first", D("2024-01-01"), "other", True)]
        result = one(OPEN, items, "2025-06-01")
        assert [(j.id, j.reason) for j in result.judgements] == [("early", "before-start"), ("first", None)]

    def test_after_submission_and_before_the_next_start_counts_nowhere(self):
        first = Diploma("d1", D("2022-01-01"), submitted=D("2024-01-10"), issued=D("2024-03-01"))
        second = Diploma("d2", D("2024-03-01"))
        items = [
            Entry("on-submission-day", D("2024-01-10"), "other", True),
            Entry("limbo", D("2024-02-01"), "other", True),
            Entry("next", D("2024-03-01"), "other", True),
        ]
        result = assess([first, second], items, D("2024-06-01"))
        d1, d2 = result.diplomas
        assert [(j.id, j.reason) for j in d1.judgements] == [("on-submission-day", None), ("limbo", "after-submission")]
        assert [(j.id, j.reason) for j in d2.judgements] == [("next", None)]
        assert d1.evaluated_on == D("2024-01-10")
        assert (d1.status, d2.status, result.current) == ("issued", "open", "d2")

    def test_activities_are_never_moved_between_diplomas(self):
        first = Diploma("d1", D("2022-01-01"), submitted=D("2024-01-10"), issued=D("2024-03-01"))
        second = Diploma("d2", D("2024-03-01"))
        items = entries(30, first="2022-03-01", step=14)
        result = assess([first, second], items, D("2024-06-01"))
        assert result.diplomas[1].counted == 0  # d1's surplus does not carry over

    def test_issued_with_no_successor_starts_a_new_diploma_on_the_issue_date(self):
        only = Diploma("diploma-1", D("2022-01-01"), submitted=D("2024-01-10"), issued=D("2024-03-01"))
        items = [Entry("new", D("2024-03-05"), "other", True)]
        result = assess([only], items, D("2024-06-01"))
        assert [d.id for d in result.diplomas] == ["diploma-1", "diploma-2"]
        assumed = result.diplomas[1]
        assert (assumed.start, assumed.assumed, assumed.status) == (D("2024-03-01"), True, "open")
        assert result.current == "diploma-2"
        assert [j.id for j in assumed.judgements] == ["new"]

    def test_submitted_diploma_is_judged_on_its_submission_date(self):
        d1 = Diploma("d1", D("2023-01-01"), submitted=D("2025-01-01"))
        result = assess([d1], entries(24, first="2023-02-01"), D("2026-11-28"))
        assert result.diplomas[0].evaluated_on == D("2025-01-01")
        assert result.diplomas[0].status == "submitted"
        assert result.current == "d1"

    def test_as_of_before_a_submission_shows_it_still_open(self):
        d1 = Diploma("d1", D("2023-01-01"), submitted=D("2025-01-01"), issued=D("2025-02-01"))
        result = assess([d1], [], D("2024-06-01"))
        assert [(d.id, d.status) for d in result.diplomas] == [("d1", "open")]

    def test_no_diplomas_means_one_open_diploma_with_no_start(self):
        result = assess([], entries(3, first="2010-01-01"), D("2025-01-01"))
        assert [(d.id, d.start, d.status) for d in result.diplomas] == [("diploma-1", None, "open")]
        assert [j.reason for j in result.diplomas[0].judgements] == ["expired"] * 3


class TestPlanning:
    def test_earliest_expiry_expiring_soon_and_eligible_until(self):
        items = entries(25, first="2024-01-03", step=14)  # one spare activity
        result = one(OPEN, items, "2025-10-15")
        assert result.earliest_leaves_on == D("2026-01-04")
        assert [j.id for j in result.expiring_soon] == ["a000"]  # 2026-01-04 is within 90 days; 2026-01-18 is not
        # The first leaves on 2026-01-04 leaving 24; the second on 2026-01-18 leaves 23.
        assert result.eligible_until == D("2026-01-17")

    def test_no_planning_facts_for_a_submitted_diploma(self):
        d1 = Diploma("d1", D("2023-01-01"), submitted=D("2025-01-01"))
        result = assess([d1], entries(24, first="2023-02-01"), D("2025-06-01")).diplomas[0]
        assert (result.earliest_leaves_on, result.eligible_until, result.expiring_soon) == (None, None, ())


# --- properties -------------------------------------------------------------

days = st.dates(min_value=date(2018, 1, 1), max_value=date(2030, 12, 31))
entry_lists = st.lists(
    st.builds(
        Entry,
        id=st.uuids().map(lambda u: u.hex[:8]),
        date=days,
        category=st.sampled_from(CATS),
        has_reflection=st.booleans(),
        draft=st.booleans(),
    ),
    max_size=60,
    unique_by=lambda e: e.id,
)


@st.composite
def diploma_lists(draw):
    count = draw(st.integers(0, 3))
    start = draw(st.dates(min_value=date(2018, 1, 1), max_value=date(2022, 1, 1)))
    diplomas = []
    for n in range(count):
        last = n == count - 1
        submitted = None if last and draw(st.booleans()) else start + timedelta(days=draw(st.integers(300, 900)))
        issued = submitted + timedelta(days=draw(st.integers(0, 90))) if submitted and draw(st.booleans()) else None
        diplomas.append(Diploma(f"d{n + 1}", start, submitted, issued))
        if submitted is None:
            break
        start = issued or submitted + timedelta(days=1)
    return diplomas


@settings(max_examples=200, deadline=None)
@given(diploma_lists(), entry_lists, days)
def test_every_activity_is_judged_exactly_once(diplomas, items, as_of):
    result = assess(diplomas, items, as_of)
    judged = [j.id for d in result.diplomas for j in d.judgements]
    assert sorted(judged) == sorted(e.id for e in items)
    for diploma in result.diplomas:
        assert diploma.counted == sum(j.counted for j in diploma.judgements)
        assert all(j.counted == (j.reason is None) for j in diploma.judgements)
        assert diploma.eligible == (diploma.counted >= 24 and len(diploma.categories) >= 3)


@settings(max_examples=200, deadline=None)
@given(diploma_lists(), entry_lists, days, st.randoms(use_true_random=False))
def test_result_does_not_depend_on_file_order(diplomas, items, as_of, rnd):
    shuffled = list(items)
    rnd.shuffle(shuffled)
    assert assess(diplomas, items, as_of) == assess(diplomas, shuffled, as_of)


@settings(max_examples=200, deadline=None)
@given(entry_lists, days, days, st.sampled_from(CATS))
def test_adding_a_counting_activity_never_makes_an_eligible_diploma_ineligible(items, as_of, extra_day, category):
    diploma = Diploma("d1", date(2018, 1, 1))
    before = one_result = assess([diploma], items, as_of).diplomas[0]
    extra = Entry("extra-activity", extra_day, category, True)
    after = assess([diploma], items + [extra], as_of).diplomas[0]
    if before.eligible:
        assert after.eligible
    assert after.counted >= one_result.counted


@settings(max_examples=300, deadline=None)
@given(days)
def test_leaves_window_on_matches_a_day_by_day_search(day):
    expected = day + timedelta(days=1)
    while window_start(expected) <= day:
        expected += timedelta(days=1)
    assert leaves_window_on(day) == expected


@settings(max_examples=100, deadline=None)
@given(entry_lists, days)
def test_eligible_until_is_the_last_eligible_day_with_nothing_added(items, as_of):
    result = assess([Diploma("d1", date(2018, 1, 1))], items, as_of).diplomas[0]
    if result.eligible_until is None:
        return
    past = [e for e in items if e.date <= as_of]  # future activities are not promised to count
    last = result.eligible_until
    assert assess([Diploma("d1", date(2018, 1, 1))], past, last).diplomas[0].eligible
    assert not assess([Diploma("d1", date(2018, 1, 1))], past, last + timedelta(days=1)).diplomas[0].eligible


def test_shuffle_helper_is_deterministic():
    items = entries(5)
    rnd = random.Random(1)
    shuffled = list(items)
    rnd.shuffle(shuffled)
    assert assess([OPEN], items, D("2025-06-01")) == assess([OPEN], shuffled, D("2025-06-01"))
