"""What the PDF may read: only checked files inside content/ and the theme (docs/developers/security.md).

Two layers are tested: a member's Markdown through the whole record (problems reported with
the activity's file and line, nothing read, nothing fetched), and raw HTML straight into
WeasyPrint with :class:`RestrictedFetcher` (the last line of defence, if nh3 ever let
something through).
"""

from __future__ import annotations

import contextlib
import io
import multiprocessing
import os
import time
from datetime import date
from pathlib import Path

import pytest
import weasyprint
from PIL import Image
from weasyprint.urls import URLFetcher

import pdfread
from conftest import Builder
from cpdgen import theme_dir
from cpdgen.loader import load_portfolio
from cpdgen.pdf import layout as rendering
from cpdgen.pdf import resources
from cpdgen.pdf.document import prepare_diploma_pdf
from cpdgen.pdf.fetcher import RestrictedFetcher
from cpdgen.pdf.layout import PdfJob, lay_out, pdf_bytes
from cpdgen.pdf.resources import check_raster, check_svg, virtual_url
from cpdgen.problems import ProblemsFound, Refused, RenderFailed

AS_OF = date(2025, 7, 1)
TOKEN = "SECRET-TOKEN-7f3a9c"


def judged(root: Path):
    portfolio = load_portfolio(root)
    assert not [p for p in portfolio.problems if p.severity == "error"], portfolio.problems
    return portfolio, portfolio.assess(AS_OF)


def nested_use_svg(levels: int, fan_out: int = 10) -> bytes:
    """The 1 KB SVG that took WeasyPrint 24 s at five levels: each level draws the previous one ten times."""
    groups = ['<g id="l0"><rect width="1" height="1"/></g>']
    for level in range(1, levels + 1):
        uses = "".join(f'<use href="#l{level - 1}" x="{i}"/>' for i in range(fan_out))
        groups.append(f'<g id="l{level}">{uses}</g>')
    return (
        '<svg xmlns="http://www.w3.org/2000/svg" width="100" height="100"><defs>'
        + "".join(groups)
        + f'</defs><use href="#l{levels}"/></svg>'
    ).encode()


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    """A secret file and image beside the portfolio, never inside content/."""
    folder = tmp_path / "outside"
    folder.mkdir()
    (folder / "secret.txt").write_text(TOKEN, encoding="utf-8")
    image = Image.new("RGB", (20, 20), "red")
    buffer = io.BytesIO()
    image.save(buffer, "PNG", pnginfo=_png_text(TOKEN))
    (folder / "secret.png").write_bytes(buffer.getvalue())
    return folder


def _png_text(value: str):
    from PIL.PngImagePlugin import PngInfo

    info = PngInfo()
    info.add_text("Comment", value)
    return info


# --- the member's Markdown, through the whole record ----------------------------------------------


def test_every_bad_image_reference_is_reported_with_file_and_line_and_nothing_is_fetched(tmp_path, outside):
    portfolio = Builder(tmp_path / "p")
    os.symlink(outside / "secret.png", portfolio.content / "evidence-link.png")
    (portfolio.content / "evidence").mkdir()
    os.symlink(outside / "secret.png", portfolio.content / "evidence" / "linked.png")
    with pdfread.RecordingServer() as server:
        body = "\n".join([
            "Images:",
            "![passwd](file:///etc/passwd)",
            "![outside](../../../outside/secret.png)",
            "![linked](linked.png)",
            f"![local server]({server.url}/tracker.png)",
            "![missing](missing.png)",
            "[a link to passwd](file:///etc/passwd)",
        ])  # fmt: skip
        portfolio.activity("2025-03-01-bad", date="2025-03-01", body=body)
        job = prepare_diploma_pdf(*judged(portfolio.root), "diploma-1", public=False)
        found = {(p.path, p.line, p.severity, p.code) for p in job.problems}
        path = "content/activities/2025-03-01-bad.md"
        assert found == {
            (path, 7, "error", "pdf-image-refused"),
            (path, 8, "error", "pdf-image-outside"),
            (path, 9, "error", "pdf-image-outside"),
            (path, 10, "error", "pdf-image-remote"),
            (path, 11, "error", "pdf-image-missing"),
            (path, 12, "warning", "pdf-link-refused"),
        }
        messages = " ".join(p.message for p in job.problems)
        assert "'linked.png' is outside content/ (through a link)" in messages
        assert "the PDF reads no web address" in messages
        with pytest.raises(ProblemsFound) as raised:
            pdf_bytes(job)
        assert len(raised.value.problems) == 5
        assert server.requests == []
    assert str(tmp_path) not in messages  # no machine paths in what the member reads


