"""A member's own identifier patterns (``privacy: patterns:`` in portfolio.yaml), checked before use.

A pattern is a regular expression the member writes for their trust's hospital or
laboratory numbers. One that could take hours on some texts (a repeat inside a repeat,
the shape of catastrophic backtracking), or that matches empty text, is refused with a
plain message.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from cpdgen.privacy.identifiers import RULES

MAX_PATTERN_LENGTH = 200
_PATTERN_NAME = re.compile(r"[a-z][a-z0-9]*(?:-[a-z0-9]+)*")
_REPEATS = ("MAX_REPEAT", "MIN_REPEAT", "POSSESSIVE_REPEAT")


def _nested_repeat(items: Iterable[tuple[Any, Any]], inside: bool) -> bool:
    """True when a repeat that can run long holds another repeat: the shape of catastrophic backtracking."""
    from re import _constants, _parser  # type: ignore[attr-defined]

    for op, value in items:
        name = str(op)
        if name in _REPEATS:
            low, high, sub = value
            long = high == _constants.MAXREPEAT or high > 50
            if inside and low != high:  # a variable repeat inside a long one: many ways to split a text
                return True
            if _nested_repeat(sub, inside or long):
                return True
        elif name == "SUBPATTERN":
            if _nested_repeat(value[-1], inside):
                return True
        elif name == "BRANCH":
            if any(_nested_repeat(branch, inside) for branch in value[1]):
                return True
        elif name in ("ASSERT", "ASSERT_NOT"):
            if _nested_repeat(value[1], inside):
                return True
        elif name == "ATOMIC_GROUP":
            if _nested_repeat(value, inside):
                return True
        elif name == "GROUPREF_EXISTS":
            if any(part is not None and _nested_repeat(part, inside) for part in value[1:]):
                return True
        elif isinstance(value, _parser.SubPattern) and _nested_repeat(value, inside):  # pragma: no cover
            return True  # any other container
    return False


def check_pattern_name(name: str) -> str:
    """A member pattern's name: lower-case words joined by hyphens, not a built-in rule's."""
    if not _PATTERN_NAME.fullmatch(name) or len(name) > 40:
        raise ValueError(
            f"'{name}' cannot name a pattern: use lower-case letters, digits and hyphens, like mrn or lab-number"
        )
    if name in RULES:
        raise ValueError(f"'{name}' is a built-in rule; give your pattern another name")
    return name


def compile_pattern(regex: str) -> re.Pattern:
    """A member's pattern, compiled; ValueError with a plain message when it is unusable or unsafe."""
    if len(regex) > MAX_PATTERN_LENGTH:
        raise ValueError(f"the pattern is longer than {MAX_PATTERN_LENGTH} characters")
    try:
        compiled = re.compile(regex)
    except (re.error, RecursionError, OverflowError) as exc:
        detail = getattr(exc, "msg", None) or str(exc)
        where = f" at character {exc.pos + 1}" if isinstance(exc, re.error) and exc.pos is not None else ""
        raise ValueError(f"'{regex}' is not a valid regular expression: {detail}{where}") from None
    from re import _parser  # type: ignore[attr-defined]  # CPython's own parser, as re.compile uses it

    if _nested_repeat(_parser.parse(regex, compiled.flags), False):
        raise ValueError(
            f"'{regex}' repeats a group that itself repeats (like (a+)+); such patterns can take "
            "hours on some texts. Write it without the nested repeat, e.g. MRN[0-9]{7}"
        )
    if compiled.fullmatch("") is not None or compiled.search("") is not None:
        raise ValueError(f"'{regex}' matches empty text, so it would match everywhere")
    return compiled
