"""Commentary quality on the 22 fixture articles in tests/fixtures/commentary/ (20 stories).

Imports them, in date order, into a fresh store with the clock set just after the last
one, builds the briefing of the fortnight and prints:

- distinct-sentence ratio: distinct "why it matters" sentences / all of them, across items;
- what's-new share: items whose commentary says what is new (a first appearance in the
  store, or a target, malware, CVE or technique earlier stories did not name);
- a few example commentaries.

    .venv/bin/python bench/bench_commentary.py [--examples N]
"""

from __future__ import annotations

import argparse
import asyncio
import re
import sys
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bot.config import Settings  # noqa: E402
from bot.intel.sentences import split_sentences  # noqa: E402
from bot.services.container import open_services  # noqa: E402

FIXTURES = REPO / "tests" / "fixtures" / "commentary"
NOW = datetime(2025, 6, 20, 18, 0, tzinfo=UTC)
# What counts as a "what's new" clause, old wording and new: a first appearance, or
# something earlier stories did not name.
WHATS_NEW = re.compile(
    r"first time|for the first time|no other story|not named before|new since|"
    r"nothing here that|first .* (?:in the store|since)",
    re.I,
)


def sentences_of(lines: list[str]) -> list[str]:
    return [s for line in lines for s in split_sentences(line)]


async def run(examples: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        feeds = Path(tmp) / "feeds.txt"
        feeds.write_text("# none\n")
        settings = Settings(
            _env_file=None, SECBRIEF_DATABASE=Path(tmp) / "bench.db", SECBRIEF_WORKERS=0,
            SECBRIEF_FEEDS=feeds,
        )
        async with open_services(settings, clock=lambda: NOW) as services:
            paths = sorted(FIXTURES.glob("*.md"), key=_date_of)
            report = await services.ingest.import_files(paths)
            briefing = await services.briefings.build(NOW - timedelta(days=15))
            ids = [i.story_id for i in briefing.items]
            stories = await services.store.articles.get_stories(ids)
    items = briefing.items
    print(f"articles imported: {report.added}, stories in the briefing: {len(items)}")
    for label, commentaries in (
        ("stored per story", [s.commentary for s in stories]),
        ("shown in the briefing", [i.why_it_matters for i in items]),
    ):
        all_sentences = [s for lines in commentaries for s in sentences_of(lines)]
        distinct = len({" ".join(s.casefold().split()) for s in all_sentences})
        print(f"{label}: sentences {len(all_sentences)}, distinct {distinct}, "
              f"distinct-sentence ratio {distinct / max(1, len(all_sentences)):.2f}")
    with_new = sum(
        1 for item in items if any(WHATS_NEW.search(s) for s in item.why_it_matters)
    )
    print(f"items with a what's-new clause: {with_new}/{len(items)} "
          f"({with_new / max(1, len(items)):.0%})")
    shown = sum(len(sentences_of(i.why_it_matters)) for i in items)
    print(f"mean sentences per item shown: {shown / max(1, len(items)):.1f}")
    for item in items[:examples]:
        print(f"\n# {item.title}")
        for line in item.why_it_matters:
            print(f"  {line}")


def _date_of(path: Path) -> str:
    match = re.search(r"^date:\s*(\S+)", path.read_text(encoding="utf-8"), re.M)
    return match.group(1) if match else ""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=int, default=20)
    args = parser.parse_args()
    asyncio.run(run(args.examples))


if __name__ == "__main__":
    main()
