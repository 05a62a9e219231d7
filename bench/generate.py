"""Generate a large, valid portfolio for benchmarks: ``python bench/generate.py DIR [N]``."""

from __future__ import annotations

import random
import sys
from datetime import date, timedelta
from pathlib import Path

CATEGORIES = ["work-based-learning", "professional-activity", "formal-educational", "self-directed-learning", "other"]
TYPES = ["journal-club", "audit", "teaching", "conference", "webinar", "e-learning", "reading", "mentoring"]
WORDS = (
    "sample analyser validation transfusion haematology quality audit reflection practice film morphology "
    "coagulation guideline training colleague procedure result laboratory improvement service review"
).split()

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


def _sentence(rnd: random.Random, n: int) -> str:
    return " ".join(rnd.choice(WORDS) for _ in range(n)).capitalize() + "."


def generate(root: Path, count: int = 1000, seed: int = 1, end: date = date(2026, 11, 1)) -> Path:
    """Write ``count`` activities spread over the ``count // 2`` days before ``end``."""
    rnd = random.Random(seed)
    content = root / "content"
    (content / "activities").mkdir(parents=True, exist_ok=True)
    (content / "evidence").mkdir(exist_ok=True)
    (content / "reflections").mkdir(exist_ok=True)
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
        front = [
            "---",
            f'title: "Activity {n}: {_sentence(rnd, 4)[:-1]}"',
            f"date: {day.isoformat()}",
            kind,
            f"hours: {rnd.choice([0.5, 1, 1.5, 2, 3.5, 7])}",
            f"tags: [{rnd.choice(WORDS)}, {rnd.choice(WORDS)}]",
            f"standards: [{rnd.randint(1, 5)}, 4]",
            f"evidence: [certificate-{n % 20}.txt]",
        ]
        if n % 50 == 0:
            front.append("private: true")
        front.append("---")
        description = "\n\n".join(_sentence(rnd, 30) for _ in range(2))
        description += "\n\n- " + _sentence(rnd, 8) + "\n- " + _sentence(rnd, 8)
        reflection = "\n\n".join(_sentence(rnd, 40) for _ in range(3))
        if n % 10 == 0:  # one in ten keeps its reflection in its own file
            text = "\n".join(front) + "\n" + description + "\n"
            (content / "reflections" / f"{activity_id}.md").write_text(
                f"---\nactivity: {activity_id}\n---\n{reflection}\n", encoding="utf-8"
            )
        else:
            text = "\n".join(front) + "\n" + description + "\n\n## Reflection\n" + reflection + "\n"
        (year_dir / f"{activity_id}.md").write_text(text, encoding="utf-8")
    return root


if __name__ == "__main__":
    target = Path(sys.argv[1])
    generate(target, int(sys.argv[2]) if len(sys.argv) > 2 else 1000)
    print(f"wrote a portfolio to {target}")
