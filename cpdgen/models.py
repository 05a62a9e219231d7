"""The shape of a member's files, as strict pydantic models.

Every value passes through one of the small validators below, so each mistake gets a
message written for a member (not pydantic's own English) and an error type that is
also the problem's code.
"""

from __future__ import annotations

import datetime
import math
import re
import typing
from datetime import date
from typing import Annotated
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationInfo, field_validator, model_validator
from pydantic_core import PydanticCustomError

from cpdgen import categories
from cpdgen.dates import EXAMPLE, DateError, parse_iso, real_date
from cpdgen.frontmatter import YamlWord
from cpdgen.privacy.patterns import check_pattern_name, compile_pattern
from cpdgen.words import slugify


def _fail(code: str, message: str) -> PydanticCustomError:
    # No context is given, so pydantic shows the message as it is: braces need no escaping
    # (escaping them showed a member's pattern 'MRN\d{7}' as 'MRN\d{{7}}').
    return PydanticCustomError(code, message)


def _quote_hint(value: object) -> str:
    return f'put it in quotes: "{value}"'


def parse_date(value: object) -> date:
    """A calendar date written YYYY-MM-DD; anything else raises with a hint (``dates.py``)."""
    if isinstance(value, date):
        return value
    if isinstance(value, int) and not isinstance(value, bool) and len(str(value)) == 8:
        written = str(value)  # 20250521: YAML read it as a number
        try:
            day = real_date(int(written[:4]), int(written[4:6]), int(written[6:]))
        except DateError:
            pass
        else:
            raise _fail("invalid-date", f"write dates as YYYY-MM-DD: for {written} write {day.isoformat()}")
    if isinstance(value, bool) or not isinstance(value, str):
        raise _fail("invalid-date", f"write the date as YYYY-MM-DD, e.g. {EXAMPLE}")
    try:
        return parse_iso(value)
    except DateError as exc:
        raise _fail("invalid-date", exc.message) from None


# Characters a text value must not hold: C0 and C1 controls (whitespace aside, which is made a
# space) and the bidirectional overrides that make text display in another order than it reads.
# Control characters, bidirectional overrides, and what is no character at all (lone surrogates,
# U+FFFE, U+FFFF: a YAML escape can write them; no XML, so no Word document, can hold them).
_CONTROL = re.compile(r"[\x00-\x08\x0e-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\ud800-\udfff\ufffe\uffff]")
MAX_ID_LENGTH = 64


def _text(value: object) -> str:
    if isinstance(value, YamlWord):
        raise _fail(
            "ambiguous-value",
            f"'{value}' means true or false to many YAML tools; if you mean the word, {_quote_hint(value)}",
        )
    if isinstance(value, bool):
        raise _fail("invalid-value", "this should be text, not true or false; " + _quote_hint(str(value).lower()))
    if isinstance(value, (int, float)):
        raise _fail("invalid-value", f"this should be text, not a number; {_quote_hint(value)}")
    if not isinstance(value, str):
        raise _fail("invalid-value", "this should be a single line of text")
    control = _CONTROL.search(value)
    if control:
        raise _fail(
            "invalid-value", f"this holds an invisible control character (U+{ord(control.group()):04X}); delete it"
        )
    text = " ".join(value.split())
    if not text:
        raise _fail("invalid-value", "this must not be empty")
    return text


def _number_text(value: object) -> str:
    """Text that members often write as a bare number, such as a membership number."""
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return _text(value)


def _bool(value: object) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, YamlWord):
        raise _fail("invalid-boolean", f"write true or false, not '{value}'")
    raise _fail("invalid-boolean", "write true or false")


