"""Markdown to safe HTML, shared by every output (site, PDF).

Members' Markdown is rendered once per text with a small set of extensions, then cleaned
by nh3 with an allow-list: raw HTML is *sanitised* (harmless formatting such as ``<sup>``
survives; scripts, styles, iframes, event handlers, ``javascript:``/``data:`` links and
HTML comments are removed). ``attr_list`` and ``extra`` are not enabled, so ``{: onclick=…}``
stays text. Python-Markdown is quadratic on some inputs (long runs of ``[`` or ``<a b=``),
so texts with too many of those are refused, and rendering runs under a watchdog.

Every template, the site's and the PDF's, is filled by the one kind of Jinja environment
made here (:func:`make_environment`): sandboxed, because a shared or forked theme is
untrusted input, with autoescaping on and undefined names an error.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import threading
from importlib.metadata import version as _version
from pathlib import Path
from typing import TYPE_CHECKING, Any

import markdown
import nh3
from markupsafe import Markup

from cpdgen import theme_dir
from cpdgen.alarm import time_limit
from cpdgen.portfolio import URL_SCHEME
from cpdgen.problems import CpdgenError, MarkdownTooComplex

if TYPE_CHECKING:
    import jinja2

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
_ALLOWED_SCHEMES = {"http", "https", "mailto"}


def _filter_attribute(tag: str, attribute: str, value: str) -> str | None:
    """Keep only URLs a page (and WeasyPrint) may follow: web links, or plain relative paths."""
    if attribute not in ("href", "src"):
        return value
    url = value.strip()
    scheme = URL_SCHEME.match(url)
    if scheme:
        name = scheme.group(1).lower()
        if name not in _ALLOWED_SCHEMES or (tag == "img" and name == "mailto"):
            return None
        return url
    if url.startswith(("/", "\\", "~")) or ".." in re.split(r"[\\/]", url) or "\\" in url:
        return None
    return url


def new_markdown() -> markdown.Markdown:
    return markdown.Markdown(extensions=["tables", "fenced_code", "sane_lists"], output_format="html")


_MD = new_markdown()
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


_ANCHOR = re.compile(r"<a\b([^>]*)>")
_IMAGE = re.compile(r"<img\b([^>]*)>")


def _tidy(html: str) -> str:
    """Keep cleaned HTML valid: a link whose address was removed loses ``rel``; an image gets ``alt``.

    nh3 escapes ``>`` inside attribute values, so a tag ends at the first ``>``.
    """
    html = _ANCHOR.sub(
        lambda m: (
            m.group(0) if ' href="' in m.group(1) else "<a" + m.group(1).replace(' rel="noopener noreferrer"', "") + ">"
        ),
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


def _too_slow() -> MarkdownTooComplex:
    return MarkdownTooComplex(f"rendering took more than {RENDER_SECONDS} s; simplify the text (unbalanced brackets?)")


def render_markdown(text: str) -> Markup:
    """Safe HTML for a member's Markdown. Raises MarkdownTooComplex for pathological input."""
    if not text or not text.strip():
        return Markup("")
    check_complexity(text)
    with _LOCK, time_limit(RENDER_SECONDS, _too_slow):
        _MD.reset()
        html = _MD.convert(text)
    return Markup(sanitize_html(html))


# ---------------------------------------------------------------------------------------
# Rendering many texts at once.

# Anything that could change the HTML for the same text is part of the renderer's identity,
# so rendered Markdown kept by another version or configuration is never used.
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

PARALLEL_MIN_TEXTS = 200  # below this, starting worker processes costs more than it saves


def _render_or_none(text: str) -> str | None:
    """A worker's part of :func:`render_in_parallel`."""
    try:
        return str(render_markdown(text))
    except CpdgenError:
        return None


def render_in_parallel(texts: list[str]) -> list[str | None]:
    """Each text's safe HTML, rendered on every core at once; None where a text could not be rendered.

    Only when there are many texts (a first build), the platform can fork, and no other
    thread runs (``parallel.worker_count``); otherwise every item is None and the caller
    renders each text itself, reporting its problems.
    """
    from cpdgen.parallel import forked_map

    rendered = forked_map(lambda n: _render_or_none(texts[n]), len(texts), PARALLEL_MIN_TEXTS)
    return [None] * len(texts) if rendered is None else rendered


