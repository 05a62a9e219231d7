"""The HCPC CPD profile as data: the period, the list, the types of learning, gaps, the member's texts."""

from __future__ import annotations

import shutil
from datetime import date

import pytest

from conftest import REPO, Builder
from cpdgen.hcpc import add_months, choose_period, gather_profile, is_gap, read_sections
from cpdgen.loader import load_portfolio
from cpdgen.rules import assess

TODAY = date(2026, 11, 30)
STATEMENT = "I reviewed my practice and I changed how I work, which helped the people who use the service.\n"
SUMMARY = "I am a biomedical scientist in blood sciences.\n"


def profile_of(portfolio: Builder, audit: str = "2025-09-01", **options):
    return gather_profile(load_portfolio(portfolio.root), date.fromisoformat(audit), TODAY, **options)


def problems(profile, code: str | None = None) -> list[tuple]:
    return [(p.path, p.line, p.severity, p.code) for p in profile.problems if code is None or p.code == code]


def written(portfolio: Builder) -> Builder:
    """The member's two texts, so that only the check under test speaks."""
    portfolio.write("hcpc/summary.md", SUMMARY)
    portfolio.write("hcpc/statement.md", STATEMENT)
    return portfolio


def monthly(portfolio: Builder, first: str, n: int, categories=("work-based-learning", "formal-educational")) -> None:
    """``n`` activities a month apart from ``first``, cycling through ``categories``."""
    start = date.fromisoformat(first)
    for i in range(n):
        day = add_months(start, i)
        portfolio.activity(f"{day.isoformat()}-m{i}", date=day.isoformat(), category=categories[i % len(categories)])


# --- the acceptance case: the example portfolio -------------------------------------------


@pytest.fixture(scope="module")
def example_profile(tmp_path_factory):
    root = tmp_path_factory.mktemp("example")
    shutil.copytree(REPO / "content", root / "content")
    portfolio = load_portfolio(root)
    return portfolio, gather_profile(portfolio, date(2025, 9, 1), TODAY)


def test_the_example_lists_the_21_activities_of_the_two_years_before_its_audit(example_profile):
    portfolio, profile = example_profile
    ids = [item.activity.id for item in profile.listed]
    assert (profile.period.start, profile.period.end) == (date(2023, 9, 1), date(2025, 9, 1))
    # The last renewal (October 2025) is after this audit date, so the period is the two years before it.
    assert profile.period.why.startswith("two years before the audit date")
    assert len(ids) == 21
    assert ids[0] == "2023-09-26-ibms-congress-2023" and ids[-1] == "2025-07-09-blood-bank-fridge-temperature-mapping"
    assert [item.number for item in profile.listed] == list(range(1, 22))
    assert ids == sorted(ids)  # in date order (the ids start with the date)
    # From both diplomas, and one that counts for neither; a private one too.
    judged = assess(portfolio.diplomas, portfolio.entries(), date(2025, 9, 1), portfolio.frozen)
    owner = {j.id: (d.id, j.counted) for d in judged.diplomas for j in d.judgements}
    assert {owner[i][0] for i in ids} == {"diploma-1", "diploma-2"}
    assert "2025-05-20-iron-deficiency-webinar" in ids and owner["2025-05-20-iron-deficiency-webinar"][1] is False
    assert "2024-02-14-sea-delayed-emergency-units" in ids  # private
    assert profile.category_count == 5 and profile.gaps == ()
    assert [p for p in profile.problems if p.severity == "error"] == []
    assert profile.words["summary"].count <= 500 and profile.words["statement"].count <= 1500
    assert profile.words["summary"].we == profile.words["statement"].we == 0
    assert [item.label for item in profile.evidence] == [f"E{n}" for n in range(1, 9)]