def test_raw_html_that_the_sanitiser_drops_is_reported_and_nothing_reaches_the_pdf(tmp_path, outside):
    portfolio = Builder(tmp_path / "p")
    secret = outside / "secret.txt"
    body = "\n\n".join([
        f'<link rel="attachment" href="file://{secret}">',
        f'<a rel="attachment" href="file://{secret}">attached?</a>',
        f'<object data="file://{secret}"></object>',
        f"<style>@import url(file://{secret});</style>",
        f'<p style="background: url(file://{secret})">styled</p>',
    ])  # fmt: skip
    portfolio.activity("2025-03-01-html", date="2025-03-01", body=body)
    job = prepare_diploma_pdf(*judged(portfolio.root), "diploma-1", public=False)
    assert not job.errors
    codes = sorted(p.code for p in job.problems)
    assert codes == ["pdf-html-removed"] * 3 + ["pdf-link-refused"], job.problems
    pdf = pdf_bytes(job)
    assert TOKEN.encode() not in pdfread.decoded(pdf)
    assert pdfread.reader(pdf).attachments == {}
    assert pdfread.file_annotations(pdf) == []


# --- raw HTML straight into WeasyPrint: the fetcher alone ---------------------------------------------


def raw_job(content: Path, html: str, css: str = "") -> PdfJob:
    return PdfJob(
        diploma_id="test",
        public=True,
        html=html,
        css=css,
        css_base_url=virtual_url("cpdgen", ""),
        base_url=virtual_url("content", ""),
        roots={"content": content, "cpdgen": theme_dir() / "pdf"},
        attachments=(),
        timeout=60,
    )


def test_the_fetcher_reads_only_checked_files_inside_content(tmp_path, outside):
    content = tmp_path / "content"
    (content / "evidence").mkdir(parents=True)
    (content / "ok.png").write_bytes(pdfread.png())
    os.symlink(outside / "secret.png", content / "evidence" / "link.png")
    (content / "notes.txt").write_text(TOKEN, encoding="utf-8")
    secret_png, secret_txt = outside / "secret.png", outside / "secret.txt"
    with pdfread.RecordingServer() as server:
        svg = (
            '<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" width="10" height="10">'
            f'<image xlink:href="file://{secret_png}" width="10" height="10"/></svg>'
        )
        html = f"""<html><head>
        <link rel="attachment" href="file://{secret_txt}">
        <link rel="attachment" href="{server.url}/attachment">
        <link rel="stylesheet" href="{server.url}/style.css">
        <style>
          @import url(file://{secret_txt});
          @font-face {{ font-family: x; src: url({server.url}/font.woff); }}
          body {{ background: url({server.url}/background.png); font-family: x; }}
        </style></head><body>
        <a rel="attachment" href="file://{secret_txt}">embedded?</a>
        <a rel="attachment" href="notes.txt">notes</a>
        <img src="{secret_png}"><img src="../outside/secret.png"><img src="/etc/passwd">
        <img src="evidence/link.png"><img src="file://evilhost/share/x.png">
        <img src="{server.url}/image.png"><img src="data:image/svg+xml,{svg}">
        <object data="file://{secret_txt}"></object>
        <img src="ok.png" alt="fine">
        </body></html>"""
        fetched, refused, logged = lay_out(raw_job(content, html))
        assert server.requests == []
    everything = pdfread.decoded(fetched)
    assert TOKEN.encode() not in everything
    assert pdfread.reader(fetched).attachments == {}
    assert pdfread.file_annotations(fetched) == []
    refused_urls = " ".join(url for url, _, _ in refused)
    assert "ok.png" not in refused_urls and len(pdfread.reader(fetched).pages[0].images) == 1  # the good image is drawn
    for needle in ("secret.txt", "secret.png", "/etc/passwd", "link.png", "evilhost", "/attachment", "/style.css",
                   "/font.woff", "/background.png", "/image.png", "data:", "notes.txt"):  # fmt: skip
        assert needle in refused_urls, needle
    assert logged  # WeasyPrint logged the failed loads: the caller turns them into problems


def test_a_refusal_while_rendering_is_a_problem_of_the_activity_that_named_it(tmp_path):
    content = tmp_path / "content"
    content.mkdir()
    job = raw_job(content, '<p>Chart:</p><img src="gone.png" alt="chart">')
    job.sources = {virtual_url("content", "gone.png"): ("content/activities/a.md", 7)}
    with pytest.raises(ProblemsFound) as raised:
        pdf_bytes(job)
    problems = {(p.path, p.line, p.code) for p in raised.value.problems}
    assert ("content/activities/a.md", 7, "pdf-image-missing") in problems
    assert all(str(tmp_path) not in p.message for p in raised.value.problems)