# ---------------------------------------------------------------------------------------
# Templates: one kind of Jinja environment for every output.


def make_environment(
    root: Path | None = None, bytecode_cache: Any = None, *, auto_reload: bool = False
) -> jinja2.Environment:
    """A Jinja environment: the portfolio's own ``templates/`` first, then the default theme.

    Any default template can also be reached as ``default/<name>``, so an override can
    ``{% extends "default/base.html" %}`` and replace only the blocks it needs. Templates
    run sandboxed (``ImmutableSandboxedEnvironment``): they read the plain data they are
    given and nothing else (no attributes starting with ``_``, no changing data, no
    files). Autoescaping is on for every template and undefined variables are errors.
    ``bytecode_cache`` keeps compiled templates between runs (``cache.bytecode_cache``).
    ``auto_reload`` checks a template's files each time it is used, for a process that lives
    while the theme is edited (``cpdgen serve``); a build reads each template once.
    """
    import jinja2
    from jinja2.sandbox import ImmutableSandboxedEnvironment, SecurityError

    theme = theme_dir()
    loaders: list[jinja2.BaseLoader] = [jinja2.PrefixLoader({"default": jinja2.FileSystemLoader(theme)})]
    if root is not None and (root / "templates").is_dir():
        loaders.append(_member_templates(root / "templates"))
    loaders.append(jinja2.FileSystemLoader(theme))

    class PlainDataEnvironment(ImmutableSandboxedEnvironment):
        """Pages' contexts are plain dicts: ``page.title`` is looked up as a key first, which
        spares Jinja a failed attribute lookup (an exception) for every variable it prints.
        A theme may not build a value larger than a page needs (``"a" * 10**9``)."""

        intercepted_binops = frozenset({"*", "**"})

        def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
            if operator == "**" and isinstance(right, int):
                bits = left.bit_length() * abs(right) if isinstance(left, int) and abs(left) > 1 else 0
                if abs(right) > 100 or bits > MAX_TEMPLATE_BITS:
                    raise SecurityError("a power that large is not allowed in a template")
            if operator == "*":
                for sequence, count in ((left, right), (right, left)):
                    repeated = isinstance(sequence, (str, list, tuple)) and isinstance(count, int)
                    if repeated and len(sequence) * count > MAX_TEMPLATE_VALUE:
                        raise SecurityError("a value that large is not allowed in a template")
            return super().call_binop(context, operator, left, right)

        def getattr(self, obj: Any, attribute: str) -> Any:
            if type(obj) is dict:
                try:
                    return obj[attribute]
                except KeyError:
                    pass
            return super().getattr(obj, attribute)

    return PlainDataEnvironment(
        loader=jinja2.ChoiceLoader(loaders),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        auto_reload=auto_reload,
        bytecode_cache=bytecode_cache,
    )


MAX_TEMPLATE_BYTES = 1_000_000
MAX_TEMPLATE_VALUE = 10_000_000  # characters or items one expression in a template may make
MAX_TEMPLATE_BITS = 100_000  # the size of a whole number a power in a template may make
TEMPLATE_SECONDS = 20  # filling one page
TEMPLATE_SUFFIXES = (".html", ".htm", ".xml", ".svg", ".css", ".txt", ".md", ".json", ".js", ".j2", ".jinja")


