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
MAX_COUNT = 100  # the most times a pattern may repeat one part
MAX_CHOICES = 1_000  # the most ways a pattern may split one stretch of text (the product of its ranges)
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


def _shape(items: Iterable[tuple[Any, Any]]) -> tuple[bool, bool, int]:
    """``(unbounded, backreference, ways)`` of a parsed pattern.

    ``ways`` bounds how many ways it can match one stretch of text from one starting point: a
    sequence multiplies its parts' ways, a choice adds its branches', a repeat of n to m
    times raises its part's to the m-th power (times m - n + 1). A pattern that repeats
    nothing without a limit, refers back to no group, and has few ways costs a bounded amount
    of work per character of any text.
    """
    from re import _constants, _parser  # type: ignore[attr-defined]

    unbounded = backref = False
    ways = 1
    for op, value in items:
        name = str(op)
        here = 1
        if name in _REPEATS:
            low, high, sub = value
            sub_unbounded, sub_backref, sub_ways = _shape(sub)
            unbounded, backref = unbounded or sub_unbounded, backref or sub_backref
            if high == _constants.MAXREPEAT or high > MAX_COUNT:
                unbounded = True
            else:
                here = (high - low + 1) * min(sub_ways**high, MAX_CHOICES + 1)
        elif name == "BRANCH":
            here = 0
            for branch in value[1]:
                sub_unbounded, sub_backref, sub_ways = _shape(branch)
                unbounded, backref = unbounded or sub_unbounded, backref or sub_backref
                here += sub_ways
        else:
            if name == "SUBPATTERN":
                parts = [value[-1]]
            elif name in ("ASSERT", "ASSERT_NOT"):
                parts = [value[1]]
            elif name == "ATOMIC_GROUP":
                parts = [value]
            elif name == "GROUPREF_EXISTS":
                parts = [part for part in value[1:] if part is not None]
            elif isinstance(value, _parser.SubPattern):  # pragma: no cover - any other container
                parts = [value]
            else:
                parts = []
                backref = backref or name == "GROUPREF"
            for part in parts:
                sub_unbounded, sub_backref, sub_ways = _shape(part)
                unbounded, backref = unbounded or sub_unbounded, backref or sub_backref
                here *= sub_ways
        ways = min(ways * here, MAX_CHOICES + 1)
    return unbounded, backref, ways


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

    parsed = _parser.parse(regex, compiled.flags)
    if _nested_repeat(parsed, False):
        raise ValueError(
            f"'{regex}' repeats a group that itself repeats (like (a+)+); such patterns can take "
            "hours on some texts. Write it without the nested repeat, e.g. MRN[0-9]{7}"
        )
    if compiled.fullmatch("") is not None or compiled.search("") is not None:
        raise ValueError(f"'{regex}' matches empty text, so it would match everywhere")
    unbounded, backref, ways = _shape(parsed)
    if unbounded:
        raise ValueError(
            f"'{regex}' repeats without a limit (*, + or more than {MAX_COUNT} times), which can take hours on "
            "some texts; an identifier has a known length: give every repeat a count, like MRN[0-9]{7} or "
            "[A-Z]{1,3}[0-9]{6,8}"
        )
    if backref:
        raise ValueError(f"'{regex}' refers back to a group (\\1), which cpdgen does not allow in a pattern")
    if ways > MAX_CHOICES:
        raise ValueError(
            f"'{regex}' can match one stretch of text in too many ways (over {MAX_CHOICES:,}: its choices and "
            "repeats of varying length multiply), which can take hours on some texts; keep the ranges short, "
            "like [0-9]{6,8}"
        )
    return compiled
