"""What a member's Markdown points at (images, links, raw HTML), checked for the PDF.

The Markdown is rendered safely by ``render.render_markdown`` (nh3). To tell the member what
the sanitiser dropped, it is also rendered *before* sanitising, and every URL found there is
judged: an image must be a checked file inside ``content/`` (found next to the activity file
or in ``content/evidence/``, like evidence) and is then given its virtual ``file:///_cpdgen/``
URL; a web image, a ``file:`` or ``data:`` one, one outside ``content/`` or a missing one is
an error with the file and line; a link to a local file or raw HTML such as ``<link>`` is a
warning (it is left out). Links to web pages and ``mailto:`` stay.
"""

from __future__ import annotations

import os
import re
import threading
from html import escape, unescape
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

from markupsafe import Markup

from cpdgen import render
from cpdgen.frontmatter import read_text
from cpdgen.pdf.resources import IMAGE_TYPES, read_checked, virtual_url
from cpdgen.portfolio import URL_SCHEME, Activity
from cpdgen.problems import MarkdownTooComplex, Problem, ReadError, Refused, Severity

_URL_ATTRIBUTES = {"src", "href", "data", "poster", "srcset", "action", "background", "xlink:href"}
_REMOVED_ELEMENTS = {
    "link", "object", "embed", "iframe", "frame", "script", "style", "base", "audio", "video", "source",
}  # fmt: skip
_LINK_SCHEMES = ("http", "https", "mailto")