def test_the_example_explains_its_older_gaps(example_profile):
    portfolio, _ = example_profile
    profile = gather_profile(portfolio, date(2023, 6, 30), TODAY, since=date(2022, 7, 1))
    assert [(g.first, g.last, g.months) for g in profile.gaps] == [
        (date(2022, 7, 13), date(2022, 11, 7), 3),
        (date(2022, 11, 9), date(2023, 4, 19), 5),
    ]
    assert all(len(g.explanations) == 1 for g in profile.gaps)
    assert "parental leave" in profile.gaps[1].explanations[0].text
    assert problems(profile, "hcpc-gap-unexplained") == []


# --- the period ------------------------------------------------------------------------------


def test_the_period_is_since_the_last_renewal_or_two_years_and_never_before_registration(portfolio):
    def period(hcpc: dict, audit: str = "2025-09-01", since: str | None = None):
        portfolio.settings({"member": {"name": "A"}, "hcpc": hcpc})
        found = choose_period(
            load_portfolio(portfolio.root), date.fromisoformat(audit), date.fromisoformat(since) if since else None
        )
        return found.start.isoformat(), found.why

    assert period({}) == ("2023-09-01", "two years before the audit date")
    assert period({}, audit="2024-02-29") == ("2022-02-28", "two years before the audit date")
    assert period({"last_renewal": "2023-10-20"}) == ("2023-10-20", "your last renewal")
    assert period({"last_renewal": "2025-10-20"}) == (
        "2023-09-01",
        "two years before the audit date; your last renewal, 20 October 2025, is not before it",
    )
    assert period({"registered_since": "2024-05-01"}) == ("2024-05-01", "your registration")
    assert period({"last_renewal": "2023-10-20"}, since="2023-01-01") == ("2023-01-01", "--since")


def test_since_after_the_audit_date_is_refused(portfolio):
    from cpdgen.problems import CpdgenError

    with pytest.raises(CpdgenError, match="after the audit date"):
        profile_of(portfolio, since=date(2025, 10, 1))


def test_drafts_and_activities_after_today_or_outside_the_period_are_left_out(portfolio):
    portfolio.activity("2023-08-31-before", date="2023-08-31")
    portfolio.activity("2023-09-01-first-day", date="2023-09-01")
    portfolio.activity("2024-01-10-draft", date="2024-01-10", draft=True)
    portfolio.activity("2024-02-10-private", date="2024-02-10", private=True)
    portfolio.activity("2024-03-10-no-reflection", date="2024-03-10", reflection=None)
    portfolio.activity("2025-09-01-audit-day", date="2025-09-01")
    portfolio.activity("2025-09-02-after", date="2025-09-02")
    ids = [item.activity.id for item in profile_of(portfolio).listed]
    assert ids == ["2023-09-01-first-day", "2024-02-10-private", "2024-03-10-no-reflection", "2025-09-01-audit-day"]
    # An audit date still to come: nothing after today is listed.
    portfolio.activity("2026-12-01-tomorrow", date="2026-12-01")
    future = profile_of(portfolio, audit="2027-09-01")
    assert "2026-12-01-tomorrow" not in [item.activity.id for item in future.listed]


# --- gaps ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "first, last, gap",
    [
        ("2024-01-02", "2024-04-01", True),  # 2 January to 1 April: three months
        ("2024-01-02", "2024-03-31", False),
        ("2024-11-30", "2025-02-26", False),
        ("2024-11-30", "2025-02-27", True),  # 30 November + 3 months: 28 February (there is no 30th)
        ("2024-03-01", "2024-02-29", False),
    ],
)
def test_three_months_or_more_is_a_gap(first, last, gap):
    assert is_gap(date.fromisoformat(first), date.fromisoformat(last)) is gap


