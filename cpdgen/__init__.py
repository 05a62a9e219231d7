"""cpdgen: a CPD record kept as Markdown in git, checked against the IBMS CPD Diploma rules."""

from pathlib import Path

__version__ = "0.1.0"


def theme_dir() -> Path:
    """The default theme: ``cpdgen/templates`` inside an installed wheel, ``templates/`` beside the
    package in a checkout of the repository (an editable install reads it there)."""
    package = Path(__file__).resolve().parent
    packaged = package / "templates"
    return packaged if (packaged / "base.html").is_file() else package.parent / "templates"