class _Urls(HTMLParser):
    """Every URL-bearing attribute, and every element the sanitiser removes, in raw HTML."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: list[tuple[str, str | None, str]] = []  # (tag, attribute, value); no attribute: removed

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _REMOVED_ELEMENTS:
            self.found.append((tag, None, ""))
            return
        for name, value in attrs:
            if name in _URL_ATTRIBUTES and value is not None:
                self.found.append((tag, name, value))

    handle_startendtag = handle_starttag


_RAW_MARKDOWN = None  # a Markdown instance of our own: render.py's is used (and locked) by render_markdown
_RAW_LOCK = threading.Lock()


def _raw_html(text: str) -> str:
    """The Markdown as HTML *before* sanitising, to see what the member meant (and what nh3 removes)."""
    global _RAW_MARKDOWN
    with _RAW_LOCK:
        if _RAW_MARKDOWN is None:
            _RAW_MARKDOWN = render.new_markdown()  # the same extensions as render_markdown
        _RAW_MARKDOWN.reset()
        return _RAW_MARKDOWN.convert(text)


_IMG = re.compile(r'<img\b(?:[^>"]|"[^"]*")*>')
_A = re.compile(r'<a\b(?:[^>"]|"[^"]*")*>')
_ATTR = re.compile(r'([a-zA-Z_:][-a-zA-Z0-9_:.]*)="([^"]*)"')


def _tag(name: str, attrs: dict[str, str]) -> str:
    return "<" + " ".join([name] + [f'{k}="{v}"' for k, v in attrs.items()]) + ">"


class Collector:
    """Renders members' Markdown for the PDF; collects problems, the files it will read, and where URLs came from."""

    def __init__(self, root: Path, content: Path):
        self.root = root
        self.content = content
        self.problems: list[Problem] = []
        self.files: dict[str, bytes] = {}  # file URL -> bytes the PDF will read (for the cache key)
        self.sources: dict[str, tuple[str, int | None]] = {}
        self._texts: dict[Path, list[str]] = {}
        self._mentions: dict[tuple[Path, str], int] = {}

    def problem(self, path: str, line: int | None, severity: Severity, code: str, message: str) -> None:
        self.problems.append(Problem(path, line, severity, code, message))

    def url_of(self, file: Path) -> str:
        """The virtual URL of a checked file inside content/."""
        return virtual_url("content", file.resolve().relative_to(self.content).as_posix())

    def line_of(self, source: Path, needle: str, fallback: int | None) -> int | None:
        """The line of ``source`` naming ``needle``: its first mention, then the next one, and so on."""
        if source not in self._texts:
            try:
                self._texts[source] = read_text(source, self.content).split("\n")
            except (ReadError, OSError):
                self._texts[source] = []
        hits = [n for n, line in enumerate(self._texts[source], start=1) if needle and needle in line]
        if not hits:
            return fallback
        seen = self._mentions.get((source, needle), 0)
        self._mentions[(source, needle)] = seen + 1
        return hits[min(seen, len(hits) - 1)]

    def markdown(self, text: str, source: Path, path: str, line: int | None) -> Markup:
        """Safe HTML for the PDF; each image resolved to a checked file, each unusable URL a problem."""
        try:
            safe = render.render_markdown(text)
        except MarkdownTooComplex as exc:
            self.problem(path, line, "error", "markdown-too-complex", exc.message)
            return Markup("")
        images: dict[str, str] = {}
        parser = _Urls()
        parser.feed(_raw_html(text))
        for tag, attribute, value in parser.found:
            where = self.line_of(source, value or f"<{tag}", line)
            if attribute is None:
                self.problem(path, where, "warning", "pdf-html-removed", f"the <{tag}> element is left out of the PDF")
            elif tag == "img" and attribute == "src":
                url = self._image(value, source.parent, path, where)
                if url:
                    images[value] = url
            elif attribute == "href" and tag == "a":
                self._link(value, path, where)
            else:
                message = f"the {attribute} of <{tag}> is left out of the PDF"
                self.problem(path, where, "warning", "pdf-html-removed", message)
        # Sanitised HTML whose <img> and <a> tags are rebuilt from escaped attributes.
        return Markup(self._localise(str(safe), images, path, line))  # noqa: S704

    def _image(self, src: str, folder: Path, path: str, line: int | None) -> str | None:
        value = src.strip()
        scheme = URL_SCHEME.match(value)
        if scheme:
            name = scheme.group(1).lower()
            if name in ("http", "https"):
                self.problem(
                    path, line, "error", "pdf-image-remote",
                    f"image '{value}' is on the web; the PDF reads no web address. "
                    "Save the image in content/ and give its file name",
                )  # fmt: skip
            else:
                self.problem(
                    path, line, "error", "pdf-image-refused",
                    f"image '{value}' is not allowed: an image must be a file inside content/",
                )  # fmt: skip
            return None
        relative = unquote(urlsplit(value).path)
        parts = relative.replace("\\", "/").split("/")
        if not relative or relative.startswith(("/", "\\", "~")) or ".." in parts or re.match(r"^[A-Za-z]:", relative):
            self.problem(
                path, line, "error", "pdf-image-outside",
                f"image '{value}' is outside content/; give a path inside content/ without '..'",
            )  # fmt: skip
            return None
        candidates = [folder / relative, self.content / "evidence" / relative]
        found = next((c for c in candidates if os.path.lexists(c)), None)
        if found is None:
            self.problem(
                path, line, "error", "pdf-image-missing",
                f"image '{value}' not found next to this file or in content/evidence/",
            )  # fmt: skip
            return None
        try:
            data, _ = read_checked(found, [self.content], value)
        except Refused as exc:
            self.problem(path, line, "error", exc.code, f"image {exc.message}")
            return None
        url = self.url_of(found)
        self.files[url] = data
        self.sources.setdefault(url, (path, line))
        return url

    def _link(self, href: str, path: str, line: int | None) -> None:
        value = href.strip()
        scheme = URL_SCHEME.match(value)
        if scheme and scheme.group(1).lower() in _LINK_SCHEMES:
            return
        parts = value.split("#", 1)[0].replace("\\", "/").split("/")
        if scheme or value.startswith(("/", "\\", "~")) or ".." in parts:
            self.problem(
                path, line, "warning", "pdf-link-refused",
                f"link '{value}' is left out of the PDF: links must be https://, mailto: or inside content/",
            )  # fmt: skip

    def evidence_image(self, file: Path, ref: str, activity: Activity) -> str | None:
        """A file URL to show an evidence image on the page, or None (it is still attached)."""
        if file.suffix.lower() not in IMAGE_TYPES:
            return None
        try:
            data, _ = read_checked(file, [self.content], ref)
        except Refused as exc:
            message = f"evidence {exc.message}; it is attached but not shown"
            self.problem(activity.path, None, "warning", exc.code, message)
            return None
        url = self.url_of(file)
        self.files[url] = data
        self.sources.setdefault(url, (activity.path, None))
        return url

    def _localise(self, html: str, images: dict[str, str], path: str, line: int | None) -> str:
        def image(match: re.Match) -> str:
            attrs = dict(_ATTR.findall(match.group(0)))
            src = unescape(attrs.get("src", ""))
            url = images.get(src)
            if url is None:
                if src and not any(p.path == path and src in p.message for p in self.problems):
                    self.problem(path, line, "error", "pdf-image-missing", f"image '{src}' could not be included")
                return ""
            attrs["src"] = escape(url)
            if not attrs.get("alt"):
                attrs["alt"] = escape(Path(unquote(urlsplit(src).path)).name)
            return _tag("img", attrs)

        def link(match: re.Match) -> str:
            attrs = dict(_ATTR.findall(match.group(0)))
            href = unescape(attrs.get("href", ""))
            scheme = URL_SCHEME.match(href)
            if href and not (scheme and scheme.group(1).lower() in _LINK_SCHEMES) and not href.startswith("#"):
                del attrs["href"]  # a file of the portfolio: a link from the PDF cannot reach it
            return _tag("a", attrs)

        return _A.sub(link, _IMG.sub(image, html))