def test_each_gap_between_activities_and_at_either_end_is_an_error_until_explained(portfolio):
    written(portfolio)
    portfolio.activity("2023-12-15-a", date="2023-12-15", category="other")
    portfolio.activity("2024-03-14-b", date="2024-03-14")  # 16 Dec to 13 Mar: under three months
    portfolio.activity("2024-09-20-c", date="2024-09-20", start="2024-09-01")  # from 1 September
    portfolio.activity("2024-12-10-d", date="2024-12-10")  # 21 September to 9 December: under three months
    profile = profile_of(portfolio)
    assert [(g.first.isoformat(), g.last.isoformat(), g.months) for g in profile.gaps] == [
        ("2023-09-01", "2023-12-14", 3),  # from the start of the period
        ("2024-03-15", "2024-08-31", 5),  # up to the day the spanning activity started
        ("2024-12-11", "2025-09-01", 8),  # up to the audit date
    ]
    assert (
        problems(profile, "hcpc-gap-unexplained")
        == [("content/hcpc/gaps.md", None, "error", "hcpc-gap-unexplained")] * 3
    )
    first = profile.problems[[p.code for p in profile.problems].index("hcpc-gap-unexplained")]
    assert first.message == (
        "no CPD for 3 months, 1 September 2023 to 14 December 2023 (from the start of the period): the HCPC asks "
        "you to explain any gap of 3 months or more; add a section '## 2023-09-01 to 2023-12-14' to "
        "content/hcpc/gaps.md with your explanation (illness, parental leave, a career break…)"
    )
    portfolio.write(
        "hcpc/gaps.md",
        "# My gaps\nAn introduction, not shown.\n\n"
        "## 2023-09-01 to 2023-12-14\nI started a new post.\n\n"
        "## 2024-03-15 to 2024-08-31\n<!-- a prompt, not an explanation -->\n\n"
        "## 2024-12-11 to 2025-09-01\nParental leave.\n\n"
        "## 2024-10-01 to 2024-11-01\nNot a gap.\n\n"
        "## Last summer\nNo dates.\n\n"
        "## 2019-01-01 to 2019-06-01\nAnother profile's gap: left out without a word.\n",
    )
    profile = profile_of(portfolio)
    assert [len(g.explanations) for g in profile.gaps] == [1, 0, 1]
    assert profile.gaps[0].explanations[0].text == "I started a new post."
    assert problems(profile, "hcpc-activity-count") != []  # four activities: guidance, below
    assert [f for f in problems(profile) if f[3] != "hcpc-activity-count"] == [
        ("content/hcpc/gaps.md", 7, "error", "hcpc-gap-unexplained"),  # its heading is there, with nothing under it
        ("content/hcpc/gaps.md", 13, "warning", "hcpc-gap-explanation"),
        ("content/hcpc/gaps.md", 16, "warning", "hcpc-gap-explanation"),
    ]
    [unexplained] = [p for p in profile.problems if p.code == "hcpc-gap-unexplained"]
    assert "write your explanation under the heading on line 7" in unexplained.message


def test_gaps_sections_ignore_headings_in_comments_and_code(portfolio):
    text = "<!--\n## 2024-01-01 to 2024-05-01\n-->\n```\n## 2024-01-01 to 2024-05-01\n```\n## 2024-02-01\nWhy.\n"
    assert [(s.line, s.start, s.end, s.text) for s in read_sections(text)] == [
        (7, date(2024, 2, 1), date(2024, 2, 1), "Why.")
    ]


# --- the member's texts ---------------------------------------------------------------------------


def test_missing_texts_are_errors_and_prompts_alone_are_not_a_text(portfolio):
    monthly(portfolio, "2023-09-10", 24)
    portfolio.write("hcpc/summary.md", "<!-- Write your summary here. -->\n")
    profile = profile_of(portfolio)
    assert problems(profile) == [
        ("content/hcpc/summary.md", None, "error", "hcpc-text-missing"),
        ("content/hcpc/statement.md", None, "error", "hcpc-text-missing"),
    ]
    assert profile.problems[0].message.endswith("write it (up to 500 words, in your own words)")
    assert "run 'cpdgen hcpc-profile --start' to create it" in profile.problems[1].message


