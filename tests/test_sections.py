"""The reflection rule (cpdgen/sections.py) as properties: what opens a reflection, what never does,
and that cutting it out loses no line. Real files through the loader: tests/test_loader.py."""

from __future__ import annotations

import re
from collections import Counter

from hypothesis import given
from hypothesis import strategies as st

from cpdgen.csvread import HEADER_NAMES
from cpdgen.sections import MODEL_STAGES, REFLECTION_NAMES, is_reflection_name, split_reflection, stage_model


def any_case(text: str) -> st.SearchStrategy[str]:
    return st.tuples(*(st.sampled_from([c.lower(), c.upper()]) for c in text)).map("".join)


NAME = st.sampled_from(REFLECTION_NAMES).flatmap(any_case)
COLON = st.sampled_from(["", ":"])


@st.composite
def reflection_heading(draw) -> str:
    """An accepted name written as a heading in any of the ways the rule accepts."""
    name, colon = draw(NAME), draw(COLON)
    form = draw(st.sampled_from(["atx", "closed-atx", "setext", "bold", "bold-colon-outside", "numbered"]))
    level = draw(st.integers(1, 6))
    if form == "atx":
        return f"{'#' * level} {name}{colon}"
    if form == "closed-atx":
        return f"{'#' * level} {name}{colon} {'#' * draw(st.integers(1, 3))}"
    if form == "setext":
        return f"{name}{colon}\n{draw(st.sampled_from(['=', '-'])) * draw(st.integers(1, 12))}"
    if form == "numbered":
        return f"{'#' * level} {draw(st.integers(1, 9))}. {name}{colon}"
    mark = draw(st.sampled_from(["**", "__"]))
    return f"{mark}{name}{colon}{mark}" if form == "bold" else f"{mark}{name}{mark}{colon}"


ORDINARY_LINES = [
    "",
    "What I did, in the laboratory.",
    "## Background",
    "### Method",
    "# Day one",
    "- a list item",
    "1. a step",
    "> a quotation",
    "**Note:** the analyser was new.",
    "**Important**",
    "| a | b |",
    "Results",
    "---",
    "    indented code",
    "I thought about it afterwards.",
]
ORDINARY = st.lists(st.sampled_from(ORDINARY_LINES), max_size=12).map("\n".join)
STAGE_HEADINGS = [f"## {stage.capitalize()}" for stages in MODEL_STAGES.values() for stage in stages]
ANY_LINE = st.one_of(
    st.sampled_from(ORDINARY_LINES + STAGE_HEADINGS + ["```", "~~~", "<!--", "-->", "## Reflection on the day"]),
    reflection_heading(),
    st.text(alphabet="#*_-=:`~ <>!aR\n", max_size=12),
)
BODY = st.lists(ANY_LINE, max_size=20).map("\n".join)


ALONE = [h for h in STAGE_HEADINGS if h != "## Description"]  # a lone Description is the description (below)


@given(before=ORDINARY, heading=reflection_heading(), stage=st.sampled_from(["", *ALONE]))
def test_any_accepted_name_in_any_form_opens_the_reflection(before, heading, stage):
    text = f"I learnt a lot.\n{stage}\nAnd more." if stage else "I learnt a lot."
    body = f"{before}\n\n```\n## Evidence\n```\n\n{heading}\n{text}"
    sections = split_reflection(body)
    assert sections.reflection == text
    assert sections.reflection_line == body.split("\n").index(heading.split("\n")[0]) + 1
    assert sections.extra_headings == ()
    assert sections.near_misses == ()


@given(code=st.lists(ANY_LINE.filter(lambda line: not re.search(r"^ {0,3}(```|~~~)", line, re.M))).map("\n".join))
def test_text_inside_fenced_code_never_opens_a_reflection(code):
    fenced = f"````\n{code}\n````"
    assert split_reflection(fenced).reflection is None
    assert split_reflection(f"What I did.\n{fenced}\nAfter.").near_misses == ()


@given(body=BODY, code=st.lists(st.sampled_from(ORDINARY_LINES + ["## Reflection", "Reflection:"])).map("\n".join))
def test_a_code_block_in_front_changes_nothing_but_the_line_numbers(body, code):
    shift = code.count("\n") + 3
    alone, behind = split_reflection(body), split_reflection(f"````\n{code}\n````\n{body}")
    assert behind.reflection == alone.reflection
    assert behind.reflection_line == (alone.reflection_line + shift if alone.reflection_line else None)
    assert behind.extra_headings == tuple(line + shift for line in alone.extra_headings)
    assert behind.near_misses == tuple((line + shift, message) for line, message in alone.near_misses)


def nonblank(text: str) -> Counter[str]:
    return Counter(line for line in text.split("\n") if line.strip())


