"""A member's text as the identifier rules read it, with every position mapping back to the file.

Two views of one text:

- :class:`Text` normalises it (NFKC, so full-width digits become ASCII; zero-width
  characters removed; no-break and thin spaces made spaces; any Unicode digit made ASCII;
  dashes made ``-``) and keeps a folded copy for fast anchors (ASCII lower case, every
  digit a ``0``);
- :func:`visible` is what a reader of the published page sees of a Markdown text: HTML
  comments and tags gone, character references decoded, backslash escapes and emphasis
  and code markers gone, link destinations gone. A number split by markup in the file
  (``*943* 476 5919``, ``943<!-- -->476 5919``, ``&#57;43 476 5919``) is whole here.

Positions in either view map back to the original text (:meth:`Text.origin`), so a finding
keeps its file, line and column.
"""

from __future__ import annotations

import re
import string
import unicodedata
from bisect import bisect_right
from functools import lru_cache
from html import unescape

_ZERO_WIDTH = frozenset("\u200b\u200c\u200d\u2060\ufeff\u00ad\u180e")
_NON_ASCII = re.compile(r"[^\x00-\x7f]+")
_FOLD = bytes.maketrans((string.ascii_uppercase + string.digits).encode(), (string.ascii_lowercase + "0" * 10).encode())

Edit = tuple[int, int, str]  # (start, end, replacement) in the original text


_DOTS = frozenset("\u00b7\u2027\u2219\u22c5\u30fb\uff65")  # middle dots, hyphenation point


@lru_cache(maxsize=4096)
def _normal_char(ch: str) -> str:
    if ch in _ZERO_WIDTH:
        return ""
    category = unicodedata.category(ch)
    if category in ("Cf", "Mn", "Me"):
        return ""  # invisible: direction marks, variation selectors, combining marks, tags
    if category == "Zs":
        return " "
    if category in ("Zl", "Zp") or ch == "\x85":
        return "\n"
    if category == "Pd" or ch == "\u2212":
        return "-"
    if ch in _DOTS:
        return "."
    digit = unicodedata.decimal(ch, None)
    if digit is not None:
        return str(digit)
    raised = unicodedata.digit(ch, None)
    if raised is not None:
        return f" {raised} "  # a superscript or circled digit: a footnote's mark stands apart
    return unicodedata.normalize("NFKC", ch)


def _normal_text(text: str) -> str:
    return text if text.isascii() else "".join(_normal_char(ch) for ch in text)


def _character_edits(text: str, offset: int = 0) -> list[Edit]:
    """One edit per non-ASCII character whose normal form differs."""
    edits = []
    for run in _NON_ASCII.finditer(text):
        for index in range(run.start(), run.end()):
            replacement = _normal_char(text[index])
            if replacement != text[index]:
                edits.append((offset + index, offset + index + 1, replacement))
    return edits


class Text:
    """A text, its normalised form (with ``edits`` applied first), and a folded copy for anchors.

    ``edits`` are sorted, non-overlapping spans of the original each replaced by a string;
    :meth:`origin` maps any position of the normalised text back to the original.
    """

    __slots__ = ("original", "text", "fold", "_norm", "_orig", "_exact")

    def __init__(self, original: str, edits: list[Edit] | None = None):
        self.original = original
        self._norm: list[int] | None = None
        if not edits and original.isascii():
            self.text = original
        else:
            self._apply(edits or [])
        # 'replace' keeps one byte per character, so positions in ``fold`` are positions in ``text``.
        self.fold = self.text.encode("ascii", "replace").translate(_FOLD).decode("ascii")

    def _apply(self, markup: list[Edit]) -> None:
        src = self.original
        edits: list[Edit] = []
        last = 0
        for start, end, replacement in markup:
            edits.extend(_character_edits(src[last:start], last))
            edits.append((start, end, _normal_text(replacement)))
            last = end
        edits.extend(_character_edits(src[last:], last))
        pieces: list[str] = []
        norm, orig, exact = [0], [0], [True]
        last = size = 0
        for start, end, replacement in edits:
            pieces.append(src[last:start])
            size += start - last
            norm.append(size)
            orig.append(start)
            exact.append(False)
            pieces.append(replacement)
            size += len(replacement)
            norm.append(size)
            orig.append(end)
            exact.append(True)
            last = end
        pieces.append(src[last:])
        self.text = "".join(pieces)
        self._norm, self._orig, self._exact = norm, orig, exact

    def origin(self, pos: int) -> int:
        """The offset in the original text of the normalised text's ``pos``."""
        if self._norm is None:
            return pos
        k = bisect_right(self._norm, pos) - 1
        return self._orig[k] + (pos - self._norm[k]) if self._exact[k] else self._orig[k]

    def line_start(self, pos: int) -> int:
        return self.text.rfind("\n", 0, pos) + 1

    def line_end(self, pos: int) -> int:
        end = self.text.find("\n", pos)
        return len(self.text) if end < 0 else end

    def before(self, pos: int, width: int) -> str:
        """Up to ``width`` folded characters before ``pos`` on the same line."""
        return self.fold[max(self.line_start(pos), pos - width) : pos]