def _hours(value: object) -> float:
    if isinstance(value, (bool, YamlWord)):
        raise _fail("invalid-number", "hours must be a number like 1.5, not true/false or yes/no")
    if isinstance(value, str):
        text = value.strip()
        hours_minutes = re.fullmatch(r"(\d+):([0-5]\d)", text)
        if hours_minutes:
            h, m = int(hours_minutes.group(1)), int(hours_minutes.group(2))
            raise _fail(
                "invalid-number",
                f"hours must be a number like 1.5: for {h}:{m:02} write {h + m / 60:g}",
            )
        try:
            value = float(text)
        except ValueError:
            raise _fail("invalid-number", f"hours must be a number like 1.5, not '{text}'") from None
    if not isinstance(value, (int, float)) or not math.isfinite(value):
        raise _fail("invalid-number", "hours must be a number like 1.5")
    if value < 0:
        raise _fail("invalid-number", f"hours cannot be negative ({value:g})")
    if value > 1000:
        raise _fail("invalid-number", f"{value:g} hours is more than anyone records for one activity")
    return float(value)


def _word_list(value: object) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str) and not isinstance(value, YamlWord):
        value = [part for part in value.split(",") if part.strip()]
    if not isinstance(value, list):
        raise _fail("invalid-value", "write a list, like [one, two]")
    words: list[str] = []
    for item in value:
        word = _number_text(item) if not isinstance(item, YamlWord) else str(item)
        if word not in words:
            words.append(word)
    return words


def _standards(value: object) -> list[int]:
    if value is None:
        return []
    items = value if isinstance(value, list) else [value]
    result: set[int] = set()
    for item in items:
        if isinstance(item, str) and item.strip().isdigit():
            item = int(item.strip())
        if isinstance(item, bool) or not isinstance(item, int) or not 1 <= item <= 5:
            raise _fail("invalid-value", f"HCPC CPD standards are numbered 1 to 5, not '{item}'")
        result.add(item)
    return sorted(result)


def _text_list(value: object) -> list[str]:
    """A list of free texts (commas are part of a text, unlike tags); one text alone is a list of one."""
    if value is None:
        return []
    items = value if isinstance(value, list) else [value]
    return [_text(item) for item in items]


GOAL_STATUSES = ("open", "done", "dropped")


def _goal_status(value: object) -> str:
    text = _text(value)
    if text.lower() in GOAL_STATUSES:
        return text.lower()
    raise _fail("invalid-value", f"status '{text}' is not one of: {', '.join(GOAL_STATUSES)}")


# The Science Council's registers: Chartered, Registered and Registered Technician Scientist.
REGISTERS = ("CSci", "RSci", "RSciTech")


def _register(value: object) -> str:
    text = _text(value)
    found = next((r for r in REGISTERS if r.casefold() == text.casefold()), None)
    if found is None:
        raise _fail("invalid-value", f"register '{text}' is not one of the Science Council's: {', '.join(REGISTERS)}")
    return found


def _category(value: object) -> str:
    text = _text(value)
    found = categories.resolve_category(text)
    if found:
        return found
    guess = categories.suggest_category(text)
    hint = f"; did you mean '{guess}'?" if guess else f"; use one of: {', '.join(c.id for c in categories.CATEGORIES)}"
    raise _fail("unknown-category", f"category '{text}' is not a CPD category{hint}")


def _type(value: object) -> str:
    text = _text(value)
    found = categories.resolve_type(text)
    if found:
        return found
    guess = categories.suggest_type(text)
    hint = f"; did you mean '{guess}'?" if guess else "; run 'cpdgen types' for the list, or give a category instead"
    raise _fail("unknown-type", f"'{text}' is not a known activity type{hint}")


def _timezone(value: object) -> str:
    text = _text(value)
    try:
        ZoneInfo(text)
    except (ZoneInfoNotFoundError, ValueError, OSError):  # "Europe" is a folder of the database, not a zone
        raise _fail("invalid-value", f"'{text}' is not a time zone; write one like Europe/London") from None
    return text


