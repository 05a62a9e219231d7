"""Portfolios built in tmp_path from plain Python data, as the tests need them."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

PORTFOLIO = {"member": {"name": "Alex Morgan"}}
# What `cpdgen init` writes into requirements.txt in the tests that run it in this process: how
# the cpdgen under test is installed (a checkout with changes, a pull request's merge commit)
# must not decide their outcome. tests/test_requirement.py runs the real choice in real installs.
TEST_REQUIREMENT = "cpdgen==0.1.0"


@pytest.fixture(autouse=True)
def _fixed_ci_requirement(monkeypatch):
    from cpdgen import requirement

    real = requirement.choose

    def choose(given: str | None = None) -> requirement.Choice:
        if given is not None:
            return real(given)
        return requirement.Choice(TEST_REQUIREMENT, "the tests fix it")

    monkeypatch.setattr(requirement, "choose", choose)
    # check writes a job summary wherever $GITHUB_STEP_SUMMARY points: never into a real CI run's.
    monkeypatch.delenv("GITHUB_STEP_SUMMARY", raising=False)


REFLECTION = (
    "What happened: I reviewed how we handle this in the laboratory and compared it with the "
    "current guidance. So what: I found two steps where our procedure was out of date, which "
    "could delay results for the people who depend on them. Now what: I have drafted a change "
    "to the procedure and will present it at the next team meeting for agreement."
)


def activity_text(
    title: str = "An activity",
    date: str = "2026-01-10",
    category: str | None = "work-based-learning",
    reflection: str | None = REFLECTION,
    body: str = "What I did.",
    **extra: object,
) -> str:
    """The text of an activity file; ``extra`` keys go into the front matter as YAML."""
    front = {"title": title, "date": date}
    if category is not None:
        front["category"] = category
    front.update(extra)
    lines = ["---"]
    for key, value in front.items():
        if isinstance(value, str) and re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
            lines.append(f"{key}: {value}")  # unquoted, as members write dates
        else:
            lines.append(
                yaml.safe_dump({key: value}, default_flow_style=True, sort_keys=False, width=10_000).strip()[1:-1]
            )
    lines += ["---", body]
    if reflection is not None:
        lines += ["", "## Reflection", reflection]
    return "\n".join(lines) + "\n"


def pdf_document(*lines: str) -> bytes:
    """A small, valid PDF whose one page shows ``lines``: evidence the privacy scan can read."""
    text = (
        "BT /F1 12 Tf 72 720 Td 14 TL "
        + " ".join("(" + line.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)") + ") '" for line in lines)
        + " ET"
    )
    objects = [
        "<< /Type /Catalog /Pages 2 0 R >>",
        "<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R"
        " /Resources << /Font << /F1 5 0 R >> >> >>",
        f"<< /Length {len(text)} >>\nstream\n{text}\nendstream",
        "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = b"%PDF-1.4\n"
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n{body}\nendobj\n".encode("latin-1")
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    out += b"".join(f"{offset:010d} 00000 n \n".encode() for offset in offsets)
    out += f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    return out


def png_image(colour: tuple[int, int, int] = (200, 30, 30)) -> bytes:
    """A small, valid PNG."""
    import io

    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (4, 4), colour).save(buffer, format="PNG")
    return buffer.getvalue()


class Builder:
    """Writes a portfolio under ``root``: ``content/portfolio.yaml`` plus activity files."""

    def __init__(self, root: Path):
        self.root = root
        self.content = root / "content"
        (self.content / "activities").mkdir(parents=True, exist_ok=True)
        self.settings(PORTFOLIO)

    def settings(self, data: dict | str) -> Path:
        path = self.content / "portfolio.yaml"
        path.write_text(data if isinstance(data, str) else yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
        return path

    def write(self, relative: str, text: str | bytes) -> Path:
        path = self.content / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(text, bytes):
            path.write_bytes(text)
        else:
            path.write_text(text, encoding="utf-8")
        return path

    def activity(self, activity_id: str, text: str | bytes | None = None, **fields: object) -> Path:
        return self.write(f"activities/{activity_id}.md", text if text is not None else activity_text(**fields))

    def many(
        self, n: int, start: str = "2025-01-06", categories=("work-based-learning", "formal-educational", "other")
    ):
        """``n`` counting activities a week apart, cycling through ``categories``."""
        from datetime import date, timedelta

        first = date.fromisoformat(start)
        for i in range(n):
            day = first + timedelta(days=7 * i)
            self.activity(f"{day.isoformat()}-a{i}", date=day.isoformat(), category=categories[i % len(categories)])


@pytest.fixture
def portfolio(tmp_path: Path) -> Builder:
    return Builder(tmp_path)


@pytest.fixture
def run_check(portfolio: Builder, capsys) -> Callable[..., tuple[int, str]]:
    """Run ``cpdgen check`` on the fixture portfolio through ``main``; return (exit code, stdout)."""
    from cpdgen.cli import main

    def run(*args: str) -> tuple[int, str]:
        code = main(["check", "--root", str(portfolio.root), *args])
        captured = capsys.readouterr()
        return code, captured.out + captured.err

    return run


# --- the built site (HTML portfolio tests) ----------------------------------------------

REPO = Path(__file__).resolve().parent.parent
EXAMPLE_AS_OF = "2026-11-28"  # the example portfolio's site is compared at this date


@pytest.fixture(scope="session", autouse=True)
def _session_cache(tmp_path_factory):
    """Builds in tests keep their caches in a temporary folder, never in the user's home."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("CPDGEN_CACHE_DIR", str(tmp_path_factory.mktemp("cpdgen-cache")))
        yield


