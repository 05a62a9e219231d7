"""Generate a large, valid portfolio for benchmarks: ``python bench/generate.py DIR [N]``.

The activities are written the way members write them: about 430 words each, a
description of two paragraphs and a list, a reflection of three paragraphs, in the
everyday words of a laboratory ("patient", "sample", "result"); one in ten is a folder
holding its evidence (a small PDF certificate) beside its ``index.md``. The same seed
gives the same files.
"""

from __future__ import annotations

import random
from datetime import date, timedelta
from pathlib import Path

CATEGORIES = ["work-based-learning", "professional-activity", "formal-educational", "self-directed-learning", "other"]
TYPES = ["journal-club", "audit", "teaching", "conference", "webinar", "e-learning", "reading", "mentoring"]
TAGS = (
    "haematology transfusion coagulation quality audit morphology validation training governance "
    "safety microbiology biochemistry teaching leadership research"
).split()
# Laboratory words, and the plain words around them, as a member's sentences mix them.
NOUNS = (
    "patient sample result analyser colleague laboratory procedure guideline film report audit "
    "request ward clinician method control training service process error change review team "
    "specimen label reference range delay policy question course meeting evidence practice"
).split()
VERBS = (
    "checked reviewed discussed compared explained changed found noticed agreed recorded improved "
    "learned repeated validated traced shared asked wrote tested measured"
).split()
ADJECTIVES = (
    "new routine urgent unexpected clear useful difficult common practical small important "
    "careful internal external abnormal normal quick different"
).split()
LINKS = "and then because so but while after before when although".split()
OPENERS = (
    "I",
    "We",
    "The team",
    "Our laboratory",
    "My manager and I",
    "The trainer",
    "A colleague",
)

PORTFOLIO = """member:
  name: Bench Member
  membership_number: "100001"
diplomas:
  - start: {first}
    submitted: {submitted}
    issued: {issued}
  - start: {issued}
site:
  title: Benchmark portfolio
"""


def _clause(rnd: random.Random) -> str:
    return (
        f"{rnd.choice(VERBS)} the {rnd.choice(ADJECTIVES)} {rnd.choice(NOUNS)} "
        f"for the {rnd.choice(NOUNS)} {rnd.choice(['', 'with the ' + rnd.choice(NOUNS) + ' ']).strip()}"
    ).strip()


def _sentence(rnd: random.Random) -> str:
    """About fifteen words: an opener, two clauses joined by a small word."""
    return f"{rnd.choice(OPENERS)} {_clause(rnd)} {rnd.choice(LINKS)} {_clause(rnd)}."


def _paragraph(rnd: random.Random, words: int) -> str:
    sentences: list[str] = []
    while sum(len(s.split()) for s in sentences) < words:
        sentences.append(_sentence(rnd))
    return " ".join(sentences)


def _pdf(text: str) -> bytes:
    """A one-page PDF certificate showing ``text``: evidence the privacy scan reads."""
    stream = f"BT /F1 14 Tf 72 720 Td ({text}) Tj ET"
    objects = [
        "<< /Type /Catalog /Pages 2 0 R >>",
        "<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R"
        " /Resources << /Font << /F1 5 0 R >> >> >>",
        f"<< /Length {len(stream)} >>\nstream\n{stream}\nendstream",
        "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = b"%PDF-1.4\n"
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n{body}\nendobj\n".encode("latin-1")
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    out += b"".join(f"{offset:010d} 00000 n \n".encode() for offset in offsets)
    out += f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    return out


def generate(root: Path, count: int = 1000, seed: int = 1, end: date = date(2026, 11, 1)) -> Path:
    """Write ``count`` activities spread over the ``count // 2`` days before ``end``."""
    rnd = random.Random(seed)
    content = root / "content"
    (content / "activities").mkdir(parents=True, exist_ok=True)
    (content / "evidence").mkdir(exist_ok=True)
    span = max(count // 2, 60)
    first = end - timedelta(days=span)
    submitted = first + timedelta(days=span // 2)
    issued = submitted + timedelta(days=10)
    (content / "portfolio.yaml").write_text(
        PORTFOLIO.format(first=first, submitted=submitted, issued=issued), encoding="utf-8"
    )
    for n in range(20):
        (content / "evidence" / f"certificate-{n}.txt").write_text(f"Certificate {n}\n", encoding="utf-8")
    for n in range(count):
        day = first + timedelta(days=rnd.randrange(span))
        activity_id = f"{day.isoformat()}-activity-{n:04}"
        year_dir = content / "activities" / str(day.year)
        year_dir.mkdir(exist_ok=True)
        kind = f"type: {rnd.choice(TYPES)}" if n % 4 == 0 else f"category: {CATEGORIES[n % len(CATEGORIES)]}"
        folder = n % 10 == 0  # one in ten keeps its evidence beside it
        evidence = "certificate.pdf" if folder else f"certificate-{n % 20}.txt"
        front = [
            "---",
            f'title: "Activity {n}: {_sentence(rnd)[:60].rstrip(" .")}"',
            f"date: {day.isoformat()}",
            kind,
            f"hours: {rnd.choice([0.5, 1, 1.5, 2, 3.5, 7])}",
            f"tags: [{rnd.choice(TAGS)}, {rnd.choice(TAGS)}]",
            f"standards: [{rnd.randint(2, 3)}, 4]",
            f"evidence: [{evidence}]",
        ]
        if n % 50 == 0:
            front.append("private: true")
        front.append("---")
        description = _paragraph(rnd, 50) + "\n\nWhat we covered:\n\n"
        description += "\n".join(f"- {_sentence(rnd)}" for _ in range(4))
        description += "\n\n" + _paragraph(rnd, 30)
        reflection = "\n\n".join(_paragraph(rnd, 70) for _ in range(3))
        text = "\n".join(front) + "\n" + description + "\n\n## Reflection\n" + reflection + "\n"
        if folder:
            (year_dir / activity_id).mkdir(exist_ok=True)
            (year_dir / activity_id / "index.md").write_text(text, encoding="utf-8")
            (year_dir / activity_id / "certificate.pdf").write_bytes(_pdf(f"Certificate of attendance {n}"))
        else:
            (year_dir / f"{activity_id}.md").write_text(text, encoding="utf-8")
    return root


if __name__ == "__main__":
    import argparse

    parser = argparse.ArgumentParser(description="Write a generated portfolio, seeded, for benchmarks.")
    parser.add_argument("folder", type=Path, help="where to write it (a new or empty folder)")
    parser.add_argument("count", type=int, nargs="?", default=1000, help="how many activities (default: 1000)")
    options = parser.parse_args()
    generate(options.folder, options.count)
    print(f"wrote a portfolio to {options.folder}")
