"""A release as PyPI gets it: ``python -m build`` makes an sdist and a wheel that twine accepts, the wheel
carries every template the code reads and nothing of the tests or the example, and installed on its own
it starts and builds a portfolio. Also cpdgen's own workflows, validated offline, and one repository address."""

from __future__ import annotations

import email
import re
import subprocess
import tarfile
import zipfile
from pathlib import Path

import pytest
import yaml

import cpdgen
from conftest import new_venv, pip_into
from test_ci_files import actionlint, run, tool

REPO = Path(__file__).resolve().parents[1]
WORKFLOWS = REPO / ".github" / "workflows"
ADDRESS = "https://github.com/cpdgen/cpdgen"


def wheel_of(built_dist: Path) -> Path:
    (wheel,) = built_dist.glob("cpdgen-*.whl")
    return wheel


@pytest.mark.slow
def test_build_makes_one_sdist_and_one_wheel_of_this_version_that_twine_accepts(built_dist):
    names = sorted(p.name for p in built_dist.iterdir())
    assert names == [f"cpdgen-{cpdgen.__version__}-py3-none-any.whl", f"cpdgen-{cpdgen.__version__}.tar.gz"]
    result = run([tool("twine"), "check", "--strict", *map(str, built_dist.iterdir())])
    assert result.returncode == 0 and result.stdout.count("PASSED") == 2, result.stdout + result.stderr


@pytest.mark.slow
def test_twine_check_can_fail(tmp_path, built_dist):
    # The same wheel with a long description that PyPI cannot show: twine says so.
    bad = tmp_path / wheel_of(built_dist).name
    with zipfile.ZipFile(wheel_of(built_dist)) as source, zipfile.ZipFile(bad, "w") as target:
        for item in source.infolist():
            data = source.read(item)
            if item.filename.endswith("METADATA"):
                data = data.replace(b"Description-Content-Type: text/markdown", b"Description-Content-Type: text/x-rst")
                data += b"\n\n.. broken:: directive\n   `unclosed\n"
            target.writestr(item, data)
    result = run([tool("twine"), "check", "--strict", str(bad)])
    assert result.returncode == 1 and "FAILED" in result.stdout


@pytest.mark.slow
def test_the_wheel_holds_every_template_and_nothing_of_the_tests_or_the_example(built_dist):
    names = set(zipfile.ZipFile(wheel_of(built_dist)).namelist())
    templates = REPO / "templates"
    expected = {
        f"cpdgen/templates/{p.relative_to(templates).as_posix()}"
        for p in templates.rglob("*")
        if p.is_file() and "__pycache__" not in p.parts
    }
    assert expected, "no templates found"
    assert expected <= names, sorted(expected - names)
    assert "cpdgen/templates/scaffold/pre-commit-config.yaml" in names
    assert not any(name.startswith(("tests/", "bench/", "content/", "docs/", ".github/")) for name in names)
    with tarfile.open(next(built_dist.glob("*.tar.gz"))) as sdist:
        members = {name.split("/", 1)[1] for name in sdist.getnames() if "/" in name}
    assert {"README.md", "pyproject.toml", "templates/base.html", "cpdgen/cli.py"} <= members


@pytest.mark.slow
def test_the_long_description_is_the_readme_with_links_that_work_on_pypi(built_dist):
    with zipfile.ZipFile(wheel_of(built_dist)) as wheel:
        (metadata,) = [n for n in wheel.namelist() if n.endswith(".dist-info/METADATA")]
        message = email.message_from_bytes(wheel.read(metadata))
    assert message["Description-Content-Type"] == "text/markdown"
    description = message.get_payload(decode=True).decode("utf-8")
    assert description.strip() == (REPO / "README.md").read_text(encoding="utf-8").strip()
    targets = re.findall(r"\]\(([^)\s]+)\)", description)
    assert targets and [t for t in targets if not t.startswith(("https://", "#"))] == []
    urls = dict(value.split(", ", 1) for value in message.get_all("Project-URL"))
    assert urls["Source"] == ADDRESS and set(urls) >= {"Homepage", "Documentation", "Issues", "Changelog"}
    assert message["Version"] == cpdgen.__version__
    assert len(description) < 20_000  # a page a member reads, not the manual


def test_the_version_is_written_in_one_place():
    from importlib import metadata

    assert metadata.version("cpdgen") == cpdgen.__version__
    pyproject = (REPO / "pyproject.toml").read_text(encoding="utf-8")
    project = pyproject.split("[project]", 1)[1].split("\n[", 1)[0]
    assert 'dynamic = ["version"]' in project and "\nversion =" not in project
    assert '[tool.setuptools.dynamic]\nversion = { attr = "cpdgen.__version__" }' in pyproject