@pytest.fixture(autouse=True)
def _private_cache(tmp_path_factory, monkeypatch):
    """Each test starts with empty caches of its own (outside its portfolio folder)."""
    monkeypatch.setenv("CPDGEN_CACHE_DIR", str(tmp_path_factory.mktemp("cpdgen-cache")))


def require_tool(available: bool, reason: str) -> None:
    """Skip a test whose tool is missing; on CI (CI=true) a missing tool is a failure instead."""
    import os

    if available:
        return
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        pytest.fail(f"{reason} (CI must install it: see .ci/run)")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def example_site(tmp_path_factory) -> Path:
    """The example portfolio (content/) built once, as of EXAMPLE_AS_OF, without PDFs."""
    import shutil
    from datetime import date

    from cpdgen.site.build import build_site
    from cpdgen.site.renderer import SiteRenderer

    root = tmp_path_factory.mktemp("example")
    shutil.copytree(REPO / "content", root / "content")
    renderer = SiteRenderer(root, use_cache=False)
    result = build_site(root, as_of=date.fromisoformat(EXAMPLE_AS_OF), pdf=False, renderer=renderer)
    assert result.written, result.problems
    return result.out


# --- an HCPC profile (cpdgen hcpc-profile) ------------------------------------------------

PROFILE_AUDIT = "2025-09-01"


