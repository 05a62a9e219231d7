"""Spotting patient identifiers in a member's text: the rules, their check digits, masking.

The text is normalised first (``text.py``: NFKC, so full-width digits become ASCII;
zero-width characters removed; no-break and thin spaces made spaces; any Unicode digit made
ASCII; dashes made ``-``) while every position still maps back to the member's own file.
Between the groups of a number (an NHS number's 3-3-4, a phone number's digits, a
postcode's two halves) any short run of spaces, tabs, line breaks, dots, slashes, hyphens
and backslashes is a separator: a number pasted from a clinical system, wrapped across a
line or written ``943.476.5919`` is still that number.

Speed: each rule first looks for a cheap anchor with a literal regex over a folded copy of
the text (ASCII lower-case, every digit a ``0``), which the regex engine finds with a fast
literal search; only around an anchor do the precise pattern and the checks run.
"""

from __future__ import annotations

import hashlib
import re
import string
from bisect import bisect_left
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import urlsplit

from cpdgen.privacy.text import Text, normalise, visible
from cpdgen.problems import Severity


@dataclass(frozen=True)
class Rule:
    name: str  # the problem code, and the name used to silence a finding
    label: str
    severity: Severity


NHS, CHI = "nhs-number", "chi-number"
DOB, HOSPITAL, NAME, AGE = "date-of-birth", "hospital-number", "patient-name", "age"
PHONE, EMAIL, POSTCODE = "phone", "email", "postcode"

# Strongest first: where two findings overlap, the earlier rule wins.
RULES: dict[str, Rule] = {
    rule.name: rule
    for rule in (
        Rule(NHS, "NHS number", "error"),
        Rule(CHI, "CHI number", "error"),
        Rule(DOB, "date of birth", "warning"),
        Rule(HOSPITAL, "hospital number", "warning"),
        Rule(NAME, "patient's name", "warning"),
        Rule(AGE, "age", "warning"),
        Rule(PHONE, "phone number", "warning"),
        Rule(EMAIL, "email address", "warning"),
        Rule(POSTCODE, "postcode", "warning"),
    )
}
PATTERN_RANK = 2  # a member's own patterns rank just after the two error rules
_RANK = {name: index for index, name in enumerate(RULES)}


@dataclass(frozen=True)
class Finding:
    """One possible identifier: where it is, what rule found it, and how to show it safely."""

    rule: str
    severity: Severity
    label: str
    line: int  # 1-based, counted from the text's ``first_line``
    column: int  # 1-based, in characters of the original line
    start: int  # offsets in the original text
    end: int
    masked: str  # safe to print: "943 *** ****"
    key: str  # the canonical value, to compare with an allow-list value; never printed
    reason: str  # why it was flagged, for members tuning their allow lists

    @property
    def value_id(self) -> str:
        """Sixteen hex digits naming this exact value under this rule, for allow entries."""
        return value_id(self.rule, self.key)


def value_id(rule: str, key: str) -> str:
    """Names one value of one rule exactly (a hash of its canonical form), without writing it out."""
    return hashlib.sha256(f"cpdgen-allow\0{rule}\0{key}".encode("utf-8", "surrogatepass")).hexdigest()[:16]


# --- check digits ----------------------------------------------------------------------


def nhs_check_ok(digits: str) -> bool:
    """Modulus 11 with weights 10..2 (NHS numbers, and CHI numbers issued before 2026)."""
    total = sum(int(d) * w for d, w in zip(digits[:9], range(10, 1, -1), strict=True))
    check = (11 - total % 11) % 11
    return check != 10 and check == int(digits[9])


def mod10_check_ok(digits: str) -> bool:
    """Public Health Scotland's modulus 10 for newer CHI numbers: digits 1, 3, 5, 7, 9 doubled."""
    total = 0
    for index, d in enumerate(digits[:9]):
        value = int(d) * (2 if index % 2 == 0 else 1)
        total += value - 9 if value > 9 else value
    return (10 - total % 10) % 10 == int(digits[9])


def valid_ddmmyy(digits: str) -> bool:
    """A real day as DDMMYY in some century (so 29 February in any year divisible by 4)."""
    day, month, year = int(digits[0:2]), int(digits[2:4]), int(digits[4:6])
    if not 1 <= month <= 12 or day < 1:
        return False
    if month == 2:
        return day <= (29 if year % 4 == 0 else 28)
    return day <= (30 if month in (4, 6, 9, 11) else 31)


