"""``cpdgen schema``: JSON Schemas that agree with what cpdgen itself accepts."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from hypothesis import example, given
from hypothesis import strategies as st
from jsonschema import Draft7Validator
from pydantic import ValidationError

from cpdgen import categories, models
from cpdgen.cli import main
from cpdgen.frontmatter import parse_yaml, read_text, split
from cpdgen.schema import SCHEMAS, schema_for

REPO = Path(__file__).resolve().parents[1]
ACTIVITY = Draft7Validator(schema_for("activity"))
REFLECTION = Draft7Validator(schema_for("reflection"))
GOAL = Draft7Validator(schema_for("goal"))
PORTFOLIO = Draft7Validator(schema_for("portfolio"))


def front_matter(path: Path) -> dict:
    document = split(read_text(path, path.parent))
    return parse_yaml(document.front_matter).data


def test_schemas_are_valid_draft_7():
    for name in SCHEMAS:
        schema = schema_for(name)
        Draft7Validator.check_schema(schema)
        assert schema["$schema"] == "http://json-schema.org/draft-07/schema#"
        assert "$defs" not in json.dumps(schema)  # draft 7 keeps them in "definitions"


def test_every_model_field_is_in_the_schema_and_unknown_keys_are_refused():
    # Generated from the models: a field added to a model appears without editing schema.py.
    for name, (model, _, _) in SCHEMAS.items():
        schema = schema_for(name)
        assert list(schema["properties"]) == list(model.model_fields)
        assert schema["additionalProperties"] is False
    for definition in schema_for("portfolio")["definitions"].values():
        assert definition["additionalProperties"] is False


def test_the_example_portfolio_is_valid():
    content = REPO / "content"
    assert PORTFOLIO.is_valid(parse_yaml(read_text(content / "portfolio.yaml", content)).data)
    activities = [
        p
        for p in (content / "activities").rglob("*.md")
        if p.name == "index.md" or p.parent.parent.name == "activities"
    ]
    assert len(activities) >= 50
    for path in activities:
        errors = [e.message for e in ACTIVITY.iter_errors(front_matter(path))]
        assert errors == [], path
    for path in (content / "reflections").glob("*.md"):
        assert REFLECTION.is_valid(front_matter(path)), path
    goals = list((content / "plan").glob("*.md"))
    assert goals
    for path in goals:
        assert [e.message for e in GOAL.iter_errors(front_matter(path))] == [], path


BASE = {"title": "T", "date": "2025-01-02", "category": "other"}


# Each value is checked by both the schema and the model: they must agree.
@pytest.mark.parametrize(
    "key, value",
    [
        ("title", "Journal club"),
        ("title", ""),
        ("title", "   "),
        ("title", 12),
        ("title", True),
        ("date", "2025-01-02"),
        ("date", "2-1-2025"),
        ("date", "02/01/2025"),
        ("date", 20250102),
        ("start", "2025-01-01"),
        ("start", None),
        ("start", "soon"),
        ("category", "work-based-learning"),
        ("category", "Formal and Educational"),
        ("category", "self_directed"),
        ("category", "Professional Activities"),
        ("category", "OTHER"),
        ("category", "formal edu"),
        ("category", "reading"),
        ("category", 3),
        ("type", "journal-club"),
        ("type", "Journal club"),
        ("type", "JOURNAL_CLUB"),
        ("type", "journalclub"),
        ("type", "jornal club"),
        ("type", ["audit"]),
        ("hours", 1.5),
        ("hours", 0),
        ("hours", "2.5"),
        ("hours", -1),
        ("hours", 1001),
        ("hours", True),
        ("hours", "1:30"),
        ("hours", "lots"),
        ("tags", ["a", "b"]),
        ("tags", "a, b"),
        ("tags", [1, "x"]),
        ("tags", None),
        ("tags", {"a": 1}),
        ("evidence", ["cert.pdf"]),
        ("standards", [3, 4]),
        ("standards", 3),
        ("standards", ["3"]),
        ("standards", [6]),
        ("standards", [0]),
        ("standards", "x"),
        ("standards", [True]),
        ("private", True),
        ("private", "yes"),
        ("draft", False),
        ("draft", 1),
        ("goal", "advanced-transfusion-practice"),
        ("goal", 2027),
        ("goal", ""),
        ("goal", ["a"]),
        ("catagory", "other"),
    ],
)
def test_activity_schema_agrees_with_the_model(key, value):
    data = {**BASE, key: value}
    if key == "type":
        del data["category"]
    try:
        models.ActivityFrontMatter.model_validate(data)
        accepted = True
    except ValidationError:
        accepted = False
    assert ACTIVITY.is_valid(data) == accepted


def test_activity_needs_a_category_or_a_type():
    assert not ACTIVITY.is_valid({"title": "T", "date": "2025-01-02"})
    assert ACTIVITY.is_valid({"title": "T", "date": "2025-01-02", "type": "audit"})


@pytest.mark.parametrize(
    "data, valid",
    [
        ({"member": {"name": "A"}}, True),
        ({"member": {"name": "A", "membership_number": 204518, "hcpc_number": "BS1"}}, True),
        ({"member": {"name": "A", "nmae": "x"}}, False),
        ({"member": {}}, False),
        ({}, False),
        ({"member": {"name": "A"}, "diplomas": [{"start": "2024-05-02", "submitted": None}]}, True),
        # Only the first diploma may leave out its start: check says so for the others.
        ({"member": {"name": "A"}, "diplomas": [{"submitted": "2024-05-02"}]}, True),
        ({"member": {"name": "A"}, "site": {"timezone": "Europe/London", "reflection_min_words": 0}}, True),
        ({"member": {"name": "A"}, "site": {"reflection_min_words": -5}}, False),
        ({"member": {"name": "A"}, "site": {"theme": "dark"}}, False),
        ({"member": {"name": "A"}, "hcpc": {"registered_since": "2016-09-12", "last_renewal": "2025-10-20"}}, True),
        ({"member": {"name": "A"}, "hcpc": {}}, True),
        ({"member": {"name": "A"}, "hcpc": {"last_renewal": "20/10/2025"}}, False),
        ({"member": {"name": "A"}, "hcpc": {"renewed": "2025-10-20"}}, False),
        ({"member": {"name": "A"}, "registrations": {"hcpc": True, "science-council": {"register": "csci"}}}, True),
        ({"member": {"name": "A"}, "registrations": {"science-council": {"register": "RSciTech"}}}, True),
        ({"member": {"name": "A"}, "registrations": {"science-council": {"register": "PhD"}}}, False),
        ({"member": {"name": "A"}, "registrations": {"science-council": {}}}, False),
        ({"member": {"name": "A"}, "registrations": {"science-council": None}}, False),
        ({"member": {"name": "A"}, "registrations": {"hcpc": False}}, True),
        ({"member": {"name": "A"}, "registrations": {"science_council": {"register": "CSci"}}}, False),
        ({"member": {"name": "A"}, "registrations": {"ibms": "yes"}}, False),
    ],
)
def test_portfolio_schema(data, valid):
    assert PORTFOLIO.is_valid(data) == valid
    try:
        models.PortfolioFile.model_validate(data)
        accepted = True
    except ValidationError:
        accepted = False
    assert accepted == valid


GOAL_BASE = {"title": "Lead the transfusion laboratory"}


@pytest.mark.parametrize(
    "key, value",
    [
        ("status", "open"),
        ("status", "Done"),
        ("status", " dropped "),
        ("status", "pending"),
        ("status", True),
        ("planned", ["A course, in November", "Shadowing"]),
        ("planned", "One thing, with a comma"),
        ("planned", None),
        ("planned", [""]),
        ("planned", [3]),
        ("target", "2027-11-12"),
        ("review", "soon"),
        ("private", True),
        ("private", "no"),
        ("why", "Because."),
        ("tags", ["x"]),
    ],
)
def test_goal_schema_agrees_with_the_model(key, value):
    data = {**GOAL_BASE, key: value}
    try:
        models.GoalFrontMatter.model_validate(data)
        accepted = True
    except ValidationError:
        accepted = False
    assert GOAL.is_valid(data) == accepted


def _pattern(schema: dict, key: str) -> re.Pattern:
    branches = schema["properties"][key]["anyOf"][0]["anyOf"]
    return re.compile(next(b["pattern"] for b in branches if "pattern" in b))


CATEGORY_PATTERN = _pattern(schema_for("activity"), "category")
TYPE_PATTERN = _pattern(schema_for("activity"), "type")


def _variants(spelling: str):
    """A spelling in random case, with its words joined by random separators."""
    words = [w for w in re.split(r"[^A-Za-z0-9]+", spelling) if w]
    separators = st.sampled_from([" ", "-", "_", " / ", "  ", "-"])
    cases = st.sampled_from([str.lower, str.upper, str.title, lambda s: s])
    return st.tuples(st.lists(separators, min_size=len(words), max_size=len(words)), cases).map(
        lambda sc: sc[1]("".join(w + s for w, s in zip(words, sc[0], strict=True)).strip(" -_/") or spelling)
    )


ALL_CATEGORY_SPELLINGS = [s for forms in categories.category_spellings().values() for s in forms]
ALL_TYPE_SPELLINGS = [s for forms in categories.type_spellings().values() for s in forms]


@given(st.sampled_from(ALL_CATEGORY_SPELLINGS).flatmap(_variants))
def test_every_known_category_spelling_matches_the_pattern(text):
    assert categories.resolve_category(text) is not None
    assert CATEGORY_PATTERN.search(text), text


@given(st.sampled_from(ALL_TYPE_SPELLINGS).flatmap(_variants))
def test_every_known_type_spelling_matches_the_pattern(text):
    assert categories.resolve_type(text) is not None
    assert TYPE_PATTERN.search(text), text


_PIECES = st.sampled_from(
    [
        "work",
        "based",
        "learning",
        "and",
        "formal",
        "educational",
        "self",
        "directed",
        "other",
        "activities",
        "professional",
        "activity",
        "journal",
        "club",
        "e",
        "learning",
        "x",
        "İ",
        "K",
        "ß",
        "1",
    ]
)
_SEPARATORS = st.sampled_from(["", " ", "-", "/", "_", " and ", "é"])


@given(
    st.lists(st.tuples(_PIECES, _SEPARATORS), min_size=1, max_size=5).map(
        lambda parts: "".join(piece + sep for piece, sep in parts)
    )
)
@example("work\u212abased learning")  # KELVIN SIGN: its lower case is a "k"
@example("Self-D\u0130rected learning")
@example("formaland educational")  # words run together differ from the spelling's words
@example("journalclub")
def test_what_the_patterns_accept_cpdgen_accepts(text):
    if CATEGORY_PATTERN.search(text):
        assert categories.resolve_category(text) is not None, text
    if TYPE_PATTERN.search(text):
        assert categories.resolve_type(text) is not None, text


def test_schema_command_prints_and_writes(tmp_path, capsys):
    assert main(["schema", "--which", "portfolio"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed == schema_for("portfolio")
    assert main(["schema"]) == 0
    assert set(json.loads(capsys.readouterr().out)) == {"activity", "reflection", "goal", "portfolio"}

    out = tmp_path / ".vscode"
    assert main(["schema", "--out", str(out)]) == 0
    assert capsys.readouterr().out.splitlines() == [str(out / f"{n}.schema.json") for n in SCHEMAS]
    first = {p.name: p.read_bytes() for p in out.iterdir()}
    assert main(["schema", "--out", str(out), "-q"]) == 0  # its own files are replaced, byte for byte
    assert capsys.readouterr().out == ""
    assert {p.name: p.read_bytes() for p in out.iterdir()} == first
    assert json.loads(first["activity.schema.json"]) == schema_for("activity")


def test_schema_never_replaces_a_file_it_did_not_write(tmp_path, capsys):
    (tmp_path / "portfolio.schema.json").write_text('{"mine": true}', encoding="utf-8")
    assert main(["schema", "--out", str(tmp_path)]) == 2
    assert "was not written by cpdgen schema" in capsys.readouterr().err
    assert (tmp_path / "portfolio.schema.json").read_text(encoding="utf-8") == '{"mine": true}'
    assert not (tmp_path / "activity.schema.json").exists()