def test_the_fetcher_serves_a_good_image(tmp_path):
    content = tmp_path / "content"
    content.mkdir()
    (content / "ok.png").write_bytes(pdfread.png())
    fetcher = RestrictedFetcher({"content": content})
    response = fetcher.fetch(virtual_url("content", "ok.png"))
    assert response.read().startswith(b"\x89PNG") and response.content_type == "image/png"
    assert fetcher.refused == []


def test_weasyprint_is_recent_enough_and_the_fetcher_is_its_class():
    assert tuple(int(part) for part in weasyprint.__version__.split(".")[:1]) >= (70,)
    assert isinstance(RestrictedFetcher({}), URLFetcher)


# --- bounded images (W-04), missing and broken images (W-05), camera metadata (W-06) -----------------------


def test_a_decompression_bomb_is_refused_before_decoding(tmp_path, monkeypatch):
    path = tmp_path / "bomb.png"
    Image.new("1", (15000, 15000)).save(path)
    assert path.stat().st_size < 100_000
    monkeypatch.setattr(Image, "open", lambda *args, **kwargs: pytest.fail("the image was opened"))
    with pytest.raises(Refused, match="15,000 x 15,000 pixels \\(225 MP"):  # from the header alone
        check_raster(path.read_bytes(), "bomb.png")


def test_nested_use_svg_is_refused():  # how quickly: make bench
    with pytest.raises(Refused, match="expands to more than 10,000 shapes"):
        check_svg(nested_use_svg(5), "use5.svg")
    check_svg(nested_use_svg(2), "small.svg")  # 100 shapes: fine


@pytest.mark.parametrize(
    "svg, message",
    [
        (
            b'<!DOCTYPE svg [<!ENTITY x SYSTEM "file:///etc/passwd">]><svg xmlns="http://www.w3.org/2000/svg">&x;</svg>',
            "DOCTYPE",
        ),
        (b'<svg xmlns="http://www.w3.org/2000/svg"><g id="a"><use href="#a"/></g></svg>', "expands to more than"),
        (b"<svg", "not valid SVG"),
    ],
)
def test_unsafe_or_broken_svg_is_refused(svg, message):
    with pytest.raises(Refused, match=message):
        check_svg(svg, "x.svg")


def slow_job(tmp_path: Path, timeout: float = 60) -> PdfJob:
    """A job whose SVG of nested ``<use>`` takes WeasyPrint a minute (once the caller lifts
    ``resources.MAX_SVG_SHAPES``, to show a time limit stopping WeasyPrint itself)."""
    content = tmp_path / "content"
    content.mkdir()
    (content / "use5.svg").write_bytes(nested_use_svg(5))
    job = raw_job(content, '<img src="use5.svg" alt="slow">')
    job.timeout = timeout
    return job


@pytest.mark.slow
def test_rendering_is_bounded_in_wall_clock_time(tmp_path, monkeypatch):
    # Let the nested <use> SVG through the checks, to show the time limit stops WeasyPrint itself.
    monkeypatch.setattr(resources, "MAX_SVG_SHAPES", 10**9)
    job = slow_job(tmp_path, timeout=1.5)
    with pytest.raises(RenderFailed, match="took more than 2 s and was stopped"):  # only the time limit says so
        rendering.render_bounded(job)


def test_missing_and_broken_images_are_problems_not_gaps(tmp_path):
    portfolio = Builder(tmp_path / "p")
    portfolio.write("evidence/broken.png", b"\x89PNG\r\n\x1a\n" + b"not really a png" * 10)
    portfolio.activity(
        "2025-03-01-images", date="2025-03-01", body="![a](missing.png)\n\n![b](broken.png)\n\n![c](notes.txt)"
    )
    portfolio.write("evidence/notes.txt", "text")
    job = prepare_diploma_pdf(*judged(portfolio.root), "diploma-1", public=False)
    found = {(p.line, p.code) for p in job.problems}
    assert found == {(6, "pdf-image-missing"), (8, "pdf-image-unreadable"), (10, "pdf-image-type")}


