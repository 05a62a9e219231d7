"""The privacy guard: patient identifiers are found, masked, placed, silenced one place at a time,
and kept from publishing; ordinary CPD text stays silent.

Fixtures use only the NHS test range (999 …), the documented example 943 476 5919, the
documented CHI examples, Ofcom's drama phone numbers and example.com addresses: never a number
that could be a real person's.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from types import SimpleNamespace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import pdf_document
from cpdgen.cli import main
from cpdgen.loader import load_portfolio
from cpdgen.privacy import scan as privacy
from cpdgen.privacy.allow import scan_text
from cpdgen.privacy.identifiers import (
    find_identifiers,
    mod10_check_ok,
    nhs_check_ok,
    valid_ddmmyy,
    value_id,
)
from cpdgen.privacy.scan import published_parts
from cpdgen.problems import blocks_publishing

REPO = Path(__file__).resolve().parents[1]
PRIVACY_CODES = {
    "nhs-number", "chi-number", "date-of-birth", "hospital-number", "patient-name", "age", "phone",
    "email", "postcode", "allow-invalid", "allow-unused", "mrn",
}  # fmt: skip


def rules_in(text: str, **kw) -> list[tuple[str, str]]:
    return [(f.rule, f.masked) for f in scan_text(text, **kw)]


def privacy_problems(portfolio) -> list:
    return [p for p in load_portfolio(portfolio.root).problems if p.code in PRIVACY_CODES]


# --- check digits (docs/guide/privacy.md) -------------------------------------------------


@pytest.mark.parametrize(
    "number, valid",
    [
        ("9434765919", True),
        ("9990000018", True),
        ("9990000026", True),
        ("9434765918", False),
        ("1234567890", False),  # the prefix has no valid check digit (11 - r = 10)
        ("9990000000", False),
        ("9990000030", False),
    ],
)
def test_nhs_modulus_11_matches_the_worked_examples(number, valid):
    assert nhs_check_ok(number) is valid


def test_chi_checks_match_the_documented_examples():
    assert nhs_check_ok("0101011237") and mod10_check_ok("0101011237")
    assert mod10_check_ok("0101201234") and not nhs_check_ok("0101201234")
    assert not valid_ddmmyy("3201201234")
    assert valid_ddmmyy("290200") and not valid_ddmmyy("290201") and not valid_ddmmyy("310400")


# --- true positives -----------------------------------------------------------------------

NHS_NUMBERS = ["9434765919", "9990000018", "9990000026"]
SPELLINGS = {
    "spaced": lambda d: f"{d[:3]} {d[3:6]} {d[6:]}",
    "hyphenated": lambda d: f"{d[:3]}-{d[3:6]}-{d[6:]}",
    "run together": lambda d: d,
    "full-width": lambda d: "".join(chr(0xFF10 + int(c)) for c in d),
    "full-width spaced": lambda d: " ".join(
        "".join(chr(0xFF10 + int(c)) for c in part) for part in (d[:3], d[3:6], d[6:])
    ),
    "zero-width joined": lambda d: f"{d[:3]}\u200b{d[3:6]}\u200b{d[6:]}",
    "no-break spaces": lambda d: f"{d[:3]}\u00a0{d[3:6]}\u00a0{d[6:]}",
    "thin spaces": lambda d: f"{d[:3]}\u2009{d[3:6]}\u2009{d[6:]}",
    "non-breaking hyphens": lambda d: f"{d[:3]}\u2011{d[3:6]}\u2011{d[6:]}",
    "arabic-indic digits": lambda d: "".join(chr(0x0660 + int(c)) for c in d),
}


@pytest.mark.parametrize("number", NHS_NUMBERS)
@pytest.mark.parametrize("spelling", SPELLINGS)
def test_nhs_numbers_are_found_in_every_spelling(number, spelling):
    written = SPELLINGS[spelling](number)
    text = f"Sample from ward 7, ref {written}, sent to the lab."
    findings = find_identifiers(text)
    assert [(f.rule, f.severity, f.masked) for f in findings] == [("nhs-number", "error", f"{number[:3]} *** ****")]
    assert findings[0].column == text.index(written) + 1
    assert text[findings[0].start : findings[0].end] == written


@pytest.mark.parametrize(
    "text, masked",
    [
        ("CHI 0101011237 on the request form", "01**** ****"),
        ("the request had 0101011237 written on it", "01**** ****"),  # valid by modulus 11
        ("the request had 0101201234 written on it", "01**** ****"),  # valid by modulus 10 only
        ("CHI: 010101 1237", "01**** ****"),
    ],
)
def test_chi_numbers_with_a_valid_date_and_check_digit_are_errors(text, masked):
    assert [(f.rule, f.severity, f.masked) for f in find_identifiers(text)] == [("chi-number", "error", masked)]


@pytest.mark.parametrize(
    "text, rule, masked",
    [
        ("DOB: 03/04/1951", "date-of-birth", "**/**/****"),
        ("d.o.b. 3 April 1951", "date-of-birth", "* ***** ****"),
        ("she was born on 12 March 1951", "date-of-birth", "** ***** ****"),
        ("Date of birth 1951-04-03", "date-of-birth", "****-**-**"),
        ("a 72-year-old man presented", "age", "**-year-old"),
        ("the patient, aged 72, was", "age", "aged **"),
        ("72yo female", "age", "**yo"),
        ("Mrs Patel was seen in clinic", "patient-name", "Mrs P****"),
        ("Spoke to Mr J. Smith about it", "patient-name", "Mr J. S****"),
        ("the patient John Smith had", "patient-name", "J*** S****"),
        ("Patient: SMITH, John", "patient-name", "S****, J***"),
        ("hospital no: RX1234567", "hospital-number", "RX*******"),
        ("MRN 1234567 on the form", "hospital-number", "12*****"),
        ("she lives LS1 4AP", "postcode", "LS1 ***"),
        ("the form (NHS number on it) came from LS1 4AP", "postcode", "LS1 ***"),
        ("Leeds General Infirmary is in LS1 3EX; she lives in LS1 4AP", "postcode", "LS1 ***"),
        ("mail jane.doe@example.com today", "email", "j***@example.com"),
        ("ring 07700 900123", "phone", "0770 *** ****"),
        ("ring 0113 496 0123", "phone", "0113 *** ****"),
        ("ring +44 7700 900123", "phone", "0770 *** ****"),
        ("ring (01632) 960123", "phone", "0163 *** ****"),
    ],
)
def test_each_warning_rule_finds_its_identifier(text, rule, masked):
    findings = find_identifiers(text)
    assert [(f.rule, f.severity, f.masked) for f in findings] == [(rule, "warning", masked)]


def test_a_members_own_pattern_is_a_warning():
    pattern = {"mrn": re.compile(r"MRN\d{7}")}
    findings = find_identifiers("see MRN1234567 and MRN12", pattern)
    assert [(f.rule, f.severity, f.masked) for f in findings] == [("mrn", "warning", "MR********")]


def test_the_strongest_rule_wins_where_two_overlap():
    # +44 followed by an NHS-shaped number is also phone-shaped: it is reported once, as the error.
    assert rules_in("call +44 943 476 5919") == [("nhs-number", "943 *** ****")]


def test_masked_values_never_show_the_identifier():
    text = "NHS 943 476 5919, CHI 0101011237, DOB 03/04/1951, jane.doe@example.com, 07700 900123, LS1 4AP"
    for finding in find_identifiers(text):
        assert finding.masked.count("*") >= 3
    assert "476" not in " ".join(f.masked for f in find_identifiers(text))


# --- the false-positive suite (docs/guide/privacy.md) -------------------------------------------

FALSE_POSITIVES = """\
Wrong check digits: 943 476 5918, 123 456 7890, 999 000 0000, 999 000 0030, 0101011238, 3201201234.

