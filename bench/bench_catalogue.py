"""Actor catalogue figures: load+merge, store, resolve, autocomplete, tagging.

    .venv/bin/python bench/bench_catalogue.py [--articles N] [--lookups N] [--seed S]

Prints: catalogue load+merge time, wall and CPU (and the merged actor count),
replace_catalogue time on a fresh SQLite file, resolve p50/p95, autocomplete p95, and
tagging articles/s on generated ~5 KB texts (sentences with capitalised words,
punctuation, numbers, a few actor names, ransomware names in and out of context).
Uses a temporary directory; nothing touches the network.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.intel.actor_tagging import ActorTagger
from bot.intel.catalogue import catalogue_version, load_catalogue
from storage.actors import ActorRepository
from storage.db import open_db

_SENTENCES = [
    "Researchers at {org} said the campaign began in {month} and targeted {sector} networks.",
    "The attackers used a loader, a backdoor and stolen credentials to move laterally.",
    "According to {org}, the intrusion set overlaps with activity tracked as {actor}.",
    "CVE-2024-{n} was exploited before a patch shipped on {month} {day}.",
    "In {country}, officials said {n} systems were affected; {org} published indicators.",
    "The U.S. Treasury, the FBI and CISA issued a joint advisory on Tuesday.",
    "Phishing lures impersonated {org} and a logistics firm, with links to 185.{n}.12.7.",
    "\u201cWe have no evidence of data theft,\u201d a spokesperson told reporters.",
    "{actor} remains one of the most active groups targeting {sector} in {country}.",
    "The payload, a modular implant written in Go, checks for sandboxes before running.",
    "Defenders should patch edge devices, rotate keys and review remote-access logs.",
    "The report lists 42 domains, 17 IP addresses and 9 file hashes.",
    "Affiliates of the {ransom} ransomware gang posted the files; backups play a role.",
    "The Hive of activity around the Royal Mail outage drew a Medusa exhibit comparison.",
]
_RANSOM = ["LockBit 3.0", "Hive", "Play", "Akira", "ALPHV/BlackCat", "Cl0p", "Qilin", "Royal"]
_ORGS = ["Microsoft", "Mandiant", "CrowdStrike", "Secureworks", "Unit 42", "Proofpoint",
         "Recorded Future", "ESET", "Kaspersky", "Cisco Talos"]
_SECTORS = ["telecom", "energy", "government", "healthcare", "defence", "financial"]
_COUNTRIES = ["Taiwan", "Ukraine", "Germany", "Japan", "Brazil", "India", "Canada"]
_MONTHS = ["January", "March", "May", "July", "September", "November"]


def make_texts(count: int, actor_names: list[str], seed: int, size: int = 5000) -> list[str]:
    rng = random.Random(seed)
    texts = []
    for _ in range(count):
        parts: list[str] = []
        length = 0
        while length < size:
            sentence = rng.choice(_SENTENCES).format(
                org=rng.choice(_ORGS),
                actor=rng.choice(actor_names),
                ransom=rng.choice(_RANSOM),
                sector=rng.choice(_SECTORS),
                country=rng.choice(_COUNTRIES),
                month=rng.choice(_MONTHS),
                day=rng.randint(1, 28),
                n=rng.randint(1000, 9999),
            )
            parts.append(sentence)
            length += len(sentence) + 1
        texts.append(" ".join(parts))
    return texts


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


async def bench(articles: int, lookups: int, seed: int) -> None:
    start, cpu = time.perf_counter(), time.process_time()
    version = catalogue_version()
    actors = load_catalogue()
    load_s, load_cpu = time.perf_counter() - start, time.process_time() - cpu
    aliases = sum(len(a.all_names) for a in actors)
    # CPU time too: on a shared machine the wall time mostly measures the other processes.
    print(f"catalogue load+merge:  {load_s * 1000:7.1f} ms  (CPU {load_cpu * 1000:.0f} ms; "
          f"{len(actors)} merged actors, {aliases} names)")

    with tempfile.TemporaryDirectory() as tmp:
        db = await open_db(Path(tmp) / "bench.db")
        try:
            repo = ActorRepository(db)
            start = time.perf_counter()
            await repo.replace_catalogue(actors, version=version)
            print(f"replace_catalogue:     {(time.perf_counter() - start) * 1000:7.1f} ms "
                  "(fresh file)")
            start = time.perf_counter()
            await repo.replace_catalogue(actors, version=version)
            print(f"replace_catalogue:     {(time.perf_counter() - start) * 1000:7.1f} ms "
                  "(reload, in place)")

            rng = random.Random(seed)
            names = [n for a in actors for n in a.all_names]
            queries = [rng.choice(names) for _ in range(lookups)]
            queries += [f"unknown actor {i}" for i in range(lookups // 10)]
            times = []
            for query in queries:
                t0 = time.perf_counter()
                await repo.resolve(query)
                times.append(time.perf_counter() - t0)
            print(f"resolve:               p50 {pct(times, 0.5) * 1e3:.3f} ms   "
                  f"p95 {pct(times, 0.95) * 1e3:.3f} ms   ({len(queries)} lookups)")

            prefixes = [q[: rng.randint(1, 4)] for q in queries[:lookups]]
            times = []
            for prefix in prefixes:
                t0 = time.perf_counter()
                await repo.autocomplete(prefix, limit=25)
                times.append(time.perf_counter() - t0)
            print(f"autocomplete(25):      p50 {pct(times, 0.5) * 1e3:.3f} ms   "
                  f"p95 {pct(times, 0.95) * 1e3:.3f} ms")

            start = time.perf_counter()
            tagger = ActorTagger(await repo.alias_pairs())
            build_s = time.perf_counter() - start
        finally:
            await db.close()

    texts = make_texts(articles, [a.name for a in actors[::7]], seed)
    avg = statistics.mean(len(t) for t in texts)
    best = best_cpu = float("inf")
    for _ in range(3):  # best of three: other processes share the machine
        start, cpu = time.perf_counter(), time.process_time()
        tagged = sum(len(tagger.tag(t)) for t in texts)
        best = min(best, time.perf_counter() - start)
        best_cpu = min(best_cpu, time.process_time() - cpu)
    print(f"tagger build:          {build_s * 1000:7.1f} ms  ({len(tagger)} matchable aliases)")
    print(f"tagging:               {len(texts) / best:7.0f} articles/s  "
          f"(CPU time alone: {len(texts) / best_cpu:.0f}/s; "
          f"{len(texts)} texts of ~{avg / 1000:.1f} KB, {tagged} tags)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=1000)
    parser.add_argument("--lookups", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    asyncio.run(bench(args.articles, args.lookups, args.seed))


if __name__ == "__main__":
    main()