def test_word_limits_are_warnings_at_the_line_of_the_first_word_over(portfolio):
    monthly(portfolio, "2023-09-10", 24)
    # Words in comments (the prompts) are not counted.
    portfolio.write("hcpc/summary.md", "<!-- a long prompt " + "word " * 600 + "-->\n" + "I work.\n" * 251)
    portfolio.write("hcpc/statement.md", "I learnt.\n" * 750 + "I changed.\n")
    profile = profile_of(portfolio)
    assert problems(profile) == [
        ("content/hcpc/summary.md", 252, "warning", "hcpc-word-limit"),
        ("content/hcpc/statement.md", 751, "warning", "hcpc-word-limit"),
    ]
    assert [p.message for p in profile.problems] == [
        "your summary of practice history has 502 words; the HCPC's limit is 500, and this line holds word 501",
        "your statement has 1,502 words; the HCPC's limit is 1,500, and this line holds word 1,501",
    ]
    portfolio.write("hcpc/summary.md", "I work.\n" * 250)
    assert problems(profile_of(portfolio), "hcpc-word-limit") == [
        ("content/hcpc/statement.md", 751, "warning", "hcpc-word-limit")
    ]


def test_we_where_i_is_expected_is_a_warning_naming_the_lines(portfolio):
    monthly(portfolio, "2023-09-10", 24)
    portfolio.write("hcpc/summary.md", SUMMARY)
    portfolio.write("hcpc/statement.md", "I did it.\nThen we met, and We agreed.\n<!-- we -->\nWe're done.\n")
    [problem] = profile_of(portfolio).problems
    assert (problem.path, problem.line, problem.severity, problem.code) == (
        "content/hcpc/statement.md", 2, "warning", "hcpc-we-not-i",
    )  # fmt: skip
    assert problem.message.startswith("'we' 3 times (lines 2, 4): the HCPC asks for your own work, written as 'I'")


def test_html_tags_are_not_words(portfolio):
    """Raw HTML is markup: neither the PDF nor the Word document shows '<span class="x">', so its
    'span', 'class' and 'x' are not words towards the HCPC's limit."""
    from cpdgen.hcpc import count_words

    words, _ = count_words('I <span class="note">changed</span> it.<br>\n<p align="left">Then</p> we <b>met</b>.', 100)
    assert (words.count, words.we) == (6, 1)
    words, _ = count_words("See <https://www.ibms.org/> and <br/>.", 100)  # an autolink is shown: its words count
    assert words.count == 6


def test_an_unclosed_comment_is_a_warning_and_its_words_are_counted_as_shown(portfolio):
    """A '<!--' never closed: the PDF and the Word document show it and what follows as text (a note
    to self, in the document sent to the HCPC), so the member is told, and the count is of what is shown."""
    monthly(portfolio, "2023-09-10", 24)
    portfolio.write("hcpc/summary.md", SUMMARY)
    portfolio.write("hcpc/statement.md", "I reviewed it.\n\n<!-- note to self\n\nI changed our procedure.\n")
    loaded = load_portfolio(portfolio.root)
    assert [(p.path, p.line, p.severity, p.code) for p in loaded.problems] == [
        ("content/hcpc/statement.md", 3, "warning", "unclosed-comment")
    ]
    assert "shows it" in loaded.problems[0].message
    profile = gather_profile(loaded, date(2025, 9, 1), TODAY)
    assert profile.words["statement"].count == 10


# --- the list as a whole ---------------------------------------------------------------------------


def test_fewer_than_two_types_of_learning_is_an_error(portfolio):
    written(portfolio)
    monthly(portfolio, "2023-09-10", 24, categories=("other",))
    profile = profile_of(portfolio)
    assert problems(profile) == [("content/activities", None, "error", "hcpc-too-few-categories")]
    assert profile.problems[0].message == (
        "the activities from 1 September 2023 to 1 September 2025 are of 1 type of learning; the HCPC asks for a "
        "mixture of at least 2"
    )
    portfolio.activity("2024-06-01-x", date="2024-06-01", category="self-directed-learning")
    assert problems(profile_of(portfolio)) == []


