"""The cpdgen a portfolio's CI installs: chosen from how this cpdgen was installed, and kept in requirements.txt.

pip records where it installed a distribution from (PEP 610, ``direct_url.json``); cpdgen reads
its own record and turns it into the one requirement line that makes CI install the same code:

    no record (a package index)      ->  cpdgen==X.Y.Z
    a git URL (vcs_info)             ->  cpdgen @ git+URL@<commit>
    a local checkout (dir_info)      ->  cpdgen @ git+<its remote's URL>@<HEAD>, refused while the
                                         tree has changes or HEAD is not on the remote
    anything else                    ->  no line, and a warning saying how to fix that

``cpdgen init`` writes the line; ``cpdgen ci-update`` rewrites that one line of an existing
requirements.txt and nothing else in it. Nothing here talks to the network: whether a commit
is on the remote is judged from the checkout's own remote-tracking branches.
"""

from __future__ import annotations

import json
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit, urlunsplit
from urllib.request import url2pathname

from cpdgen import __version__
from cpdgen.problems import CpdgenError

REQUIREMENTS = "requirements.txt"
REPOSITORY = "https://github.com/cpdgen/cpdgen"  # as in pyproject.toml's [project.urls]
# A requirement line that names cpdgen: "cpdgen", "cpdgen==1.0", "cpdgen @ git+…", "cpdgen[x]>=1";
# and the old spelling of a URL requirement, "-e git+…#egg=cpdgen".
_NAMES_CPDGEN = re.compile(r"cpdgen\s*(?:\[[^\]]*\]\s*)?(?:[=~<>!@;]|$)", re.IGNORECASE)
_EGG_CPDGEN = re.compile(r"#egg=cpdgen(?:[&\s]|$)", re.IGNORECASE)
_SCP_LIKE = re.compile(r"(?:[^@/:]+@)?(?P<host>[^/:]+):(?P<path>(?!//).+)")
GIT_TIMEOUT = 30


@dataclass(frozen=True)
class Choice:
    """The requirement line CI installs (None when none can be written), and why, in a sentence."""

    line: str | None
    why: str
    warning: str | None = None


def _given(spec: str) -> Choice:
    text = spec.strip()
    if any(ord(char) < 32 or ord(char) == 127 for char in spec) or not _NAMES_CPDGEN.match(text):
        raise CpdgenError(
            f"--requirement {spec!r} is not one pip requirement for cpdgen; write it as pip does, "
            f"e.g. --requirement 'cpdgen=={__version__}' or --requirement 'cpdgen @ git+{REPOSITORY}@v{__version__}'"
        )
    return Choice(text, "you chose it with --requirement")


def choose(given: str | None = None) -> Choice:
    """The requirement for this installation of cpdgen, or ``given`` (``--requirement``) when there is one.

    Raises CpdgenError when cpdgen runs from a checkout whose code CI could not install
    (changes not committed, or a commit not pushed), with the fix.
    """
    if given is not None:
        return _given(given)
    from importlib import metadata

    try:
        distribution = metadata.distribution("cpdgen")
    except metadata.PackageNotFoundError:
        return _cannot(f"this cpdgen ({__version__}) runs from its source files, not from an installed package")
    record = distribution.read_text("direct_url.json")
    if record is None:
        return choose_from_record(distribution.version, None)
    try:
        parsed = json.loads(record)
    except ValueError:
        parsed = {}
    return choose_from_record(distribution.version, parsed if isinstance(parsed, dict) else {})


def choose_from_record(version: str, direct_url: dict | None) -> Choice:
    """The requirement for a cpdgen of ``version`` installed as PEP 610's ``direct_url`` says (None: from an index)."""
    if direct_url is None:
        return Choice(
            f"cpdgen=={version}",
            f"cpdgen {version} is installed here from a package index (PyPI), so CI installs exactly that release",
        )
    url = direct_url.get("url")
    if not isinstance(url, str) or not url:
        return _cannot("pip's record of where this cpdgen came from cannot be read")
    vcs = direct_url.get("vcs_info")
    if isinstance(vcs, dict) and isinstance(vcs.get("commit_id"), str):
        kind = str(vcs.get("vcs") or "git")
        return _at_commit(kind, _without_credentials(url), vcs["commit_id"], direct_url.get("subdirectory"))
    dir_info = direct_url.get("dir_info")
    if isinstance(dir_info, dict) and url.startswith("file:"):
        return _from_checkout(Path(url2pathname(unquote(urlsplit(url).path))), direct_url.get("subdirectory"))
    if isinstance(direct_url.get("archive_info"), dict) and urlsplit(url).scheme == "https":
        clean = _without_credentials(url)
        return Choice(f"cpdgen @ {clean}", "cpdgen is installed here from that file on the web, so CI installs it too")
    return _cannot(f"this cpdgen ({version}) was installed from {_shown_url(url)}, which CI cannot reach")