def _member_templates(folder: Path) -> jinja2.BaseLoader:
    """A Jinja loader for the portfolio's own ``templates/``, reading through ``fsutil.read_member_file``:
    a template that is a link out of the folder, a pipe or a device is refused with a clear message."""
    import jinja2
    from jinja2.loaders import split_template_path

    from cpdgen.fsutil import is_ignored, read_member_file, shown_name, undecodable
    from cpdgen.problems import ReadError

    class MemberTemplates(jinja2.BaseLoader):
        def get_source(self, environment, template):  # type: ignore[no-untyped-def]
            path = folder.joinpath(*split_template_path(template))
            if not os.path.lexists(path) or os.path.isdir(path):
                raise jinja2.TemplateNotFound(template)
            try:
                data = read_member_file(path, folder, limit=MAX_TEMPLATE_BYTES, what="templates/")
                source = data.decode("utf-8")
            except ReadError as exc:
                raise CpdgenError(f"templates/{template}: {exc.message}") from None
            except UnicodeDecodeError:
                raise CpdgenError(f"templates/{template}: the file is not UTF-8; save it as UTF-8") from None
            stamp = os.stat(path).st_mtime_ns
            return source, os.fspath(path), lambda: os.path.lexists(path) and os.stat(path).st_mtime_ns == stamp

        def list_templates(self) -> list[str]:
            found = []
            for dirpath, dirnames, filenames in os.walk(folder, followlinks=False):
                dirnames[:] = sorted(d for d in dirnames if not is_ignored(d))
                base = Path(dirpath).relative_to(folder)
                found += [(base / name).as_posix() for name in filenames if not is_ignored(name)]
            for name in found:
                if undecodable(name):
                    raise CpdgenError(
                        f"templates/{shown_name(name)}: the file's name is not UTF-8 text (an archive from "
                        "another system can leave such names); rename it"
                    )
            return sorted(found)

    return MemberTemplates()


def fill_template(env: jinja2.Environment, name: str, context: dict) -> str:
    """``name`` filled with ``context``; a CpdgenError naming the template and line when it fails."""
    import jinja2
    from jinja2.sandbox import SecurityError

    def too_slow() -> CpdgenError:
        return CpdgenError(
            f"template {name} (or one it uses) took more than {TEMPLATE_SECONDS} s to fill; it is stopped"
        )

    try:
        with time_limit(TEMPLATE_SECONDS, too_slow):
            return env.get_template(name).render(context)
    except RecursionError:
        raise CpdgenError(f"template {name} (or one it uses) calls itself without end") from None
    except jinja2.TemplateSyntaxError as exc:
        where = f"{exc.filename or exc.name or name}:{exc.lineno}"
        raise CpdgenError(f"template {where}: {exc.message}") from None
    except SecurityError as exc:
        raise CpdgenError(
            f"template {name} (or one it uses) tried something templates may not do ({exc}); "
            "a theme can only show the data cpdgen gives it"
        ) from None
    except jinja2.TemplateError as exc:
        raise CpdgenError(f"template {name} (or one it uses) failed: {exc.message or exc}") from None
    except (ArithmeticError, LookupError, TypeError, ValueError, AttributeError, MemoryError) as exc:
        # A theme's own mistake ({{ 1/0 }}, a wrong filter argument): the template's line, no traceback.
        raise CpdgenError(f"template {_template_line(exc) or name} failed: {type(exc).__name__}: {exc}") from None


def _template_line(exc: BaseException) -> str | None:
    """``file:line`` of the template line an error was raised in (Jinja puts templates' lines in tracebacks)."""
    found = None
    trace = exc.__traceback__
    while trace is not None:
        filename = trace.tb_frame.f_code.co_filename.replace("\\", "/")
        if not filename.endswith(".py") and not filename.startswith("<frozen"):
            shown = "templates/" + filename.rsplit("/templates/", 1)[1] if "/templates/" in filename else filename
            found = f"{shown}:{trace.tb_lineno}"
        trace = trace.tb_next
    return found


def templates_fingerprint(env: jinja2.Environment) -> str:
    """A hash of every template the environment can load, so a changed theme re-renders every page."""
    digest = hashlib.sha256(RENDERER_ID.encode())
    assert env.loader is not None  # make_environment always gives one
    for name in sorted(env.list_templates()):
        if not name.lower().endswith(TEMPLATE_SUFFIXES):
            continue  # images and fonts of a PDF theme: the PDF's own key covers them
        source, _, _ = env.loader.get_source(env, name)
        digest.update(name.encode() + b"\0" + source.encode("utf-8", "surrogatepass") + b"\0")
    return digest.hexdigest()
