"""Markdown to safe HTML, shared by every output (site, PDF).

Members' Markdown is rendered once per text with a small set of extensions, then cleaned
by nh3 with an allow-list: raw HTML is *sanitised* (harmless formatting such as ``<sup>``
survives; scripts, styles, iframes, event handlers, ``javascript:``/``data:`` links and
HTML comments are removed). ``attr_list`` and ``extra`` are not enabled, so ``{: onclick=…}``
stays text. Python-Markdown is quadratic on some inputs (long runs of ``[`` or ``<a b=``),
so texts with too many of those are refused, and rendering runs under a watchdog.
"""

from __future__ import annotations

import re
import signal
import threading
from contextlib import contextmanager
from typing import Iterator

import markdown
import nh3
from markupsafe import Markup

from cpdgen.problems import CpdgenError

RENDER_SECONDS = 10
MAX_OPEN_BRACKETS = 1000
MAX_ANGLE_BRACKETS = 1000

_TAGS = {
    "a", "abbr", "b", "blockquote", "br", "code", "dd", "del", "details", "div", "dl", "dt", "em",
    "h1", "h2", "h3", "h4", "h5", "h6", "hr", "i", "img", "ins", "kbd", "li", "mark", "ol", "p", "pre",
    "q", "s", "small", "span", "strong", "sub", "summary", "sup", "table", "tbody", "td", "tfoot",
    "th", "thead", "tr", "u", "ul",
}  # fmt: skip
_ATTRIBUTES = {
    "a": {"href", "title"},
    "img": {"src", "alt", "title", "width", "height"},
    "td": {"align"},
    "th": {"align"},
    "ol": {"start"},
    "abbr": {"title"},
}
_SCHEME = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*:")
_ALLOWED_SCHEMES = {"http", "https", "mailto"}


class MarkdownTooComplex(CpdgenError):
    """A text that Python-Markdown would take too long to render."""

    def __init__(self, message: str):
        super().__init__(message, exit_code=1)


def _filter_attribute(tag: str, attribute: str, value: str) -> str | None:
    """Keep only URLs a page (and WeasyPrint) may follow: web links, or plain relative paths."""
    if attribute not in ("href", "src"):
        return value
    url = value.strip()
    scheme = _SCHEME.match(url)
    if scheme:
        name = scheme.group(0)[:-1].lower()
        if name not in _ALLOWED_SCHEMES or (tag == "img" and name == "mailto"):
            return None
        return url
    if url.startswith(("/", "\\", "~")) or ".." in re.split(r"[\\/]", url) or "\\" in url:
        return None
    return url


def _new_markdown() -> markdown.Markdown:
    return markdown.Markdown(extensions=["tables", "fenced_code", "sane_lists"], output_format="html")


_MD = _new_markdown()
_LOCK = threading.Lock()


def check_complexity(text: str) -> None:
    """Refuse texts whose bracket counts make Python-Markdown take seconds or minutes."""
    opens = text.count("[")
    if opens > MAX_OPEN_BRACKETS:
        raise MarkdownTooComplex(
            f"the text has {opens:,} '[' characters (limit {MAX_OPEN_BRACKETS:,}); "
            "Markdown would take too long to render it. Is a pasted log or reference export unbalanced?"
        )
    angles = text.count("<")
    if angles > MAX_ANGLE_BRACKETS:
        raise MarkdownTooComplex(
            f"the text has {angles:,} '<' characters (limit {MAX_ANGLE_BRACKETS:,}); "
            "Markdown would take too long to render it"
        )


@contextmanager
def _watchdog(seconds: int) -> Iterator[None]:
    """Interrupt rendering after ``seconds`` (main thread on POSIX; elsewhere the limits above suffice)."""
    usable = hasattr(signal, "setitimer") and threading.current_thread() is threading.main_thread()
    if not usable:
        yield
        return

    def expire(signum, frame):
        raise MarkdownTooComplex(f"rendering took more than {seconds} s; simplify the text (unbalanced brackets?)")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def sanitize_html(html: str) -> str:
    """Clean HTML with the allow-list: the security boundary for everything a member wrote."""
    return nh3.clean(
        html,
        tags=_TAGS,
        attributes=_ATTRIBUTES,
        attribute_filter=_filter_attribute,
        url_schemes=_ALLOWED_SCHEMES,
        strip_comments=True,
        link_rel="noopener noreferrer",
    )


def render_markdown(text: str) -> Markup:
    """Safe HTML for a member's Markdown. Raises MarkdownTooComplex for pathological input."""
    if not text or not text.strip():
        return Markup("")
    check_complexity(text)
    with _LOCK, _watchdog(RENDER_SECONDS):
        _MD.reset()
        html = _MD.convert(text)
    return Markup(sanitize_html(html))
