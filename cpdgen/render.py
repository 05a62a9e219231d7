"""Markdown to safe HTML, shared by every output (site, PDF).

Members' Markdown is rendered once per text with a small set of extensions, then cleaned
by nh3 with an allow-list: raw HTML is *sanitised* (harmless formatting such as ``<sup>``
survives; scripts, styles, iframes, event handlers, ``javascript:``/``data:`` links and
HTML comments are removed). ``attr_list`` and ``extra`` are not enabled, so ``{: onclick=…}``
stays text. Python-Markdown is quadratic on some inputs (long runs of ``[`` or ``<a b=``),
so texts with too many of those are refused, and rendering runs under a watchdog.

The site renders each text once (:class:`MarkdownCache`) and fills the templates of one
Jinja environment (:func:`make_environment`).
"""

from __future__ import annotations

import hashlib
import json
import multiprocessing
import os
import re
import signal
import threading
from contextlib import contextmanager
from importlib.metadata import version as _version
from pathlib import Path
from typing import Iterable, Iterator

import markdown
import nh3
from markupsafe import Markup

from cpdgen.fsutil import default_cache_dir  # noqa: F401 - where the Markdown cache lives
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


_ANCHOR = re.compile(r"<a\b([^>]*)>")
_IMAGE = re.compile(r"<img\b([^>]*)>")


def _tidy(html: str) -> str:
    """Keep cleaned HTML valid: a link whose address was removed loses ``rel``; an image gets ``alt``.

    nh3 escapes ``>`` inside attribute values, so a tag ends at the first ``>``.
    """
    html = _ANCHOR.sub(
        lambda m: m.group(0) if ' href="' in m.group(1) else "<a" + m.group(1).replace(' rel="noopener noreferrer"', "") + ">",
        html,
    )
    return _IMAGE.sub(lambda m: m.group(0) if ' alt="' in m.group(1) else '<img alt=""' + m.group(1) + ">", html)


def sanitize_html(html: str) -> str:
    """Clean HTML with the allow-list: the security boundary for everything a member wrote."""
    return _tidy(_clean(html))


def _clean(html: str) -> str:
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


# ---------------------------------------------------------------------------------------
# Rendering once: a cache of rendered Markdown, keyed by the text's hash.

# Anything that could change the HTML for the same text is part of the cache's identity,
# so a cache written by another version or configuration is never used.
RENDERER_ID = hashlib.sha256(
    json.dumps(
        [
            "cpdgen-markdown-2",
            markdown.__version__,
            _version("nh3"),
            sorted(_TAGS),
            {tag: sorted(names) for tag, names in sorted(_ATTRIBUTES.items())},
            sorted(_ALLOWED_SCHEMES),
            MAX_OPEN_BRACKETS,
            MAX_ANGLE_BRACKETS,
        ]
    ).encode()
).hexdigest()[:16]


def text_key(text: str) -> str:
    """The cache key of a text: its SHA-256."""
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


PARALLEL_MIN_TEXTS = 200  # below this, starting worker processes costs more than it saves


def _render_or_none(text: str) -> str | None:
    """A worker's part of :meth:`MarkdownCache.prefill`."""
    try:
        return str(render_markdown(text))
    except CpdgenError:
        return None