@given(body=BODY)
def test_description_and_reflection_reassemble_the_body_less_its_heading(body):
    sections = split_reflection(body)
    if sections.reflection is None:
        assert sections.description == body
        return
    lines = body.split("\n")
    heading = sections.reflection_line - 1
    kept = nonblank(sections.description) + nonblank(sections.reflection)
    lost = nonblank(body) - kept
    assert not kept - nonblank(body)  # nothing invented
    assert lost in (nonblank(lines[heading]), nonblank("\n".join(lines[heading : heading + 2])))
    assert is_reflection_name(re.sub(r"^ {0,3}#+|#+ *$", "", lines[heading]))
    assert sections.reflection in body


@given(body=st.text(max_size=300) | BODY)
def test_any_text_is_split_without_error(body):
    sections = split_reflection(body)
    count = body.count("\n") + 1
    assert all(1 <= line <= count for line, _ in sections.near_misses)
    assert all(1 <= line <= count for line in sections.extra_headings)
    assert split_reflection(body) == sections


@given(body=ORDINARY)
def test_ordinary_text_has_no_near_miss(body):
    assert split_reflection(body).near_misses == ()


def test_names_and_stages():
    assert is_reflection_name("**Reflective Statement:**")
    assert is_reflection_name("2. Reflection")
    assert not is_reflection_name("Reflection on the day")
    assert not is_reflection_name("Reflective practice")
    assert stage_model("Reflection-on-action") == "Schön's model"
    assert stage_model("Abstract conceptualization") == "Kolb's learning cycle"
    assert stage_model("Feelings (what were you thinking?)") == "Gibbs' reflective cycle"
    assert stage_model("So what?") == "Driscoll's 'What? So what? Now what?'"
    assert stage_model("What I did") is None
    assert not set(REFLECTION_NAMES) & {s for stages in MODEL_STAGES.values() for s in stages}


def test_the_importer_reads_a_column_with_any_name_a_heading_may_have():
    assert set(REFLECTION_NAMES) <= set(HEADER_NAMES["reflection"])


def test_messages_say_what_to_write():
    (near,) = split_reflection("Did.\n\n### Relfective statement\nText.").near_misses
    assert near == (
        3,
        "'### Relfective statement' is not a reflection heading (did you mean 'Reflective'?), so the text "
        "under it is read as the description; if it is your reflection, write '### Reflective statement'",
    )
    (near,) = split_reflection("Did.\n\n## Description\nA.\n## Feelings\nB.\n## Analysis\nC.").near_misses
    assert near == (
        3,
        "'## Description', '## Feelings' and 1 more are stages of Gibbs' reflective cycle, but no reflection "
        "heading is above them, so they are read as the description and this file has no reflection; "
        "put '## Reflection' on a line of its own above '## Description'",
    )
    (near,) = split_reflection("**Reflection:** I learnt that the " + "very " * 30 + "long line").near_misses
    assert near[1].startswith("'**Reflection:** I learnt that the very very") and "…'" in near[1]


def test_long_hostile_lines_are_read_in_one_pass():
    # Each of these once made a regular expression backtrack for ever (make bench times them).
    hostile = ["**" + "a " * 50_000, "__" + "a_" * 50_000, "## " + "(a" * 50_000, "**" + "reflect**x" * 10_000 + " y"]
    for line in hostile:
        assert split_reflection(f"What I did.\n\n{line}\n").reflection is None
    (near,) = split_reflection("**Reflection:**" + " I learnt" * 50_000).near_misses
    assert near[0] == 1


def test_a_lone_description_after_the_reflection_is_the_description_and_gibbs_stays_whole():
    alone = split_reflection("## Reflection\n\nI learnt a lot.\n\n## Description\n\nA two-day course.\n")
    assert alone.reflection == "I learnt a lot." and "two-day course" in alone.description
    gibbs = split_reflection("## Reflection\n## Description\nThe day.\n## Feelings\nNervous.\n## Evidence\nx\n")
    assert (
        gibbs.reflection == "## Description\nThe day.\n## Feelings\nNervous." and gibbs.description == "## Evidence\nx"
    )


def test_a_reflection_heading_emptied_by_the_heading_under_it_says_why():
    # A bold label ranks below every '#' heading: '### What I learnt' under it ends it at once.
    body = "What I did.\n\n**Reflection**\n\n### What I learnt\n\nA lot.\n"
    sections = split_reflection(body)
    assert sections.reflection == ""
    [(line, message)] = sections.near_misses
    assert line == 3 and "'**Reflection**' is followed at once by '### What I learnt'" in message
    assert "'## Reflection'" in message


def test_a_heading_with_a_long_run_of_spaces_is_read_in_linear_time():
    # A regex with optional spaces both sides of the text took minutes here.
    sections = split_reflection("# a" + " " * 300_000 + "b\n\n## Reflection\nI learnt.")
    assert sections.reflection == "I learnt."