# --- patterns --------------------------------------------------------------------------
class _lazy:
    """A regex compiled on first use: most texts never reach the precise patterns, so
    ``cpdgen check`` does not pay for compiling them at start-up."""

    __slots__ = ("_args", "_compiled")

    def __init__(self, pattern: str, flags: int = 0):
        self._args = (pattern, flags)
        self._compiled: re.Pattern | None = None

    def __getattr__(self, name: str) -> Any:
        if self._compiled is None:
            self._compiled = re.compile(*self._args)
        return getattr(self._compiled, name)


# Between two groups of digits: a few separators, where a run of white space (however long,
# line breaks included) counts as one, and so does each dot, comma, colon, slash, backslash,
# hyphen, underscore or apostrophe (what is left of markup once the visible text is taken).
# Possessive and atomic: nothing is tried twice.
SEP = r"(?:(?>\s+)|[.,:/\\_'\-]){0,6}+"

# On the folded text, every digit is "0", so these are fast literal searches.
_DIGIT_ANCHOR = re.compile(
    r"0(?:(?P<run>(?:(?:(?>\s+)|[().,:/\\_'\-]){0,6}+0){9,}+)|(?P<five>0000)"  # possessive: no backtracking
    r"|(?P<age>[ -]?(?:y(?:ears?|rs?)[ -]old|yo|y/o|y\.o)(?![a-z0]))|(?P<inward>[a-z]{2}))"
)
_DOB_ANCHORS = (re.compile(r"d(?:ob|\.o\.b)"), re.compile(r"b(?:irth|orn)"))
_AGED_ANCHOR = re.compile(r"aged ")
_TITLE_ANCHOR = re.compile(r"M(?:rs?|s|x|iss)")
_PATIENT_ANCHOR = re.compile(r"p(?:atient|t\b)")
_NOTHING_AFTER_PATIENT = frozenset("abdefghjklmopqrstuvwxyz")  # not c(alled), i(d), n(ame, o, umber)

_TEN = _lazy(rf"(?<![0-9])([0-9]{{3}}){SEP}([0-9]{{3}}){SEP}([0-9]{{4}})(?![0-9])")
_PHONE = _lazy(rf"(?<![0-9A-Za-z+])(?:\+44{SEP}(?:\(0\){SEP})?|\(0|0)[0-9](?:{SEP}\)?{SEP}[0-9]){{8,10}}(?![0-9])")
_HOSPITAL = _lazy(
    r"(?i:(?<![a-z])(?:mrn|hosp(?:ital)?\.? ?(?:no|number|num)|unit ?(?:no|number)|case ?(?:no|number)"
    r"|patient ?(?:id|no|number)|h&c(?: ?(?:no|number))?)\.?)[ \t]*[:#]?[ \t]*"
    r"(?P<id>[A-Z]{0,3}[0-9]{5,10})(?![A-Za-z0-9])"
)
_POSTCODE = _lazy(
    r"(?<![A-Za-z0-9])(?P<out>[A-PR-UWYZ][A-HK-Y]?[0-9][0-9A-HJKMNPR-Y]?|GIR)[ \t\n]{0,4}"
    r"(?P<in>[0-9][ABD-HJLNP-UW-Z]{2})(?![A-Za-z0-9])"
)
_EMAIL = _lazy(r"[A-Za-z0-9_%+\-][A-Za-z0-9._%+\-]*@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)*\.[A-Za-z]{2,}(?![A-Za-z0-9])")
_EMAIL_LOCAL = frozenset(string.ascii_letters + string.digits + "._%+-")
_MONTHS = (
    r"(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?"
    r"|sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)"
)
_DOB = _lazy(rf"""(?ix)
    (?:d\.?\s?o\.?\s?b\.?|date\s+of\s+birth|born(?:\s+on)?)(?![a-z])
    [\s:=\-]*(?:(?:was|is|of|on|the)\s+){{0,2}}
    (?P<date>
        [0-9]{{1,2}}\s?[/.\-]\s?[0-9]{{1,2}}\s?[/.\-]\s?(?:[0-9]{{4}}|[0-9]{{2}})
      | [0-9]{{4}}-[0-9]{{1,2}}-[0-9]{{1,2}}
      | [0-9]{{1,2}}(?:st|nd|rd|th)?\s+(?:of\s+)?{_MONTHS}\.?,?\s+[0-9]{{4}}
      | {_MONTHS}\.?\s+(?:[0-9]{{1,2}}(?:st|nd|rd|th)?,?\s+)?[0-9]{{4}}
    )(?![0-9])
    """)