def test_camera_metadata_never_reaches_the_pdf(tmp_path):
    portfolio = Builder(tmp_path / "p")
    exif = Image.Exif()
    exif[0x010E] = "SECRET-EXIF"  # ImageDescription
    exif[0x0112] = 6  # Orientation: kept, so the photo is shown the right way up
    exif.get_ifd(0x8825)[2] = (51.0, 30.0, 0.0)  # GPS latitude
    buffer = io.BytesIO()
    Image.new("RGB", (64, 48), "green").save(buffer, "JPEG", exif=exif.tobytes())
    assert b"SECRET-EXIF" in buffer.getvalue()
    portfolio.write("evidence/photo.jpg", buffer.getvalue())
    portfolio.activity("2025-03-01-photo", date="2025-03-01", evidence=["photo.jpg"], body="![photo](photo.jpg)")
    job = prepare_diploma_pdf(*judged(portfolio.root), "diploma-1", public=False)
    assert job.problems == []
    pdf = pdf_bytes(job)
    assert b"SECRET-EXIF" not in pdfread.decoded(pdf)
    attached = pdfread.reader(pdf).attachments["photo.jpg"][0]
    with Image.open(io.BytesIO(attached)) as image:
        assert image.getexif().get(0x0112) == 6
        assert 0x010E not in image.getexif() and 0x8825 not in image.getexif()


@pytest.mark.slow
def test_a_build_s_workshop_bounds_each_pdf_in_time_as_well(tmp_path, monkeypatch):
    # The workshop that readies WeasyPrint while a build reads the portfolio lays out under the same limit.
    monkeypatch.setattr(resources, "MAX_SVG_SHAPES", 10**9)
    job = slow_job(tmp_path, timeout=1.5)
    with rendering.pdf_workshop() as workshop:
        assert workshop is not None
        pending = rendering.start_pdfs([job], None, workshop)
        with pytest.raises(RenderFailed, match="took more than 2 s and was stopped"):
            pending.result()


@pytest.mark.slow
def test_a_build_that_stops_stops_the_pdfs_its_workshop_is_laying_out(tmp_path, monkeypatch):
    monkeypatch.setattr(resources, "MAX_SVG_SHAPES", 10**9)
    job = slow_job(tmp_path)
    with rendering.pdf_workshop() as workshop:
        assert workshop is not None
        rendering.start_pdfs([job], None, workshop)
        [shop] = multiprocessing.active_children()
        children = Path(f"/proc/{shop.pid}/task/{shop.pid}/children")
        deadline = time.monotonic() + 30
        while not children.read_text().split() and time.monotonic() < deadline:
            time.sleep(0.05)
        [child] = children.read_text().split()  # the one laying the job out, for up to a minute
    stat = Path(f"/proc/{child}/stat")
    deadline = time.monotonic() + 5  # a kill takes effect when the process next runs
    while stat.exists() and stat.read_text().split()[2] != "Z" and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not stat.exists() or stat.read_text().split()[2] == "Z"  # ended (a zombie until init reaps it)


_KILLED_BUILD = """
import os, pickle, signal, sys, time

from cpdgen.pdf import layout, resources

resources.MAX_SVG_SHAPES = 10**9
with open(sys.argv[1], "rb") as handle:
    job = pickle.load(handle)
shop = layout.Workshop.start()
print(shop._process.pid, flush=True)
shop.submit([job])
children = f"/proc/{shop._process.pid}/task/{shop._process.pid}/children"
while not open(children).read().split():
    time.sleep(0.05)
os.kill(os.getpid(), signal.SIGKILL)  # a terminal closed, a CI job timed out: no clean-up runs
"""


@pytest.mark.slow
def test_a_killed_build_s_workshop_stops_laying_out_at_once(tmp_path):
    import pickle
    import signal
    import subprocess
    import sys

    job = slow_job(tmp_path)  # a minute of layout, were it not stopped
    (tmp_path / "job.pickle").write_bytes(pickle.dumps(job))
    output = tmp_path / "output.txt"
    with output.open("w") as out:
        script = [sys.executable, "-c", _KILLED_BUILD, str(tmp_path / "job.pickle")]
        code = subprocess.run(script, stdout=out, stderr=subprocess.STDOUT, timeout=120).returncode
    assert code == -signal.SIGKILL, output.read_text()
    shop = int(output.read_text().split()[0])
    try:
        deadline = time.monotonic() + 10  # before, it went on until the PDF's own limit (60 s)
        while time.monotonic() < deadline and any(_alive(pid) for pid in _group(shop)):
            time.sleep(0.1)
        assert not [pid for pid in _group(shop) if _alive(pid)], "the workshop went on without its build"
    finally:
        with contextlib.suppress(OSError):
            os.killpg(shop, signal.SIGKILL)


def _group(pgid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError):
                if int((entry / "stat").read_text().rsplit(")", 1)[1].split()[2]) == pgid:
                    found.append(int(entry.name))
    return found


def _alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False
