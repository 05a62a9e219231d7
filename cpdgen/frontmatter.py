"""Reading a member's text files: bytes to text, front matter from Markdown, strict YAML.

YAML here is deliberately dumb. Only ``true``/``false`` are booleans, numbers are written
the ordinary way (no ``1:30`` sexagesimal, no ``017`` octal), dates stay text so the
models can say exactly what is wrong with them, and anchors, aliases, duplicate keys and
tags are refused. Every key's line is recorded so a problem can point at it.
"""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass, field
from pathlib import Path

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode
from yaml.resolver import BaseResolver

from cpdgen.fsutil import RealPaths, read_member_file
from cpdgen.problems import ReadError

MAX_FILE_BYTES = 2_000_000
MAX_FRONT_MATTER_BYTES = 64_000
MAX_DEPTH = 16
MAX_NUMBER_DIGITS = 15

Loc = tuple  # a path into the data: ("diplomas", 1, "start")


class YamlWord(str):
    """A plain ``yes``/``no``/``on``/``off``: text to us, but a boolean to YAML 1.1 tools."""


_YAML11_WORDS = {"yes", "no", "on", "off"}

_STR = "tag:yaml.org,2002:str"
_INT = "tag:yaml.org,2002:int"
_FLOAT = "tag:yaml.org,2002:float"
_BOOL = "tag:yaml.org,2002:bool"
_NULL = "tag:yaml.org,2002:null"
_SEQ = "tag:yaml.org,2002:seq"
_MAP = "tag:yaml.org,2002:map"


class _Resolver(BaseResolver):
    """YAML 1.2 core-schema scalars, minus the surprises (no inf/nan, no leading-zero ints)."""

    # BaseResolver's methods, without path resolvers (there are none): they run for every node.
    def resolve(self, kind: type, value: str | None, implicit: tuple[bool, bool]) -> str:
        if kind is ScalarNode:
            if implicit[0]:
                for tag, regexp in self.yaml_implicit_resolvers.get(value[:1], ()):  # type: ignore[index]
                    if regexp.match(value):
                        return tag
            return _STR
        return _SEQ if kind is SequenceNode else _MAP

    def descend_resolver(self, current_node: object, current_index: object) -> None:
        pass

    def ascend_resolver(self) -> None:
        pass