_AGE = _lazy(r"(?i)(?<![0-9.,£$€])(?P<n>[0-9]{1,3})[ -]?(?:y(?:ears?|rs?)[ -]old|yo|y/o|y\.o\.?)(?![a-z0-9])")
_AGED = _lazy(
    r"(?i)(?<![a-z])aged\s+(?P<n>[0-9]{1,3})(?![0-9])"
    r"(?!\s*(?:\+|-|to\b|and\b|or\b|%|°|(?:years?|yrs?)\s+(?:and|or|to)\b"
    r"|h\b|hrs?\b|hours?\b|d\b|days?\b|wks?\b|weeks?\b|months?\b|mins?\b|minutes?\b|s\b|secs?\b|seconds?\b))"
)
_AGE_NOT_PERSON = _lazy(
    r"\s*(?:[a-z]+\s+)?(?:analy[sz]ers?|machines?|instruments?|systems?|equipment|fridges?|freezers?|centrifuges?"
    r"|microscopes?|buildings?|laborator(?:y|ies)|labs?|protocols?|guidelines?|polic(?:y|ies)|sops?|kits?|software"
    r"|computers?|servers?|methods?|assays?|platforms?|scheme|service|survey|study|audit|data(?:set)?|records?)\b"
)
_UPPER, _LOWER = "A-ZÀ-ÖØ-Þ", "a-zß-öø-ÿ"
_NAME_WORD = rf"[{_UPPER}](?:[{_LOWER}]|['’][{_UPPER}])[{_UPPER}{_LOWER}]*(?:[-'’][{_UPPER}{_LOWER}]+)*"
_GAP = r"(?:[ \t]+|[ \t]*\n[ \t]*)"  # between words: spaces, or one line break
_TITLE = _lazy(rf"(?<![A-Za-z])(?P<title>Mrs|Mr|Ms|Miss|Mx)\.?{_GAP}(?P<name>(?:[A-Z]\.?[ ]?)?{_NAME_WORD})")
_PATIENT = _lazy(
    rf"(?i:(?<![a-z])(?:patient|pt\.?)(?:['’]s)?(?:[ ]+name)?)[ ]*[:,\-]?{_GAP}?(?:(?i:called|named)[ ]+)?"
    rf"(?P<name>{_NAME_WORD}{_GAP}{_NAME_WORD}|[A-Z]\.?[ ]{_NAME_WORD}|[A-Z]\.{_NAME_WORD}"
    rf"|[A-Z]{{2,}},[ ]?{_NAME_WORD})"
)
_NOT_NAMES = frozenset(
    """the this that these those a an in on at of for and or but with by to from as is was i we my our
    he she they it his her their its there here then when where what which who how if so no not
    teams word excel forms office outlook powerpoint access edge project paint men
    blood safety experience identification identity information care record records group groups
    pathway pathways journey management advice liaison service services transport administration
    flow demographics centred centered participation satisfaction outcome outcomes reported portal
    notes details data sample samples test tests testing result results population cohort consent
    education leaflet leaflets engagement involvement voice partners panel forum story stories
    perspective self feedback safe first centre center access list lists name names number numbers
    transfusion identifier identifiers id nhs""".split()
)

