"""Reading bytes, splitting front matter, and the strict YAML loader."""

from __future__ import annotations

import codecs
import resource

import pytest

from cpdgen.frontmatter import MAX_FILE_BYTES, YamlWord, decode, parse_yaml, read_text, split
from cpdgen.problems import ReadError


def parse(text: str, first_line: int = 2):
    return parse_yaml(text, first_line)


def error_of(text: str, first_line: int = 2) -> ReadError:
    with pytest.raises(ReadError) as caught:
        parse_yaml(text, first_line)
    return caught.value


class TestDecode:
    def test_utf8_bom_is_removed_so_front_matter_is_found(self):
        text = decode(codecs.BOM_UTF8 + b"---\ntitle: A\n---\nBody")
        assert split(text).front_matter == "title: A\n"

    def test_crlf_and_lone_cr_become_newlines(self):
        assert decode(b"---\r\ntitle: A\r\n---\r\nBody\rmore") == "---\ntitle: A\n---\nBody\nmore"

    def test_cp1252_byte_is_named_with_its_line_and_guess(self):
        with pytest.raises(ReadError) as caught:
            decode(b"---\ntitle: Patient\x92s\n---\n")
        error = caught.value
        assert error.code == "not-utf8"
        assert error.line == 2
        assert "0x92" in error.message and "offset 18" in error.message and "’" in error.message

    @pytest.mark.parametrize("bom", [codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE])
    def test_utf16_is_refused_with_advice(self, bom):
        with pytest.raises(ReadError) as caught:
            decode(bom + "---\ntitle: A\n".encode("utf-16-le"))
        assert caught.value.code == "not-utf8"
        assert "UTF-16" in caught.value.message

    def test_nul_byte_means_binary(self):
        with pytest.raises(ReadError) as caught:
            decode(b"\x89PNG\r\n\x1a\n\x00\x00")
        assert caught.value.code == "binary-file"


class TestReadText:
    def test_empty_file(self, tmp_path):
        path = tmp_path / "a.md"
        path.write_bytes(b"  \n\n")
        with pytest.raises(ReadError) as caught:
            read_text(path, tmp_path)
        assert (caught.value.code, caught.value.line) == ("empty-file", 1)

    def test_oversized_file_is_refused_without_reading_it(self, tmp_path):
        path = tmp_path / "big.md"
        with path.open("wb") as handle:
            handle.truncate(20 * 1024 * 1024)  # sparse: 20 MB of NULs, never read
        with pytest.raises(ReadError) as caught:
            read_text(path, tmp_path)
        assert caught.value.code == "file-too-large"
        assert f"{MAX_FILE_BYTES:,}" in caught.value.message


class TestSplit:
    def test_no_front_matter(self):
        document = split("# Just a heading\n")
        assert document.front_matter is None
        assert document.body == "# Just a heading\n"

    def test_trailing_spaces_on_delimiters_and_dots_terminator(self):
        document = split("--- \ntitle: A\n...\nBody")
        assert document.front_matter == "title: A\n"
        assert document.body == "Body"
        assert document.body_line == 4

    def test_dashes_in_a_value_and_a_rule_in_the_body_are_left_alone(self):
        document = split("---\ntitle: Pre---post review\n---\nIntro\n\n---\n\nMore")
        assert document.front_matter == "title: Pre---post review\n"
        assert document.body == "Intro\n\n---\n\nMore"

    def test_four_dashes_do_not_open_front_matter(self):
        assert split("----\ntitle: A\n----\n").front_matter is None

    def test_unclosed_front_matter(self):
        with pytest.raises(ReadError) as caught:
            split("---\ntitle: A\nBody without a closing line\n")
        assert (caught.value.code, caught.value.line) == ("unclosed-front-matter", 1)

    def test_empty_front_matter(self):
        document = split("---\n---\nBody")
        assert parse_yaml(document.front_matter, 2).data == {}


