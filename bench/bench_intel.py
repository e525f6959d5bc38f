"""Throughput of the text-intelligence helpers on generated articles.

    .venv/bin/python bench/bench_intel.py [N] [--seed S]

Times each step over the same N articles (default 1,000) and prints articles/s per
step and for the whole pipeline (split_sentences + key_points + find_cves + find_vendors
+ simhash). key_points splits sentences itself, so the total counts that work twice,
just as ingestion does.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.intel.cves import find_cves
from bot.intel.fingerprint import simhash
from bot.intel.keypoints import key_points
from bot.intel.sentences import split_sentences
from bot.intel.vendors import find_vendors
from tests.fixtures.make_corpus import make_articles

Step = Callable[[dict], object]

STEPS: list[tuple[str, Step]] = [
    ("split_sentences", lambda a: split_sentences(a["text"])),
    ("key_points", lambda a: key_points(
        a["title"], a["text"], lead=a["lead"], boost_terms=[*a["actors"], *a["cves"]])),
    ("find_cves", lambda a: find_cves(f"{a['title']}\n{a['text']}")),
    ("find_vendors", lambda a: find_vendors(f"{a['title']}\n{a['text']}")),
    ("simhash", lambda a: simhash(a["text"])),
]


def _time(step: Step, articles: list[dict]) -> float:
    start = time.perf_counter()
    for a in articles:
        step(a)
    return time.perf_counter() - start


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("n", nargs="?", type=int, default=1000, help="articles (default 1000)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    t0 = time.perf_counter()
    articles = make_articles(args.n, seed=args.seed)
    gen = time.perf_counter() - t0
    chars = sum(len(a["text"]) for a in articles)
    print(f"{args.n:,} articles, {chars / args.n:,.0f} chars each on average "
          f"(generated in {gen:.2f}s)")

    for _, step in STEPS:  # warm caches and lazy imports so they don't count
        step(articles[0])

    total = 0.0
    width = max(len(name) for name, _ in STEPS)
    for name, step in STEPS:
        elapsed = _time(step, articles)
        total += elapsed
        print(f"  {name:<{width}}  {args.n / elapsed:>10,.0f} articles/s  "
              f"({elapsed * 1000 / args.n:.3f} ms/article)")
    print(f"  {'total':<{width}}  {args.n / total:>10,.0f} articles/s  "
          f"({total * 1000 / args.n:.3f} ms/article)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