# A number labelled as something else (an instrument's serial, a lot, a book's ISBN): the label
# stands right before it, with nothing between but "no.", "number", punctuation or other such
# numbers (a list of ISBNs), on the folded text.
_LABEL = _lazy(
    r"\b(?:serial|s/n|sn|lot|batch|model|part|cat(?:alogue|alog)?|asset|barcode|firmware|invoice|order"
    r"|licen[cs]e|isbn|issn|meeting(?: id)?|certificate|booking)\b"
)
# Between a label and its number: "no.", "number", punctuation, or whole numbers of the same
# size (a list of ISBNs). Not a short number: in "batch 4: 943 476 5919" the label is batch 4's.
_LABEL_FILLER = _lazy(r"(?:\s|[:#.,()/\-]|no\b|nos\b|numbers?\b|num\b|0(?:[ \-]?0){8,}+x?\b)*")
_TABLE_RULE = _lazy(r"[ \t]*\|?[ \t]*:?-{3,}:?[ \t]*(?:\|[ \t]*:?-{3,}:?[ \t]*)*\|?[ \t]*")
# A run of digits that reads as a date and time, or a reference's volume(issue):pages, rather
# than one number written in boxes or pairs.
_NOT_ONE_NUMBER = _lazy(r"[:()/;]|^[0-9]{1,2}\.[0-9]{1,2}\.[0-9]{2,4}(?![0-9])|^[0-9]{4}-[0-9]{2}-[0-9]{2}(?![0-9])")
_PATIENT_IN_LINK = _lazy(r"patient|case|\bpt\b|mrn|hospital|nhs|chi\b")
_PRIVATE_HOST = _lazy(r"(?:^|\.)(?:local|lan|internal|intranet|corp|home|localdomain)$|^[0-9.]+$|^\[|^[^.]*$")
_NHS_WORD = _lazy(r"\bnhs\b|\bh&c\b")
_CHI_WORD = _lazy(r"\bchi\b")
_DOI = _lazy(r"(?i)\b10\.[0-9]{4,9}/|\bdoi\b")
# Words that make a postcode a public address (a hospital's, a university's), not a patient's.
_INSTITUTION = _lazy(
    r"hospital|infirmary|universit|college|\btrust\b|laborator|pathology|centre|center|institute|surgery"
    r"|health ?(?:board|centre|authority)|clinic|headquarters|\bhq\b|ibms|society"
)
_TOKEN_STOP = frozenset(" \t\n<>()[]{}\"'`,;")
_MONEY = frozenset("£$€¥")


def _mask_digits(text: str) -> str:
    return re.sub(r"[0-9A-Za-z]", "*", text)


def _canonical(rule: str, value: str) -> str:
    """The form two spellings of one value share (allow lists compare these)."""
    if rule in (NHS, CHI):
        return re.sub(r"[^0-9]", "", value)
    if rule == POSTCODE:
        return re.sub(r"\s", "", value).upper()
    if rule == PHONE:
        return _national_phone(value) or re.sub(r"[^0-9]", "", value)
    if rule == NAME:
        value = re.sub(r"['’]s$", "", value.strip())
    return " ".join(value.split()).casefold()


def canonical(rule: str, value: str) -> str:
    """The canonical form of a value a member wrote (normalised first), as a finding's ``key``."""
    return _canonical(rule, normalise(value))


def _national_phone(raw: str) -> str | None:
    if raw.startswith("+44"):
        national = "0" + re.sub(r"[^0-9]", "", raw[3:].replace("(0)", "", 1))
    else:
        national = re.sub(r"[^0-9]", "", raw)
    if len(national) == 11 and national[0] == "0" and national[1] in "1235789":
        return national
    return None


