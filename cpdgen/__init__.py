"""cpdgen: a CPD record kept as Markdown in git, checked against the IBMS CPD Diploma rules."""

__version__ = "0.1.0"
