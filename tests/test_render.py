"""Markdown rendering: what a member wrote reaches the page safely, and bad input cannot hang it."""

from __future__ import annotations

from html.parser import HTMLParser

import pytest

from cpdgen.problems import MarkdownTooComplex
from cpdgen.render import render_markdown

FORBIDDEN_TAGS = {"script", "iframe", "style", "link", "object", "embed", "svg", "meta", "base", "form"}


class Elements(HTMLParser):
    """Every element and attribute of a fragment, and whether it holds a comment."""

    def __init__(self, html: str):
        super().__init__()
        self.elements: list[tuple[str, dict]] = []
        self.comments: list[str] = []
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        self.elements.append((tag, dict(attrs)))

    def handle_comment(self, data):
        self.comments.append(data)


def assert_safe(html: str) -> None:
    parsed = Elements(html)
    assert not parsed.comments, html
    for tag, attrs in parsed.elements:
        assert tag not in FORBIDDEN_TAGS, html
        assert not any(name.startswith("on") or name == "style" for name in attrs), html
        for name in ("href", "src"):
            value = (attrs.get(name) or "").strip().lower()
            assert not value.startswith(("javascript:", "data:", "file:", "vbscript:")), html


@pytest.mark.parametrize(
    "text",
    [
        "Hello <script>alert(1)</script>",
        "<img src=x onerror=alert(1)>",
        "<iframe src='https://evil.example'></iframe> <style>body{display:none}</style>",
        "<svg><script>alert(1)</script></svg>",
        '<link rel="attachment" href="file:///etc/passwd">',
        "[x](javascript:alert(1)) [y](JaVaScRiPt:alert(1)) [z](jav&#x61;script:alert(1))",
        "[x][1]\n\n[1]: javascript:alert(1)",
        "[x](data:text/html;base64,PHNjcmlwdD4=)",
        '# Title {: onclick="alert(1)" style="position:fixed" }',
        '![x](a.png){: onerror="alert(2)" }',
        '[link](https://nhs.uk){: href="javascript:alert(3)" }',
        "Seen today <!-- pt J. Smith --> in clinic",
        "<!-- Patient: John Smith, NHS 943 476 5919 -->",
    ],
)
def test_dangerous_markup_never_reaches_the_page(text):
    html = str(render_markdown(text))
    assert_safe(html)
    assert "John Smith" not in html and "J. Smith" not in html


@pytest.mark.parametrize("src", ["file:///etc/passwd", "/etc/passwd", "../../x.png", "..\\..\\x.png", "C:/x.png"])
def test_image_sources_that_leave_the_page_folder_are_dropped(src):
    html = str(render_markdown(f"![scan]({src})"))
    assert "src=" not in html


def test_ordinary_markdown_survives():
    html = str(
        render_markdown(
            "Some *emphasis*, `<script>` in code, a [link](https://www.ibms.org/) and ![poster](poster.png).\n\n"
            "| a | b |\n|---|---|\n| 1 | 2 |\n\n```\ncode <b>\n```\n\n1. one\n2. two\n\n<sup>2</sup>"
        )
    )
    assert "<em>emphasis</em>" in html
    assert "<code>&lt;script&gt;</code>" in html
    assert '<a href="https://www.ibms.org/" rel="noopener noreferrer">link</a>' in html
    assert '<img alt="poster" src="poster.png">' in html
    assert "<table>" in html and "<td>2</td>" in html
    assert "<pre><code>code &lt;b&gt;\n</code></pre>" in html
    assert "<ol>" in html and "<sup>2</sup>" in html


def test_template_syntax_in_text_is_inert():
    html = str(render_markdown("{{ 7*7 }} {% for i in range(10**9) %}{% endfor %}"))
    assert "{{ 7*7 }}" in html and "49" not in html


# How quickly these are refused or rendered is timed by make bench (bench/bench.py).
@pytest.mark.parametrize("text", ["[" * 16000, "[[" * 8000, "<a b=" * 20000])
def test_quadratic_inputs_are_refused(text):
    with pytest.raises(MarkdownTooComplex):
        render_markdown(text)


def test_inputs_under_the_limits_are_rendered():
    assert render_markdown("[" * 1000) == "<p>" + "[" * 1000 + "</p>"
    assert render_markdown("<a b=" * 1000) == "<p>" + "&lt;a b=" * 1000 + "</p>"


def test_rendering_in_parallel_gives_exactly_what_render_would(monkeypatch):
    from cpdgen import render

    monkeypatch.setattr(render, "PARALLEL_MIN_TEXTS", 2)
    monkeypatch.setattr(render.os, "cpu_count", lambda: 2)
    texts = [f"Text {n} with *emphasis* and a [link](https://example.org/{n})." for n in range(40)]
    texts.append("[" * 5000)  # refused: left for the caller to render and report in this process
    results = render.render_in_parallel(texts)
    assert results[-1] is None
    assert results[:-1] == [str(render_markdown(text)) for text in texts[:-1]]


def test_a_renderer_uses_what_was_rendered_in_parallel(monkeypatch, tmp_path):
    from cpdgen import render
    from cpdgen.site.renderer import SiteRenderer

    monkeypatch.setattr(render, "PARALLEL_MIN_TEXTS", 2)
    monkeypatch.setattr(render.os, "cpu_count", lambda: 2)
    texts = [f"Text {n} with *emphasis*." for n in range(10)]
    renderer = SiteRenderer(tmp_path, use_cache=False)
    renderer.prefill_markdown(texts)
    assert len(renderer.markdown.entries) == 10
    monkeypatch.setattr(render, "render_markdown", lambda text: pytest.fail("rendered again"))
    assert [renderer.render_markdown(t) for t in texts] == [
        render.sanitize_html(render.new_markdown().convert(t)) for t in texts
    ]


def test_prefill_never_forks_beside_other_threads(monkeypatch):
    import threading

    from cpdgen import render

    monkeypatch.setattr(render, "PARALLEL_MIN_TEXTS", 2)
    monkeypatch.setattr(render.os, "cpu_count", lambda: 2)
    stop = threading.Event()
    other = threading.Thread(target=stop.wait)
    other.start()
    try:
        assert render.render_in_parallel([f"text {n}" for n in range(10)]) == [None] * 10
    finally:
        stop.set()
        other.join()
