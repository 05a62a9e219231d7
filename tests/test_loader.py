"""Loading a portfolio: each bad input gives one problem at its file and line, and loading goes on."""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import time
from pathlib import Path

import pytest

from conftest import Builder, activity_text, pdf_document, png_image
from cpdgen.cache import FileMemo
from cpdgen.loader import load_portfolio
from cpdgen.problems import CpdgenError

A = "content/activities/a.md"


def problems_of(portfolio, path: str | None = None):
    loaded = load_portfolio(portfolio.root)
    found = [(p.path, p.line, p.code) for p in loaded.problems]
    return [f for f in found if path is None or f[0] == path]


def front(*lines: str, body: str = "Body\n") -> str:
    return "---\n" + "\n".join(lines) + "\n---\n" + body


GOOD = ("title: T", "date: 2024-03-01", "category: other")


@pytest.mark.parametrize(
    "text, line, code",
    [
        (front("title: [unclosed", "date: 2024-03-01"), 3, "yaml-syntax"),
        (front("- a list", "- of things"), 1, "not-mapping"),
        (front("just a sentence"), 1, "not-mapping"),
        (front("date: 2024-03-01", "category: other"), 1, "missing-field"),
        (front("title: T", "category: other"), 1, "missing-field"),
        (front("title: T", "date: 2024-13-01", "category: other"), 3, "invalid-date"),
        (front("title: T", "date: 2024-02-30", "category: other"), 3, "invalid-date"),
        (front("title: T", "date: yesterday", "category: other"), 3, "invalid-date"),
        (front("title: T", "date: 21/03/2024", "category: other"), 3, "invalid-date"),
        (front("title: T", "date: 1709164800", "category: other"), 3, "invalid-date"),
        (front("title: no", "date: 2024-03-01", "category: other"), 2, "ambiguous-value"),
        (front(*GOOD, "hours: 1:30"), 5, "invalid-number"),
        (front(*GOOD, "hours: yes"), 5, "invalid-number"),
        (front(*GOOD, "hours: -2"), 5, "invalid-number"),
        (front(*GOOD, "hours: .nan"), 5, "invalid-number"),
        (front(*GOOD, "catagory: other"), 5, "unknown-field"),
        (front("title: T", "date: 2024-03-01", "category: formal edu"), 4, "unknown-category"),
        (front("title: T", "date: 2024-03-01", "type: jurnal club"), 4, "unknown-type"),
        (front("title: T", "date: 2024-03-01"), 1, "missing-category"),
        (front(*GOOD, "start: 2024-03-02"), 5, "start-after-date"),
        (front(*GOOD, "private: yes"), 5, "invalid-boolean"),
        (front(*GOOD, "standards: [3, 6]"), 5, "invalid-value"),
        (front(*GOOD, "evidence: [missing.pdf]"), 5, "evidence-missing"),
        (front(*GOOD, "evidence: [../outside.pdf]"), 5, "evidence-outside"),
        (front(*GOOD, "evidence: [/etc/passwd]"), 5, "evidence-outside"),
        (front(*GOOD, "evidence: ['C:\\Windows\\win.ini']"), 5, "evidence-outside"),
        (front(*GOOD, "evidence: ['\\\\server\\share\\x.pdf']"), 5, "evidence-outside"),
        (front(*GOOD, "evidence: ['file:///etc/passwd']"), 5, "evidence-outside"),
        (front(*GOOD, "evidence: ['http://example.org/cert']"), 5, "evidence-invalid"),
        (front(*GOOD, "title: again"), 5, "yaml-duplicate-key"),
        ("", 1, "empty-file"),
        ("No front matter here.\n", 1, "no-front-matter"),
        ("\n---\ntitle: T\n---\n", 1, "no-front-matter"),
        ("---\ntitle: T\ndate: 2024-03-01\n", 1, "unclosed-front-matter"),
    ],
)
def test_bad_activity_gives_one_problem_at_its_line(portfolio, text, line, code):
    portfolio.activity("a", text)
    assert problems_of(portfolio, A) == [(A, line, code)]


def test_every_problem_is_reported_in_one_run(portfolio):
    portfolio.activity("a", front("title: T", "date: 2024-02-30", "category: nope", "hours: yes"))
    portfolio.activity("b", front("title: T"))
    portfolio.activity("c", activity_text())
    found = problems_of(portfolio)
    assert (A, 3, "invalid-date") in found
    assert (A, 4, "unknown-category") in found
    assert (A, 5, "invalid-number") in found
    assert ("content/activities/b.md", 1, "missing-field") in found
    loaded = load_portfolio(portfolio.root)
    assert [a.id for a in loaded.activities] == ["c"]


def test_evidence_is_checked_even_when_another_key_is_wrong(portfolio):
    portfolio.activity("a", front("title: T", "date: 2024-02-30", "category: other", "evidence: [gone.pdf]"))
    assert problems_of(portfolio) == [(A, 3, "invalid-date"), (A, 5, "evidence-missing")]


def test_messages_are_plain_and_suggest_fixes(portfolio):
    portfolio.activity("a", front("title: T", "date: 2024-03-01", "catagory: formal edu"))
    messages = [p.message for p in load_portfolio(portfolio.root).problems]
    assert "unknown key 'catagory'; did you mean 'category'?" in messages


def test_category_spellings(portfolio):
    spellings = {
        "Work-based learning": "work-based-learning",
        "work_based_learning": "work-based-learning",
        "Professional activities": "professional-activity",
        "Formal / Educational": "formal-educational",
        "Formal and educational": "formal-educational",
        "formal education": "formal-educational",
        "Self Directed Learning": "self-directed-learning",
        "OTHER": "other",
    }
    for n, spelling in enumerate(spellings):
        portfolio.activity(f"a{n}", activity_text(category=spelling))
    loaded = load_portfolio(portfolio.root)
    assert loaded.problems == []
    assert [a.category for a in sorted(loaded.activities, key=lambda a: a.id)] == list(spellings.values())


CATEGORY_NAMES = {
    "Work-based learning": "work-based-learning",
    "Professional activity": "professional-activity",
    "Formal / educational": "formal-educational",
    "Formal and educational": "formal-educational",  # the HCPC's
    "Formal/Educational": "formal-educational",  # the IBMS's
    "Formal education": "formal-educational",
    "Self-directed learning": "self-directed-learning",
    "Other": "other",
}