class MarkdownCache:
    """Rendered Markdown by content hash: each distinct text is rendered once.

    Kept in memory for as long as the object lives (``cpdgen serve`` keeps one across
    rebuilds) and, when ``path`` is given, saved to disk so the next ``cpdgen build``
    reuses it. The cache never changes output: an entry is the exact result of
    :func:`render_markdown` for that text with this renderer (``RENDERER_ID``); a file
    written by another version, or unreadable, is ignored.
    """

    def __init__(self, path: Path | None = None):
        self.path = path
        self._entries: dict[str, str] = {}
        self._used: set[str] = set()
        self._dirty = False
        self.hits = 0
        self.misses = 0
        if path is not None:
            self._entries = self._read(path)

    @staticmethod
    def _read(path: Path) -> dict[str, str]:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}  # no cache yet, or a damaged one: start afresh
        if not isinstance(data, dict) or data.get("renderer") != RENDERER_ID:
            return {}
        entries = data.get("entries")
        if not isinstance(entries, dict):
            return {}
        return {k: v for k, v in entries.items() if isinstance(k, str) and isinstance(v, str)}

    def render(self, text: str) -> Markup:
        """Safe HTML for ``text`` (see :func:`render_markdown`), from the cache when it was seen before."""
        if not text or not text.strip():
            return Markup("")
        key = text_key(text)
        self._used.add(key)
        html = self._entries.get(key)
        if html is not None:
            self.hits += 1
            return Markup(html)
        self.misses += 1
        rendered = render_markdown(text)
        self._entries[key] = str(rendered)
        self._dirty = True
        return rendered

    def prefill(self, texts: Iterable[str]) -> int:
        """Render the texts not yet cached on every core at once; the number rendered.

        Only when many texts are missing (a first build), the platform can fork, and no
        other thread runs (forking a threaded process is unsafe). A text a worker cannot
        render is left out: :meth:`render` renders it again here and reports its problem.
        """
        missing: dict[str, str] = {}
        for text in texts:
            if text and text.strip():
                key = text_key(text)
                if key not in self._entries:
                    missing.setdefault(key, text)
        workers = min(os.cpu_count() or 1, 4)
        if (
            len(missing) < PARALLEL_MIN_TEXTS
            or workers < 2
            or "fork" not in multiprocessing.get_all_start_methods()
            or threading.active_count() > 1
        ):
            return 0
        keys = list(missing)
        with multiprocessing.get_context("fork").Pool(workers) as pool:
            results = pool.map(_render_or_none, [missing[key] for key in keys], chunksize=64)
        done = 0
        for key, html in zip(keys, results):
            if html is not None:
                self._entries[key] = html
                done += 1
        self._dirty = self._dirty or bool(done)
        return done

    def save(self) -> None:
        """Write the entries used since the last save to disk (others are dropped), if anything changed."""
        if self.path is None:
            return
        pruned = len(self._entries) != len(self._used)
        if not (self._dirty or pruned):
            self._used = set()
            return
        self._entries = {key: self._entries[key] for key in sorted(self._used) if key in self._entries}
        self._used = set()
        data = json.dumps({"renderer": RENDERER_ID, "entries": self._entries}, ensure_ascii=False)
        try:
            from cpdgen.fsutil import atomic_write_bytes

            atomic_write_bytes(self.path, data.encode("utf-8"), durable=False)
            self._dirty = False
        except OSError:
            pass  # a cache that cannot be saved only costs time on the next build


# ---------------------------------------------------------------------------------------
# Templates: one Jinja environment for the whole site.

THEME_DIR = Path(__file__).resolve().parent / "templates"


def make_environment(root: Path | None = None, bytecode_dir: Path | None = None):
    """The Jinja environment: the portfolio's own ``templates/`` first, then the default theme.

    Any default template can also be reached as ``default/<name>``, so an override can
    ``{% extends "default/base.html" %}`` and replace only the blocks it needs.
    Autoescaping is on for every template and undefined variables are errors.
    ``bytecode_dir`` keeps compiled templates between runs (Jinja checks each template's
    source before reusing its compiled form).
    """
    import jinja2

    loaders: list[jinja2.BaseLoader] = [jinja2.PrefixLoader({"default": jinja2.FileSystemLoader(THEME_DIR)})]
    if root is not None and (root / "templates").is_dir():
        loaders.append(jinja2.FileSystemLoader(root / "templates"))
    loaders.append(jinja2.FileSystemLoader(THEME_DIR))
    class PlainDataEnvironment(jinja2.Environment):
        """Pages' contexts are plain dicts: ``page.title`` is looked up as a key first, which
        spares Jinja a failed attribute lookup (an exception) for every variable it prints."""

        def getattr(self, obj, attribute):
            if type(obj) is dict:
                try:
                    return obj[attribute]
                except KeyError:
                    pass
            return super().getattr(obj, attribute)

    env = PlainDataEnvironment(
        loader=jinja2.ChoiceLoader(loaders),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        auto_reload=True,
        bytecode_cache=jinja2.FileSystemBytecodeCache(str(bytecode_dir)) if bytecode_dir else None,
    )
    return env


def templates_fingerprint(env) -> str:
    """A hash of every template the environment can load, so a changed theme re-renders every page."""
    digest = hashlib.sha256(RENDERER_ID.encode())
    for name in sorted(env.list_templates()):
        source, _, _ = env.loader.get_source(env, name)
        digest.update(name.encode() + b"\0" + source.encode("utf-8", "surrogatepass") + b"\0")
    return digest.hexdigest()
