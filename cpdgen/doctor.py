"""``cpdgen doctor``: whether this computer has what each command needs, and how to install what is missing.

Each check is one small test of the real thing: the Python running cpdgen; WeasyPrint loaded and
a line of text laid out in a separate process (a missing Pango library fails the import, and
missing fonts can crash the layout, which must not take cpdgen down with it); git; the cpdgen a
portfolio's CI installs (:mod:`cpdgen.requirement`); a cache folder cpdgen can write. What to
install is said for the system cpdgen runs on: Debian or Ubuntu (apt), Fedora (dnf), macOS
(Homebrew) or Windows.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from cpdgen.problems import CpdgenError

MIN_PYTHON = (3, 11)
PROBE_TIMEOUT = 120
WEASYPRINT_WINDOWS = "https://doc.courtbouillon.org/weasyprint/stable/first_steps.html#windows"

# What to install, by system. Windows: WeasyPrint's own instructions, which use MSYS2.
INSTALL: dict[str, dict[str, str]] = {
    "pango": {
        "debian": "sudo apt-get install libpango-1.0-0 libpangoft2-1.0-0",
        "fedora": "sudo dnf install pango",
        "macos": "brew install pango",
        "windows": "install MSYS2 (https://www.msys2.org/), run 'pacman -S mingw-w64-x86_64-pango' in its "
        "shell, then set WEASYPRINT_DLL_DIRECTORIES to C:\\msys64\\mingw64\\bin (see " + WEASYPRINT_WINDOWS + ")",
    },
    "fonts": {
        "debian": "sudo apt-get install fonts-dejavu-core",
        "fedora": "sudo dnf install dejavu-sans-fonts",
        "macos": "brew install --cask font-dejavu",
        "windows": "Windows has fonts of its own; see " + WEASYPRINT_WINDOWS,
    },
    "git": {
        "debian": "sudo apt-get install git",
        "fedora": "sudo dnf install git",
        "macos": "xcode-select --install (or brew install git)",
        "windows": "winget install --id Git.Git -e (or https://git-scm.com/download/win)",
    },
    "python": {
        "debian": "sudo apt-get install python3 (Debian 12 or Ubuntu 24.04 and later have 3.11 or newer)",
        "fedora": "sudo dnf install python3",
        "macos": "brew install python@3.12",
        "windows": "winget install --id Python.Python.3.12 -e",
    },
}
SYSTEM_NAMES = {"debian": "Debian or Ubuntu", "fedora": "Fedora", "macos": "macOS", "windows": "Windows"}


@dataclass(frozen=True)
class Check:
    """One thing a command needs: whether it is there, what was found, and how to fix it."""

    what: str
    ok: bool
    found: str
    fix: str | None = None
    needed_by: str = ""


def system_of(platform: str | None = None, os_release: str | None = None) -> str | None:
    """``debian``, ``fedora``, ``macos`` or ``windows``: the system's install commands; None when unknown."""
    platform = sys.platform if platform is None else platform
    if platform == "darwin":
        return "macos"
    if platform in ("win32", "cygwin"):
        return "windows"
    if os_release is None:
        try:
            os_release = Path("/etc/os-release").read_text(encoding="utf-8", errors="replace")
        except OSError:
            return None
    fields = {}
    for line in os_release.splitlines():
        key, sep, value = line.partition("=")
        if sep:
            fields[key.strip()] = value.strip().strip("\"'").lower()
    family = {fields.get("ID", ""), *fields.get("ID_LIKE", "").split()}
    if family & {"debian", "ubuntu"}:
        return "debian"
    if family & {"fedora", "rhel", "centos"}:
        return "fedora"
    return None


def install_command(need: str, system: str | None) -> str:
    """The command that installs ``need`` on ``system``; every system's when it is not known."""
    commands = INSTALL[need]
    if system is not None:
        return commands[system]
    return "; ".join(f"{SYSTEM_NAMES[name]}: {command}" for name, command in commands.items())


def check_python(system: str | None) -> Check:
    version = ".".join(map(str, sys.version_info[:3]))
    ok = sys.version_info[:2] >= MIN_PYTHON
    fix = None if ok else f"Python {'.'.join(map(str, MIN_PYTHON))} or newer: {install_command('python', system)}"
    return Check("Python", ok, f"Python {version} ({sys.executable})", fix, "every command")


# Run in a separate Python: loads WeasyPrint (and so Pango), says so, then lays out a line of text
# and says whether a font was embedded. Without fonts, Pango may crash the process.
_PROBE = """
import json, sys
try:
    import weasyprint
except OSError as exc:
    print(json.dumps({"pango": str(exc)}), flush=True)
    sys.exit(0)
except ImportError as exc:
    print(json.dumps({"weasyprint": str(exc)}), flush=True)
    sys.exit(0)
print(json.dumps({"version": weasyprint.__version__}), flush=True)
pdf = weasyprint.HTML(string="<p>cpdgen doctor: Aa Bb 0123</p>").write_pdf(uncompressed_pdf=True)
print(json.dumps({"fonts": b"/FontFile" in pdf}), flush=True)
"""