def _min_words(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 10_000:
        raise _fail("invalid-number", "write a whole number of words, like 50")
    return value


MISSING_CATEGORY = (
    "add a 'category' (one of: " + ", ".join(c.id for c in categories.CATEGORIES) + ") or a 'type' from 'cpdgen types'"
)

Text = Annotated[str, BeforeValidator(_text)]
NumberText = Annotated[str, BeforeValidator(_number_text)]
Date = Annotated[date, BeforeValidator(parse_date)]
Flag = Annotated[bool, BeforeValidator(_bool)]
Hours = Annotated[float, BeforeValidator(_hours)]
Words = Annotated[list[str], BeforeValidator(_word_list)]
Standards = Annotated[list[int], BeforeValidator(_standards)]
TextList = Annotated[list[str], BeforeValidator(_text_list)]
GoalStatus = Annotated[str, BeforeValidator(_goal_status)]
Register = Annotated[str, BeforeValidator(_register)]
CategoryId = Annotated[str, BeforeValidator(_category)]
TypeId = Annotated[str, BeforeValidator(_type)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ActivityFrontMatter(_Strict):
    """The front matter of one activity file."""

    title: Text
    date: Date
    start: Date | None = None
    category: CategoryId | None = None
    type: TypeId | None = None
    hours: Hours | None = None
    tags: Words = Field(default_factory=list)
    evidence: Words = Field(default_factory=list)
    standards: Standards = Field(default_factory=list)
    private: Flag = False
    draft: Flag = False
    allow: Words = Field(
        default_factory=list
    )  # privacy findings to silence here: "postcode", "nhs-number 943 *** ****"
    goal: NumberText | None = None  # the id of a goal of the plan (content/plan/<id>.md) it works towards

    @field_validator("start")
    @classmethod
    # datetime.date: inside this class the field 'date' hides the name.
    def _start_not_after_date(cls, start: datetime.date | None, info: ValidationInfo) -> datetime.date | None:
        end = info.data.get("date")
        if start is not None and end is not None and start > end:
            raise _fail("start-after-date", f"start ({start}) is after date ({end}); 'date' is the day it ended")
        return start

    @model_validator(mode="after")
    def _check(self) -> ActivityFrontMatter:
        if self.category is None and self.type is None:
            raise _fail("missing-category", MISSING_CATEGORY)
        return self

    @property
    def category_id(self) -> str:
        """The explicit category, else the type's."""
        if self.category is not None:
            return self.category
        assert self.type is not None
        return categories.TYPE_BY_ID[self.type].category


class ReflectionFrontMatter(_Strict):
    """The front matter of a reflection kept in its own file."""

    activity: NumberText
    title: Text | None = None


class GoalFrontMatter(_Strict):
    """The front matter of one goal of the development plan (``content/plan/<id>.md``)."""

    title: Text
    why: Text | None = None
    planned: TextList = Field(default_factory=list)  # the activities planned towards it, in the member's words
    target: Date | None = None  # the day the goal should be reached by
    review: Date | None = None  # the day to look at it again
    status: GoalStatus = "open"
    private: Flag = False  # true: kept off the published site


class Member(_Strict):
    name: Text
    membership_number: NumberText | None = None
    hcpc_number: NumberText | None = None
    job_title: Text | None = None
    employer: Text | None = None


def _diploma_id(value: object) -> str:
    text = _number_text(value)
    if len(text) > MAX_ID_LENGTH:
        raise _fail("invalid-value", f"a diploma id must be at most {MAX_ID_LENGTH} characters (it names files)")
    return text


class DiplomaEntry(_Strict):
    id: Annotated[str, BeforeValidator(_diploma_id)] | None = None
    start: Date | None = None  # only the first diploma may leave it out (it began before the record)
    submitted: Date | None = None
    issued: Date | None = None


def _kept_path(value: object) -> str:
    text = _text(value)
    parts = text.rstrip("/").split("/")
    if text.startswith(("/", "~")) or "\\" in text or any(part in ("", ".", "..") for part in parts):
        raise _fail("invalid-value", f"'{text}' must be a path inside site/, like CNAME or .well-known/")
    return text


def _site_url(value: object) -> str:
    """The site's public address: an absolute http(s) URL, kept with one trailing slash."""
    text = _text(value)
    parts = urlsplit(text)
    if parts.scheme.lower() not in ("https", "http") or not parts.hostname or any(c.isspace() for c in text):
        raise _fail("invalid-value", f"'{text}' must be your site's full address, like https://alex.github.io/cpd/")
    if parts.query or parts.fragment or parts.username or parts.password:
        raise _fail("invalid-value", f"'{text}' must be the address of the site alone: no ?, # or user name in it")
    return text.rstrip("/") + "/"


SiteUrl = Annotated[str, BeforeValidator(_site_url)]


class SiteSettings(_Strict):
    title: Text | None = None
    url: SiteUrl | None = None  # the public address; absolute links need it
    search_engines: Flag = True  # false: every page asks search engines not to list it
    keep: list[Annotated[str, BeforeValidator(_kept_path)]] = Field(default_factory=list)  # files of yours in site/
    timezone: Annotated[str, BeforeValidator(_timezone)] = "Europe/London"
    reflection_min_words: Annotated[int, BeforeValidator(_min_words)] = 50


def _pattern_name(value: object) -> str:
    try:
        return check_pattern_name(_text(value))
    except ValueError as exc:
        raise _fail("invalid-pattern", str(exc)) from None


def _pattern(value: object) -> str:
    text = value.strip() if isinstance(value, str) and not isinstance(value, YamlWord) else _text(value)
    try:
        compile_pattern(text)
    except ValueError as exc:
        raise _fail("invalid-pattern", str(exc)) from None
    return text


class PrivacySettings(_Strict):
    """What the privacy scanner also looks for (``patterns``) and what it lets through (``allow``)."""

    patterns: dict[Annotated[str, BeforeValidator(_pattern_name)], Annotated[str, BeforeValidator(_pattern)]] = Field(
        default_factory=dict
    )
    allow: Words = Field(default_factory=list)


class PublishSettings(_Strict):
    """What the published site shows (private and draft activities are never shown)."""

    reflections: Flag = True  # false: activities and descriptions, no reflections
    evidence: Flag = True  # false: no evidence files copied, no evidence links
    hcpc_number: Flag = True
    membership_number: Flag = False


class HcpcSettings(_Strict):
    """Your HCPC registration, for the audit profile (``cpdgen hcpc-profile``)."""

    registered_since: Date | None = None
    last_renewal: Date | None = None  # the profile covers the CPD since this day, by default

    @field_validator("last_renewal")
    @classmethod
    def _renewed_after_registering(cls, renewal: date | None, info: ValidationInfo) -> date | None:
        registered = info.data.get("registered_since")
        if renewal is not None and registered is not None and renewal < registered:
            raise _fail(
                "hcpc-dates",
                f"last_renewal ({renewal}) is before registered_since ({registered}); a registration is renewed "
                "after it starts",
            )
        return renewal


class ScienceCouncilRegistration(_Strict):
    # "register" is also a method of every pydantic model (abc's): the field has another name.
    register_name: Register = Field(alias="register")


class Registrations(_Strict):
    """The schemes a member belongs to: each one's lens is on in check, on the dashboard and in the calendar."""

    ibms: Flag = True  # the IBMS CPD Diploma
    hcpc: Flag = False  # registered with the HCPC
    science_council: ScienceCouncilRegistration | None = Field(default=None, alias="science-council")

    @field_validator("science_council", mode="before")
    @classmethod
    def _register_given(cls, value: object) -> object:
        # Runs only when the key is written: "science-council:" alone is a register left out, not "none".
        if value is None:
            raise _fail("missing-field", f"write the register you are on under it: register: {', '.join(REGISTERS)}")
        if isinstance(value, str) and value.strip():  # "science-council: RSci", the register on the same line
            raise _fail(
                "invalid-value",
                f"the register goes under a key of its own; write it on the line under science-council:, "
                f"indented: register: {value.strip()}",
            )
        if isinstance(value, bool):
            raise _fail("invalid-value", f"write the register you are on under it: register: {', '.join(REGISTERS)}")
        return value


class PortfolioFile(_Strict):
    """``content/portfolio.yaml``."""

    member: Member
    diplomas: list[DiplomaEntry] = Field(default_factory=list)
    hcpc: HcpcSettings = Field(default_factory=HcpcSettings)
    site: SiteSettings = Field(default_factory=SiteSettings)
    privacy: PrivacySettings = Field(default_factory=PrivacySettings)
    publish: PublishSettings = Field(default_factory=PublishSettings)
    # None: the IBMS diploma alone, as before registrations could be listed.
    registrations: Registrations | None = None


# The keys each model accepts, for "did you mean" hints on unknown keys.
def allowed_keys(model: type[BaseModel]) -> list[str]:
    return [info.alias or name for name, info in model.model_fields.items()]


def model_at(model: type[BaseModel], path: tuple) -> type[BaseModel] | None:
    """The model whose keys sit at ``path`` inside ``model`` (list indexes skipped), or None."""
    current = model
    for part in path:
        if isinstance(part, int):
            continue
        info = next((f for name, f in current.model_fields.items() if (f.alias or name) == part), None)
        inner = _model_in(info.annotation) if info is not None else None
        if inner is None:
            return None
        current = inner
    return current


def _model_in(annotation: object) -> type[BaseModel] | None:
    """The model an annotation holds: itself, or inside ``list[...]`` or ``... | None``."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in typing.get_args(annotation):
        found = _model_in(arg)
        if found is not None:
            return found
    return None


def diploma_ids(entries: list[DiplomaEntry]) -> list[str]:
    """Each diploma's id: its own, else ``diploma-<n>`` counting from 1."""
    return [entry.id or f"diploma-{n}" for n, entry in enumerate(entries, start=1)]


def check_diplomas(entries: list[DiplomaEntry]) -> list[tuple[tuple, str, str]]:
    """Problems with the list of diplomas as a whole: ``(loc, code, message)`` each."""
    found: list[tuple[tuple, str, str]] = []
    ids = diploma_ids(entries)
    seen: dict[str, str] = {}  # each id's file and web-address name, to the id that has it
    for n, (entry, diploma_id) in enumerate(zip(entries, ids, strict=True)):
        loc = ("diplomas", n)
        name = slugify(diploma_id, "diploma").casefold()
        if diploma_id == seen.get(name):
            found.append((loc + ("id",), "duplicate-diploma", f"two diplomas are called '{diploma_id}'"))
        elif name in seen:
            found.append(
                (
                    loc + ("id",),
                    "duplicate-diploma",
                    f"'{diploma_id}' and '{seen[name]}' would share the name '{name}' in file names and web "
                    "addresses; rename one",
                )  # fmt: skip
            )
        seen.setdefault(name, diploma_id)
        if entry.start is None and n > 0:
            found.append((loc, "missing-key", f"{diploma_id} needs its 'start' date (only the first may leave it out)"))
            continue
        if entry.submitted and entry.start and entry.submitted < entry.start:
            found.append(
                (
                    loc + ("submitted",),
                    "diploma-dates",
                    f"{diploma_id} was submitted ({entry.submitted}) before it started ({entry.start})",
                )
            )
        if entry.issued and not entry.submitted:
            found.append(
                (loc + ("issued",), "diploma-dates", f"{diploma_id} has an issue date but no 'submitted' date")
            )
        if entry.issued and entry.submitted and entry.issued < entry.submitted:
            found.append(
                (
                    loc + ("issued",),
                    "diploma-dates",
                    f"{diploma_id} was issued ({entry.issued}) before it was submitted ({entry.submitted})",
                )
            )
        if n == 0:
            continue
        before, before_id = entries[n - 1], ids[n - 1]
        assert entry.start is not None  # checked above
        if before.start is not None and entry.start <= before.start:
            found.append(
                (
                    loc + ("start",),
                    "diploma-order",
                    f"{diploma_id} starts ({entry.start}) on or before {before_id} ({before.start}); "
                    "list diplomas oldest first",
                )
            )
            continue
        if before.submitted is None:
            found.append(
                (
                    loc + ("start",),
                    "diploma-overlap",
                    f"{diploma_id} starts while {before_id} is still open; give {before_id} its 'submitted' date",
                )
            )
        else:
            last_day = max(before.submitted, before.issued or before.submitted)
            if entry.start < last_day:
                found.append(
                    (
                        loc + ("start",),
                        "diploma-overlap",
                        f"{diploma_id} starts ({entry.start}) before {before_id} was "
                        f"{'issued' if last_day == before.issued else 'submitted'} ({last_day}): they overlap",
                    )
                )
    return found
