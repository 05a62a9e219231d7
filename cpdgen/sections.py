"""Finding the ``## Reflection`` section in an activity's Markdown body."""

from __future__ import annotations

import re
from dataclasses import dataclass

_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")
_ATX = re.compile(r"^ {0,3}(#{1,6})(?:[ \t]+(.*?))?(?:[ \t]+#+)?[ \t]*$")
_SETEXT = re.compile(r"^ {0,3}(=+|-+)[ \t]*$")
_COMMENT = re.compile(r"<!--.*?(?:-->|\Z)", re.S)
_REFLECTION = "reflection"


@dataclass(frozen=True)
class Sections:
    """A body split into the description and the reflection (None when there is no section)."""

    description: str
    reflection: str | None
    reflection_line: int | None  # line within the body (1-based) of the reflection's heading
    extra_headings: tuple[int, ...]  # lines of further "Reflection" headings: a second one is a mistake


def _headings(lines: list[str]) -> list[tuple[int, int, str, int]]:
    """``(line index, level, text, lines used)`` of every heading outside fenced code."""
    found: list[tuple[int, int, str, int]] = []
    fence: str | None = None
    for index, line in enumerate(lines):
        fence_match = _FENCE.match(line)
        if fence is not None:
            if (
                fence_match
                and fence_match.group(1)[0] == fence[0]
                and len(fence_match.group(1)) >= len(fence)
                and not line.strip().lstrip(fence[0])
            ):
                fence = None
            continue
        if fence_match:
            fence = fence_match.group(1)
            continue
        atx = _ATX.match(line)
        if atx:
            found.append((index, len(atx.group(1)), (atx.group(2) or "").strip(), 1))
            continue
        setext = _SETEXT.match(line)
        if setext and index > 0 and lines[index - 1].strip() and not _is_block_start(lines[index - 1]):
            # "Reflection" underlined: the heading is the previous line.
            if found and found[-1][0] == index - 1:
                continue
            level = 1 if setext.group(1)[0] == "=" else 2
            found.append((index - 1, level, lines[index - 1].strip(), 2))
    return found


def _is_block_start(line: str) -> bool:
    stripped = line.lstrip()
    return (
        stripped.startswith(("- ", "* ", "+ ", ">", "|", "<"))
        or bool(re.match(r"\d+[.)] ", stripped))
        or len(line) - len(stripped) >= 4
    )


def strip_comments(text: str) -> str:
    """Markdown text without HTML comments (prompts left by ``cpdgen new`` are comments)."""
    return _COMMENT.sub("", text)


def has_words(text: str | None) -> bool:
    """True when the text says something once comments and whitespace are gone."""
    return bool(text and strip_comments(text).strip())


def count_words(text: str) -> int:
    return len(re.findall(r"\w+(?:['’-]\w+)*", strip_comments(text)))


def split_reflection(body: str) -> Sections:
    """Cut the level-2 "Reflection" section (to the next level-1 or level-2 heading) out of the body."""
    lines = body.split("\n")
    headings = _headings(lines)
    starts = [h for h in headings if h[1] == 2 and h[2].rstrip(":").strip().lower() == _REFLECTION]
    if not starts:
        return Sections(body, None, None, ())
    index, _, _, used = starts[0]
    end = len(lines)
    for other_index, level, _, _ in headings:
        if other_index > index and level <= 2:
            end = other_index
            break
    reflection = "\n".join(lines[index + used : end]).strip("\n")
    description = "\n".join(lines[:index] + lines[end:]).strip("\n")
    return Sections(
        description=description,
        reflection=reflection,
        reflection_line=index + 1,
        extra_headings=tuple(h[0] + 1 for h in starts[1:]),
    )
