"""The output folder guard, atomic writes and swaps, the build lock (docs/developers/security.md)."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

from cpdgen import fsutil
from cpdgen.problems import CpdgenError


def tree_digest(folder: Path) -> str:
    """A hash of every file's path and bytes under ``folder``."""
    digest = hashlib.sha256()
    for path in sorted(folder.rglob("*")):
        digest.update(str(path.relative_to(folder)).encode())
        if path.is_file():
            digest.update(path.read_bytes())
    return digest.hexdigest()


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    (root / "content" / "activities").mkdir(parents=True)
    (root / "content" / "portfolio.yaml").write_text("member: {name: A}\n")
    (root / "templates").mkdir()
    (root / "templates" / "base.html").write_text("mine")
    (root / ".git").mkdir()
    (root / "docs").mkdir()
    (root / "docs" / "notes.md").write_text("my notes")
    return root


@pytest.mark.parametrize(
    "out",
    [
        ".",
        "..",
        "content",
        "content/site",
        "content/activities",
        "templates",
        "templates/x",
        "repo/../repo",
        "docs",
        "/",
    ],
)
def test_dangerous_output_folders_are_refused_and_nothing_changes(repo: Path, out: str):
    before = tree_digest(repo)
    target = (
        Path(out) if out == "/" else (repo / out if out != "repo/../repo" else repo.parent / "repo" / ".." / "repo")
    )
    with pytest.raises(CpdgenError) as caught:
        fsutil.check_output_folder(repo, target)
    assert caught.value.exit_code == 2
    assert "refusing" in caught.value.message
    assert tree_digest(repo) == before


def test_home_folder_is_refused(repo: Path, monkeypatch):
    monkeypatch.setenv("HOME", str(repo.parent))
    with pytest.raises(CpdgenError):
        fsutil.check_output_folder(repo, repo.parent)


def test_a_new_or_marked_or_empty_folder_is_accepted(repo: Path):
    assert fsutil.check_output_folder(repo, repo / "site") == (repo / "site").resolve()
    (repo / "empty").mkdir()
    assert fsutil.check_output_folder(repo, repo / "empty")
    (repo / "ours").mkdir()
    (repo / "ours" / "index.html").write_text("x")
    with pytest.raises(CpdgenError, match="did not write"):
        fsutil.check_output_folder(repo, repo / "ours")
    fsutil.write_marker(repo / "ours")
    assert fsutil.check_output_folder(repo, repo / "ours")


def test_a_symlink_into_content_is_refused(repo: Path):
    (repo / "sneaky").symlink_to(repo / "content")
    with pytest.raises(CpdgenError, match="content/"):
        fsutil.check_output_folder(repo, repo / "sneaky")


@pytest.mark.parametrize("bad", ["", "/etc/passwd", "../x", "a/../../x", "a\\b", "a//b", "./a", "a/\x00"])
def test_safe_join_refuses_paths_that_leave_the_folder(tmp_path: Path, bad: str):
    with pytest.raises(ValueError):
        fsutil.safe_join(tmp_path, bad)


def test_safe_join_keeps_plain_relative_paths(tmp_path: Path):
    assert fsutil.safe_join(tmp_path, "activities/a/index.html") == tmp_path / "activities" / "a" / "index.html"


def test_swap_replaces_the_old_folder_and_leaves_no_temporary_folder(tmp_path: Path):
    out = tmp_path / "site"
    out.mkdir()
    (out / "old.html").write_text("old")
    temp = fsutil.make_temp_folder(out)
    (temp / "new.html").write_text("new")
    fsutil.swap_in(temp, out)
    assert (out / "new.html").read_text() == "new"
    assert not (out / "old.html").exists()
    assert (out / fsutil.MARKER).is_file()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["site"]


def test_stale_temporary_folders_are_cleaned_only_when_marked(tmp_path: Path):
    out = tmp_path / "site"
    stale = fsutil.make_temp_folder(out)
    (stale / "half.html").write_text("half")
    foreign = tmp_path / "site.tmp-mine"
    foreign.mkdir()
    (foreign / "keep.txt").write_text("not cpdgen's")
    removed = fsutil.clean_stale_temp_folders(out)
    assert removed == [stale]
    assert not stale.exists()
    assert (foreign / "keep.txt").read_text() == "not cpdgen's"


def test_atomic_write_replaces_whole_files_and_leaves_no_temporary_file(tmp_path: Path):
    target = tmp_path / "a" / "file.txt"
    fsutil.atomic_write_bytes(target, b"one")
    fsutil.atomic_write_bytes(target, b"two")
    assert target.read_bytes() == b"two"
    assert [p.name for p in target.parent.iterdir()] == ["file.txt"]


def test_atomic_write_failure_keeps_the_old_file(tmp_path: Path, monkeypatch):
    target = tmp_path / "file.txt"
    target.write_bytes(b"old")

    def full_disk(fd):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", full_disk)
    with pytest.raises(OSError):
        fsutil.atomic_write_bytes(target, b"new")
    assert target.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["file.txt"]


def test_a_second_build_is_refused_while_the_lock_is_held(tmp_path: Path):
    out = tmp_path / "site"
    with fsutil.build_lock(out):
        with pytest.raises(fsutil.BuildLocked) as caught, fsutil.build_lock(out):
            pass
        assert caught.value.exit_code == 2
        assert "another cpdgen build" in caught.value.message
    with fsutil.build_lock(out):  # released: free again
        pass
    assert not fsutil.lock_path(out).exists()