def normalise(text: str) -> str:
    """The text as the rules see it."""
    return Text(text).text


# What Markdown and HTML put into a file that a reader of the page never sees, tried at each
# position where one could start (one regex, so the edits never overlap). An underscore inside
# a word is a letter, not emphasis.
_MARKUP = re.compile(
    r"(?P<comment><!--.*?(?:-->|\Z))"
    r"|(?P<apart></?(?:sup|sub)\b[^<>]{0,2000}>)"  # a footnote's mark stands apart from what it follows
    r"|(?P<tag></?[A-Za-z][A-Za-z0-9:._-]*(?:[\s/][^<>]{0,2000})?>|<[?!][^<>]{0,2000}>)"
    r"|(?P<ref>&(?:\#0*[0-9]{1,7};?|\#[xX]0*[0-9A-Fa-f]{1,6};?|[A-Za-z][A-Za-z0-9]{1,31};))"
    r"|(?P<escape>\\[!-/:-@\[-`{-~])"
    r"|(?P<dest>\]\((?:[^()\n]|\([^()\n]*\)){0,2000}\))"
    r"|(?P<label>\]\[[^\]\n]{0,200}\])"
    r"|(?P<mark>\*+|`+|~+|[\[\]]|!(?=\[)|(?<![A-Za-z0-9])_+|_+(?![A-Za-z0-9]))"
    r"|(?P<quote>>(?:[ \t]?>)*[ \t]?)",  # a blockquote's markers, at the start of a line (checked below)
    re.S,
)
_MARKUP_START = re.compile(r"[<&\\\]*_`~\[!>]")
_HIDDEN = frozenset({"comment", "tag", "dest", "label"})  # markup that holds text of its own


def _markup_edits(text: str) -> tuple[list[Edit], list[tuple[int, int]]]:
    """The edits that make ``text`` what a reader sees, and the spans they hide that hold text."""
    edits: list[Edit] = []
    hidden: list[tuple[int, int]] = []
    pos = 0
    while True:
        found = _MARKUP_START.search(text, pos)
        if found is None:
            return edits, hidden
        match = _MARKUP.match(text, found.start())
        if match is None:
            pos = found.start() + 1
            continue
        kind, start, end = match.lastgroup, match.start(), match.end()
        if kind == "quote" and text[text.rfind("\n", 0, start) + 1 : start].strip(" \t"):
            pos = start + 1  # a '>' inside a line is text
            continue
        if kind == "ref":
            decoded = unescape(match.group())
            if decoded != match.group():
                edits.append((start, end, decoded))
        elif kind == "apart":
            edits.append((start, end, " "))
        elif kind == "escape":
            edits.append((start, end, match.group()[1]))
        else:
            edits.append((start, end, ""))
            if kind in _HIDDEN:
                hidden.append((start, end))
        pos = end