class _Scan:
    """One pass of every rule over one Text; collects ``(rank, start, end, ...)`` candidates."""

    def __init__(self, text: Text, patterns: Mapping[str, re.Pattern]):
        self.t = text
        self.patterns = patterns
        self.found: list[tuple[int, int, int, str, str, str, str]] = []  # rank, start, end, rule, masked, key, reason

    def add(self, rule: str, start: int, end: int, masked: str, key: str, reason: str, rank: int | None = None) -> None:
        self.found.append((_RANK[rule] if rank is None else rank, start, end, rule, masked, key, reason))

    # Context helpers -----------------------------------------------------------------

    def glued(self, start: int, end: int, allow_keyword: bool = True) -> bool:
        """True when a number is part of a longer token: a code, a decimal, a DOI, an ISBN-13.

        A word before it ("pt9434765919", "referral9434765919.pdf") does not make it a code;
        capitals do ("LAB…", an accession number), letters with digits ("24H…"), a label ("sn…"). A number with a
        decimal part is one number only when its whole part is the ten digits themselves
        ("9434765919.0", as a spreadsheet writes a column of numbers).
        """
        text = self.t.text
        prev = text[start - 1] if start else " "
        nxt = text[end] if end < len(text) else " "
        if prev.isalnum() and not (allow_keyword and self.t.fold[max(0, start - 3) : start] in ("nhs", "chi")):
            lo = start
            while lo > 0 and start - lo < 40 and text[lo - 1].isalnum():
                lo -= 1
            prefix = text[lo:start]
            if prefix.isupper() or any(c.isdigit() for c in prefix) or _LABEL.fullmatch(self.t.fold[lo:start]):
                return True  # a code: "LAB0101011237", "24H0123456", "SN…"
        if nxt.isalnum() or prev in _MONEY or prev == "+":
            return True
        if prev in ".-:" and start >= 2 and text[start - 2].isdigit():
            return True
        if nxt == "." and text[start:end].isdigit() and not text[start - 1 : start].isdigit():
            return False  # the whole part of a decimal is these ten digits
        return nxt in ".-:" and end + 1 < len(text) and text[end + 1].isdigit()

    def labelled(self, start: int) -> bool:
        """True when the number is labelled as something else: 'Serial no. …', 'Lot …', 'ISBN …',
        or it stands in a table's column headed so."""
        t = self.t
        lo = max(t.line_start(start), start - 60)
        before = t.fold[lo:start]
        for label in reversed(list(_LABEL.finditer(before))):
            return bool(_LABEL_FILLER.fullmatch(before, label.end()))
        return self.column_label(start)

    def column_label(self, start: int) -> bool:
        """True when ``start`` is in a Markdown table cell whose column heading is a label."""
        t = self.t
        row_start = t.line_start(start)
        row = t.fold[row_start : t.line_end(start)].rstrip(";")
        if not row.lstrip().startswith("|") and row.count("|") < 2:
            return False
        column = t.fold.count("|", row_start, start) - (1 if row.lstrip().startswith("|") else 0)
        pos = row_start - 1
        for _ in range(500):  # up the table to its rule line; the heading is the line above it
            if pos <= 0:
                return False
            line_start = t.line_start(pos)
            line = t.fold[line_start:pos].rstrip(";")  # a page's lines end with ';' (html_text)
            if _TABLE_RULE.fullmatch(line):
                heading_end = line_start - 1
                heading = t.fold[t.line_start(heading_end) : heading_end] if heading_end > 0 else ""
                heading = heading.rstrip(";").strip()
                if row.lstrip().startswith("|") and "|" in heading:
                    heading = heading[
                        heading.index("|") :
                    ]  # a table inside a CSV cell: the text before it is another cell
                cells = heading.strip("|").split("|")
                return 0 <= column < len(cells) and bool(_LABEL.search(cells[column]))
            if "|" not in line:
                return False
            pos = line_start - 1
        return False

    def in_link(self, start: int, end: int) -> bool:
        """True inside a DOI, or inside a public web address as a plain identifier (not a query
        value, not written in groups, not next to a word such as 'patient' or 'case')."""
        text = self.t.text
        lo = start
        while lo > 0 and start - lo < 300 and text[lo - 1] not in _TOKEN_STOP:
            lo -= 1
        hi = end
        while hi < len(text) and hi - end < 300 and text[hi] not in _TOKEN_STOP:
            hi += 1
        token = text[lo:hi]
        if _DOI.search(token):
            return True
        lowered = token.lower()
        if "://" in token or lowered.startswith("www."):
            if text[start - 1 : start] == "=" or "nhs" in lowered:
                return False  # a query value, or an NHS system's address
            if not text[start:end].isdigit() or _PATIENT_IN_LINK.search(lowered):
                return False  # "Case-943-476-5919.docx": a number written for people, in a file's name
            host = urlsplit(token if "://" in token else "http://" + token).hostname or ""
            return not _PRIVATE_HOST.search(host)  # an intranet system's address is not a public reference
        return False

    # Rules ---------------------------------------------------------------------------

    def run(self) -> None:
        t = self.t
        fold = t.fold
        for m in _DIGIT_ANCHOR.finditer(fold):
            kind = m.lastgroup
            if kind == "run":
                lo, hi = max(0, m.start() - 2), min(len(fold), m.end() + 1)
                self.ten_digits(lo, hi, m.start(), m.end())
                self.phones(lo, hi)
                self.hospital(m.start(), m.end())
            elif kind == "five":
                self.hospital(m.start(), m.end())
            elif kind == "age":
                self.age(m.start(), m.end())
            else:
                self.postcode(m.start())
        if "@" in t.text:
            self.emails()
        for anchor in _DOB_ANCHORS:
            for m in anchor.finditer(fold):
                self.dob(m.start(), m.group())
        for m in _AGED_ANCHOR.finditer(fold):
            self.aged(m.start())
        for m in _TITLE_ANCHOR.finditer(t.text):
            self.title(m.start())
        for m in _PATIENT_ANCHOR.finditer(fold):
            self.patient(m.start())
        for name, pattern in self.patterns.items():
            self.member_pattern(name, pattern)

    def ten_digits(self, lo: int, hi: int, run_start: int, run_end: int) -> None:
        """Ten-digit numbers in one run of digits and separators: a run of exactly ten digits
        however they are grouped (digits in boxes: '9 4 3 4 …'), and every 3-3-4 group in it."""
        t = self.t
        candidates: dict[tuple[int, int], str] = {}
        places = [i for i in range(run_start, run_end) if t.fold[i] == "0"]
        if len(places) == 10 and not _NOT_ONE_NUMBER.search(t.text, places[0], places[-1] + 1):
            candidates[(places[0], places[-1] + 1)] = "".join(t.text[i] for i in places)
        for m in _TEN.finditer(t.text, lo, hi):
            candidates.setdefault(m.span(), "".join(m.groups()))
        for (start, end), digits in sorted(candidates.items()):
            if len(set(digits)) == 1 or self.glued(start, end) or self.in_link(start, end):
                continue
            before = t.before(start, 40)
            nhs_word, chi_word = bool(_NHS_WORD.search(before)), bool(_CHI_WORD.search(before))
            if not (nhs_word or chi_word) and self.labelled(start):
                continue
            mod11 = nhs_check_ok(digits)
            prefix = int(digits[:3])
            # NHS numbers never start with 0-2 (that is Scotland's CHI range): those need the word "NHS".
            nhs_ok = mod11 and (prefix >= 300 or nhs_word)
            chi_ok = valid_ddmmyy(digits) and (mod11 or mod10_check_ok(digits))
            if chi_ok and (chi_word or not nhs_ok):
                how = "modulus 11" if mod11 else "modulus 10"
                reason = f"starts with a valid date and has a valid {how} check digit"
                self.add(
                    CHI, start, end, f"{digits[:2]}**** ****", digits, reason + ("; after 'CHI'" if chi_word else "")
                )
            elif nhs_ok:
                reason = "valid modulus 11 check digit"
                if 400 <= prefix <= 499 or 600 <= prefix <= 799:
                    reason += ", in an issuing range"
                elif prefix == 999:
                    reason += ", in the 999 test range"
                self.add(
                    NHS, start, end, f"{digits[:3]} *** ****", digits, reason + ("; after 'NHS'" if nhs_word else "")
                )

    def phones(self, lo: int, hi: int) -> None:
        t = self.t
        for m in _PHONE.finditer(t.text, lo, hi):
            start, end = m.span()
            national = _national_phone(m.group())
            if national is None or self.glued(start, end, allow_keyword=False) or self.in_link(start, end):
                continue
            if self.labelled(start):
                continue
            self.add(PHONE, start, end, f"{national[:4]} *** ****", national, "a UK phone number")

    def hospital(self, start: int, end: int) -> None:
        t = self.t
        while end < len(t.fold) and t.fold[end] == "0":
            end += 1
        lo = max(t.line_start(start), start - 40)
        for m in _HOSPITAL.finditer(t.text, lo, min(len(t.text), end + 1)):
            if m.start("id") <= start < m.end("id"):
                ident = m.group("id")
                masked = ident[:2] + "*" * (len(ident) - 2)
                self.add(
                    HOSPITAL,
                    m.start("id"),
                    m.end("id"),
                    masked,
                    ident.upper(),
                    "a number after a hospital-number keyword",
                )

    def age(self, start: int, end: int) -> None:
        t = self.t
        m = _AGE.search(t.text, max(t.line_start(start), start - 3), min(len(t.text), end + 2))
        if not m or int(m.group("n")) > 120 or _AGE_NOT_PERSON.match(t.fold, m.end()):
            return
        self.add(
            AGE,
            m.start(),
            m.end(),
            _mask_digits(m.group("n")) + m.group()[len(m.group("n")) :],
            _canonical(AGE, m.group()),
            "an age",
        )

    def aged(self, start: int) -> None:
        t = self.t
        m = _AGED.match(t.text, start, min(len(t.text), start + 80))
        if m and int(m.group("n")) <= 120:
            self.add(
                AGE, m.start(), m.end(), "aged " + _mask_digits(m.group("n")), _canonical(AGE, m.group()), "an age"
            )

    def postcode(self, digit: int) -> None:
        t = self.t
        if not t.text[digit + 1 : digit + 3].isupper():
            return
        m = _POSTCODE.search(t.text, max(0, digit - 9), min(len(t.text), digit + 4))
        if not m or m.start("in") != digit:
            return
        if m.group("out") == "GIR" and m.group("in") != "0AA":
            return
        if _INSTITUTION.search(_clause_before(t, m.start())):
            return  # a hospital's or university's public address
        self.add(
            POSTCODE, m.start(), m.end(), m.group("out") + " ***", _canonical(POSTCODE, m.group()), "a full UK postcode"
        )

    def emails(self) -> None:
        t = self.t
        text = t.text
        at = text.find("@")
        while at >= 0:
            lo = at
            while lo > 0 and at - lo < 64 and text[lo - 1] in _EMAIL_LOCAL:
                lo -= 1
            while lo < at and text[lo] == ".":
                lo += 1
            m = _EMAIL.match(text, lo)
            if m and m.start() < at < m.end():
                local, domain = m.group().split("@", 1)
                self.add(EMAIL, m.start(), m.end(), f"{local[0]}***@{domain}", m.group().casefold(), "an email address")
                at = text.find("@", m.end())
            else:
                at = text.find("@", at + 1)

    def dob(self, anchor: int, word: str) -> None:
        t = self.t
        if word == "birth":
            start = t.fold.rfind("date", max(0, anchor - 12), anchor)
            if start < 0:
                return
        else:
            start = anchor
        if start and t.fold[start - 1].isalpha():
            return
        m = _DOB.match(t.text, start, min(len(t.text), start + 120))
        if m:
            date = m.group("date")
            self.add(
                DOB,
                m.start("date"),
                m.end("date"),
                _mask_digits(date),
                _canonical(DOB, date),
                "a date after a date-of-birth keyword",
            )

    def title(self, start: int) -> None:
        m = _TITLE.match(self.t.text, start)
        if not m:
            return
        name = m.group("name")
        if name.split()[-1].strip(".").casefold() in _NOT_NAMES:
            return
        self.add(
            NAME,
            m.start(),
            m.end(),
            f"{m.group('title')} {_mask_name(name)}",
            _canonical(NAME, m.group()),
            "a name after a title",
        )

    def patient(self, start: int) -> None:
        t = self.t
        if start and t.fold[start - 1].isalpha():
            return
        # Most mentions read "patient safety": a space, then a small letter that neither a
        # name (a capital) nor 'name', 'called', 'id' or 'no' can start. Both rules below
        # would fail there; saying so at once keeps a text full of "patient" cheap.
        after = start + (7 if t.fold[start + 1] == "a" else 2)
        if t.fold[after : after + 1] == " " and t.text[after + 1 : after + 2] in _NOTHING_AFTER_PATIENT:
            return
        m = _PATIENT.match(t.text, start, min(len(t.text), start + 120))
        if m:
            name = m.group("name")
            words = re.findall(r"[^\W\d_]+", name)
            if not any(w.casefold() in _NOT_NAMES for w in words):
                self.add(
                    NAME,
                    m.start("name"),
                    m.end("name"),
                    _mask_name(name),
                    _canonical(NAME, name),
                    "a name after 'patient'",
                )
        self.hospital_after_patient(start)

    def hospital_after_patient(self, start: int) -> None:
        t = self.t
        m = _HOSPITAL.match(t.text, start, min(len(t.text), start + 60))
        if m:
            ident = m.group("id")
            self.add(
                HOSPITAL,
                m.start("id"),
                m.end("id"),
                ident[:2] + "*" * (len(ident) - 2),
                ident.upper(),
                "a number after a patient-number keyword",
            )

    def member_pattern(self, name: str, pattern: re.Pattern) -> None:
        for m in pattern.finditer(self.t.text):
            if m.end() == m.start():
                continue
            value = m.group()
            masked = value[:2] + "*" * (len(value) - 2) if len(value) > 3 else "*" * len(value)
            self.add(
                name,
                m.start(),
                m.end(),
                masked,
                _canonical(name, value),
                f"matches your '{name}' pattern",
                PATTERN_RANK,
            )