_Resolver.yaml_implicit_resolvers = {}
_Resolver.add_implicit_resolver(_BOOL, re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF"))
_Resolver.add_implicit_resolver(_INT, re.compile(r"^[-+]?(?:0|[1-9][0-9]*)$"), list("-+0123456789"))
_Resolver.add_implicit_resolver(
    _FLOAT,
    re.compile(r"^[-+]?(?:(?:0|[1-9][0-9]*)\.[0-9]*|\.[0-9]+|(?:0|[1-9][0-9]*)(?:\.[0-9]*)?[eE][-+]?[0-9]+)$"),
    list("-+0123456789."),
)
_Resolver.add_implicit_resolver(_NULL, re.compile(r"^(?:~|null|Null|NULL|)$"), ["~", "n", "N", ""])

if getattr(yaml, "__with_libyaml__", False):
    from yaml._yaml import CParser as _Parser  # the class yaml.cyaml uses, named where its stub exports it

    class _Composer(_Parser, _Resolver):
        def __init__(self, stream: str):
            _Parser.__init__(self, stream)
            _Resolver.__init__(self)

else:  # pragma: no cover - PyYAML built without libyaml
    from yaml.composer import Composer
    from yaml.parser import Parser
    from yaml.reader import Reader
    from yaml.scanner import Scanner

    class _Composer(Reader, Scanner, Parser, Composer, _Resolver):  # type: ignore[no-redef]
        def __init__(self, stream: str):
            Reader.__init__(self, stream)
            Scanner.__init__(self)
            Parser.__init__(self)
            Composer.__init__(self)
            _Resolver.__init__(self)


@dataclass
class FrontMatter:
    """A parsed front matter block: its data, and the file line of every key and item."""

    data: object
    lines: dict[Loc, int] = field(default_factory=dict)

    def line_of(self, loc: Loc) -> int:
        """The line of the deepest part of ``loc`` that was written in the file."""
        for end in range(len(loc), -1, -1):
            line = self.lines.get(tuple(loc[:end]))
            if line is not None:
                return line
        return self.lines.get((), 1)


@dataclass
class Document:
    """A Markdown file split into its front matter and its body."""

    front_matter: str | None  # the YAML text, or None when the file has none
    front_matter_line: int  # file line of the opening ``---``
    body: str
    body_line: int  # file line of the body's first line


def decode(data: bytes) -> str:
    """Strict UTF-8 (a BOM allowed) with newlines made ``\\n``; ReadError says which byte is wrong."""
    if data.startswith((codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE)):
        raise ReadError("not-utf8", "this file is saved as UTF-32; save it as UTF-8", 1)
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        raise ReadError("not-utf8", "this file is saved as UTF-16 ('Unicode'); save it as UTF-8", 1)
    nul = data.find(b"\x00")
    if nul >= 0:
        raise ReadError(
            "binary-file",
            f"this is not a text file (byte {nul} is a NUL character); "
            "keep documents in evidence/ and name them under 'evidence:'",
            1,
        )
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        column = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
        bad = data[exc.start : exc.start + 1]
        guess = bad.decode("cp1252", errors="replace")
        hint = f" (in Windows-1252 that byte is '{guess}')" if guess != "\ufffd" else ""
        raise ReadError(
            "not-utf8",
            f"byte 0x{bad.hex()} at offset {exc.start} is not UTF-8{hint}; re-save the file as UTF-8",
            line,
            column,
        ) from None
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    return text


def read_text(path: Path, within: Path, paths: RealPaths | None = None) -> str:
    """Read a member's text file inside the folder ``within`` (``fsutil.read_member_file``),
    refusing what is too big, binary or not UTF-8."""
    try:
        data = read_member_file(path, within, limit=MAX_FILE_BYTES, paths=paths)
    except ReadError as exc:
        if exc.code == "file-too-large":
            exc.message += "; keep large documents in evidence/ and name them under 'evidence:'"
            exc.line = 1
        raise
    text = decode(data)
    if not text.strip():
        raise ReadError("empty-file", "the file is empty", 1)
    return text


def split(text: str) -> Document:
    """Split ``---`` front matter from the body. The first line must be exactly ``---``."""
    lines = text.split("\n")
    if lines[0].rstrip() != "---":
        return Document(None, 1, text, 1)
    for index in range(1, len(lines)):
        if lines[index].rstrip() in ("---", "..."):
            return Document(
                front_matter="\n".join(lines[1:index]) + "\n",
                front_matter_line=1,
                body="\n".join(lines[index + 1 :]),
                body_line=index + 2,
            )
    raise ReadError(
        "unclosed-front-matter",
        "the front matter opened on line 1 is never closed; add a line with just '---' after it",
        1,
    )


def parse_yaml(source: str, first_line: int = 1) -> FrontMatter:
    """Parse strict YAML; ``first_line`` is the file line of ``source``'s first line."""
    # A character is at most 4 bytes of UTF-8: most front matter is measured without encoding it.
    if len(source) * 4 > MAX_FRONT_MATTER_BYTES and len(source.encode("utf-8")) > MAX_FRONT_MATTER_BYTES:
        raise ReadError(
            "front-matter-too-large",
            f"front matter is larger than {MAX_FRONT_MATTER_BYTES:,} bytes; move long text into the Markdown body",
            first_line,
        )
    offset = first_line - 1
    try:
        loader = _Composer(source)
        try:
            node = loader.get_single_node()
        finally:
            loader.dispose()
    except yaml.MarkedYAMLError as exc:
        raise _syntax_error(exc, source, offset) from None
    except yaml.reader.ReaderError as exc:
        line = source.count("\n", 0, exc.position) + 1
        raise ReadError(
            "yaml-syntax",
            f"character U+{exc.character:04X} is not allowed in front matter; delete it",
            line + offset,
        ) from None
    except yaml.YAMLError as exc:  # pragma: no cover - every YAMLError libyaml raises is marked
        raise ReadError("yaml-syntax", f"not valid YAML: {exc}", first_line) from None
    except RecursionError:
        raise ReadError("yaml-too-deep", "the front matter is nested too deeply", first_line) from None
    result = FrontMatter(data=None, lines={(): max(first_line - 1, 1)})
    if node is None:
        result.data = {}
        return result
    result.data = _Builder(result.lines, offset).build(node, (), 0)
    return result


def _syntax_error(exc: yaml.MarkedYAMLError, source: str, offset: int) -> ReadError:
    mark = exc.problem_mark or exc.context_mark
    line = mark.line + 1 if mark else 1
    column = mark.column + 1 if mark else None
    text_lines = source.split("\n")
    source_line = text_lines[line - 1] if 0 < line <= len(text_lines) else ""
    message = f"YAML syntax error: {exc.problem or exc.context}"
    if "\t" in source_line:
        message += "; this line has a tab: replace it with spaces, or put the value in quotes"
    elif source_line.count(": ") > 1 or (": " in source_line and source_line.rstrip().endswith(":")):
        message += "; a value that contains ': ' must be put in quotes"
    elif source_line.lstrip().startswith(("@", "`", "%")):
        message += "; a value that starts with @, ` or % must be put in quotes"
    return ReadError("yaml-syntax", message, line + offset, column)


class _Builder:
    """Turn composed YAML nodes into dicts, lists and scalars, recording lines as it goes."""

    def __init__(self, lines: dict[Loc, int], offset: int):
        self.lines = lines
        self.offset = offset
        self.seen: set[int] = set()

    def fail(self, code: str, message: str, node: Node) -> ReadError:
        return ReadError(code, message, node.start_mark.line + 1 + self.offset, node.start_mark.column + 1)

    def build(self, node: Node, loc: Loc, depth: int) -> object:
        # An alias gives the very same node object twice: refusing reuse refuses aliases,
        # before anything walks an exponentially large tree.
        if id(node) in self.seen:
            raise self.fail(
                "yaml-alias", "anchors and aliases (&name, *name) are not allowed; write the value out", node
            )
        self.seen.add(id(node))
        if depth > MAX_DEPTH:
            raise self.fail("yaml-too-deep", f"the front matter is nested more than {MAX_DEPTH} levels deep", node)
        self.lines.setdefault(loc, node.start_mark.line + 1 + self.offset)
        if isinstance(node, ScalarNode):
            return self.scalar(node)
        if isinstance(node, SequenceNode):
            self.check_tag(node, _SEQ)
            items = []
            for index, item in enumerate(node.value):
                self.lines[loc + (index,)] = item.start_mark.line + 1 + self.offset
                items.append(self.build(item, loc + (index,), depth + 1))
            return items
        if isinstance(node, MappingNode):
            self.check_tag(node, _MAP)
            mapping: dict[str, object] = {}
            for key_node, value_node in node.value:
                if not isinstance(key_node, ScalarNode) or key_node.tag not in (_STR, _INT):
                    raise self.fail("yaml-syntax", "a key must be a plain word, like 'title'", key_node)
                key = key_node.value
                key_line = key_node.start_mark.line + 1 + self.offset
                if key == "<<":
                    raise self.fail("yaml-alias", "merge keys (<<) are not allowed; write the keys out", key_node)
                if key in mapping:
                    first = self.lines[loc + (key,)]
                    raise ReadError(
                        "yaml-duplicate-key",
                        f"key '{key}' appears twice (first on line {first}); keep one",
                        key_line,
                        key_node.start_mark.column + 1,
                    )
                self.lines[loc + (key,)] = key_line
                mapping[key] = self.build(value_node, loc + (key,), depth + 1)
            return mapping
        raise self.fail("yaml-syntax", "unsupported YAML node", node)  # pragma: no cover

    def check_tag(self, node: Node, expected: str) -> None:
        if node.tag != expected:
            raise self.fail("yaml-tag", f"YAML tags like '{node.tag}' are not allowed; remove the tag", node)

    def scalar(self, node: ScalarNode) -> object:
        tag, value = node.tag, node.value
        if tag == _STR:
            if not node.style and value.lower() in _YAML11_WORDS:  # plain, not quoted
                return YamlWord(value)
            return value
        if tag == _NULL:
            return None
        if tag == _BOOL:
            return value.lower() == "true"
        if tag in (_INT, _FLOAT):
            if len(value) > MAX_NUMBER_DIGITS and sum(ch.isdigit() for ch in value) > MAX_NUMBER_DIGITS:
                raise self.fail(
                    "invalid-number",
                    f"the number {value[:20]}… has too many digits; if it is text, put it in quotes",
                    node,
                )
            try:
                return int(value) if tag == _INT else float(value)
            except ValueError:
                raise self.fail("invalid-number", f"'{value}' is not a number", node) from None
        raise self.fail("yaml-tag", f"YAML tags like '{tag}' are not allowed; remove the tag", node)
