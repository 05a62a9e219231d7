"""Finding the reflection in an activity's Markdown body: one rule for the headings that open it.

The rule (docs/guide/writing-activities.md, "The reflection"):

- A heading opens the reflection when its words, ignoring case, punctuation and a leading
  number ("2. Reflection"), are one of :data:`REFLECTION_NAMES`: at any level, ``#`` or
  underlined, or a line that is only bold text (``**Reflection**``), which ranks below
  every ``#`` heading. The first such heading opens the reflection.
- The reflection runs to the next heading of the same or a higher level, except that the
  stage headings of the reflective models the IBMS teaches (:data:`MODEL_STAGES`) belong
  to it: they never end it.
- A heading that is not accepted but looks meant to be (it mentions reflecting, or
  misspells "reflection"), stage headings with no reflection heading above them, and in a
  file with no reflection heading, a line such as ``Reflection:`` that is not a heading,
  are *near misses*: :attr:`Sections.near_misses` says where and how to fix each one.

The importer reads a CSV column with one of the same names as the reflection.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# What a heading (or a CSV column) may say to be the reflection, as normalise_name writes it.
# An explicit, short list: a heading that says more ("Reflection on the day") is a near miss
# with a warning rather than a guess, because a wrong guess would count a description as a
# reflection without a word. "Reflective practice" is left out on purpose: it is an HCPC
# activity type, so it names what was done as often as it heads a reflection.
REFLECTION_NAMES: tuple[str, ...] = (
    "reflection",
    "reflections",
    "my reflection",
    "my reflections",
    "personal reflection",
    "personal reflections",
    "reflective statement",
    "reflective account",
    "reflective notes",
    "reflective summary",
    "reflection and learning",
)

# The stages of the reflective models in the IBMS reflection guide, and the common prompts.
MODEL_STAGES: dict[str, tuple[str, ...]] = {
    "Gibbs' reflective cycle": ("description", "feelings", "evaluation", "analysis", "conclusion", "action plan"),
    "Kolb's learning cycle": (
        "concrete experience",
        "reflective observation",
        "abstract conceptualisation",
        "active experimentation",
    ),
    "Schön's model": ("reflection in action", "reflection on action"),
    "Driscoll's 'What? So what? Now what?'": ("what", "so what", "now what"),
}
_STAGE_SPELLINGS = {"feeling": "feelings", "conclusions": "conclusion", "action planning": "action plan"}
_STAGE_SPELLINGS["abstract conceptualization"] = "abstract conceptualisation"
_STAGE_MODEL = {stage: model for model, stages in MODEL_STAGES.items() for stage in stages}

_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")
_SETEXT = re.compile(r"^ {0,3}(=+|-+)[ \t]*$")
_PARENTHESES = re.compile(r"\([^()]*\)")
_ATX_OPEN = re.compile(r" {0,3}(#{1,6})(?=[ \t]|$)")


def _atx(line: str) -> tuple[int, str] | None:
    """``(level, text)`` of an ATX heading line (``## Reflection ##``), read by hand: a regex
    with optional spaces both sides of the text takes quadratic time on a long run of spaces."""
    opening = _ATX_OPEN.match(line)
    if opening is None:
        return None
    text = line[opening.end() :].strip(" \t")
    closing = text.rstrip("#")
    if closing != text and (not closing or closing[-1] in " \t"):
        text = closing.rstrip(" \t")  # a closing run of '#', after a space
    return len(opening.group(1)), text


_NO_SPACE_ATX = re.compile(r"^ {0,3}#{1,6}(?=[^\s#])")
_COMMENT_START = re.compile(r"^ {0,3}<!--")
_COMMENT = re.compile(r"<!--.*?(?:-->|\Z)", re.S)
_NOT_WORD = re.compile(r"[\W_]+")
_NUMBERED = re.compile(r"^(?:(?:part|section|step|stage) )?\d+ ")
_REFLECT_WORD = re.compile(r"\breflect(?:s|ed|ing|ion|ions|ive|ively)?\b")
_TYPO_OF = ("reflection", "reflections", "reflective", "reflect")
_OLD_SPELLINGS = {"reflexion": "reflection", "reflexions": "reflections"}
_NOT_TYPOS = frozenset({"deflect", "deflects", "deflected", "deflection", "deflections", "deflective"})
_BOLD_HEADING_WORDS = 8  # a longer bold line is an emphasised sentence, not a heading
BOLD_LEVEL = 7  # a bold line used as a heading ranks below ######


@dataclass(frozen=True)
class Sections:
    """A body split into the description and the reflection (None when there is no section)."""

    description: str
    reflection: str | None
    reflection_line: int | None  # line within the body (1-based) of the reflection's heading
    extra_headings: tuple[int, ...]  # lines of further reflection headings: a second one is a mistake
    near_misses: tuple[tuple[int, str], ...] = ()  # (line within the body, what to do) of each near miss


@dataclass(frozen=True)
class _Heading:
    index: int  # line index within the body
    level: int  # 1 to 6, or BOLD_LEVEL
    text: str  # as written, without the heading's marks
    used: int  # lines it takes (2 when underlined)
    bold: bool
    name: str  # normalise_name(text)
    opens: bool  # its name is one of REFLECTION_NAMES
    stage: str | None  # the reflective model it is a stage of

    @property
    def written(self) -> str:
        return f"**{self.text}**" if self.bold else f"{'#' * self.level} {self.text}"

    @property
    def fix(self) -> str:
        return "**Reflection**" if self.bold else f"{'#' * self.level} Reflection"


def _heading(index: int, level: int, text: str, used: int = 1, bold: bool = False) -> _Heading:
    name = normalise_name(text)
    stage = stage_model(text) if "(" in text else _stage_of(name)
    return _Heading(index, level, text, used, bold, name, _bare(name) in REFLECTION_NAMES, stage)


def normalise_name(text: str) -> str:
    """Words only, lower case: ``'**Reflections:**'`` and ``'REFLECTIONS'`` both give ``'reflections'``."""
    if "<!--" in text:
        text = strip_comments(text)
    return " ".join(_NOT_WORD.sub(" ", text.casefold()).split())


def is_reflection_name(text: str) -> bool:
    """True when a heading (or a CSV column) saying ``text`` is the reflection."""
    return _bare(normalise_name(text)) in REFLECTION_NAMES


def stage_model(text: str) -> str | None:
    """The reflective model whose stage a heading saying ``text`` names, or None."""
    return _stage_of(normalise_name(_PARENTHESES.sub(" ", text)))


def _stage_of(name: str) -> str | None:
    name = _bare(name)
    return _STAGE_MODEL.get(_STAGE_SPELLINGS.get(name, name))


def _bare(name: str) -> str:
    return _NUMBERED.sub("", name)


def _scan(lines: list[str]) -> tuple[list[_Heading], list[int]]:
    """The headings outside fenced code and HTML comments, and the indexes of the other text lines."""
    headings: list[_Heading] = []
    prose: list[int] = []
    fence: str | None = None
    comment = False
    for index, line in enumerate(lines):
        if comment:
            comment = "-->" not in line
            continue
        first = line.lstrip(" ")[:1]
        if fence is not None:
            fence_match = _FENCE.match(line) if first == fence[0] else None
            if fence_match and len(fence_match.group(1)) >= len(fence) and not line.strip().lstrip(fence[0]):
                fence = None
            continue
        if not first.strip():
            continue  # a blank line (or one indented with a tab)
        if first in "`~" and (fence_match := _FENCE.match(line)):
            fence = fence_match.group(1)
            continue
        if first == "<" and _COMMENT_START.match(line):
            comment = "-->" not in line.split("<!--", 1)[1]
            continue
        if first == "#" and (atx := _atx(line)):
            headings.append(_heading(index, *atx))
            continue
        if first in "=-" and (setext := _SETEXT.match(line)):
            level = 1 if setext.group(1)[0] == "=" else 2
            if prose and prose[-1] == index - 1 and not _is_block_start(lines[index - 1]):
                # The previous line, underlined, is the heading.
                prose.pop()
                headings.append(_heading(index - 1, level, lines[index - 1].strip(), 2))
            elif headings and headings[-1].index == index - 1 and headings[-1].bold:
                headings[-1] = _heading(index - 1, level, lines[index - 1].strip(), 2)
            continue  # an underline, or a rule
        if first in "*_" and (bold := _bold_run(line)) and not bold[1] and _is_bold_heading(bold[0]):
            headings.append(_heading(index, BOLD_LEVEL, bold[0], bold=True))
            continue
        prose.append(index)
    return headings, prose


def _bold_run(line: str) -> tuple[str, str] | None:
    """``(the bold words, the text after them)`` of a line that starts with ``**words**`` or
    ``__words__``, a colon just inside or after the closing mark kept with the words. Read
    by hand, not by a regular expression that could backtrack for ever on a long line."""
    if len(line) - len(line.lstrip(" ")) > 3:
        return None
    text = line.strip()
    mark = text[:2]
    if mark not in ("**", "__"):
        return None
    close = text.find(mark, 2)
    words = text[2:close]
    if close < 0 or not words or words[0].isspace() or words[-1].isspace():
        return None
    rest = text[close + 2 :]
    if words[0] == mark[0] and rest[:1] == mark[0]:
        words, rest = words + rest[0], rest[1:]  # bold and italic: ***words***
    rest = rest.lstrip(" \t")
    if rest.startswith(":"):
        words, rest = words + ":", rest[1:].lstrip(" \t")
    return words, rest


def _is_bold_heading(text: str) -> bool:
    if not re.search(r"\w", text):
        return False  # a rule such as "*****"
    if is_reflection_name(text) or stage_model(text):
        return True
    return len(normalise_name(text).split()) <= _BOLD_HEADING_WORDS and not text.rstrip(" :").endswith((".", "!"))


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
    """Cut the reflection (its heading to the next heading of the same or a higher level that is
    not a reflective model's stage) out of the body, and note the near misses around it."""
    lines = body.split("\n")
    headings, prose = _scan(lines)
    opens = [h for h in headings if h.opens]
    if not opens:
        return Sections(body, None, None, (), _near_misses(lines, headings, prose, None))
    first = opens[0]
    end = _section_end(headings, first, len(lines))
    reflection = "\n".join(lines[first.index + first.used : end]).strip("\n")
    description = "\n".join(lines[: first.index] + lines[end:]).strip("\n")
    near = _near_misses(lines, headings, prose, (first.index, end))
    if not has_words(reflection) and end < len(lines):
        ending = next(h for h in headings if h.index == end)
        near = tuple(sorted((*near, (first.index + 1, _emptied_message(first, ending)))))
    return Sections(
        description=description,
        reflection=reflection,
        reflection_line=first.index + 1,
        extra_headings=tuple(h.index + 1 for h in opens[1:] if h.index >= end),
        near_misses=near,
    )


def _emptied_message(first: _Heading, ending: _Heading) -> str:
    higher = "## Reflection" if ending.level > 2 else "# Reflection"
    return (
        f"'{first.written}' is followed at once by '{ending.written}', which ends it, so the reflection is "
        f"empty; make it a heading of a higher level than the ones under it, e.g. '{higher}'"
    )


# --- near misses -------------------------------------------------------------------------------


def _near_misses(
    lines: list[str], headings: list[_Heading], prose: list[int], section: tuple[int, int] | None
) -> tuple[tuple[int, str], ...]:
    """``(line, message)`` for each heading or line that looks meant to open the reflection but does not.

    One near miss, one message: stage headings that a near miss would take in, once fixed,
    are part of that near miss and say nothing of their own.
    """
    found: list[tuple[int, str, int]] = []  # (index, message, level it would open at)
    outside = [h for h in headings if not h.opens and (section is None or not section[0] <= h.index < section[1])]
    for heading in outside:
        message = None if heading.stage else _heading_message(heading)
        if message:
            found.append((heading.index, message, heading.level))
    if section is None:
        for index in prose:
            message = _line_message(lines[index])
            if message:
                found.append((index, message, BOLD_LEVEL))
        stages = _free_stages(headings, {index: level for index, _, level in found})
        if len(stages) >= 2:
            found.append((stages[0].index, _stages_message(stages), stages[0].level))
        elif stages and _REFLECT_WORD.search(stages[0].name):
            found.append((stages[0].index, _stage_message(stages[0]), stages[0].level))
    return tuple(sorted((index + 1, message) for index, message, _ in found))


def _section_end(headings: list[_Heading], first: _Heading, end: int) -> int:
    """Where the reflection opened by ``first`` ends: the next heading of the same or a higher level
    that is not a reflective model's stage.

    One exception: a lone "Description" at the reflection's level, with no other stage beside
    it, is the activity's description written after the reflection, not Gibbs's first stage.
    """
    after = [h for h in headings if h.index > first.index and h.level <= first.level]
    closing = next((h.index for h in after if not h.stage), end)
    stages = [h for h in after if h.stage and h.index < closing]
    for heading in after:
        if not heading.stage:
            return heading.index
        if heading.name == "description" and len(stages) == 1:
            return heading.index
    return end


def _free_stages(headings: list[_Heading], near: dict[int, int]) -> list[_Heading]:
    """The stage headings that no near miss (``{line index: level it would open at}``) would take in
    once fixed. One pass: of the near misses still open, the highest-level one reaches furthest."""
    by_index = {h.index: h for h in headings}
    open_level: int | None = None
    free: list[_Heading] = []
    for index in sorted(by_index.keys() | near.keys()):
        heading = by_index.get(index)
        if heading is not None and heading.stage:
            if open_level is None:
                free.append(heading)
            continue
        if heading is not None and open_level is not None and heading.level <= open_level:
            open_level = None
        if index in near:
            open_level = near[index] if open_level is None else min(open_level, near[index])
    return free


def _heading_message(heading: _Heading) -> str | None:
    name = heading.name
    written = _shorten(heading.written)
    if _REFLECT_WORD.search(name):
        return (
            f"'{written}' is not a reflection heading, so the text under it is read as the description; "
            f"if it is your reflection, make the heading just '{heading.fix}' and say the rest in the text"
        )
    typo = _misspelling(name)
    if typo:
        meant = name.replace(typo[0], typo[1])
        fix = heading.fix if not is_reflection_name(meant) else heading.fix.replace("Reflection", meant.capitalize())
        return (
            f"'{written}' is not a reflection heading (did you mean '{typo[1].capitalize()}'?), so the text under it "
            f"is read as the description; if it is your reflection, write '{fix}'"
        )
    return None


def _stage_message(heading: _Heading) -> str:
    return (
        f"'{_shorten(heading.written)}' is a stage of {heading.stage}, but no reflection heading is above it, "
        f"so it is read as the description and this file has no reflection; "
        f"put '{heading.fix}' on a line of its own above it"
    )


def _stages_message(stages: list[_Heading]) -> str:
    models = [h.stage for h in stages]
    model = max(MODEL_STAGES, key=models.count)  # the model most of them belong to; the first on a tie
    first = stages[0]
    one, two = (f"'{_shorten(h.written)}'" for h in stages[:2])
    named = f"{one}, {two} and {len(stages) - 2} more" if len(stages) > 2 else f"{one} and {two}"
    return (
        f"{named} are stages of {model}, but no reflection heading is above them, so they are read "
        f"as the description and this file has no reflection; put '{first.fix}' on a line of its own above "
        f"'{_shorten(first.written)}'"
    )


def _line_message(line: str) -> str | None:
    """A line, not a heading, that names the reflection: 'Reflection:', '##Reflection', '**Reflection:** I …'."""
    if "reflect" not in line.casefold() or _is_block_start(line):
        return None  # every accepted name says "reflect"
    shown = _shorten(line.strip())
    lead = _bold_run(line)
    if lead and lead[1] and is_reflection_name(lead[0]):
        return (
            f"'{shown}' is not a heading (the text goes on after the bold words), so this file has no reflection; "
            "put '## Reflection' on a line of its own above the text"
        )
    if _NO_SPACE_ATX.match(line) and is_reflection_name(line):
        return (
            f"'{shown}' is not a heading (Markdown needs a space after the '#'), so this file has no reflection; "
            "write '## Reflection'"
        )
    head, colon, rest = line.partition(":")
    if is_reflection_name(line) or (colon and rest.strip() and is_reflection_name(head)):
        return (
            f"'{shown}' is text, not a heading, so this file has no reflection; "
            "write '## Reflection' on a line of its own above your reflection"
        )
    return None


def _misspelling(name: str) -> tuple[str, str] | None:
    """``(word, what it misspells)`` for a word one slip from 'reflection' (or 'reflective', 'reflect')."""
    for word in name.split():
        if word in _OLD_SPELLINGS:
            return word, _OLD_SPELLINGS[word]
        if len(word) < 6 or word in _NOT_TYPOS or _REFLECT_WORD.fullmatch(word):
            continue
        for target in _TYPO_OF:
            if _one_slip(word, target):
                return word, target
    return None


def _one_slip(word: str, target: str) -> bool:
    """True when ``word`` is ``target`` with one letter wrong, missing or extra, or two neighbours swapped."""
    if word == target or abs(len(word) - len(target)) > 1:
        return False
    if len(word) == len(target):
        diffs = [i for i, (a, b) in enumerate(zip(word, target, strict=True)) if a != b]
        return len(diffs) == 1 or (
            len(diffs) == 2 and diffs[1] == diffs[0] + 1 and word[diffs[0]] == target[diffs[1]]
            and word[diffs[1]] == target[diffs[0]]
        )  # fmt: skip
    shorter, longer = sorted((word, target), key=len)
    return any(longer[:i] + longer[i + 1 :] == shorter for i in range(len(longer)))


def _shorten(text: str, limit: int = 60) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"