def check_pdf(system: str | None, python: str | None = None) -> list[Check]:
    """Pango (WeasyPrint loads) and fonts (a line of text embeds one), tried in a separate Python process."""
    needed = "build (the PDF), export pdf, hcpc-profile"
    try:
        result = subprocess.run(  # noqa: S603 - this Python, running the probe above
            [python or sys.executable, "-c", _PROBE],
            capture_output=True,
            text=True,
            timeout=PROBE_TIMEOUT,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return [Check("WeasyPrint and Pango", False, "laying out one line took too long", None, needed)]
    said: dict = {}
    for line in result.stdout.splitlines():
        try:
            said.update(json.loads(line))
        except ValueError:
            continue
    pango_fix = install_command("pango", system)
    if "pango" in said:
        error = str(said["pango"])
        named = re.search(r"cannot load library '([^']+)'", error)
        found = f"the library {named.group(1)}" if named else f"a library it needs ({error.splitlines()[0]})"
        return [Check("Pango, for the PDF", False, f"WeasyPrint could not load {found}", pango_fix, needed)]
    if "weasyprint" in said or "version" not in said:
        found = f"WeasyPrint is not installed here ({said['weasyprint']})" if "weasyprint" in said else (
            f"loading WeasyPrint failed (exit code {result.returncode}): {_last_line(result.stderr)}"
        )  # fmt: skip
        return [
            Check("WeasyPrint, for the PDF", False, found, "reinstall cpdgen: python -m pip install cpdgen", needed)
        ]
    checks = [Check("WeasyPrint and Pango, for the PDF", True, f"WeasyPrint {said['version']} loads", None, needed)]
    fonts_fix = install_command("fonts", system)
    if said.get("fonts") is True:
        checks.append(
            Check("Fonts, for the PDF", True, "a line of text was laid out with an embedded font", None, needed)
        )
    elif "fonts" in said:
        checks.append(
            Check("Fonts, for the PDF", False, "a line of text was laid out without any font", fonts_fix, needed)
        )
    else:
        crashed = f"signal {-result.returncode}" if result.returncode < 0 else f"exit code {result.returncode}"
        hint = " (no fonts configured)" if "No fonts configured" in result.stderr else ""
        checks.append(
            Check(
                "Fonts, for the PDF", False, f"laying out a line of text crashed ({crashed}){hint}", fonts_fix, needed
            )
        )
    return checks


def _last_line(text: str) -> str:
    lines = [line for line in text.splitlines() if line.strip()]
    return lines[-1].strip() if lines else "no message"


def check_git(system: str | None) -> Check:
    needed = "saving and publishing your portfolio (git add, commit, push)"
    git = shutil.which("git")
    if git is None:
        return Check("git", False, "not found", install_command("git", system), needed)
    try:
        result = subprocess.run(  # noqa: S603 - git found on PATH
            [git, "--version"], capture_output=True, text=True, timeout=30, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return Check("git", False, f"{git} does not run ({exc})", install_command("git", system), needed)
    if result.returncode != 0:
        return Check("git", False, f"{git} does not run", install_command("git", system), needed)
    return Check("git", True, result.stdout.strip(), None, needed)


def check_requirement(root: Path) -> Check:
    """The cpdgen CI installs: that one can be named, and that the portfolio's requirements.txt names it."""
    from cpdgen.requirement import REQUIREMENTS, choose, current_line

    needed = "your CI (GitHub Actions, GitLab CI)"
    what = "The cpdgen your CI installs"
    try:
        choice = choose()
    except CpdgenError as exc:
        return Check(what, False, exc.message, None, needed)
    if choice.line is None:
        return Check(what, False, choice.why, choice.warning, needed)
    path = root / REQUIREMENTS
    try:
        written = current_line(path.read_text(encoding="utf-8")) if path.is_file() else None
    except (OSError, UnicodeDecodeError):
        written = None
    if not path.is_file():
        found = f"{choice.line} ({choice.why}); no {REQUIREMENTS} in {root} to compare it with"
        return Check(what, choice.warning is None, found, choice.warning, needed)
    if written != choice.line:
        shown = written or "no cpdgen line"
        return Check(
            what,
            False,
            f"{REQUIREMENTS} has {shown}, but this computer runs {choice.line} ({choice.why})",
            f"cpdgen ci-update{'' if root == Path('.') else f' --root {root}'}, then commit {REQUIREMENTS}",
            needed,
        )
    return Check(
        what, choice.warning is None, f"{REQUIREMENTS} installs {choice.line}, as here", choice.warning, needed
    )


def check_cache() -> Check:
    from cpdgen.cache import ENV, cache_home

    needed = "speed only: --no-cache works without it"
    home = cache_home()
    try:
        home.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=home, prefix=".doctor-", delete=True) as handle:
            handle.write(b"ok")
            handle.flush()
    except OSError as exc:
        fix = f"make {home} writable, or set {ENV} to a folder you can write"
        return Check("Cache folder", False, f"{home} cannot be written ({exc.strerror or exc})", fix, needed)
    return Check("Cache folder", True, f"{home} is writable", None, needed)


def check_search() -> Check:
    from cpdgen.pagefind import pagefind_executable

    needed = "the site's search page (without it the site is built, and says search is unavailable)"
    fix = "reinstall cpdgen, which installs it: python -m pip install --force-reinstall cpdgen"
    program = pagefind_executable()
    if program is None:
        return Check("Pagefind, for the site's search", False, "not installed", fix, needed)
    try:
        result = subprocess.run(  # noqa: S603 - the pagefind-bin package's own program
            [str(program), "--version"], capture_output=True, text=True, timeout=30, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return Check("Pagefind, for the site's search", False, f"{program} does not run ({exc})", fix, needed)
    if result.returncode != 0:
        return Check("Pagefind, for the site's search", False, f"{program} does not run", fix, needed)
    return Check("Pagefind, for the site's search", True, result.stdout.strip() or str(program), None, needed)


def run_checks(root: Path, system: str | None = None) -> list[Check]:
    """Every check, in the order a member meets them."""
    return [
        check_python(system),
        *check_pdf(system),
        check_git(system),
        check_requirement(root),
        check_search(),
        check_cache(),
    ]


def system_label(system: str | None) -> str:
    return SYSTEM_NAMES[system] if system else "a system cpdgen has no install commands for"
