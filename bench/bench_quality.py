"""Quality of the intelligence on the labelled set in tests/fixtures/quality/.

    .venv/bin/python bench/bench_quality.py [--details]

Runs the real pipeline (page extraction or the Markdown importer, then ``analyse`` with
the ActorTagger built from the shipped catalogue) on every labelled article and prints
actor precision / recall, alias resolution, CVE exactness, key-point coverage — ours
next to a plain TextRank and the first 6 sentences computed on the same texts — and the
items with more than 6 points or a menu line as a point, each next to its target.

With sumy installed (it is not a dependency: ``.venv/bin/pip install sumy``), it also
prints sumy's TextRank and LexRank as baselines, our key points with sumy's LexRank as
the centrality, and the time each ranking takes. sumy's own tokenizer needs NLTK data
downloads, so sumy gets our tokens here.
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import Report
from bot.intel.keypoints import centrality, key_points
from storage.actors import alias_key
from tests.fixtures.make_corpus import make_articles
from tests.fixtures.quality.evaluate import (
    BASELINE_SENTENCES,
    Labelled,
    build_tagger,
    content_words,
    coverage,
    figures,
    load_set,
    run,
)

Ranker = Callable[[Sequence[frozenset[str]]], list[float]]


class _Tokens:
    """A sumy tokenizer over words we have already split (no NLTK data needed)."""

    language = "english"

    def to_words(self, sentence: str) -> list[str]:
        return sentence.split()

    def to_sentences(self, paragraph: str) -> list[str]:
        return [paragraph]


def sumy_rankers() -> dict[str, Ranker]:
    """sumy's LexRank and TextRank as centrality functions over word-stem bags, or {}."""
    try:
        from sumy.models.dom import ObjectDocumentModel, Paragraph, Sentence
        from sumy.summarizers.lex_rank import LexRankSummarizer
        from sumy.summarizers.text_rank import TextRankSummarizer
    except ImportError:
        return {}
    tokens = _Tokens()

    def document(bags: Sequence[frozenset[str]]) -> object:
        return ObjectDocumentModel([Paragraph(
            [Sentence(" ".join(sorted(b)) or "x", tokens) for b in bags])])

    def lexrank(bags: Sequence[frozenset[str]]) -> list[float]:
        s = LexRankSummarizer()
        words = [s._to_words_set(x) for x in document(bags).sentences]
        matrix = s._create_matrix(words, s.threshold, s._compute_tf(words),
                                  s._compute_idf(words))
        scores = list(s.power_method(matrix, s.epsilon))
        top = max(scores) or 1.0
        return [float(x) / top for x in scores]

    def textrank(bags: Sequence[frozenset[str]]) -> list[float]:
        s = TextRankSummarizer()
        doc = document(bags)
        matrix = s._create_matrix(doc)
        scores = list(s.power_method(matrix, s.epsilon))
        top = max(scores) or 1.0
        return [float(x) / top for x in scores]

    return {"sumy-lexrank": lexrank, "sumy-textrank": textrank}


def top_n(rank: Ranker) -> Callable[[Sequence[str]], list[str]]:
    def pick(sentences: Sequence[str]) -> list[str]:
        if not sentences:
            return []
        scores = rank([frozenset(content_words(s)) for s in sentences])
        best = sorted(range(len(sentences)), key=lambda i: (-scores[i], i))
        return [sentences[i] for i in sorted(best[:BASELINE_SENTENCES])]
    return pick


def ours_with(rank: Ranker, articles: Sequence[Labelled], results: Sequence) -> float:
    hit = total = 0
    for a, r in zip(articles, results, strict=True):
        if a.raw.key_points:  # the author's own points: no ranking involved
            points = r.points
        else:
            points = key_points(a.title, r.text, boost_terms=[*r.actors_found,
                                                              *r.cves_found], rank=rank)
        h, t = coverage(a.facts, points)
        hit, total = hit + h, total + t
    return hit / max(total, 1)


def time_ranker(rank: Ranker, corpus: list[dict]) -> float:
    """Articles/s of key_points with this centrality on generated articles."""
    start = time.perf_counter()
    for a in corpus:
        key_points(a["title"], a["text"], lead=a["lead"],
                   boost_terms=[*a["actors"], *a["cves"]], rank=rank)
    return len(corpus) / (time.perf_counter() - start)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--details", action="store_true", help="misses and false tags")
    parser.add_argument("--speed-articles", type=int, default=300)
    args = parser.parse_args(argv)

    articles = load_set()
    start = time.perf_counter()
    results = run(articles)
    elapsed = time.perf_counter() - start
    _, resolve = build_tagger()
    extra = {label: top_n(r) for label, r in sumy_rankers().items()}
    f = figures(results, articles, resolve, extra=extra)
    ours, tr, lead = f.coverage["ours"], f.coverage["textrank-6"], f.coverage["lead-6"]
    print(f"{f.items} labelled articles ({sum(a.format == 'feed' for a in articles)} feed "
          f"items, {sum(a.format == 'html' for a in articles)} HTML pages, "
          f"{sum(a.format == 'markdown' for a in articles)} Markdown exports), "
          f"pipeline incl. catalogue load {elapsed:.1f} s")
    report = Report("quality on the labelled set")
    report.check("actor precision", f"{f.actor_precision:.3f}", "≥ 0.95",
                 f.actor_precision >= 0.95)
    report.check("actor recall", f"{f.actor_recall:.3f}", "≥ 0.9 at P ≥ 0.95",
                 f.actor_recall >= 0.9 and f.actor_precision >= 0.95)
    report.info("alias resolution (labelled names → one actor)", f"{f.alias_resolution:.3f}")
    report.info("CVE exactness (articles with exactly their CVEs)", f"{f.cve_exact:.3f}")
    report.check("key-point coverage, ours (≤ 6 points as shown)", f"{ours:.3f}",
                 "> both baselines", ours > tr and ours > lead)
    report.info("… plain TextRank, 6 sentences", f"{tr:.3f}")
    report.info("… lead-6 (first 6 sentences)", f"{lead:.3f}")
    for label in extra:
        report.info(f"… {label}, 6 sentences", f"{f.coverage[label]:.3f}")
    rankers = sumy_rankers()
    for label, rank in rankers.items():
        report.info(f"… ours with {label} as the centrality",
                    f"{ours_with(rank, articles, results):.3f}")
    report.check("items with more than 6 points", str(f.over_six), "0", f.over_six == 0)
    report.check("menu / furniture lines as points", str(f.furniture_points), "0",
                 f.furniture_points == 0)
    if rankers:
        corpus = make_articles(args.speed_articles, seed=5)
        report.info("key_points articles/s, own TextRank",
                    f"{time_ranker(centrality, corpus):,.0f}")
        for label, rank in rankers.items():
            report.info(f"key_points articles/s, {label}", f"{time_ranker(rank, corpus):,.0f}")
    report.summary()
    if args.details:
        print("actor misses:", ", ".join(f.misses) or "none")
        print("false tags:", ", ".join(f.false_tags) or "none")
        names = sorted({n for a in articles for ns in a.actors for n in ns})
        unresolved = [n for n in names if len(resolve.get(alias_key(n), ())) != 1]
        print("labelled names not resolving to one actor:", ", ".join(
            f"{n} ({len(resolve.get(alias_key(n), ()))})" for n in unresolved) or "none")
        for r in results:
            h, t = coverage(r.facts, r.points)
            if h < math.ceil(t / 2):
                print(f"low coverage {r.name}: {h}/{t}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