@pytest.mark.parametrize(
    "name, suffix",
    [
        (name, suffix)
        for name in sorted(CATEGORY_NAMES)
        for suffix in ("", " activity", " activities", " Activities")
        if not (suffix and name.endswith("activity"))  # "Professional activity activities" is no one's spelling
    ],
)
def test_any_category_name_may_be_followed_by_activities(portfolio, name, suffix):
    portfolio.activity("a", activity_text(category=name + suffix))
    loaded = load_portfolio(portfolio.root)
    assert loaded.problems == []
    assert loaded.activities[0].category == CATEGORY_NAMES[name]


def test_type_gives_the_category_and_an_explicit_category_wins(portfolio):
    portfolio.activity("a", activity_text(category=None, type="Journal club"))
    portfolio.activity("b", activity_text(category="other", type="journal-club"))
    loaded = {a.id: a for a in load_portfolio(portfolio.root).activities}
    assert loaded["a"].category == "work-based-learning"
    assert loaded["a"].meta.type == "journal-club"
    assert loaded["b"].category == "other"


def test_bom_and_crlf_files_parse(portfolio):
    text = activity_text(title="Windows file")
    portfolio.activity("a", b"\xef\xbb\xbf" + text.replace("\n", "\r\n").encode())
    loaded = load_portfolio(portfolio.root)
    assert loaded.problems == []
    assert loaded.activities[0].title == "Windows file"
    assert loaded.activities[0].has_reflection