def visible(text: str) -> tuple[Text, list[tuple[int, int]]] | None:
    """What a reader sees of the Markdown ``text`` (see the module's docstring), and the spans of
    the file it hides that hold text of their own (comments, tags, link addresses); None when
    the reader sees the text as it is."""
    if not _MARKUP_START.search(text):
        return None
    edits, hidden = _markup_edits(text)
    return (Text(text, edits), hidden) if edits else None


_HTML_DROP = re.compile(r"<(style|script)\b.*?</\1\s*>|<!--.*?-->", re.S | re.I)
_HTML_COMMENT = re.compile(r"<!--.*?-->", re.S)
_HTML_BLOCK = re.compile(
    r"</?(?:p|div|li|ul|ol|table|thead|tbody|tfoot|caption|h[1-6]|br|hr|section|article|nav|header"
    r"|footer|main|aside|dl|dt|dd|blockquote|pre|figure|figcaption|title|head|body|html|svg|g|text|details"
    r"|summary|form|label|option|meta|link|button|img|input|select|textarea|figure|script|style)\b[^>]*>",
    re.I,
)
# A table reads as Markdown writes it, a row a line: "| Lot | Expiry |", a rule under the
# heading, "| 24A001 | 2026-03 |", so a number is read with its column's heading.
_TABLE_ROW = re.compile(r"<tr\b[^>]*>", re.I)
_TABLE_CELL_END = re.compile(r"</t[dh]\s*>", re.I)
_TABLE_HEAD_END = re.compile(r"</thead\s*>", re.I)
_TABLE_ROW_END = re.compile(r"</tr\s*>", re.I)
_HTML_TAG = re.compile(r"<[^>]*>")
_HTML_ATTRIBUTE = re.compile(r"""<[^>]*?\s(?:href|src|alt|title|content)\s*=\s*(?:"([^"]*)"|'([^']*)')""", re.I)
_ANY_ATTRIBUTE = re.compile(r"""\s[\w:.-]+\s*=\s*(?:"([^"]*)"|'([^']*)')""")
_MARKUP_CHARS = re.compile(r"[<>\"'=\n]")


def html_text(html: str, everything: bool = False) -> str:
    """The text a page shows, a block a line (and the addresses and labels its tags carry).

    As a browser shows it: inline elements (links, spans, emphasis) join their neighbours
    (``<b>943</b>476`` reads 943476), runs of white space are one space, and blocks
    (paragraphs, list items, headings) stay apart: a number is never put together across
    two of them. A table row is one line, its cells apart (``| a | b |``), with a rule under
    the heading row. Lines end with ``;``, which no rule reads across, so each line can be
    checked on its own.

    ``everything`` reads what a page publishes without showing: scripts, styles and every
    attribute's value (a theme's ``data-title``, structured data for search engines).
    """
    if everything:
        html = _HTML_COMMENT.sub(" ", html)
        # Each distinct tag once: a page repeats most of its tags (list items, links, classes).
        tags = list(dict.fromkeys(_HTML_TAG.findall(html)))
        values = [a or b for tag in tags if "=" in tag for a, b in _ANY_ATTRIBUTE.findall(tag)]
        # And, inside each tag, every run between markup characters, should a theme's quotes not
        # pair up as a parser expects (a block's text put into an attribute). The tags joined by
        # a markup character split into the same runs, in one call rather than one per tag.
        values += _MARKUP_CHARS.split("\n".join(tags))
        attributes = [unescape(value) for value in dict.fromkeys(v.strip() for v in values) if value]
    else:
        html = _HTML_DROP.sub(" ", html)
        attributes = [unescape(a or b) for a, b in _HTML_ATTRIBUTE.findall(html)]
    html = _TABLE_ROW.sub("\x00| ", html)
    html = _TABLE_CELL_END.sub(" | ", html)
    html = _TABLE_HEAD_END.sub("\x00|---|\x00", html)
    html = _TABLE_ROW_END.sub("\x00", html)
    text = " ".join(unescape(_HTML_TAG.sub("", _HTML_BLOCK.sub("\x00", html))).split())  # runs of spaces as one
    lines = [line.strip() for line in text.split("\x00")]
    return ";\n".join([line for line in lines if line] + attributes)