class TestScalars:
    def test_yaml_1_1_surprises_stay_text(self):
        data = parse("a: no\nb: 1:30\nc: 017\nd: 2024-02-29\ne: .inf\nf: [GB, NO]\ng: 1.10\n").data
        assert data == {"a": "no", "b": "1:30", "c": "017", "d": "2024-02-29", "e": ".inf", "f": ["GB", "NO"], "g": 1.1}
        assert isinstance(data["a"], YamlWord)
        assert not isinstance(parse('a: "no"\n').data["a"], YamlWord)

    def test_numbers_booleans_and_nulls(self):
        data = parse("a: 12\nb: -2\nc: 1.5\nd: true\ne: FALSE\nf: ~\ng:\nh: 1e3\n").data
        assert data == {"a": 12, "b": -2, "c": 1.5, "d": True, "e": False, "f": None, "g": None, "h": 1000.0}

    def test_dates_that_do_not_exist_stay_text_for_the_models(self):
        assert parse("date: 2024-02-30\n").data == {"date": "2024-02-30"}

    def test_huge_integer_is_refused(self):
        error = error_of("n: " + "9" * 5000 + "\n")
        assert (error.code, error.line) == ("invalid-number", 2)


class TestRefusals:
    def test_duplicate_key_names_both_lines(self):
        error = error_of("title: first\ndate: 2024-01-01\ntitle: second\n")
        assert error.code == "yaml-duplicate-key"
        assert error.line == 4
        assert "first on line 2" in error.message

    @pytest.mark.parametrize(
        "text",
        [
            'x: !!python/object/apply:os.system ["echo PWNED"]\n',
            "x: !!python/name:os.system\n",
            "x: !include secrets.yml\n",
            "x: !!binary aGVsbG8=\n",
            "x: !!set {a, b}\n",
            "x: !!timestamp 2024-01-01\n",
        ],
    )
    def test_tags_are_refused(self, text):
        error = error_of(text)
        assert (error.code, error.line) == ("yaml-tag", 2)

    def test_alias_bomb_is_refused_before_it_expands(self):
        levels = ['a0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
        for n in range(1, 9):
            levels.append(f"a{n}: &a{n} [" + ",".join([f"*a{n - 1}"] * 9) + "]")
        levels.append("tags: *a8")
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        error = error_of("\n".join(levels) + "\n")  # expanded, it would hold 9**9 strings
        grown_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before
        assert error.code == "yaml-alias"
        assert grown_kb < 100_000  # how quickly it is refused is timed by make bench

    def test_merge_key_is_refused(self):
        assert error_of("a: &x {b: 1}\nc:\n  <<: {d: 2}\n").code == "yaml-alias"

    def test_deep_nesting_is_refused(self):
        error = error_of("n: " + "[" * 600 + "]" * 600 + "\n")
        assert error.code in ("yaml-too-deep", "yaml-syntax")
        assert error.line == 2

    def test_unhashable_key_is_a_plain_error(self):
        assert error_of("? [a, b]\n: c\n").code == "yaml-syntax"

    def test_syntax_error_points_at_the_line_and_explains_colons(self):
        error = error_of("title: Audit: the results\ndate: 2024-01-01\n")
        assert error.code == "yaml-syntax"
        assert error.line == 2
        assert "quotes" in error.message

    def test_tab_indentation_is_explained(self):
        error = error_of("title: x\n\tdate: 2024-01-01\n")
        assert error.code == "yaml-syntax"
        assert error.line == 3
        assert "tab" in error.message

    def test_control_character_is_refused(self):
        error = error_of("title: a\x07b\n")
        assert (error.code, error.line) == ("yaml-syntax", 2)

    def test_front_matter_size_cap(self):
        error = error_of("title: " + "x" * 70_000 + "\n")
        assert error.code == "front-matter-too-large"


class TestLines:
    def test_every_key_and_item_has_its_file_line(self):
        front = parse("title: A\ntags:\n  - one\n  - two\nmember:\n  name: B\n", first_line=2)
        assert front.lines[("title",)] == 2
        assert front.lines[("tags", 1)] == 5
        assert front.lines[("member", "name")] == 7
        assert front.line_of(("member", "name", "missing")) == 7
        assert front.line_of(("nowhere",)) == 1
