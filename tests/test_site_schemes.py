"""The dashboard's card for each scheme registrations: lists, and what the public site may say in them."""

from __future__ import annotations

from datetime import date

from conftest import activity_text
from cpdgen.site.build import build_site
from test_site_plan import Elements

AS_OF = date(2026, 11, 28)
MEMBER = {"name": "Alex Morgan"}


def dashboard(portfolio) -> str:
    result = build_site(portfolio.root, as_of=AS_OF, pdf=False)
    assert result.written, result.problems
    html = (result.out / "index.html").read_text()
    return " ".join(" ".join(Elements(html).text).split())


def test_without_registrations_the_dashboard_has_no_scheme_cards(portfolio):
    portfolio.many(24, start="2026-01-05")
    text = dashboard(portfolio)
    assert "Registrations" not in text and "Science Council" not in text and "HCPC registration" not in text
    assert "Current diploma: Diploma 1" in text


def test_each_registration_has_its_card(portfolio):
    portfolio.settings({"member": MEMBER, "registrations": {"hcpc": True, "science-council": {"register": "RSciTech"}}})
    portfolio.many(24, start="2026-01-05")
    portfolio.activity("2026-10-01-shows", activity_text(date="2026-10-01", standards=[3, 4]))
    text = dashboard(portfolio)
    assert "Registrations IBMS CPD Diploma Ready to submit for validation: Diploma 1" in text
    assert "HCPC registration Next renewal window: 1 September to 30 November 2027" in text
    assert "25 activities from 28 November 2024 to 28 November 2026, of 3 types of learning" in text
    assert "28 November 2024 to 4 January 2026 (13 months)" in text  # a gap both ends of which are public
    assert "Science Council (RSciTech), 2026 Met : declare by 31 December 2026" in text
    assert "25 activities in 3 categories (3 needed, exceptionally 2), judged on 28 November 2026." in text
    assert "No minimum number of activities is published (guidance)." in text
    assert "Current diploma: Diploma 1" in text  # the diploma's own card stays


def test_a_private_activity_is_counted_but_never_named_nor_dated(portfolio):
    portfolio.settings(
        {"member": MEMBER, "registrations": {"ibms": False, "hcpc": True, "science-council": {"register": "CSci"}}}
    )
    portfolio.activity("2026-02-01-public", activity_text(title="Public one", date="2026-02-01", standards=[3, 4]))
    portfolio.activity(
        "2026-09-01-secret",
        activity_text(title="Secret one", date="2026-09-01", category="other", reflection=None, private=True),
    )
    text = dashboard(portfolio)
    assert "Secret one" not in text and "1 September 2026" not in text and "31 August 2026" not in text
    assert "1 activity has no reflection" in text and "Not met yet : declare by 31 December 2026" in text
    assert "months, next to an activity not published" in text  # the gap the private activity ends
    # ibms: false: the diploma is left off the dashboard.
    assert "Current diploma: Diploma" not in text and "IBMS CPD Diploma" not in text and "At a glance" not in text