def test_non_utf8_binary_and_huge_files(portfolio):
    portfolio.activity("a", b"---\ntitle: Patient\x92s\n---\n")
    portfolio.activity("b", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
    big = portfolio.content / "activities" / "c.md"
    with big.open("wb") as handle:
        handle.truncate(20 * 1024 * 1024)
    assert problems_of(portfolio) == [
        (A, 2, "not-utf8"),
        ("content/activities/b.md", 1, "binary-file"),
        ("content/activities/c.md", 1, "file-too-large"),
    ]


class TestReflections:
    def test_inline_section_to_the_next_level_two_heading(self, portfolio):
        body = "Intro\n\n## Reflection\nI learnt a lot.\n\n### Next steps\nMore.\n\n## Notes\nAfter."
        portfolio.activity("a", front(*GOOD, body=body))
        activity = load_portfolio(portfolio.root).activities[0]
        assert activity.reflection == "I learnt a lot.\n\n### Next steps\nMore."
        assert activity.description == "Intro\n\n## Notes\nAfter."
        assert activity.reflection_line == 8

    def test_heading_inside_fenced_code_is_ignored(self, portfolio):
        body = "```\n## Reflection\n```\n\n~~~~\n## Reflection\n~~~~\n"
        portfolio.activity("a", front(*GOOD, body=body))
        activity = load_portfolio(portfolio.root).activities[0]
        assert activity.reflection is None
        assert not activity.has_reflection

    def test_any_case_and_setext_heading(self, portfolio):
        portfolio.activity("a", front(*GOOD, body="Intro\n\nREFLECTION\n----------\nWords here."))
        portfolio.activity("b", front(*GOOD, body="## reflection:\nWords here."))
        activities = load_portfolio(portfolio.root).activities
        assert [a.reflection for a in activities] == ["Words here.", "Words here."]

    def test_only_comments_is_no_reflection(self, portfolio):
        portfolio.activity("a", front(*GOOD, body="## Reflection\n<!-- What? So what? Now what? -->\n"))
        assert not load_portfolio(portfolio.root).activities[0].has_reflection

    def test_two_inline_sections_is_an_error(self, portfolio):
        portfolio.activity("a", front(*GOOD, body="## Reflection\nOne.\n\n## Reflection\nTwo.\n"))
        assert (A, 9, "duplicate-reflection") in problems_of(portfolio)

    def test_reflection_in_its_own_file(self, portfolio):
        portfolio.activity("2024-03-01-audit", activity_text(reflection=None))
        portfolio.write("reflections/audit.md", "---\nactivity: 2024-03-01-audit\n---\nIt went well.\n")
        activity = load_portfolio(portfolio.root).activities[0]
        assert activity.reflection == "It went well."
        assert activity.reflection_path == "content/reflections/audit.md"
        assert activity.reflection_line == 4

    def test_reflection_file_for_an_unknown_activity(self, portfolio):
        portfolio.activity("2024-03-01-audit", activity_text(reflection=None))
        portfolio.write("reflections/x.md", "---\nactivity: 2024-03-01-audti\n---\nText.\n")
        loaded = load_portfolio(portfolio.root)
        assert [(p.path, p.line, p.code) for p in loaded.problems] == [
            ("content/reflections/x.md", 2, "unknown-activity")
        ]
        assert "did you mean '2024-03-01-audit'?" in loaded.problems[0].message

    def test_a_reflection_file_without_front_matter_is_told_what_it_needs(self, portfolio):
        portfolio.activity("2024-03-01-audit", activity_text(reflection=None))
        portfolio.write("reflections/audit.md", "It went well.\n")
        (problem,) = load_portfolio(portfolio.root).problems
        assert (problem.path, problem.code) == ("content/reflections/audit.md", "no-front-matter")
        assert "then 'activity:' with the id of the activity it reflects on, then '---'" in problem.message
        assert "'date:'" not in problem.message

    def test_two_reflections_for_one_activity(self, portfolio):
        portfolio.activity("a", activity_text())
        portfolio.write("reflections/a.md", "---\nactivity: a\n---\nText.\n")
        assert problems_of(portfolio) == [("content/reflections/a.md", 2, "duplicate-reflection")]

    def test_short_reflection_is_a_warning(self, portfolio):
        portfolio.activity("a", activity_text(reflection="Too short."))
        loaded = load_portfolio(portfolio.root)
        assert [(p.line, p.code, p.severity) for p in loaded.problems] == [(8, "short-reflection", "warning")]


BODY_LINE = 6  # the first body line of a file written with front(*GOOD, body=...)


def headings_of(portfolio):
    loaded = load_portfolio(portfolio.root)
    return loaded, [(p.path, p.line, p.code) for p in loaded.problems if p.code != "short-reflection"]


class TestReflectionHeadings:
    """One rule for the headings that open the reflection (cpdgen/sections.py), read from real files."""

    @pytest.mark.parametrize(
        "heading",
        [
            "## Reflection",
            "## Reflections",
            "### Reflection",
            "# Reflection",
            "###### reflection",
            "## REFLECTION:",
            "## Reflection ##",
            "## Reflective statement",
            "## Reflective account",
            "## Reflective Notes",
            "## My reflection",
            "## Personal reflections",
            "## Reflection and learning",
            "## 2. Reflection",
            "**Reflection**",
            "**Reflection:**",
            "**Reflection**:",
            "__Reflection:__",
            "***Reflection***",
            "## **Reflection**",
            "Reflection\n==========",
            "Reflections\n-----------",
            "**Reflection**\n---",
        ],
    )
    def test_each_variant_opens_the_reflection(self, portfolio, heading):
        portfolio.activity("a", front(*GOOD, body=f"What I did.\n\n{heading}\nI learnt a lot.\n"))
        loaded, problems = headings_of(portfolio)
        (activity,) = loaded.activities
        assert problems == []
        assert (activity.description, activity.reflection) == ("What I did.", "I learnt a lot.")
        assert activity.reflection_line == BODY_LINE + 2
        assert activity.has_reflection

    def test_a_bold_heading_on_its_own_paragraph(self, portfolio):
        portfolio.activity("a", front(*GOOD, body="What I did.\n\n**Reflection**\n\nI learnt a lot.\n"))
        (activity,) = load_portfolio(portfolio.root).activities
        assert activity.reflection == "I learnt a lot."

    def test_gibbs_stages_belong_to_the_reflection_and_the_next_heading_ends_it(self, portfolio):
        stages = "## Description\nA.\n## Feelings\nB.\n## Evaluation\nC.\n## Analysis\nD.\n## Conclusion\nE.\n"
        body = f"What I did.\n\n## Reflection\n{stages}## Action plan\nF.\n\n## Evidence\nThe certificate.\n"
        portfolio.activity("a", front(*GOOD, body=body))
        loaded, problems = headings_of(portfolio)
        (activity,) = loaded.activities
        assert problems == []
        assert activity.reflection == stages + "## Action plan\nF."
        assert activity.description == "What I did.\n\n## Evidence\nThe certificate."

    @pytest.mark.parametrize(
        "reflection, after",
        [
            (
                "## Reflection\n## Concrete experience\nA.\n## Reflective observation\nB.\n"
                "## Abstract conceptualization\nC.\n## Active experimentation\nD.",
                "## Notes\nE.",
            ),
            ("### Reflection\n### Reflection-in-action\nA.\n### Reflection-on-action\nB.", "## Evidence\nC."),
            ("### Reflection\n#### What?\nA.\n#### So what?\nB.\n#### Now what?\nC.", "### Evidence\nD."),
            ("**Reflection**\n\n**What?**\nA.\n\n**So what?**\nB.\n\n**Now what?**\nC.", "**Evidence**\nD."),
            ("**Reflection**\n\n## Feelings\nA.\n## Action planning\nB.", "**Evidence**\nD."),
            ("# Reflection\n## Sub-heading\nA.\n## Description (what happened)\nB.", "# Appendix\nC."),
            ("## Reflection\nA.\n### Reflections of colleagues\nB.", "## Evidence\nC."),
        ],
    )
    def test_model_stages_stay_in_and_other_headings_end_it(self, portfolio, reflection, after):
        portfolio.activity("a", front(*GOOD, body=f"What I did.\n\n{reflection}\n\n{after}\n"))
        loaded, problems = headings_of(portfolio)
        (activity,) = loaded.activities
        assert problems == []
        assert activity.reflection == reflection.split("\n", 1)[1].lstrip("\n")
        assert activity.description == f"What I did.\n\n{after}"

    @pytest.mark.parametrize(
        "body, line",
        [
            ("**Reflection**\nA.\n\n## Reflections\nB.\n", 4),
            ("### Reflection\nA.\n## Evidence\n### Reflection\nB.\n", 4),
            ("## Reflective account\nA.\n# Reflection\nB.\n", 3),
        ],
    )
    def test_a_second_reflection_section_is_an_error(self, portfolio, body, line):
        portfolio.activity("a", front(*GOOD, body=body))
        assert headings_of(portfolio)[1] == [(A, BODY_LINE + line - 1, "duplicate-reflection")]

    def test_a_renamed_heading_and_a_reflection_file_are_two_reflections(self, portfolio):
        portfolio.activity("a", front(*GOOD, body="Did.\n\n## Reflections\nOne.\n"))
        portfolio.write("reflections/a.md", "---\nactivity: a\n---\nTwo.\n")
        assert headings_of(portfolio)[1] == [("content/reflections/a.md", 2, "duplicate-reflection")]

    # (body, line of the one warning within the body, whether the file has a reflection all the same)
    NEAR_MISSES = [
        ("Did.\n\n## Reflection on the day\nI learnt.", 3, False),
        ("Did.\n\n## Reflections on the audit\nI learnt.", 3, False),
        ("Did.\n\n## Reflection (Gibbs' cycle)\nI learnt.", 3, False),
        ("Did.\n\n## Reflection: what I learnt\nI learnt.", 3, False),
        ("Did.\n\n## Reflective practice\nI learnt.", 3, False),
        ("Did.\n\n## Reflecting on the incident\nI learnt.", 3, False),
        ("Did.\n\n## Self-reflection\nI learnt.", 3, False),
        ("Did.\n\n### Reflective log\nI learnt.", 3, False),
        ("Did.\n\n## Reflecton\nI learnt.", 3, False),
        ("Did.\n\n## Relfection\nI learnt.", 3, False),
        ("Did.\n\n## Refelction\nI learnt.", 3, False),
        ("Did.\n\n## Reflectoin\nI learnt.", 3, False),
        ("Did.\n\n## Reflexion\nI learnt.", 3, False),
        ("Did.\n\n## Relfective statement\nI learnt.", 3, False),
        ("Did.\n\n**Relfection**\n\nI learnt.", 3, False),
        ("Did.\n\nReflecton\n---------\nI learnt.", 3, False),
        ("Did.\n\nReflection:\nI learnt.", 3, False),
        ("Did.\n\nREFLECTION\n\nI learnt.", 3, False),
        ("Did.\n\n*Reflection*\n\nI learnt.", 3, False),
        ("Did.\n\n**Reflection:** I learnt.", 3, False),
        ("Did.\n\nReflection: I learnt a lot.", 3, False),
        ("Did.\n\n##Reflection\nI learnt.", 3, False),
        ("Did.\n\n** Reflection **\nI learnt.", 3, False),
        (
            "Did.\n\n## Description\nA.\n## Feelings\nB.\n## Evaluation\nC.\n"
            "## Analysis\nD.\n## Conclusion\nE.\n## Action plan\nF.",
            3,
            False,
        ),
        (
            "Did.\n\n## Concrete experience\nA.\n## Reflective observation\nB.\n"
            "## Abstract conceptualisation\nC.\n## Active experimentation\nD.",
            3,
            False,
        ),
        ("Did.\n\n### What?\nA.\n### So what?\nB.\n### Now what?\nC.", 3, False),
        ("Did.\n\n**What?**\nA.\n\n**So what?**\nB.", 3, False),
        ("Did.\n\n## Reflection-in-action\nA.\n## Reflection-on-action\nB.", 3, False),
        ("Did.\n\n## Reflective observation\nA.", 3, False),
        ("Did.\n\n## Reflection (Gibbs)\n### Description\nA.\n### Feelings\nB.", 3, False),
        ("Did.\n\nReflection:\n\n## Description\nA.\n## Feelings\nB.", 3, False),
        ("Did.\n\n## Reflections on the day\nA.\n\n## Reflection\nI learnt.", 3, True),
        ("Did.\n\n## Reflection\nI learnt.\n\n## Reflection on the day\nA.", 6, True),
        ("Did.\n\n## Reflection\nI learnt.\n\n## Relfection\nA.", 6, True),
    ]

    @pytest.mark.parametrize("body, line, reflected", NEAR_MISSES)
    def test_each_near_miss_gives_one_warning_at_its_line(self, portfolio, body, line, reflected):
        portfolio.activity("a", front(*GOOD, body=body + "\n"))
        loaded, problems = headings_of(portfolio)
        assert problems == [(A, BODY_LINE + line - 1, "reflection-heading")]
        (warning,) = [p for p in loaded.problems if p.code == "reflection-heading"]
        assert warning.severity == "warning"
        assert re.search(r"'(#+ |\*\*)Reflecti", warning.message), warning.message  # it says what to write
        assert loaded.activities[0].has_reflection is reflected

    @pytest.mark.parametrize(
        "body",
        [
            "What I did.",
            "## Background\nThe lab.\n\n## What I did\nA review.\n\n## Reflection\nI learnt.",
            "- Reflection on practice\n- reflective practice group\n* Reflection: a list item\n1. Reflection",
            "```\n## Reflection\n## Relfection\n**Reflection**\n```\n\n~~~\nReflection:\n~~~\n\n## Reflection\nI.",
            "```markdown\n## Reflection\nNot this.\n```\n\n## Reflex testing\nx",
            "## Reflex testing of urine\nx\n\n## Sample rejection criteria\ny\n\n## Selection of controls\nz",
            "## Refractive index\nx\n\n## Deflection of the beam\ny\n\n## Learning outcomes\nz\n\n## Evidence\nw",
            "I wrote a reflection afterwards: it helped.\n\nReflecting on it, the day went well.",
            "| Reflection | notes |\n|---|---|\n| a | b |\n\n> Reflection: a quotation",
            "<!--\n## Reflection\nReflection:\n-->\nWhat I did.",
            "## Conclusion\nThe audit met its standard.",
            "## Description\nThe course.\n\n## Analysis\nOf results.\n\n## Reflection\nI learnt.",
            "**I reflected on this for a long time, and it changed my practice.**\n\n**I reflected a lot.**",
            "**Note:** the analyser was new.\n\n**Important**\n\nText.",
        ],
    )
    def test_ordinary_text_gives_no_warning(self, portfolio, body):
        portfolio.activity("a", front(*GOOD, body=body + "\n"))
        assert headings_of(portfolio)[1] == []

    def test_check_keeps_no_reflection_and_adds_the_hint(self, portfolio, run_check):
        import json

        portfolio.activity("a", activity_text(reflection=None, body="Did.\n\n## Reflection on the day\nI learnt."))
        code, out = run_check("--format", "json", "--as-of", "2026-02-01")
        report = json.loads(out)
        (judged,) = report["diplomas"][0]["activities"]
        assert judged["reason"] == "no-reflection"
        (problem,) = report["problems"]
        assert (problem["code"], problem["severity"], problem["line"]) == ("reflection-heading", "warning", 8)
        assert "make the heading just '## Reflection'" in problem["message"]


class TestIds:
    def test_same_id_in_two_folders(self, portfolio):
        portfolio.write("activities/2024/audit.md", activity_text())
        portfolio.write("activities/2025/audit.md", activity_text())
        assert problems_of(portfolio) == [("content/activities/2025/audit.md", 1, "duplicate-id")]

    def test_ids_that_differ_only_in_case_collide(self, portfolio):
        portfolio.activity("My Audit", activity_text())
        portfolio.activity("my-audit", activity_text())
        assert [code for _, _, code in problems_of(portfolio)] == ["duplicate-id"]

    def test_folder_activity_uses_the_folder_name_and_its_evidence(self, portfolio):
        portfolio.write("activities/2024/poster-day/index.md", activity_text(evidence=["poster.png"]))
        portfolio.write("activities/2024/poster-day/poster.png", png_image())
        portfolio.write("activities/2024/poster-day/notes.md", "not an activity")
        loaded = load_portfolio(portfolio.root)
        assert loaded.problems == []
        assert [a.id for a in loaded.activities] == ["poster-day"]
        assert loaded.activities[0].evidence[0].rel == "activities/2024/poster-day/poster.png"

    def test_hidden_and_editor_files_are_not_read(self, portfolio):
        portfolio.activity("a", activity_text())
        portfolio.write("activities/.a.md.swp", b"\x00binary")
        portfolio.write("activities/a.md~", "junk")
        portfolio.write("activities/.#a.md", "junk")
        portfolio.write("activities/.hidden.md", "junk")
        loaded = load_portfolio(portfolio.root)
        assert loaded.problems == []
        assert len(loaded.activities) == 1

    def test_markdown_outside_activities_is_a_warning(self, portfolio):
        portfolio.write("2024-stray.md", activity_text())
        assert [(p.path, p.code, p.severity) for p in load_portfolio(portfolio.root).problems] == [
            ("content/2024-stray.md", "not-read", "warning")
        ]

    def test_the_hcpc_profiles_texts_are_read_and_other_names_there_are_a_warning(self, portfolio):
        portfolio.write("hcpc/summary.md", "I am a biomedical scientist.\n")
        portfolio.write("hcpc/statement.md", "")  # empty: a text not written yet, not a file error
        portfolio.write("hcpc/gaps.md", "## 2024-01-02 to 2024-05-01\nParental leave.\n")
        portfolio.write("hcpc/statment.md", "A typo in the name.\n")
        loaded = load_portfolio(portfolio.root)
        assert [(p.path, p.code, p.severity, p.message) for p in loaded.problems] == [
            (
                "content/hcpc/statment.md", "not-read", "warning",
                "this file is not read: content/hcpc/ holds summary.md, statement.md and gaps.md; "
                "did you mean statement.md?",
            )
        ]  # fmt: skip
        assert {part: (t.path, t.text) for part, t in loaded.hcpc_texts.items()} == {
            "summary": ("content/hcpc/summary.md", "I am a biomedical scientist.\n"),
            "statement": ("content/hcpc/statement.md", ""),
            "gaps": ("content/hcpc/gaps.md", "## 2024-01-02 to 2024-05-01\nParental leave.\n"),
        }

    def test_an_hcpc_text_that_cannot_be_read_is_an_error_at_it(self, portfolio):
        portfolio.write("hcpc/statement.md", b"I \xff did it\n")
        loaded = load_portfolio(portfolio.root)
        assert [(p.path, p.code) for p in loaded.problems] == [("content/hcpc/statement.md", "not-utf8")]
        assert "statement" not in loaded.hcpc_texts

    def test_hcpc_settings_are_checked_at_their_line(self, portfolio):
        portfolio.settings(
            "member:\n  name: A\nhcpc:\n  registered_since: 2020-01-01\n  last_renewal: 2019-10-01\n"
            "  renewed: 2021-10-01\n"
        )
        found = [(p.line, p.code, p.message) for p in load_portfolio(portfolio.root).problems]
        assert found == [
            (
                5, "hcpc-dates",
                "last_renewal (2019-10-01) is before registered_since (2020-01-01); a registration is renewed after "
                "it starts",
            ),
            (6, "unknown-field", "unknown key 'hcpc.renewed'; allowed keys: registered_since, last_renewal"),
        ]  # fmt: skip


class TestEvidence:
    def test_next_to_the_file_or_in_evidence_folder_or_https(self, portfolio):
        portfolio.write("activities/cert.pdf", pdf_document("cert"))
        portfolio.write("evidence/summary.txt", "x")
        portfolio.activity("a", activity_text(evidence=["cert.pdf", "summary.txt", "https://www.ibms.org/cpd"]))
        loaded = load_portfolio(portfolio.root)
        assert loaded.problems == []
        assert [(e.rel, e.url) for e in loaded.activities[0].evidence] == [
            ("activities/cert.pdf", None),
            ("evidence/summary.txt", None),
            (None, "https://www.ibms.org/cpd"),
        ]

    def test_symlink_out_of_content_is_refused(self, portfolio, tmp_path):
        secret = tmp_path / "secret.txt"
        secret.write_text("token")
        (portfolio.content / "evidence").mkdir()
        os.symlink(secret, portfolio.content / "evidence" / "link.pdf")
        os.symlink(tmp_path, portfolio.content / "evidence" / "dir")
        portfolio.activity("a", activity_text(evidence=["link.pdf", "dir/secret.txt"]))
        assert problems_of(portfolio) == [(A, 5, "evidence-outside"), (A, 5, "evidence-outside")]

    def test_prefix_lookalike_folder_is_outside(self, portfolio, tmp_path):
        evil = tmp_path / "content_evil"
        evil.mkdir()
        (evil / "leak.pdf").write_text("x")
        os.symlink(evil / "leak.pdf", portfolio.content / "activities" / "leak.pdf")
        portfolio.activity("a", activity_text(evidence=["leak.pdf"]))
        assert problems_of(portfolio) == [(A, 5, "evidence-outside")]

    def test_symlink_inside_content_is_fine(self, portfolio):
        portfolio.write("evidence/real.pdf", pdf_document("real"))
        os.symlink(portfolio.content / "evidence" / "real.pdf", portfolio.content / "activities" / "alias.pdf")
        portfolio.activity("a", activity_text(evidence=["alias.pdf"]))
        assert problems_of(portfolio) == []

    def test_paths_through_linked_folders_resolve_to_the_real_file(self, portfolio, tmp_path):
        # The loader keeps each folder's real path: a file reached through a linked folder,
        # or written with './' and '//', is the same real file; a folder linked to outside is refused.
        portfolio.write("evidence/real/cert.pdf", pdf_document("cert"))
        os.symlink(portfolio.content / "evidence" / "real", portfolio.content / "activities" / "alias")
        (tmp_path / "outside").mkdir()
        (tmp_path / "outside" / "cert.pdf").write_text("x")
        os.symlink(tmp_path / "outside", portfolio.content / "evidence" / "away")
        portfolio.activity("a", activity_text(evidence=["alias/cert.pdf", "./real//cert.pdf", "away/cert.pdf"]))
        loaded = load_portfolio(portfolio.root)
        assert [(p.line, p.code) for p in loaded.problems] == [(5, "evidence-outside")]
        [first, second] = loaded.activities[0].evidence
        assert first.rel == second.rel == "evidence/real/cert.pdf"
        assert first.path == second.path == (portfolio.content / "evidence" / "real" / "cert.pdf").resolve()

    def test_a_link_loop_or_a_folder_is_not_a_file(self, portfolio):
        (portfolio.content / "evidence").mkdir()
        os.symlink("loop.pdf", portfolio.content / "evidence" / "loop.pdf")
        os.symlink(portfolio.content, portfolio.content / "evidence" / "everything")
        portfolio.activity("a", activity_text(evidence=["loop.pdf", "everything", "."]))
        assert problems_of(portfolio) == [(A, 5, "evidence-invalid")] * 3

    def test_activity_file_linked_from_outside_is_refused(self, portfolio, tmp_path):
        outside = tmp_path / "outside.md"
        outside.write_text(activity_text())
        os.symlink(outside, portfolio.content / "activities" / "a.md")
        assert problems_of(portfolio) == [(A, None, "outside-content")]


class TestPortfolioYaml:
    P = "content/portfolio.yaml"

    def test_missing_content_folder_is_a_setup_error(self, tmp_path):
        with pytest.raises(CpdgenError) as caught:
            load_portfolio(tmp_path)
        assert caught.value.exit_code == 2

    def test_missing_portfolio_yaml_is_a_setup_failure(self, portfolio):
        (portfolio.content / "portfolio.yaml").unlink()
        loaded = load_portfolio(portfolio.root)
        assert loaded.setup_failed
        assert [(p.path, p.code) for p in loaded.problems] == [(self.P, "no-portfolio")]

    def test_unparseable_portfolio_yaml_is_a_setup_failure(self, portfolio):
        portfolio.settings("member: [\n")
        loaded = load_portfolio(portfolio.root)
        assert loaded.setup_failed
        assert loaded.problems[0].code == "yaml-syntax"

    @pytest.mark.parametrize(
        "diplomas, line, code",
        [
            ("  - start: 2024-01-01\n    submitted: 2023-12-01\n", 5, "diploma-dates"),
            ("  - start: 2024-01-01\n    submitted: 2025-12-01\n    issued: 2025-11-01\n", 6, "diploma-dates"),
            ("  - start: 2024-01-01\n    issued: 2025-11-01\n", 5, "diploma-dates"),
            ("  - start: 2024-01-01\n    submitted: 2025-12-01\n  - start: 2023-01-01\n", 6, "diploma-order"),
            ("  - start: 2022-01-01\n    submitted: 2024-03-01\n  - start: 2024-01-01\n", 6, "diploma-overlap"),
            ("  - start: 2022-01-01\n  - start: 2024-01-01\n", 5, "diploma-overlap"),
            (
                "  - start: 2022-01-01\n    submitted: 2024-01-01\n    issued: 2024-03-01\n  - start: 2024-02-01\n",
                7,
                "diploma-overlap",
            ),
            ("  - start: 2022-01-01\n    submitted: 2024-02-30\n", 5, "invalid-date"),
            ("  - started: 2022-01-01\n", 4, "unknown-field"),
        ],
    )
    def test_bad_diplomas(self, portfolio, diplomas, line, code):
        portfolio.settings("member:\n  name: A\ndiplomas:\n" + diplomas)
        loaded = load_portfolio(portfolio.root)
        assert [(p.path, p.line, p.code) for p in loaded.problems if p.code != "missing-field"] == [
            (self.P, line, code)
        ]
        assert loaded.diplomas is None
        assert not loaded.setup_failed

    def test_member_name_is_required_and_unknown_keys_suggested(self, portfolio):
        portfolio.settings("member:\n  nmae: A\nsite:\n  timezone: Europe/Lodnon\n")
        loaded = load_portfolio(portfolio.root)
        assert [(p.line, p.code) for p in loaded.problems] == [
            (1, "missing-field"),
            (2, "unknown-field"),
            (4, "invalid-value"),
        ]
        assert "did you mean 'name'?" in loaded.problems[1].message

    def test_membership_number_keeps_leading_zeros(self, portfolio):
        portfolio.settings("member:\n  name: A\n  membership_number: 0123456\n  hcpc_number: BS12345\n")
        loaded = load_portfolio(portfolio.root)
        assert loaded.settings.member.membership_number == "0123456"

    def test_default_diploma_ids(self, portfolio):
        portfolio.settings(
            "member:\n  name: A\ndiplomas:\n  - start: 2022-01-01\n    submitted: 2024-01-01\n"
            "    issued: 2024-02-01\n  - start: 2024-02-01\n"
        )
        assert [d.id for d in load_portfolio(portfolio.root).diplomas] == ["diploma-1", "diploma-2"]


class TestParsedFileCache:
    def test_unchanged_files_are_not_read_again_and_results_match(self, portfolio, monkeypatch):
        from cpdgen import loader
        from cpdgen.cache import FileMemo

        portfolio.activity("a", activity_text(title="First"))
        portfolio.activity("b", activity_text(title="Bad", category="nope"))
        portfolio.write("reflections/c.md", "---\nactivity: a\n---\nAgain.\n")
        cache = FileMemo()
        first = load_portfolio(portfolio.root, cache)
        uncached = load_portfolio(portfolio.root)
        reads: list[str] = []
        real = loader.read_text
        monkeypatch.setattr(loader, "read_text", lambda path, *rest: reads.append(path.name) or real(path, *rest))
        second = load_portfolio(portfolio.root, cache)
        assert reads == ["portfolio.yaml"]  # small, and read every time
        assert second.activities == first.activities
        assert second.problems == first.problems == uncached.problems
        assert [p.code for p in uncached.problems] == ["unknown-category", "duplicate-reflection"]

        portfolio.activity("a", activity_text(title="Edited, and longer"))
        third = load_portfolio(portfolio.root, cache)
        assert reads == ["portfolio.yaml", "portfolio.yaml", "a.md"]  # only the edited file
        assert [a.title for a in third.activities] == ["Edited, and longer"]

    def test_evidence_is_resolved_again_on_every_load(self, portfolio):
        from cpdgen.cache import FileMemo

        portfolio.activity("a", activity_text(evidence=["cert.pdf"]))
        cache = FileMemo()
        assert [p.code for p in load_portfolio(portfolio.root, cache).problems] == ["evidence-missing"]
        portfolio.write("evidence/cert.pdf", pdf_document("cert"))  # no invalidation: the activity file is unchanged
        assert load_portfolio(portfolio.root, cache).problems == []
        (portfolio.content / "evidence" / "cert.pdf").unlink()
        assert [p.code for p in load_portfolio(portfolio.root, cache).problems] == ["evidence-missing"]

    def test_saved_cache_gives_the_same_portfolio_and_sees_every_change(self, portfolio, tmp_path, monkeypatch):
        from cpdgen import loader
        from cpdgen.cache import FileMemo
        from cpdgen.loader import parse_versions

        saved = tmp_path / "cache" / "load.pickle"
        portfolio.activity("a", activity_text(title="First"))
        portfolio.activity("b", activity_text(title="Bad", category="nope"))
        portfolio.write("reflections/c.md", "---\nactivity: a\n---\nAgain.\n")
        first = FileMemo(saved, parse_versions())
        uncached = load_portfolio(portfolio.root)
        assert load_portfolio(portfolio.root, first) == uncached
        first.save()
        assert saved.is_file()

        reads: list[str] = []
        real = loader.read_text
        monkeypatch.setattr(loader, "read_text", lambda path, *rest: reads.append(path.name) or real(path, *rest))
        again = load_portfolio(portfolio.root, FileMemo(saved, parse_versions()))  # a new process
        assert reads == ["portfolio.yaml"]
        assert again == uncached
        assert again.texts == uncached.texts  # the privacy scan sees the same texts

        # An edit that keeps the size and the modification time is still seen (the change time moves).
        path = portfolio.content / "activities" / "a.md"
        before = path.stat()
        path.write_text(path.read_text().replace("First", "Fir5t"))
        os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
        edited = load_portfolio(portfolio.root, FileMemo(saved, parse_versions()))
        assert reads[-1] == "a.md"
        assert [a.title for a in edited.activities] == ["Fir5t"]

    def test_a_damaged_or_foreign_saved_cache_is_ignored(self, portfolio, tmp_path, monkeypatch):
        from cpdgen import loader
        from cpdgen.cache import FileMemo
        from cpdgen.loader import parse_versions

        saved = tmp_path / "load.pickle"
        portfolio.activity("a", activity_text(title="First"))
        cache = FileMemo(saved, parse_versions())
        load_portfolio(portfolio.root, cache)
        cache.save()
        good = saved.read_bytes()
        header, body = good.split(b"\n", 1)
        reads: list[str] = []
        real = loader.read_text
        monkeypatch.setattr(loader, "read_text", lambda path, *rest: reads.append(path.name) or real(path, *rest))
        for damaged in (good[: len(good) // 2], header + b"\n" + b"\x80\x05garbage", b"other-code\n" + body, b""):
            saved.write_bytes(damaged)
            reads.clear()
            loaded = load_portfolio(portfolio.root, FileMemo(saved, parse_versions()))
            assert [a.title for a in loaded.activities] == ["First"]
            assert "a.md" in reads  # parsed afresh, not served from the damaged file


@pytest.mark.parametrize(
    "written, message",
    [
        ("31/02/2025", "date: '31/02/2025' is not a date: February 2025 has 28 days; write dates as YYYY-MM-DD"),
        ("14/11/2025", "date: write dates as YYYY-MM-DD: for '14/11/2025' write 2025-11-14"),
        ("21 May 2025", "date: write dates as YYYY-MM-DD: for '21 May 2025' write 2025-05-21"),
        ("1/2/25", "date: write dates as YYYY-MM-DD: if '1/2/25' is day/month/year, write 2025-02-01"),
        ("20250521", "date: write dates as YYYY-MM-DD: for 20250521 write 2025-05-21"),
    ],
)
def test_a_date_written_another_way_is_offered_as_a_real_yyyy_mm_dd(portfolio, written, message):
    portfolio.activity("a", front("title: T", f"date: {written}", "category: other"))
    (problem,) = load_portfolio(portfolio.root).problems
    assert (problem.path, problem.line, problem.code, problem.message) == (A, 3, "invalid-date", message)
    assert "2025-02-31" not in problem.message


@pytest.mark.parametrize(
    "lines, message",
    [
        (
            ("standards: [1, 3]",),
            "HCPC standard 1 (keeping the record) describes your whole CPD record, not one activity; "
            "an activity shows standards 2 to 4: remove 1 from 'standards'",
        ),
        (
            ("standards: 5",),
            "HCPC standard 5 (presenting a profile) describes your whole CPD record, not one activity; "
            "an activity shows standards 2 to 4: remove 5 from 'standards'",
        ),
        (
            ("standards:", "  - 5", "  - 1"),
            "HCPC standards 1 and 5 (keeping the record; presenting a profile) describe your whole CPD record, "
            "not one activity; an activity shows standards 2 to 4: remove 1 and 5 from 'standards'",
        ),
    ],
)
def test_standards_1_and_5_on_an_activity_are_a_warning_at_the_standards_key(portfolio, lines, message):
    portfolio.activity("a", front(*GOOD, "hours: 1", *lines))
    (problem,) = load_portfolio(portfolio.root).problems
    assert (problem.path, problem.line, problem.severity, problem.code) == (A, 6, "warning", "standard-of-the-record")
    assert problem.message == message


def test_standards_2_to_4_on_an_activity_are_fine(portfolio, run_check):
    portfolio.activity("a", front(*GOOD, "standards: [2, 3, 4]"))
    assert load_portfolio(portfolio.root).problems == []
    portfolio.activity("b", front(*GOOD, "standards: [1]"))
    assert run_check("--as-of", "2024-06-01", "--content-only")[0] == 0  # a warning
    code, out = run_check("--as-of", "2024-06-01", "--content-only", "--strict")
    assert code == 1 and "content/activities/b.md:5: warning: HCPC standard 1" in out


def test_a_comment_never_closed_is_a_warning_at_its_line(portfolio, run_check):
    # Deleting the end of a `cpdgen new` prompt hides the whole reflection without a word.
    portfolio.activity("2026-01-10-a", activity_text(body="Did it.\n\n<!-- What did you learn?\n\nMore text."))
    portfolio.write(
        "reflections/2026-01-10-a.md", "---\nactivity: 2026-01-10-b\n---\n<!-- prompt\nI learnt a great deal.\n"
    )
    code, out = run_check("--content-only")
    assert "content/activities/2026-01-10-a.md:8: warning: this comment is never closed" in out
    assert "content/reflections/2026-01-10-a.md:4: warning: this comment is never closed" in out
    portfolio.activity("2026-01-10-a", activity_text(body="Did it. <!-- a note --> Done. <!-- another -->"))
    out = run_check("--content-only")[1]
    assert "content/activities/2026-01-10-a.md" not in out and out.count("[unclosed-comment]") == 1


@pytest.mark.parametrize("folder", ["activities", "reflections"])
@pytest.mark.parametrize("kind", ["file", "fifo", "broken link"])
def test_a_content_folder_that_is_not_a_folder_is_an_error_not_an_empty_record(portfolio, folder, kind):
    where = portfolio.content / folder
    if where.exists():
        shutil.rmtree(where)
    if kind == "file":
        where.write_text("a note\n")
    elif kind == "fifo":
        os.mkfifo(where)
    else:
        where.symlink_to(portfolio.content / "nowhere")
    found = [(p.path, p.code, p.message) for p in load_portfolio(portfolio.root).problems]
    assert (f"content/{folder}", "folder-not-read") in [(path, code) for path, code, _ in found], found
    message = next(m for path, code, m in found if code == "folder-not-read")
    assert message.startswith(f"content/{folder} is not a folder") and message.endswith("make it a folder")


# --- reading ahead on every core (a first check or build of a large portfolio) ----------------


def _large_portfolio(root: Path) -> Builder:
    """Over 200 activities, as a first check of a career's record meets them, with every kind of
    file the reading ahead handles: bad front matter, identifiers, evidence documents (read,
    unreadable, a link)."""
    portfolio = Builder(root)
    portfolio.many(230, start="2022-01-03")
    portfolio.activity("2026-02-01-bad-date", date="2026-02-30")
    portfolio.activity("2026-02-02-nhs", body="Reviewed the request for NHS number 943 476 5919.")
    portfolio.write("activities/2026-02-03-folder/index.md", activity_text(date="2026-02-03", evidence=["cert.pdf"]))
    portfolio.write("activities/2026-02-03-folder/cert.pdf", pdf_document("Patient 943 476 5919 attended"))
    portfolio.write("activities/2026-02-03-folder/broken.pdf", b"%PDF-1.4 not a PDF at all")
    portfolio.write("evidence/notes.txt", "CHI 010190 1234 in a note")
    (portfolio.content / "evidence" / "elsewhere.txt").symlink_to(root.parent / "outside.txt")
    return portfolio


def _loaded(root: Path) -> tuple[list, list]:
    memo = FileMemo()
    portfolio = load_portfolio(root, memo)
    activities = [(a.id, a.meta.model_dump(), a.description, a.reflection) for a in portfolio.activities]
    return sorted(portfolio.problems), activities


def test_reading_ahead_on_every_core_gives_what_reading_one_file_at_a_time_gives(tmp_path, monkeypatch):
    import cpdgen.parallel

    (tmp_path / "outside.txt").write_text("outside", encoding="utf-8")
    root = tmp_path / "portfolio"
    _large_portfolio(root)
    put = []
    original_put = FileMemo.put
    monkeypatch.setattr(FileMemo, "put", lambda self, *args: (put.append(args[0]), original_put(self, *args)))
    ahead = _loaded(root)
    assert put.count("activity") == 233 and put.count("document") >= 3  # read ahead, not one at a time
    monkeypatch.setattr(cpdgen.parallel, "worker_count", lambda *args, **kwargs: 0)
    one_by_one = _loaded(root)
    assert ahead == one_by_one
    assert {(p.code, p.path.rpartition("/")[2]) for p in ahead[0]} == {
        ("invalid-date", "2026-02-01-bad-date.md"),
        ("nhs-number", "2026-02-02-nhs.md"),
        ("nhs-number", "cert.pdf"),
        ("evidence-not-checked", "broken.pdf"),
    }


def test_a_result_read_ahead_is_not_used_for_a_file_changed_since(tmp_path):
    path = tmp_path / "a.md"
    path.write_text("first", encoding="utf-8")
    memo = FileMemo()
    [(_, key)] = memo.missing("activity", [path])
    time.sleep(0.01)
    path.write_text("second, longer", encoding="utf-8")  # changed after the reading ahead started
    memo.put("activity", path, key, "first")
    assert memo.get("activity", path, lambda: path.read_text(encoding="utf-8")) == "second, longer"
    assert memo.missing("activity", [path]) == []


_SLOW_CHECK = """
import sys, time

from cpdgen import loader
from cpdgen.cli import main

parse = loader._parse_activity


def slow(*args, **kwargs):  # a slow disk: the workers are reading when Ctrl-C comes
    time.sleep(0.05)
    return parse(*args, **kwargs)


loader._parse_activity = slow
sys.exit(main(["check", "--root", sys.argv[1]]))
"""


@pytest.mark.slow
def test_ctrl_c_while_reading_ahead_stops_the_check_at_once_and_quietly(tmp_path):
    import signal
    import subprocess
    import sys

    portfolio = Builder(tmp_path / "p")
    portfolio.many(250, start="2020-01-06")
    check = subprocess.Popen(
        [sys.executable, "-c", _SLOW_CHECK, str(portfolio.root)],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, start_new_session=True,
    )  # fmt: skip
    try:
        children = Path(f"/proc/{check.pid}/task/{check.pid}/children")
        deadline = time.monotonic() + 30
        while len(children.read_text().split()) < 2 and time.monotonic() < deadline:
            time.sleep(0.02)
        assert len(children.read_text().split()) >= 2, "no workers read ahead"
        time.sleep(0.5)  # well inside the reading (250 files at 0.05 s each, on two workers)
        os.killpg(check.pid, signal.SIGINT)  # Ctrl-C: the terminal signals the whole process group
        _, err = check.communicate(timeout=30)  # it used to hang for ever in the pool's terminate()
    finally:
        with contextlib.suppress(OSError):
            os.killpg(check.pid, signal.SIGKILL)
        check.wait()
    assert (check.returncode, err) == (130, "cpdgen: interrupted\n")  # no worker's traceback