@pytest.mark.parametrize("n, warned", [(11, True), (12, False), (50, False), (51, True)])
def test_around_12_to_50_activities_is_guidance(portfolio, n, warned):
    written(portfolio)
    portfolio.many(n, start="2023-09-04", categories=("work-based-learning", "other"))
    # Weekly activities: 51 of them run into the next year, so the audit date follows them.
    profile = profile_of(portfolio, audit="2024-09-01", since=date(2023, 9, 1))
    found = [p for p in profile.problems if p.code != "hcpc-gap-unexplained"]
    if not warned:
        assert found == []
        return
    [problem] = found
    assert (problem.path, problem.line, problem.severity, problem.code) == (
        "content/activities", None, "warning", "hcpc-activity-count",
    )  # fmt: skip
    assert problem.message.endswith("HCPC guidance is a list of around 12 to 50 (a guide, not a rule)")


def test_selection_names_activities_on_the_list_and_is_usually_4_to_6(portfolio):
    written(portfolio)
    monthly(portfolio, "2023-09-10", 24)
    portfolio.activity("2022-01-10-old", date="2022-01-10")
    portfolio.activity("2024-05-05-draft", date="2024-05-05", draft=True)
    ids = [f"{add_months(date(2023, 9, 10), i).isoformat()}-m{i}" for i in range(24)]
    profile = profile_of(portfolio, select=[ids[0], ids[5], "2023-09-10-m", "2022-01-10-old", "2024-05-05-draft"])
    assert [item.number for item in profile.selected] == [1, 6]
    messages = [p.message for p in profile.problems if p.code == "hcpc-unknown-activity"]
    assert messages == [
        "--select names '2023-09-10-m', which is not an activity; did you mean '2023-09-10-m0'?",
        "--select names '2022-01-10-old', dated 10 January 2022: before the profile's period (from 1 September 2023)",
        "--select names '2024-05-05-draft', a draft: drafts are not on the list",
    ]
    assert ("content/hcpc/statement.md", None, "warning", "hcpc-select-count") in problems(profile)
    assert problems(profile_of(portfolio, select=ids[:4]), "hcpc-select-count") == []
    assert problems(profile_of(portfolio, select=ids[:7]), "hcpc-select-count") != []
    assert problems(profile_of(portfolio), "hcpc-select-count") == []  # none selected: listed to choose from


def test_evidence_is_numbered_in_list_order_and_cited_numbers_are_checked(portfolio):
    portfolio.write("hcpc/summary.md", SUMMARY)
    portfolio.write("evidence/cert.pdf", b"%PDF-1.4\n%%EOF\n")
    monthly(portfolio, "2023-09-10", 24)
    portfolio.activity(
        "2024-01-05-x", date="2024-01-05", evidence=["cert.pdf", "https://www.ibms.org/"], standards=[3, 4]
    )
    portfolio.activity("2023-10-01-y", date="2023-10-01", evidence=["https://www.hcpc-uk.org/"])
    portfolio.write("hcpc/statement.md", "I attended it (E1) and I kept the certificate (E2, E3).\n\nI cite E9.\n")
    profile = profile_of(portfolio, select=["2024-01-05-x"])
    assert [(e.label, e.evidence.name, e.activity.id, e.cited_in_statement) for e in profile.evidence] == [
        ("E1", "https://www.hcpc-uk.org/", "2023-10-01-y", True),
        ("E2", "cert.pdf", "2024-01-05-x", True),
        ("E3", "https://www.ibms.org/", "2024-01-05-x", True),
    ]
    listed = {item.activity.id: item.evidence for item in profile.listed}
    assert listed["2024-01-05-x"] == (2, 3) and listed["2023-10-01-y"] == (1,)
    [problem] = [p for p in profile.problems if p.code == "hcpc-evidence-ref"]
    assert (problem.path, problem.line) == ("content/hcpc/statement.md", 3)
    assert problem.message.startswith("the statement cites E9, but the evidence index holds E1 to E3")