def _cannot(what: str) -> Choice:
    return Choice(
        None,
        f"{what}, so cpdgen cannot tell CI how to install it",
        f"{what}: CI cannot install it. Install cpdgen from PyPI (pip install cpdgen) or from its git repository "
        f"(pip install 'git+{REPOSITORY}@v{__version__}'), then run 'cpdgen ci-update'; or name the cpdgen CI "
        f"should install: cpdgen ci-update --requirement 'cpdgen=={__version__}'",
    )


def _shown_url(url: str) -> str:
    if url.startswith("file:"):
        return url2pathname(unquote(urlsplit(url).path))
    return _without_credentials(url)


def _at_commit(kind: str, url: str, commit: str, subdirectory: object) -> Choice:
    line = f"cpdgen @ {kind}+{url}@{commit}"
    if isinstance(subdirectory, str) and subdirectory:
        line += f"#subdirectory={subdirectory}"
    why = f"cpdgen is installed here from {url} at commit {commit[:12]}, so CI installs that same commit"
    if urlsplit(url).scheme == "file":
        return Choice(
            line,
            why,
            f"{url} is a folder on this computer, which CI cannot reach: push cpdgen to a repository CI can "
            "reach and install it from there, then run 'cpdgen ci-update'",
        )
    return Choice(line, why)


def _without_credentials(url: str) -> str:
    """``url`` with any password or token taken out: requirements.txt is committed, often to a public repository."""
    parts = urlsplit(url)
    if parts.username is None and parts.password is None:
        return url
    host = parts.hostname or ""
    if parts.port is not None:
        host += f":{parts.port}"
    keep_user = parts.username == "git" and parts.password is None  # ssh's conventional user, not a secret
    return urlunsplit(parts._replace(netloc=("git@" if keep_user else "") + host))


def remote_https_url(remote: str, base: Path | None = None) -> str:
    """A git remote's URL as CI can fetch it without a key: an SSH address becomes https, a path a file: URL
    (a relative path is relative to ``base``, the checkout)."""
    remote = remote.strip()
    parts = urlsplit(remote)
    if parts.scheme in ("http", "https", "git", "file"):
        return _without_credentials(remote)
    if parts.scheme == "ssh" and parts.hostname:
        return urlunsplit(("https", parts.hostname, parts.path, "", ""))
    scp = _SCP_LIKE.fullmatch(remote)
    if scp and not re.fullmatch(r"[A-Za-z]", scp.group("host")):  # C:\… is a Windows path, not a host
        return f"https://{scp.group('host')}/{scp.group('path').lstrip('/')}"
    return ((base or Path.cwd()) / remote).resolve().as_uri()


