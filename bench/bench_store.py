"""Read paths and the analysis pipeline against a 100,000-article store.

    .venv/bin/python bench/bench_store.py [--quick] [--explain] [--articles N] [--new N]

Builds (once; cached in $TMPDIR/secbrief-bench, keyed by N, seed and schema) a store of
the N oldest of N + 1,000 make_corpus articles through the real schema and
repositories, copies it, and opens the copy with open_services. Figures:

- actor lookup (ActorService.lookup, 10 corpus actor names and 10 aliases of them) and
  search (SearchService.search, 20 queries): p50 / p95 per call → target p95 < 10 ms;
- briefing build over a window holding ~1,000 stories → target < 200 ms;
- resident memory of a fresh process that opened the store through open_services
  (catalogue and tagger loaded) and ran a lookup, a search and a briefing → < 200 MB;
- analysis and clustering on the --new (1,000) held-out newest articles, each step
  timed over all of them: analyse() (key points, actor tagging with the store's tagger,
  CVEs, vendors, fingerprints), find_story(), IngestService.store_article() (find_story
  + ArticleRepository.add + commentary refresh) — articles/s, no target.

For a MISS (or every figure with --explain) it prints where the time goes: the SQL
statements by re-run time with their query plans, and the Python functions by CPU.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from functools import partial
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import (
    BuiltStore,
    Report,
    bench_settings,
    build_store,
    clean_environment,
    copy_store,
    explain,
    ms,
    peak_rss_mb,
    percentile,
    rss_mb,
    section,
    time_calls,
)
from bot.news.analyse import RawArticle, analyse
from bot.services.clustering import find_story
from bot.services.container import Services, open_services

TARGET_P95 = 0.010
TARGET_BRIEFING = 0.200
TARGET_RSS = 200.0
SEED = 0
GUILD = 1  # a guild id: lookups and searches from Discord filter by visibility

SEARCHES = (
    "ransomware", "zero-day", "Flax Typhoon", "backdoor", "emergency updates",
    "water utilities", "sanctions", "leak site", "SecureGate vulnerability", "phishing",
    "known exploited vulnerabilities", "healthcare ransomware attack", "spear-phishing",
    "decryptor", "Lazarus", "privilege escalation", "Volt Typhoon critical infrastructure",
    "payroll records", "Kestrel Systems", "NightCrane",
)


# Ten actor names as the corpus writes them and ten other names of the same actors.
LOOKUPS = (
    "APT29", "APT28", "Lazarus Group", "Volt Typhoon", "Flax Typhoon", "Salt Typhoon",
    "Scattered Spider", "Sandworm", "Kimsuky", "FIN7",
    "Cozy Bear", "Fancy Bear", "Hidden Cobra", "Bronze Silhouette", "Voodoo Bear",
    "Static Kitten", "Double Dragon", "Mint Sandstorm", "Venomous Bear", "Octo Tempest",
)
MISSPELT = ("Flax Typoon", "Cozy Baer", "Lazarus Grop", "Scatered Spider", "Volt Tyhpoon")


def p50_p95(times: list[float]) -> str:
    return f"{percentile(times, 50) * 1000:.2f} / {percentile(times, 95) * 1000:.2f} ms"


async def read_paths(services: Services, built: BuiltStore, db: Path, report: Report,
                     *, explain_all: bool) -> None:
    names = list(LOOKUPS)
    section(f"actor lookup: {len(names)} names and aliases, 3 rounds")
    found = [(n, await services.actors.lookup(n)) for n in names]
    articles = [r.profile.total for _, r in found if r.profile]
    print(f"    {len(articles)}/{len(names)} found; stored articles per actor "
          f"{min(articles, default=0):,} … {max(articles, default=0):,}")
    times = await time_calls(services.actors.lookup, names)
    ok = percentile(times, 95) < TARGET_P95
    report.check("actor lookup p50 / p95", p50_p95(times), f"p95 < {TARGET_P95 * 1000:.0f} ms",
                 ok)
    slowest = sorted(zip(times[-len(names):], names, strict=True), reverse=True)[:3]
    print("    slowest (last round): " + ", ".join(f"{n} {t * 1000:.1f} ms" for t, n in slowest))
    if explain_all or not ok:
        await explain(f"lookup {slowest[0][1]!r}", services.store.db, db,
                      lambda: services.actors.lookup(slowest[0][1]))
    times = await time_calls(partial(services.actors.lookup, guild_id=GUILD), names)
    report.check("  … from a guild (the Discord path) p50 / p95", p50_p95(times),
                 f"p95 < {TARGET_P95 * 1000:.0f} ms", percentile(times, 95) < TARGET_P95)
    times = await time_calls(services.actors.lookup, MISSPELT)
    report.info("lookup of a misspelt name (suggestions) p50 / p95", p50_p95(times))

    section(f"search: {len(SEARCHES)} queries, 3 rounds")
    hits = [len(await services.search.search(q)) for q in SEARCHES]
    print(f"    queries with 10 hits: {sum(h == 10 for h in hits)}/{len(SEARCHES)}")
    times = await time_calls(services.search.search, SEARCHES)
    ok = percentile(times, 95) < TARGET_P95
    report.check("search p50 / p95", p50_p95(times), f"p95 < {TARGET_P95 * 1000:.0f} ms", ok)
    slowest = sorted(zip(times[-len(SEARCHES):], SEARCHES, strict=True), reverse=True)[:3]
    print("    slowest (last round): " + ", ".join(f"{q!r} {t * 1000:.1f} ms" for t, q in slowest))
    if explain_all or not ok:
        await explain(f"search {slowest[0][1]!r}", services.store.db, db,
                      lambda: services.search.search(slowest[0][1]))

    times = await time_calls(partial(services.search.search, guild_id=GUILD), SEARCHES)
    report.check("  … from a guild (the Discord path) p50 / p95", p50_p95(times),
                 f"p95 < {TARGET_P95 * 1000:.0f} ms", percentile(times, 95) < TARGET_P95)

    section("briefing build")
    briefing = await services.briefings.build(built.since)
    times = await time_calls(services.briefings.build, [built.since], rounds=5)
    print(f"    since {built.since:%Y-%m-%d %H:%M}: {len(briefing.items)} stories, "
          f"{sum(len(i.links) for i in briefing.items)} articles")
    ok = percentile(times, 50) < TARGET_BRIEFING
    report.check(f"briefing build, {len(briefing.items)} stories (median of 5)",
                 ms(percentile(times, 50)), f"< {TARGET_BRIEFING * 1000:.0f} ms", ok)
    if explain_all or not ok:
        await explain("briefing build", services.store.db, db,
                      lambda: services.briefings.build(built.since))


async def pipeline(services: Services, built: BuiltStore, db: Path, new: int,
                   report: Report) -> None:
    corpus = built.holdout()[:new]
    section(f"analysis and clustering: the next {len(corpus)} corpus articles (the newest, "
            f"held out of the store; {sum(a['dup_of'] is not None for a in corpus)} are "
            f"republications)")
    raws = [
        RawArticle(source=a["source"], title=a["title"], url=a["url"],
                   published_at=a["published_at"], text=a["text"])
        for a in corpus
    ]
    tagger = services.tagger
    analyse(raws[0], tagger)  # warm-up (lazy regexes)
    start = time.perf_counter()
    analysed = [analyse(raw, tagger) for raw in raws]
    t_analyse = time.perf_counter() - start
    report.info("analyse() (key points, tags, fingerprints)",
                f"{len(corpus) / t_analyse:.0f} art/s")
    tagged = sum(bool(a.actors) for a in analysed)
    expected = sum(bool(a["actors"]) for a in corpus)
    print(f"    actor-tagged {tagged}/{len(corpus)} (the corpus names an actor in {expected}; "
          "LockBit and Cl0p are not in the catalogue)")

    now = built.clock_now
    start = time.perf_counter()
    for article in analysed:
        await find_story(services.store, article, now=now)
    t_find = time.perf_counter() - start
    report.info("find_story() (read-only)", f"{len(corpus) / t_find:.0f} art/s")

    half = len(analysed) // 2
    start = time.perf_counter()
    ids = [await services.ingest.store_article(article) for article in analysed[:half]]
    t_store = time.perf_counter() - start
    report.info("store_article() (cluster + add + commentary)", f"{half / t_store:.0f} art/s")
    report.info("analyse + store_article, one thread",
                f"{1 / (t_analyse / len(corpus) + t_store / half):.0f} art/s")
    sample = analysed[half : half + 20]

    async def store_sample() -> None:
        for article in sample:
            ids.append(await services.ingest.store_article(article))

    await explain(f"store_article of {len(sample)} articles", services.store.db, db,
                  store_sample)
    ids += [await services.ingest.store_article(a) for a in analysed[half + len(sample):]]

    # Did each republication join its original's story?
    stored = {a.url: a.story_id for a in await services.store.articles.get_many(
        [i for i in ids if i])}
    by_id = {a["id"]: a for a in corpus}
    grouped = total = 0
    for a in corpus:
        if a["dup_of"] is None or a["url"] not in stored:
            continue
        total += 1
        original = by_id.get(a["dup_of"])
        if original is not None and original["url"] in stored:
            grouped += stored[a["url"]] == stored[original["url"]]
        else:  # the original is in the store: the story must hold more than this one
            story = await services.store.articles.get_story(stored[a["url"]])
            grouped += story is not None and len(story.articles) > 1
    report.info("republications grouped with their original", f"{grouped}/{total}")


def measure_rss(db: Path, built: BuiltStore) -> dict:
    """Run this script as a fresh process that opens the store and reports its RSS."""
    out = subprocess.run(
        [sys.executable, __file__, "--rss-child", str(db), built.now, built.briefing_since],
        check=True, capture_output=True, text=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


async def rss_child(db: Path, now: str, since: str) -> dict:
    clock_now = datetime.fromisoformat(now)
    figures = {"start": rss_mb()}
    # the bot's defaults (2 workers — a lazy pool, never started by reads)
    settings = bench_settings(db, SECBRIEF_WORKERS=2)
    async with open_services(settings, clock=lambda: clock_now) as services:
        figures["opened"] = rss_mb()
        await services.actors.lookup("APT29")
        await services.search.search("ransomware")
        briefing = await services.briefings.build(datetime.fromisoformat(since))
        figures["stories"] = len(briefing.items)
        figures["after"] = rss_mb()
        figures["peak"] = peak_rss_mb()
    return figures


async def main_async(args: argparse.Namespace, report: Report) -> None:
    n = args.articles or (5_000 if args.quick else 100_000)
    new = args.new or (200 if args.quick else 1_000)
    section(f"store of {n:,} articles")
    start = time.perf_counter()
    built = await build_store(n, SEED)
    took = time.perf_counter() - start
    note = (f"{'cached; built earlier' if built.cached else 'built now'} in "
            f"{built.build_seconds:.0f} s: inserts {built.insert_seconds:.0f} s, commentary "
            f"for the newest stories {built.commentary_seconds:.0f} s")
    print(f"    {built.path} ({built.size_mb:,.0f} MB, {built.stories:,} stories; {note})")
    report.info(f"store build, {n:,} articles (one-off, cached)", f"{built.build_seconds:.0f} s")
    with tempfile.TemporaryDirectory(prefix="bench-store-") as tmp:
        start = time.perf_counter()
        db = copy_store(built.path, Path(tmp))
        print(f"    copied for this run in {time.perf_counter() - start:.1f} s "
              f"(store ready after {took:.1f} s)")

        section("resident memory of a fresh process (open_services, lookup, search, briefing)")
        rss = measure_rss(db, built)
        print(f"    RSS: interpreter+imports {rss['start']:.0f} MB, after open_services "
              f"{rss['opened']:.0f} MB, after the reads {rss['after']:.0f} MB "
              f"(peak {rss['peak']:.0f} MB; briefing of {rss['stories']} stories)")
        report.check("RSS after open + lookup + search + briefing", f"{rss['after']:.0f} MB",
                     f"< {TARGET_RSS:.0f} MB", rss["after"] < TARGET_RSS)
        report.info("  … peak RSS (VmHWM)", f"{rss['peak']:.0f} MB")

        settings = bench_settings(db)
        async with open_services(settings, clock=lambda: built.clock_now) as services:
            await read_paths(services, built, db, report, explain_all=args.explain)
            await pipeline(services, built, db, new, report)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="5,000 articles, 200 new")
    parser.add_argument("--articles", type=int, help="store size (default 100,000)")
    parser.add_argument("--new", type=int, help="articles for the pipeline (default 1,000)")
    parser.add_argument("--explain", action="store_true",
                        help="show where the time goes for every read path, not only misses")
    parser.add_argument("--rss-child", nargs=3, metavar=("DB", "NOW", "SINCE"),
                        help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    clean_environment()
    if args.rss_child:
        db, now, since = args.rss_child
        print(json.dumps(asyncio.run(rss_child(Path(db), now, since))))
        return 0
    report = Report("bench_store")
    asyncio.run(main_async(args, report))
    report.summary()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