def test_a_registration_of_under_two_years_is_a_warning(portfolio):
    written(portfolio)
    monthly(portfolio, "2023-09-10", 24)
    portfolio.settings({"member": {"name": "A"}, "hcpc": {"registered_since": "2024-01-15"}})
    profile = profile_of(portfolio)
    assert problems(profile) == [("content/portfolio.yaml", 4, "warning", "hcpc-new-registrant")]
    assert profile.period.start == date(2024, 1, 15)


def test_an_audit_date_before_the_registration_says_so(portfolio):
    """Not 'less than two years' on a day the member was not registered at all: a mistyped year."""
    written(portfolio)
    monthly(portfolio, "2023-09-10", 24)
    portfolio.settings({"member": {"name": "A"}, "hcpc": {"registered_since": "2027-01-15"}})
    (problem,) = profile_of(portfolio).problems
    assert (problem.line, problem.code) == (4, "hcpc-new-registrant")
    assert problem.message.startswith(
        "registered since 15 January 2027, after the audit date (1 September 2025): check hcpc: registered_since"
    )
    assert "less than two years" not in problem.message


def _goal(title: str, status: str = "open", target: str | None = None, private: bool = False) -> str:
    lines = ["---", f"title: {title}", f"status: {status}"]
    lines += [f"target: {target}"] if target else []
    lines += ["private: true"] if private else []
    return "\n".join([*lines, "---", "Notes.", ""])


def test_the_profile_shows_the_goals_worked_on_in_the_period_and_open_goals_only_for_today(portfolio):
    written(portfolio)
    portfolio.write("plan/lead.md", _goal("Lead the laboratory", target="2026-06-30", private=True))
    portfolio.write("plan/msc.md", _goal("Start an MSc"))  # open, nothing done towards it yet
    portfolio.write("plan/old.md", _goal("Pass the specialist portfolio", status="done"))
    portfolio.write("plan/idle.md", _goal("Learn Welsh", status="dropped"))  # neither open nor worked on
    portfolio.activity("2024-01-10-a", date="2024-01-10", goal="old")
    portfolio.activity("2024-03-10-b", date="2024-03-10", category="formal-educational", goal="lead")
    portfolio.activity("2024-05-10-c", date="2024-05-10", goal="lead", private=True)
    portfolio.activity("2023-01-10-before", date="2023-01-10", goal="idle")  # outside the period

    past = profile_of(portfolio, "2025-09-01")
    assert [(g.goal.id, g.numbers) for g in past.goals] == [("lead", (2, 3)), ("old", (1,))]
    on_the_day = date(2025, 9, 1)  # the profile made on its audit date: today's plan is the plan of then
    current = gather_profile(load_portfolio(portfolio.root), on_the_day, on_the_day)
    assert [(g.goal.id, g.numbers) for g in current.goals] == [("lead", (2, 3)), ("msc", ()), ("old", (1,))]
    from cpdgen.hcpc import plain_facts

    assert plain_facts(current)["goals"] == [
        {"title": "Lead the laboratory", "status": "Open", "target": "30 Jun 2026", "activities": "2, 3"},
        {"title": "Start an MSc", "status": "Open", "target": "", "activities": "none in this period"},
        {"title": "Pass the specialist portfolio", "status": "Done", "target": "", "activities": "1"},
    ]


def test_a_last_renewal_more_than_two_years_before_is_a_warning_at_its_line(portfolio):
    written(portfolio)
    portfolio.settings({"member": {"name": "A"}, "hcpc": {"last_renewal": "2021-10-01"}})
    monthly(portfolio, "2022-01-10", 40)
    profile = profile_of(portfolio, "2025-09-01")
    assert profile.period.start == date(2021, 10, 1)  # as written: the member decides
    assert problems(profile, "hcpc-renewal-old") == [("content/portfolio.yaml", 4, "warning", "hcpc-renewal-old")]
    portfolio.settings({"member": {"name": "A"}, "hcpc": {"last_renewal": "2023-10-01"}})
    assert problems(profile_of(portfolio, "2025-09-01"), "hcpc-renewal-old") == []