def _git(folder: Path, *args: str) -> str | None:
    """git's output in ``folder``, or None when git fails or is not installed."""
    try:
        result = subprocess.run(  # noqa: S603 - git, with arguments cpdgen chose
            ["git", "-C", str(folder), *args],  # noqa: S607 - git as the member's PATH finds it
            capture_output=True,
            text=True,
            timeout=GIT_TIMEOUT,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return result.stdout.rstrip() if result.returncode == 0 else None  # porcelain lines start with a space


def _from_checkout(folder: Path, subdirectory: object) -> Choice:
    top = _git(folder, "rev-parse", "--show-toplevel")
    if top is None:
        return _cannot(
            f"this cpdgen is installed from the folder {folder}, which is not a git checkout (or git is missing)"
        )
    changed = _git(folder, "status", "--porcelain", "--untracked-files=no")
    if changed:
        files = [line[3:] for line in changed.splitlines()]
        shown = ", ".join(files[:3]) + (", …" if len(files) > 3 else "")
        raise CpdgenError(
            f"cpdgen is installed from the checkout {top}, which has changes not committed ({shown}); CI can "
            "install only committed code. Commit them and push, then run this again; or name the cpdgen CI "
            "should install with --requirement"
        )
    commit = _git(folder, "rev-parse", "HEAD")
    remote = _remote(folder)
    if commit is None or remote is None:
        return _cannot(
            f"this cpdgen is installed from the checkout {top}, which has no remote to install it from "
            "(git remote add origin <address>, then git push)"
        )
    on_remote = _git(folder, "for-each-ref", "--contains", commit, "--format=%(refname)", f"refs/remotes/{remote}/")
    if not on_remote:
        raise CpdgenError(
            f"cpdgen is installed from the checkout {top}, at commit {commit[:12]}, which is not on the remote "
            f"'{remote}' as far as this checkout knows; CI could not fetch it. Push it (git push {remote}), "
            "then run this again; or name the cpdgen CI should install with --requirement"
        )
    address = _git(folder, "remote", "get-url", remote)
    if not address:
        return _cannot(f"the remote '{remote}' of the checkout {top} has no address")
    choice = _at_commit("git", remote_https_url(address, Path(top)), commit, subdirectory)
    why = (
        f"cpdgen is installed here from a git checkout, at commit {commit[:12]}, which is on its remote "
        f"'{remote}', so CI installs that commit from there"
    )
    return Choice(choice.line, why, choice.warning)


def _remote(folder: Path) -> str | None:
    """The remote of the current branch's upstream, else 'origin', else the only remote."""
    upstream = _git(folder, "rev-parse", "--abbrev-ref", "--symbolic-full-name", "@{upstream}")
    remotes = (_git(folder, "remote") or "").split()
    if upstream:
        for name in sorted(remotes, key=len, reverse=True):  # a remote's name may hold a "/"
            if upstream.startswith(name + "/"):
                return name
    if "origin" in remotes:
        return "origin"
    return remotes[0] if len(remotes) == 1 else None


# --- requirements.txt -------------------------------------------------------------------------


def _logical_lines(text: str) -> list[tuple[int, int, str]]:
    """(first, last physical line index, joined text) of each line pip reads; a "\\" at the end continues it."""
    physical = text.splitlines()
    found = []
    start = 0
    joined = ""
    for index, line in enumerate(physical):
        if line.endswith("\\"):
            joined += line[:-1]
            continue
        found.append((start, index, joined + line))
        start, joined = index + 1, ""
    if joined:
        found.append((start, len(physical) - 1, joined))
    return found


def names_cpdgen(line: str) -> bool:
    """Whether one requirements.txt line (continuations joined) is cpdgen's requirement."""
    text = re.split(r"(?:^|\s)#", line, maxsplit=1)[0].strip()  # pip's comments; "#egg=" is part of a URL
    if not text:
        return False
    if text.startswith(("-e ", "--editable")):
        return bool(_EGG_CPDGEN.search(text))
    return bool(_NAMES_CPDGEN.match(text))


def current_line(text: str) -> str | None:
    """cpdgen's requirement in a requirements.txt's text, as written (None when it has none)."""
    for _, _, line in _logical_lines(text):
        if names_cpdgen(line):
            return line.strip()
    return None


def replace_line(text: str, line: str) -> str:
    """``text`` with cpdgen's requirement made ``line``: that line alone changes, or ``line`` is added at the end.

    Raises CpdgenError when the file names cpdgen more than once (which one CI uses is unclear).
    """
    newline = "\r\n" if "\r\n" in text else "\n"
    physical = text.splitlines()
    matches = [(first, last) for first, last, joined in _logical_lines(text) if names_cpdgen(joined)]
    if len(matches) > 1:
        numbers = " and ".join(str(first + 1) for first, _ in matches)
        raise CpdgenError(f"{REQUIREMENTS} names cpdgen on lines {numbers}; keep one of them, then run this again")
    if matches:
        first, last = matches[0]
        physical[first : last + 1] = [line]
    else:
        physical.append(line)
    return newline.join(physical) + newline


def update_requirements(root: Path, choice: Choice) -> tuple[Path, str | None, bool]:
    """Make cpdgen's line in ``root/requirements.txt`` the chosen one: (path, the line before, whether it changed).

    Every other line (the member's own requirements and comments) is kept byte for byte.
    """
    from cpdgen.fsutil import atomic_write_bytes

    if choice.line is None:
        raise CpdgenError(choice.warning or choice.why)
    path = root / REQUIREMENTS
    if path.is_symlink() or (path.exists() and not path.is_file()):
        raise CpdgenError(f"{path} is not a plain file; cpdgen changes only a plain requirements.txt")
    try:
        data = path.read_bytes() if path.exists() else b""
    except OSError as exc:
        raise CpdgenError(f"cannot read {path}: {exc.strerror or exc}") from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise CpdgenError(f"{path} is not UTF-8 text; cpdgen leaves it as it is") from None
    before = current_line(text)
    updated = replace_line(text, choice.line)
    if updated == text:
        return path, before, False
    atomic_write_bytes(path, updated.encode("utf-8"))
    return path, before, True
