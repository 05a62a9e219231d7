"""The cpdgen a portfolio's CI installs: chosen from pip's record of this install, kept in requirements.txt.

The slow tests install cpdgen for real into temporary virtual environments, each the way a
member might (from an index, from a git URL, from a checkout), and run the real command line.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from conftest import git, lend_libraries, new_venv, pip_into
from cpdgen.cli import main
from cpdgen.problems import CpdgenError
from cpdgen.requirement import (
    Choice,
    choose,
    choose_from_record,
    current_line,
    remote_https_url,
    replace_line,
)

SHA = "0123456789abcdef0123456789abcdef01234567"


# --- requirements.txt: cpdgen's line changes, nothing else -----------------------------------


@pytest.mark.parametrize(
    "line",
    [
        "cpdgen~=0.1.0",
        "cpdgen",
        "CPDGEN == 0.1.0",
        "cpdgen[extra]>=0.1",
        "cpdgen @ git+https://github.com/x/cpdgen.git@v1",
        "cpdgen==0.1.0 ; python_version >= '3.11'  # pinned",
        "-e git+https://github.com/x/cpdgen.git@v1#egg=cpdgen",
    ],
)
def test_replace_line_changes_only_cpdgens_line(line):
    text = f"# my tools\nrequests==2.0\n{line}\n\nmkdocs  # for my notes\n"
    assert replace_line(text, "cpdgen==0.2.0") == "# my tools\nrequests==2.0\ncpdgen==0.2.0\n\nmkdocs  # for my notes\n"
    assert current_line(text) == line


@pytest.mark.parametrize("other", ["# cpdgen==0.1.0", "cpdgen-extras==1.0", "cpdgenx", "-e ./tools#egg=cpdgenx"])
def test_lines_that_do_not_name_cpdgen_are_kept(other):
    text = f"{other}\n"
    assert current_line(text) is None
    assert replace_line(text, "cpdgen==0.2.0") == f"{other}\ncpdgen==0.2.0\n"


def test_replace_line_keeps_crlf_and_joins_a_continued_line():
    text = "numpy\r\ncpdgen==0.1.0 \\\r\n    --hash=sha256:abc\r\nrich\r\n"
    assert replace_line(text, "cpdgen==0.2.0") == "numpy\r\ncpdgen==0.2.0\r\nrich\r\n"
    assert replace_line("", "cpdgen==0.2.0") == "cpdgen==0.2.0\n"
    assert replace_line("rich", "cpdgen==0.2.0") == "rich\ncpdgen==0.2.0\n"


def test_replace_line_refuses_two_cpdgen_lines():
    with pytest.raises(CpdgenError, match="names cpdgen on lines 1 and 3; keep one"):
        replace_line("cpdgen==0.1\nrich\ncpdgen @ git+https://h/c.git@x\n", "cpdgen==0.2.0")


# --- from pip's record (PEP 610) to a requirement -------------------------------------------


def test_from_an_index_an_exact_pin():
    choice = choose_from_record("0.3.1", None)
    assert choice == Choice(
        "cpdgen==0.3.1",
        "cpdgen 0.3.1 is installed here from a package index (PyPI), so CI installs exactly that release",
    )


def test_from_a_git_url_that_commit_without_credentials():
    record = {"url": "https://me:ghp_secret@github.com/x/cpdgen.git", "vcs_info": {"vcs": "git", "commit_id": SHA}}
    choice = choose_from_record("0.3.1", record)
    assert choice.line == f"cpdgen @ git+https://github.com/x/cpdgen.git@{SHA}"
    assert "secret" not in choice.why and choice.warning is None
    record["subdirectory"] = "tools/cpdgen"
    assert choose_from_record("0.3.1", record).line.endswith(f"@{SHA}#subdirectory=tools/cpdgen")


def test_from_a_file_on_this_computer_no_line_and_how_to_fix_it():
    choice = choose_from_record("0.3.1", {"url": "file:///home/a/cpdgen-0.3.1-py3-none-any.whl", "archive_info": {}})
    assert choice.line is None
    assert "/home/a/cpdgen-0.3.1-py3-none-any.whl, which CI cannot reach" in choice.warning
    assert "cpdgen ci-update --requirement" in choice.warning
    web = choose_from_record("0.3.1", {"url": "https://example.org/cpdgen-0.3.1.tar.gz", "archive_info": {}})
    assert web.line == "cpdgen @ https://example.org/cpdgen-0.3.1.tar.gz" and web.warning is None
    assert choose_from_record("0.3.1", {}).line is None  # a record pip wrote wrongly


@pytest.mark.parametrize(
    "remote, url",
    [
        ("git@github.com:x/cpdgen.git", "https://github.com/x/cpdgen.git"),
        ("ssh://git@gitlab.com:2222/x/cpdgen.git", "https://gitlab.com/x/cpdgen.git"),
        ("https://token:x-oauth@github.com/x/cpdgen.git", "https://github.com/x/cpdgen.git"),
        ("https://github.com/x/cpdgen", "https://github.com/x/cpdgen"),
    ],
)
def test_remote_urls_become_ones_ci_fetches_without_a_key(remote, url):
    assert remote_https_url(remote) == url


def test_a_path_remote_becomes_a_file_url(tmp_path):
    assert remote_https_url(str(tmp_path / "cpdgen.git")) == (tmp_path / "cpdgen.git").as_uri()
    # relative to the checkout, as git reads it, not to wherever cpdgen runs
    assert remote_https_url("../cpdgen.git", tmp_path / "checkout") == (tmp_path / "cpdgen.git").as_uri()


@pytest.mark.parametrize("spec", ["requests==1.0", "cpdgen==1\nrequests", "", "cpdgenx==1", "cpdgen==1\x1b[2J"])
def test_requirement_option_must_name_cpdgen(spec):
    with pytest.raises(CpdgenError, match="is not one pip requirement for cpdgen"):
        choose(spec)


# --- cpdgen ci-update ------------------------------------------------------------------------


def test_ci_update_rewrites_only_cpdgens_line(tmp_path, capsys):
    mine = "# tools I use\nrequests==2.31.0\ncpdgen~=0.1.0  # the old series\nrich\n"
    (tmp_path / "requirements.txt").write_text(mine, encoding="utf-8")
    assert main(["ci-update", "--root", str(tmp_path), "--requirement", "cpdgen==0.2.0"]) == 0
    out = capsys.readouterr().out
    assert "cpdgen~=0.1.0  # the old series -> cpdgen==0.2.0" in out and "git add requirements.txt" in out
    assert (tmp_path / "requirements.txt").read_text(encoding="utf-8") == mine.replace(
        "cpdgen~=0.1.0  # the old series", "cpdgen==0.2.0"
    )
    assert main(["ci-update", "--root", str(tmp_path), "--requirement", "cpdgen==0.2.0"]) == 0
    assert "already installs cpdgen==0.2.0: nothing to change" in capsys.readouterr().out


def test_ci_update_changes_nothing_when_ci_cannot_install_this_cpdgen(tmp_path, capsys, monkeypatch):
    from cpdgen import requirement

    (tmp_path / "requirements.txt").write_text("cpdgen==0.1.0\n", encoding="utf-8")
    cannot = choose_from_record("0.3.1", {"url": "file:///x/cpdgen.whl", "archive_info": {}})
    monkeypatch.setattr(requirement, "choose", lambda given=None: cannot)
    assert main(["ci-update", "--root", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "requirements.txt left as it is" in err and "CI cannot install it" in err
    assert (tmp_path / "requirements.txt").read_text(encoding="utf-8") == "cpdgen==0.1.0\n"


def test_init_warns_and_writes_no_line_when_ci_cannot_install_this_cpdgen(tmp_path, capsys, monkeypatch):
    from cpdgen import requirement

    cannot = choose_from_record("0.3.1", {"url": "file:///x/cpdgen.whl", "archive_info": {}})
    monkeypatch.setattr(requirement, "choose", lambda given=None: cannot)
    assert main(["init", str(tmp_path / "p")]) == 0
    err = capsys.readouterr().err
    assert err.startswith("cpdgen: warning: this cpdgen (0.3.1) was installed from") and "ci-update" in err
    text = (tmp_path / "p" / "requirements.txt").read_text(encoding="utf-8")
    assert current_line(text) is None and "# (none: this cpdgen (0.3.1) was installed from" in text
    readme = (tmp_path / "p" / "README.md").read_text(encoding="utf-8")
    assert "    nothing yet\n\nbecause this cpdgen (0.3.1) was installed from" in readme


def test_init_requirement_option_and_the_readme_says_why(tmp_path, capsys):
    spec = "cpdgen @ git+https://example.org/cpdgen.git@" + SHA
    assert main(["init", str(tmp_path / "p"), "--requirement", spec]) == 0
    assert (tmp_path / "p" / "requirements.txt").read_text(encoding="utf-8").splitlines()[-1] == spec
    assert f"    {spec}\n\nbecause you chose it with --requirement." in (tmp_path / "p/README.md").read_text(
        encoding="utf-8"
    )


# --- real installs, in temporary virtual environments ------------------------------------------------


def cpdgen_in(python: Path, *args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {"PATH": "/usr/bin:/bin", "HOME": str(cwd), "NO_COLOR": "1"}
    return subprocess.run(
        [str(python), "-m", "cpdgen", *args], capture_output=True, text=True, timeout=120, cwd=cwd, env=env
    )


def requirement_written(python: Path, where: Path) -> tuple[subprocess.CompletedProcess, str | None]:
    where.mkdir(parents=True, exist_ok=True)
    result = cpdgen_in(python, "init", str(where / "p"), "-q", cwd=where)
    text = (where / "p" / "requirements.txt").read_text(encoding="utf-8") if result.returncode == 0 else ""
    return result, current_line(text)


@pytest.fixture(scope="module")
def bare_repository(source_snapshot, tmp_path_factory) -> Path:
    bare = tmp_path_factory.mktemp("remote") / "cpdgen.git"
    git(source_snapshot.parent, "clone", "-q", "--bare", str(source_snapshot), str(bare))
    return bare


@pytest.mark.slow
def test_installed_from_an_index_pins_that_release(built_dist, tmp_path):
    python = new_venv(tmp_path / "venv")
    pip_into(python, "--no-deps", "--no-index", "--find-links", str(built_dist), "cpdgen")
    lend_libraries(python)
    result, line = requirement_written(python, tmp_path)
    assert result.returncode == 0 and result.stderr == "", result.stderr
    from cpdgen import __version__

    assert line == f"cpdgen=={__version__}"


@pytest.mark.slow
def test_installed_from_a_git_url_pins_that_commit(bare_repository, tmp_path):
    python = new_venv(tmp_path / "venv")
    pip_into(python, "--no-deps", f"git+{bare_repository.as_uri()}")
    lend_libraries(python)
    result, line = requirement_written(python, tmp_path)
    commit = git(bare_repository, "rev-parse", "HEAD")
    assert result.returncode == 0, result.stderr
    assert line == f"cpdgen @ git+{bare_repository.as_uri()}@{commit}"
    # A folder on this computer is no address for CI: it is written, with a warning.
    assert "which CI cannot reach" in result.stderr


@pytest.mark.slow
def test_installed_from_a_checkout(bare_repository, tmp_path):
    checkout = tmp_path / "checkout"
    git(tmp_path, "clone", "-q", str(bare_repository), str(checkout))
    python = new_venv(tmp_path / "venv")
    pip_into(python, "--no-deps", "-e", str(checkout))
    lend_libraries(python)
    commit = git(checkout, "rev-parse", "HEAD")

    # clean, and HEAD is on the remote: the remote's URL at that commit
    result, line = requirement_written(python, tmp_path / "clean")
    assert result.returncode == 0, result.stderr
    assert line == f"cpdgen @ git+{bare_repository.as_uri()}@{commit}"

    # a change not committed: refused, and nothing written
    readme = checkout / "README.md"
    readme.write_text(readme.read_text(encoding="utf-8") + "\nmore\n", encoding="utf-8")
    result, _ = requirement_written(python, tmp_path / "dirty")
    assert result.returncode == 2 and not (tmp_path / "dirty" / "p").exists()
    assert "which has changes not committed (README.md); CI can install only committed code" in result.stderr
    assert "Commit them and push" in result.stderr

    # committed but not pushed: refused, saying how to push
    git(checkout, "commit", "-q", "-am", "more")
    result, _ = requirement_written(python, tmp_path / "unpushed")
    assert result.returncode == 2
    assert "which is not on the remote 'origin'" in result.stderr and "git push origin" in result.stderr

    # pushed: ci-update moves an existing portfolio's line to the new commit, and nothing else
    git(checkout, "push", "-q", "origin", "HEAD")
    portfolio = tmp_path / "clean" / "p"
    before = (portfolio / "requirements.txt").read_text(encoding="utf-8")
    result = cpdgen_in(python, "ci-update", "--root", str(portfolio), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    new_commit = git(checkout, "rev-parse", "HEAD")
    after = (portfolio / "requirements.txt").read_text(encoding="utf-8")
    assert after == before.replace(commit, new_commit) and new_commit != commit

    # installed from the same checkout, not editable: the same line
    pip_into(python, "--no-deps", "--force-reinstall", str(checkout))
    result, line = requirement_written(python, tmp_path / "not-editable")
    assert result.returncode == 0, result.stderr
    assert line == f"cpdgen @ git+{bare_repository.as_uri()}@{new_commit}"