## References
- Bain BJ. Blood Cells: A Practical Guide. Wiley; 2015. ISBN 0306406152.
- Kernighan BW, Ritchie DM. The C Programming Language. ISBN-10: 0-13-110362-8; ISBN 0131103628
- Cormen TH et al. Introduction to Algorithms. MIT Press. ISBN: 0262033844, 0198526636
- ISBN-13 978-0-306-40615-7 and 9780306406157.
- Smith A. Red cell morphology. Br J Haematol. doi:10.1111/bjh.12345; https://doi.org/10.1000/xyz123
- Also at https://doi.org/10.1000/9434765919 (a DOI, not a patient).

Repeated digits: 1111111111, 0000000000, 999 999 9999, 555-555-5555.
Dates: the activity on 12/03/2024, 2024-03-21, 21 March 2024, 21.03.2024, and the audit ran 2023-2024.
Instruments: Sysmex XN-1000 serial number 07700900456, S/N 9434765919, lot 01632960999, catalogue no. 0113496099.
Accession numbers: 24H0123456, AB12345678, H24.1234567, 26-BX-0012345 and sample id LAB0101011237.
Times: 10:30, 09:15-17:00, 23:59:59. Money: £1,250.00, £9434765919, $1,234,567.89 and €99.
ORCID 0000-0002-1825-0097. HCPC BS65432 and CS12345. GMC 1234567, NMC 12A3456E.
Course codes BMS4001, HAEM-101, IBMS-CPD-2024. Hours: 7.5 hours, 0.5 h, 35 hours of study.
Versions v2.3.1, 10.0.19045.2965, ISO 15189:2022, Python 3.11.7. Percentages: 94.3%, 1.5%.
NHS trust ODS codes RR8 and RX1. St James's University Hospital, Beckett Street, Leeds LS9 7TF.
Population phrases: patients aged 65 and over, adults aged 18-65, children aged 2 to 5, year-olds.
Samples aged 48 hours were rejected; our 10-year-old analyser was replaced.
Patient Blood Management, patient safety, the Patient Experience team, patient X and Mrs A (anonymised).
We met on Ms Teams. The blood-borne virus policy. CD4 count, vitamin B12 2IU, HbA1c 48 mmol/mol.
A 1:1000 dilution, a 10-digit run of 12345 67890 in a table, and phone extension 4321.
"""


def test_the_false_positive_suite_stays_silent():
    assert find_identifiers(FALSE_POSITIVES) == []


def test_the_false_positive_suite_stays_silent_in_a_portfolio(portfolio, run_check):
    portfolio.activity("2026-01-10-reading", body=FALSE_POSITIVES)
    assert privacy_problems(portfolio) == []
    code, out = run_check("--content-only", "--strict", "--as-of", "2026-02-01")
    assert code == 0, out


def test_the_example_portfolio_has_no_findings():
    loaded = load_portfolio(REPO)
    assert [p for p in loaded.problems if p.code in PRIVACY_CODES] == []


# --- the inline marker --------------------------------------------------------------------


def test_a_marker_silences_exactly_one_finding_on_its_line():
    text = "Both 943 476 5919 and 999 000 0018 <!-- cpdgen: allow nhs-number -->\n"
    assert rules_in(text) == [("nhs-number", "999 *** ****")]


def test_a_marker_on_the_line_before_silences_one_finding_on_the_next_line():
    text = "<!-- cpdgen: allow nhs-number -->\n943 476 5919 and 999 000 0018\n999 000 0026\n"
    assert rules_in(text) == [("nhs-number", "999 *** ****"), ("nhs-number", "999 *** ****")]
    assert [f.line for f in scan_text(text)] == [2, 3]


def test_a_marker_naming_a_masked_value_silences_that_one():
    text = "943 476 5919 and 999 000 0018 <!-- cpdgen: allow nhs-number 999 *** **** -->"
    assert rules_in(text) == [("nhs-number", "943 *** ****")]


def test_a_marker_for_another_rule_silences_nothing():
    assert rules_in("943 476 5919 <!-- cpdgen: allow postcode -->") == [("nhs-number", "943 *** ****")]


def test_markers_in_a_portfolio_and_their_mistakes(portfolio):
    body = "\n".join(
        [
            "Seen 943 476 5919 <!-- cpdgen: allow nhs-number -->",  # silenced
            "Typo <!-- cpdgen: allow nhs-numbr -->",  # unknown rule
            "Nothing here <!-- cpdgen: allow postcode -->",  # silences nothing
            "Then 999 000 0018",
        ]
    )
    portfolio.activity("a", body=body)
    found = [(p.line, p.code, p.severity) for p in privacy_problems(portfolio)]
    assert found == [
        (7, "allow-invalid", "warning"),
        (8, "allow-unused", "warning"),
        (9, "nhs-number", "error"),
    ]
    messages = {p.code: p.message for p in privacy_problems(portfolio)}
    assert "did you mean 'nhs-number'?" in messages["allow-invalid"]


# --- what check reports -------------------------------------------------------------------


def test_a_finding_has_file_line_column_mask_and_how_to_silence_it(portfolio):
    portfolio.activity("a", body="Intro line.\nThe form said NHS no. 943 476 5919 in pen.")
    [problem] = privacy_problems(portfolio)
    assert (problem.path, problem.line, problem.column) == ("content/activities/a.md", 7, 23)
    assert problem.severity == "error" and problem.publishes
    assert "NHS number 943 *** ****" in problem.message
    assert "<!-- cpdgen: allow nhs-number -->" in problem.message
    entry = f"nhs-number 943 *** **** ({value_id('nhs-number', '9434765919')})"
    assert f"'{entry}' in the activity's allow: list" in problem.message
    assert "476" not in problem.message


def test_columns_count_characters_of_the_original_line(portfolio):
    portfolio.activity("a", body="Café – naïve ９４３\u200b４７６ 5919 end")
    [problem] = privacy_problems(portfolio)
    assert problem.column == len("Café – naïve ") + 1


def test_findings_in_the_reflection_front_matter_and_comments_are_placed(portfolio):
    text = "\n".join(
        [
            "---",
            "title: Review for Mrs Patel",
            "date: 2026-01-10",
            "category: other",
            "tags: [LS1 4AP]",
            "---",
            "What I did. <!-- Patient: John Smith, NHS 943 476 5919 -->",
            "",
            "## Reflection",
            "I learnt a lot; the results went to jane.doe@example.com.",
        ]
    )
    portfolio.activity("a", text=text)
    found = sorted((p.line, p.column, p.code) for p in privacy_problems(portfolio))
    assert found == [(2, 19, "patient-name"), (5, 8, "postcode"), (7, 27, "patient-name"), (7, 43, "nhs-number"),
                     (10, 37, "email")]  # fmt: skip
    comment = [p for p in privacy_problems(portfolio) if p.code == "nhs-number"][0]
    assert "inside an HTML comment" in comment.message
    title = [p for p in privacy_problems(portfolio) if p.line == 2][0]
    assert "this activity's allow: list" in title.message and "<!--" not in title.message


def test_a_reflection_file_is_scanned_with_its_own_lines(portfolio):
    portfolio.activity("a", reflection=None)
    portfolio.write("reflections/a.md", "---\nactivity: a\n---\nLong reflection text here.\nDOB: 03/04/1951\n")
    [problem] = privacy_problems(portfolio)
    assert (problem.path, problem.line, problem.column, problem.code) == (
        "content/reflections/a.md",
        5,
        6,
        "date-of-birth",
    )


def test_front_matter_values_are_scanned_as_yaml_reads_them(portfolio):
    # The escape hides the digits from a scan of the raw text; the parsed title shows them.
    portfolio.activity("a", text=front_matter('title: "Case \\x39434765919"'))
    [problem] = privacy_problems(portfolio)
    assert (problem.line, problem.code) == (2, "nhs-number")


def test_a_value_is_scanned_on_its_own_even_when_written_as_it_is(portfolio):
    # In the file, 'hospital' before it makes the postcode look like a hospital's address;
    # the tag on its own is a postcode. The file's text is kept for the scan (not read twice).
    portfolio.activity("a", text=front_matter("title: T", "tags: [hospital, SW1A 1AA]"))
    loaded = load_portfolio(portfolio.root)
    assert portfolio.content / "activities" / "a.md" in loaded.texts
    [problem] = [p for p in loaded.problems if p.code == "postcode"]
    assert problem.line == 3


def front_matter(*lines: str, body: str = "What I did.\n\n## Reflection\nWhat I learnt.\n") -> str:
    return "---\n" + "\n".join([*lines, "date: 2026-01-10", "category: other"]) + "\n---\n" + body


def test_portfolio_yaml_values_are_scanned(portfolio):
    portfolio.settings({"member": {"name": "Alex Morgan", "job_title": "Contact alex@example.com"}})
    [problem] = privacy_problems(portfolio)
    assert (problem.path, problem.line, problem.code) == ("content/portfolio.yaml", 3, "email")
    assert "under privacy: allow: in portfolio.yaml" in problem.message


def test_evidence_file_names_and_text_evidence_are_scanned(portfolio):
    portfolio.write("evidence/JSmith_943-476-5919_referral.pdf", pdf_document("referral"))
    portfolio.write("evidence/run-log.csv", "sample,result\nLS1 4AP,4.5\n")
    portfolio.activity("a", evidence=["JSmith_943-476-5919_referral.pdf", "run-log.csv"])
    found = sorted((p.path, p.line, p.code, p.publishes) for p in privacy_problems(portfolio))
    assert found == [
        ("content/activities/a.md", 5, "nhs-number", True),  # the evidence: line names the file
        ("content/evidence/JSmith_943-476-5919_referral.pdf", None, "nhs-number", True),
        ("content/evidence/run-log.csv", 2, "postcode", True),
    ]
    name = [p for p in privacy_problems(portfolio) if p.line is None][0]
    assert "rename the file" in name.message


def test_an_unused_evidence_file_name_is_reported_but_does_not_publish(portfolio):
    portfolio.write("evidence/999-000-0018.txt", "notes\n")
    portfolio.activity("a")
    [problem] = privacy_problems(portfolio)
    assert (problem.code, problem.publishes) == ("nhs-number", False)


def test_a_file_that_fails_to_load_is_still_scanned(portfolio):
    portfolio.activity("bad", text="---\ntitle: T\ndate: 2026-13-01\ncategory: other\n---\nNHS 943 476 5919\n")
    problems = load_portfolio(portfolio.root).problems
    assert ("invalid-date", 3) in [(p.code, p.line) for p in problems]
    [finding] = [p for p in problems if p.code == "nhs-number"]
    assert (finding.line, finding.publishes) == (6, False)
    assert "has errors" in finding.message


def test_the_hcpc_profiles_texts_are_scanned_at_their_lines_and_are_not_published(portfolio):
    portfolio.write("hcpc/statement.md", "<!-- a prompt -->\nI reviewed the case of NHS 943 476 5919.\n")
    portfolio.write("hcpc/summary.md", "I work in blood sciences. Mrs Patel is my colleague.\n")
    found = sorted((p.path, p.line, p.code, p.severity, p.publishes) for p in privacy_problems(portfolio))
    assert found == [
        ("content/hcpc/statement.md", 2, "nhs-number", "error", False),
        ("content/hcpc/summary.md", 1, "patient-name", "warning", False),
    ]
    [nhs] = [p for p in privacy_problems(portfolio) if p.code == "nhs-number"]
    assert "it goes into your HCPC profile, not onto the site" in nhs.message
    assert "'nhs-number 943 *** **** (05138e65a68d7b14) in content/hcpc/statement.md'" in nhs.message


# --- private, draft, and what is published ------------------------------------------------


@pytest.mark.parametrize("flag, why", [("private", "the activity is private"), ("draft", "the activity is a draft")])
def test_a_finding_in_an_unpublished_activity_is_reported_but_does_not_block(portfolio, flag, why):
    portfolio.activity("a", body="NHS 943 476 5919", **{flag: True})
    [problem] = privacy_problems(portfolio)
    assert problem.severity == "error" and problem.publishes is False
    assert why in problem.message
    assert blocks_publishing([problem]) == []


def test_a_finding_in_a_published_activity_blocks_publishing(portfolio):
    portfolio.activity("a", body="NHS 943 476 5919")
    portfolio.activity("b", body="she lives LS1 4AP")
    problems = privacy_problems(portfolio)
    assert [p.code for p in blocks_publishing(problems)] == ["nhs-number"]
    assert sorted(p.code for p in blocks_publishing(problems, strict=True)) == ["nhs-number", "postcode"]


def test_published_parts_reads_the_publish_choices_defensively():
    assert published_parts(SimpleNamespace(settings=None)) == privacy.PARTS
    choices = SimpleNamespace(settings=SimpleNamespace(publish=SimpleNamespace(reflections=False, evidence=False)))
    assert published_parts(choices) == privacy.PARTS - {"reflection", "evidence"}


def test_reflections_not_published_means_their_findings_do_not_block(portfolio, monkeypatch):
    monkeypatch.setattr(privacy, "published_parts", lambda portfolio: privacy.PARTS - {"reflection"})
    portfolio.activity("a", body="Description 999 000 0018", reflection="Reflection 943 476 5919 " * 3)
    portfolio.write("reflections/b.md", "---\nactivity: b\n---\nDOB: 03/04/1951\n")
    portfolio.activity("b", reflection=None)
    found = sorted((p.path, p.line, p.publishes) for p in privacy_problems(portfolio))
    assert found == [
        ("content/activities/a.md", 6, True),
        ("content/activities/a.md", 9, False),
        ("content/activities/a.md", 9, False),
        ("content/activities/a.md", 9, False),
        ("content/reflections/b.md", 4, False),
    ]


# --- allow lists --------------------------------------------------------------------------


def test_the_activity_allow_list_silences_exactly_the_value_it_names(portfolio):
    ident = value_id("nhs-number", "9434765919")
    portfolio.activity(
        "a",
        body="Ref 943 476 5919; kit from LS1 4AP and LS2 7UE; 999 000 0018; 943 000 0012",
        allow=[f"nhs-number 943 *** **** ({ident})", "postcode"],
    )
    # The other number with the same first digits is not let through: the id names one value.
    assert [(p.code, p.message.split(" (")[0]) for p in privacy_problems(portfolio)] == [
        ("nhs-number", "NHS number 999 *** ****"),
        ("nhs-number", "NHS number 943 *** ****"),
    ]


def test_a_masked_entry_of_an_error_rule_lets_nothing_through_and_says_why(portfolio):
    portfolio.activity("a", body="Ref 943 476 5919.", allow=["nhs-number 943 *** ****"])
    problems = privacy_problems(portfolio)
    assert sorted(p.code for p in problems) == ["allow-invalid", "nhs-number"]
    invalid = next(p for p in problems if p.code == "allow-invalid")
    assert "names only the first digits" in invalid.message
    finding = next(p for p in problems if p.code == "nhs-number")
    assert value_id("nhs-number", "9434765919") in finding.message  # the exact entry to paste


def test_a_portfolio_wide_entry_names_the_file_of_an_error_finding(portfolio):
    ident = value_id("nhs-number", "9434765919")
    portfolio.activity("a", body="Ref 943 476 5919.")
    portfolio.activity("b", body="Ref 943 476 5919 again.")
    portfolio.settings(
        {
            "member": {"name": "Alex Morgan"},
            "privacy": {"allow": [f"nhs-number 943 *** **** ({ident}) in content/activities/a.md"]},
        }
    )
    problems = privacy_problems(portfolio)
    assert [(p.path, p.code) for p in problems] == [("content/activities/b.md", "nhs-number")]
    assert f"'nhs-number 943 *** **** ({ident})' in the activity's allow: list" in problems[0].message
    portfolio.settings({"member": {"name": "Alex Morgan"}, "privacy": {"allow": [f"nhs-number ({ident})"]}})
    assert "but not the file it is in" in " ".join(p.message for p in privacy_problems(portfolio))


def test_an_unused_portfolio_wide_entry_is_reported(portfolio):
    portfolio.activity("a", body="Nothing here.")
    portfolio.settings({"member": {"name": "Alex Morgan"}, "privacy": {"allow": ["LS9 7TF"]}})
    [problem] = privacy_problems(portfolio)
    assert (problem.path, problem.code, problem.publishes) == ("content/portfolio.yaml", "allow-unused", False)


def test_allow_list_mistakes_are_reported_at_their_line(portfolio):
    portfolio.activity(
        "a",
        body="Nothing identifying here.",
        allow=["nhs-number", "nhs 943 *** ****", "nhs-number 943 476 5919", "email x***@example.com"],
    )
    found = sorted((p.line, p.code, p.publishes) for p in privacy_problems(portfolio))
    assert found == [  # every entry sits on the allow: line, in flow style
        (5, "allow-invalid", True), (5, "allow-invalid", True), (5, "allow-invalid", True),
        (5, "allow-unused", True),
        (5, "nhs-number", False),  # the number written in the list: not published, but in git
    ]  # fmt: skip
    messages = " ".join(p.message for p in privacy_problems(portfolio))
    assert "name the one value" in messages and "did you mean 'nhs-number'?" in messages
    assert "never write an NHS or CHI number in an allow list" in messages


def test_portfolio_allow_list_and_patterns(portfolio):
    portfolio.settings(
        {
            "member": {"name": "Alex Morgan"},
            "privacy": {
                "patterns": {"mrn": r"MRN\d{7}"},
                "allow": ["LS9 7TF", "alex.morgan@example.com", "0113 496 0000", "mrn MR********"],
            },
        }
    )
    portfolio.activity(
        "a",
        body="Lab at Leeds LS9 7TF, ls97tf; email Alex.Morgan@example.com or 0113 496 0000; "
        "seen at LS1 4AP; MRN1234567 and MRN7654321",
    )
    assert [p.code for p in privacy_problems(portfolio)] == ["postcode"]


@pytest.mark.parametrize(
    "patterns, message",
    [
        ({"mrn": "MRN[0-9"}, "not a valid regular expression"),
        ({"mrn": "MRN(\\d{7}"}, "'MRN(\\d{7}' is not a valid regular expression: missing ), unterminated subpattern"),
        ({"mrn": "(a+)+$"}, "repeats a group that itself repeats"),
        ({"mrn": "(?:x|\\d*)+"}, "repeats a group that itself repeats"),
        ({"mrn": "\\d*"}, "matches empty text"),
        ({"nhs-number": "X\\d{4}"}, "is a built-in rule"),
        ({"Bad Name": "X\\d{4}"}, "cannot name a pattern"),
        ({"mrn": "(a|aa)*c"}, "repeats without a limit"),
        ({"mrn": "\\w{0,100}\\w{0,100}x"}, "in too many ways"),
    ],
)
def test_a_bad_pattern_is_a_problem_at_its_line_not_a_traceback(portfolio, run_check, patterns, message):
    lines = ["member:", "  name: Alex Morgan", "privacy:", "  patterns:"]
    lines += [f"    {name}: '{regex}'" for name, regex in patterns.items()]
    portfolio.settings("\n".join(lines) + "\n")
    problems = load_portfolio(portfolio.root).problems
    [problem] = [p for p in problems if p.code == "invalid-pattern"]
    assert problem.line == 5 and message in problem.message
    code, out = run_check("--content-only")
    assert code == 1 and "Traceback" not in out


def test_a_fixed_repeat_inside_a_repeat_is_allowed(portfolio):
    portfolio.settings({"member": {"name": "A"}, "privacy": {"patterns": {"lab-number": r"(?:[A-Z]{2}\d{3}){1,4}"}}})
    portfolio.activity("a", body="sample AB123CD456 checked")
    assert [(p.code, p.column) for p in load_portfolio(portfolio.root).problems] == [("lab-number", 8)]


# --- cpdgen check -------------------------------------------------------------------------


def test_check_fails_on_an_identifier_even_with_content_only(portfolio, run_check):
    portfolio.activity("a", body="NHS 943 476 5919")
    code, out = run_check("--content-only")
    assert code == 1
    assert re.search(r"content/activities/a\.md:6:5: error: NHS number 943 \*\*\* \*\*\*\*.*\[nhs-number\]", out)
    assert "476" not in out


def test_warnings_fail_check_only_under_strict(portfolio, run_check):
    portfolio.activity("a", body="she lives LS1 4AP")
    assert run_check("--content-only")[0] == 0
    assert run_check("--content-only", "--strict")[0] == 1


def test_check_json_marks_what_publishes(portfolio, run_check):
    portfolio.activity("a", body="NHS 943 476 5919")
    portfolio.activity("b", body="NHS 999 000 0018", private=True)
    code, out = run_check("--content-only", "--format", "json")
    data = json.loads(out)
    assert code == 1 and data["ok"] is False
    assert [(p["file"], p["code"], p["publishes"]) for p in data["problems"]] == [
        ("content/activities/a.md", "nhs-number", True),
        ("content/activities/b.md", "nhs-number", False),
    ]


def test_check_github_format_shows_the_finding_on_its_line(portfolio, run_check):
    portfolio.activity("a", body="NHS 943 476 5919")
    code, out = run_check("--content-only", "--format", "github")
    assert "::error file=content/activities/a.md,line=6,col=5,title=nhs-number::NHS number 943 *** ****" in out


# --- robustness ---------------------------------------------------------------------------

_ALPHABET = st.sampled_from(
    list("0123456789 -+()@./:\n\u200b\u00a0\u2009AaBbLSMrsDOB年é٣９") + ["NHS ", "DOB ", "aged ", "Mrs ", "patient "]
)


@settings(max_examples=300, deadline=None)
@given(st.lists(_ALPHABET, max_size=60).map("".join))
def test_any_text_scans_without_error_and_findings_point_inside_it(text):
    for finding in find_identifiers(text):
        assert 0 <= finding.start < finding.end <= len(text)
        lines = text.split("\n")
        assert 1 <= finding.line <= len(lines)
        assert 1 <= finding.column <= len(lines[finding.line - 1]) + 1


@settings(max_examples=100, deadline=None)
@given(st.text(alphabet="\u200b\u00a0 x", max_size=12), st.sampled_from(NHS_NUMBERS))
def test_invisible_characters_never_hide_a_number(prefix, number):
    text = prefix + "NHS " + "\u200b".join(number)
    [finding] = find_identifiers(text)
    assert text[finding.start] == number[0]


# --- the site build (runs once the build exists) ------------------------------------------


def test_a_site_build_with_a_finding_fails_and_leaves_site_as_it_was(portfolio, capsys):
    pytest.importorskip("cpdgen.site.build")
    build = ["build", "--root", str(portfolio.root), "--no-pdf", "--as-of", "2026-06-01"]
    portfolio.many(24)
    portfolio.activity("2026-01-10-private", body="NHS 999 000 0018", private=True)
    assert main(build) == 0, capsys.readouterr()  # a private activity's finding does not block
    site = portfolio.root / "site"
    before = {p: p.read_bytes() for p in site.rglob("*") if p.is_file()}
    assert before
    portfolio.activity("2026-01-10-public", body="NHS 943 476 5919")
    assert main(build) == 1
    output = capsys.readouterr()
    assert "nhs-number" in output.out + output.err
    assert {p: p.read_bytes() for p in site.rglob("*") if p.is_file()} == before


def test_links_out_of_content_and_pipes_are_never_read(portfolio, tmp_path):
    import os

    outside = tmp_path / "outside.txt"
    outside.write_text("NHS 943 476 5919\n", encoding="utf-8")
    portfolio.activity("a")
    (portfolio.content / "evidence").mkdir(exist_ok=True)
    os.symlink(outside, portfolio.content / "evidence" / "link.txt")
    os.mkfifo(portfolio.content / "evidence" / "pipe.txt")
    assert privacy_problems(portfolio) == []


def test_the_patient_shortcut_finds_exactly_what_the_full_rules_find():
    """A mention such as "patient safety" skips the name and number rules: never one they would match."""
    import itertools

    from cpdgen.privacy import identifiers

    texts = [
        f"{before}{keyword}{gap}{middle}{after}"
        for before, keyword, gap, middle, after in itertools.product(
            ["", "the ", "outpatient "],
            ["patient", "Patient", "PATIENT", "pt", "pt.", "patient's", "patient\u2019s"],
            [" ", "  ", ": ", ", ", "-", "\n", " :", " - ", ""],
            ["", "name ", "Name ", "named ", "called ", "name: ", "Called "],
            [
                "John Smith",
                "J. Smith",
                "J.Smith",
                "SMITH, John",
                "safety review",
                "id A123456",
                "ID: A123456",
                "no 1234567",
                "No. 1234567",
                "number 1234567",
                "john smith",
                "x",
                "é Smith",
            ],  # fmt: skip
        )
    ]

    def found() -> list[tuple]:
        return [(f.rule, f.start, f.end, f.masked) for text in texts for f in find_identifiers(text)]

    quick = found()
    assert len(quick) > 1000  # the names and numbers above are found
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(identifiers, "_NOTHING_AFTER_PATIENT", frozenset())  # every mention through the rules
        assert found() == quick