_CLAUSE_END = _lazy(r"[;!?]|\.\s+(?=[A-Z])")


def _clause_before(t: Text, pos: int) -> str:
    """The folded text from the start of the clause holding ``pos`` (at most 100 characters back)."""
    lo = max(t.line_start(pos), pos - 100)
    ends = [m.end() for m in _CLAUSE_END.finditer(t.text, lo, pos)]
    return t.fold[ends[-1] if ends else lo : pos]


def _mask_name(name: str) -> str:
    """Each word's first letter only: "J. S****"."""
    return re.sub(r"(?<=[^\W\d_])[^\W\d_]", "*", name)


def _strongest(found: list[tuple]) -> Iterator[tuple]:
    """Drop candidates that overlap a stronger one (or an earlier one of the same rank).

    The spans kept never overlap, so, sorted by start, only the last one starting before a
    candidate's end can overlap it: one bisection each, however many numbers a file holds.
    """
    starts: list[int] = []
    ends: list[int] = []
    for item in sorted(found, key=lambda f: (f[0], f[1], -f[2])):
        _, start, end = item[:3]
        k = bisect_left(starts, end)
        if k and ends[k - 1] > start:
            continue
        starts.insert(k, start)
        ends.insert(k, end)
        yield item


def find_identifiers(
    text: str | Text, patterns: Mapping[str, re.Pattern] | None = None, first_line: int = 1
) -> list[Finding]:
    """Every possible identifier in ``text``, in reading order (no silencing applied)."""
    source = text if isinstance(text, Text) else Text(text)
    scan = _Scan(source, patterns or {})
    scan.run()
    if not scan.found:
        return []
    original = source.original
    breaks = [m.start() for m in re.finditer("\n", original)]
    findings = []
    for _, start, end, rule, masked, key, reason in _strongest(scan.found):
        o_start, o_end = source.origin(start), source.origin(end - 1) + 1
        line_index = bisect_left(breaks, o_start)
        line_start = breaks[line_index - 1] + 1 if line_index else 0
        found_rule = RULES.get(rule)
        findings.append(
            Finding(
                rule=rule,
                severity=found_rule.severity if found_rule else "warning",
                label=found_rule.label if found_rule else f"'{rule}' identifier",
                line=first_line + line_index,
                column=o_start - line_start + 1,
                start=o_start,
                end=o_end,
                masked=masked,
                key=key,
                reason=reason,
            )
        )
    findings.sort(key=lambda f: (f.start, f.end))
    return findings


def find_in_markdown(text: str, patterns: Mapping[str, re.Pattern] | None = None, first_line: int = 1) -> list[Finding]:
    """Every possible identifier in a Markdown text, as a reader of the page sees it.

    The text is read once as the page shows it (``text.visible``: markup, comments and
    character references undone, so a number that only becomes whole on the page is found,
    placed at its first character in the file), and each span the page hides that holds
    text of its own (an HTML comment, a tag's attributes, a link's address) is read on its own.
    """
    shown = visible(text)
    if shown is None:
        return find_identifiers(text, patterns, first_line)
    view, hidden = shown
    findings = find_identifiers(view, patterns, first_line)
    breaks: list[int] | None = None
    for start, end in hidden:
        for found in find_identifiers(text[start:end], patterns):
            if breaks is None:
                breaks = [m.start() for m in re.finditer("\n", text)]
            at = start + found.start
            line_index = bisect_left(breaks, at)
            line_start = breaks[line_index - 1] + 1 if line_index else 0
            findings.append(
                replace(
                    found,
                    start=at,
                    end=start + found.end,
                    line=first_line + line_index,
                    column=at - line_start + 1,
                )
            )
    return sorted(findings, key=lambda f: (f.start, f.end))