def profile_portfolio(portfolio: Builder) -> Builder:
    """A portfolio with a complete HCPC profile for ``PROFILE_AUDIT``: 14 activities a month apart
    in three categories (one private, one with a PDF and a link as evidence and a goal of the
    plan), and the member's texts."""
    from datetime import date

    portfolio.settings({"member": {"name": "Alex Morgan", "hcpc_number": "BS12345"}})
    portfolio.write("evidence/eqa-summary.pdf", pdf_document("EQA summary, anonymised"))
    categories = ("work-based-learning", "formal-educational", "self-directed-learning")
    for i in range(14):
        day = date(2023, 10 + i, 5) if i < 3 else date(2024, i - 2, 5)
        extra: dict = {}
        if i == 4:
            extra = {"evidence": ["eqa-summary.pdf", "https://www.ibms.org/"], "standards": [3, 4], "hours": 2}
            extra["goal"] = "eqa"
        if i == 6:
            extra = {"private": True}
        portfolio.activity(
            f"{day.isoformat()}-a{i}",
            title=f"Activity number {i}",
            date=day.isoformat(),
            category=categories[i % 3],
            body=f"Description of activity {i}.",
            **extra,
        )
    portfolio.write("hcpc/summary.md", "<!-- prompt -->\nI am a **biomedical scientist** in blood sciences.\n")
    portfolio.write(
        "hcpc/statement.md",
        "I reviewed EQA results (E1) and changed our procedure.\n\n- I listed the deviations.\n"
        "- I wrote a summary.\n\nSee [the IBMS](https://www.ibms.org/).\n",
    )
    portfolio.write("hcpc/gaps.md", "## 2024-11-06 to 2025-09-01\nI was on parental leave.\n")
    portfolio.write("plan/eqa.md", "---\ntitle: Run the EQA scheme\nstatus: done\ntarget: 2024-06-30\n---\n")
    return portfolio


# --- cpdgen as a member installs it: its source as a git repository, a built sdist and wheel ------

GIT_IDENTITY = ["-c", "user.name=Test", "-c", "user.email=test@example.org", "-c", "commit.gpgsign=false"]


def git(folder: Path, *args: str) -> str:
    """Run git in ``folder``; its output (a failure fails the test)."""
    import subprocess

    result = subprocess.run(
        ["git", "-C", str(folder), *GIT_IDENTITY, *args], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, f"git {' '.join(args)}: {result.stderr}"
    return result.stdout.strip()


@pytest.fixture(scope="session")
def source_snapshot(tmp_path_factory) -> Path:
    """This working copy's files (committed or not, never ignored ones) as one commit of a new git repository."""
    import shutil
    import subprocess

    listed = subprocess.run(
        ["git", "-C", str(REPO), "ls-files", "-co", "--exclude-standard", "-z"],
        capture_output=True, check=True, timeout=60,
    ).stdout.decode().split("\0")  # fmt: skip
    snapshot = tmp_path_factory.mktemp("source") / "cpdgen"
    for name in filter(None, listed):
        source = REPO / name
        if source.is_file() and not source.is_symlink():
            (snapshot / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, snapshot / name)
    git(snapshot.parent, "init", "-q", "-b", "main", str(snapshot))
    git(snapshot, "add", "-A")
    git(snapshot, "commit", "-q", "-m", "snapshot")
    return snapshot


@pytest.fixture(scope="session")
def built_dist(source_snapshot, tmp_path_factory) -> Path:
    """``python -m build`` of the snapshot: a folder holding its sdist and wheel (the wheel built from the sdist)."""
    import subprocess
    import sys

    out = tmp_path_factory.mktemp("dist")
    result = subprocess.run(
        [sys.executable, "-m", "build", "--outdir", str(out), str(source_snapshot)],
        capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return out


def new_venv(folder: Path) -> Path:
    """A virtual environment without pip (this one's pip installs into it); its python."""
    import subprocess
    import sys

    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(folder)], check=True, timeout=120)
    return folder / ("Scripts/python.exe" if sys.platform == "win32" else "bin/python")


def lend_libraries(python: Path) -> None:
    """Let the environment of ``python`` find cpdgen's dependencies in this one's site-packages, after its own.

    cpdgen itself, and pip's record of how it was installed, still come from that environment;
    call this after installing cpdgen there, or pip would find this environment's cpdgen.
    """
    import subprocess
    import sysconfig

    purelib = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True, text=True, check=True, timeout=60,
    ).stdout.strip()  # fmt: skip
    (Path(purelib) / "cpdgen-test-libraries.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")


def pip_into(python: Path, *args: str) -> None:
    """``pip install`` into the environment of ``python``, with this environment's pip."""
    import subprocess
    import sys

    result = subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(python), "install", "--quiet", *args],
        capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