@pytest.mark.slow
def test_the_wheel_installed_on_its_own_starts_and_builds_a_portfolio(built_dist, tmp_path):
    python = new_venv(tmp_path / "venv")
    pip_into(python, str(wheel_of(built_dist)))  # with its dependencies, as a member installs it
    cpdgen_bin = python.parent / "cpdgen"
    env = {"PATH": f"{python.parent}:/usr/bin:/bin", "HOME": str(tmp_path), "NO_COLOR": "1"}
    result = subprocess.run(
        [str(cpdgen_bin), "init", "my-cpd", "--name", "Alex Morgan"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "Started a CPD portfolio in my-cpd (8 files)." in result.stdout
    # Installed from a wheel file on this computer: CI could not install that, and init says so.
    assert "which CI cannot reach" in result.stderr
    result = subprocess.run(
        [str(cpdgen_bin), "build", "--root", "my-cpd"], cwd=tmp_path, env=env, capture_output=True, text=True,
        timeout=300,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    site = tmp_path / "my-cpd" / "site"
    assert "Alex Morgan" in (site / "index.html").read_text(encoding="utf-8")
    assert (site / "diplomas" / "diploma-1" / "diploma-1.pdf").read_bytes().startswith(b"%PDF")


# --- cpdgen's own workflows ------------------------------------------------------------------


@pytest.mark.parametrize("name", ["ci.yml", "release.yml"])
def test_workflows_match_githubs_schema_and_pass_actionlint(name):
    path = WORKFLOWS / name
    result = run([tool("check-jsonschema"), "--builtin-schema", "vendor.github-workflows", str(path)])
    assert result.returncode == 0, result.stdout + result.stderr
    assert actionlint(path) == []


def test_release_publishes_with_trusted_publishing_after_the_tests():
    workflow = yaml.safe_load((WORKFLOWS / "release.yml").read_text(encoding="utf-8"))
    (tags,) = workflow[True]["push"]["tags"]
    assert tags == "v[0-9]+.[0-9]+.[0-9]+*"  # v0.2.0, v1.0.0rc1; not a branch, not any tag
    assert set(workflow[True]) == {"push"}
    assert workflow["permissions"] == {"contents": "read"}
    jobs = workflow["jobs"]
    assert jobs["build"]["needs"] == "test" and jobs["publish"]["needs"] == "build"
    assert any(step.get("run") == ".ci/run" for step in jobs["test"]["steps"])
    build = "\n".join(step.get("run", "") for step in jobs["build"]["steps"])
    assert "python -m build" in build and "twine check --strict" in build and "cpdgen.__version__" in build
    publish = jobs["publish"]
    assert publish["permissions"] == {"id-token": "write"}
    assert publish["environment"]["name"] == "pypi"
    uses = [step["uses"] for step in publish["steps"] if "uses" in step]
    assert "pypa/gh-action-pypi-publish@release/v1" in uses
    text = (WORKFLOWS / "release.yml").read_text(encoding="utf-8")
    assert "secrets." not in text and "password" not in text  # no stored token


def test_ci_runs_make_test_on_linux_and_make_test_fast_elsewhere():
    workflow = yaml.safe_load((WORKFLOWS / "ci.yml").read_text(encoding="utf-8"))
    linux, others = workflow["jobs"]["linux"], workflow["jobs"]["others"]
    assert linux["runs-on"] == "ubuntu-latest" and linux["strategy"]["matrix"]["python"] == ["3.11", "3.12", "3.13"]
    assert [s["run"] for s in linux["steps"] if "run" in s] == [".ci/run"]
    assert "make test" in (REPO / ".ci" / "run").read_text(encoding="utf-8")
    assert others["strategy"]["matrix"] == {
        "os": ["macos-latest", "windows-latest"],
        "python": ["3.11", "3.12", "3.13"],
    }
    assert others["steps"][-1]["run"].startswith("make test-fast")


def test_one_repository_address_everywhere():
    # Every place that names cpdgen's repository names the same one.
    places = [
        REPO / "README.md",
        REPO / "pyproject.toml",
        *WORKFLOWS.glob("*.yml"),
        *(REPO / "docs").rglob("*.md"),
        *(REPO / "cpdgen").rglob("*.py"),
        *(REPO / "templates").rglob("*.*"),
    ]
    found = {
        match.group(0).removesuffix(".git")
        for path in places
        for match in re.finditer(r"https://github\.com/[\w.-]+/cpdgen(?:\.git)?\b", path.read_text(encoding="utf-8"))
    }
    assert found == {ADDRESS}
    from cpdgen.requirement import REPOSITORY

    assert REPOSITORY == ADDRESS
    assert "example.org/cpdgen" not in (REPO / "docs" / "guide" / "publishing.md").read_text(encoding="utf-8")


def test_the_makefile_finds_the_environment_on_windows():
    # CI runs make test-fast on Windows, where a virtual environment keeps its programs in Scripts.
    makefile = (REPO / "Makefile").read_text(encoding="utf-8")
    assert "ifeq ($(OS),Windows_NT)\nBIN := $(VENV)/Scripts" in makefile
