"""Alert matching: 10,000 subscriptions against 500 new stories in a 100,000-article store.

    .venv/bin/python bench/bench_alert_match.py [--quick] [--subscriptions N] [--new N]

Uses the cached store of bench_store (built on first use), adds 10,000 subscriptions
(actor / cve / vendor / keyword / source, from 3,000 users and 400 channels, with values
the corpus holds — and some it does not), moves the alert cursor to the end of the
store, then stores 500 new articles (the held-out newest corpus articles, one story
each). Times SubscriptionRepository.matches over the new id range and
AlertService.plan_round (matching, then the delivery-ledger writes in one transaction), and
prints EXPLAIN QUERY PLAN for every statement matches() runs, to show that each is an
indexed lookup and none scans all articles. No target beyond that.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sys
import tempfile
import time
from collections import Counter
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import (
    Report,
    SqlRecorder,
    bench_settings,
    build_store,
    clean_environment,
    copy_store,
    describe_built,
    ms,
    new_article,
    percentile,
    section,
    sql_costs,
)
from bot.services.alerts import AlertService
from bot.services.container import Services, open_services
from bot.services.errors import UserError
from tests.fixtures.make_corpus import MALWARE, PRODUCTS, SECTORS, SOURCES, VENDORS

SEED = 0
USERS = 3000
CHANNELS = 400
GUILDS = 100
# kind -> share of subscriptions
MIX = {"actor": 0.35, "cve": 0.15, "vendor": 0.15, "keyword": 0.25, "source": 0.10}
VENDOR_NAMES = (
    "Microsoft", "Cisco", "Fortinet", "Ivanti", "Citrix", "VMware", "Atlassian",
    "Palo Alto Networks", "Apple", "Google", "Oracle", "SAP", "SonicWall", "Juniper Networks",
    "MOVEit", "Zyxel", "CrowdStrike", "Okta", "Cloudflare", "Adobe", "Mozilla", "Linux",
    "Samsung", "Qualcomm", "Veeam", "ConnectWise", "Check Point", "F5", "Barracuda Networks",
)
OTHER_SOURCES = (
    "krebsonsecurity", "securityaffairs", "cisa", "ars technica", "wired", "zdnet",
    "the verge", "techcrunch", "infosecurity magazine", "recorded future news",
    "sans isc", "schneier on security",
)
TERMS = (
    "ransomware", "zero-day", "backdoor", "phishing", "spear-phishing", "supply chain",
    "data breach", "extortion", "leak site", "espionage", "sanctions", "indictment",
    "critical infrastructure", "privilege escalation", "remote code execution",
    "emergency updates", "patch", "web shell", "botnet", "ddos", "credential stuffing",
    "kubernetes", "deepfake", "cryptocurrency", "insider threat", "mfa bypass", "vpn",
    "firewall", "edge devices", "kev catalog", "decryptor", "ransom demand", "incident response",
    "threat intelligence", "cyberespionage", "state-sponsored", "wiper", "infostealer",
    "artificial intelligence", "llm", "cloud", "saas", "identity", "email security",
    "bug bounty", "exploit kit", "malvertising", "typosquatting", "open source", "firmware",
    "iot", "ics", "scada", "operational technology",
)
ORGS = ("Northwind Health", "Bluewater Energy", "Crescent Telecom", "Harbor Logistics",
        "Summit Bank", "Redwood Manufacturing", "Lakeside University", "Pinecrest Water")


def keyword_vocabulary(rng: random.Random) -> list[str]:
    """~400 distinct keywords: products, malware, sectors, victims, security terms and
    two-word combinations (most frequent first, for a Zipf-like draw)."""
    base = list(TERMS) + list(PRODUCTS) + list(MALWARE) + list(SECTORS) + list(ORGS)
    combos = {f"{s} {t}" for s in SECTORS for t in ("ransomware", "breach", "attack",
                                                     "espionage", "outage", "phishing")}
    combos |= {f"{v} {p}" for v in VENDORS[:6] for p in PRODUCTS[:6]}
    rest = sorted(combos)
    rng.shuffle(rest)
    return base + rest[: max(0, 400 - len(base))]


def zipf_pick(rng: random.Random, values: list[str], s: float = 1.0) -> str:
    weights = [1 / (i + 1) ** s for i in range(len(values))]
    return rng.choices(values, weights)[0]


async def add_subscriptions(services: Services, count: int, *, corpus_actors: list[str],
                            corpus_cves: list[str], new_cves: list[str]
                            ) -> tuple[Counter[str], set[str]]:
    """Add ``count`` subscriptions; returns (created per kind, distinct keywords)."""
    rng = random.Random(SEED)
    store = services.store
    others = [a.name for a in await store.actors.all_actors() if a.name not in corpus_actors]
    rng.shuffle(others)
    other_actors = others[:300]
    keywords = keyword_vocabulary(rng)
    sources = [name.lower() for name, _ in SOURCES] + list(OTHER_SOURCES)
    kinds, shares = zip(*MIX.items(), strict=True)
    now = services.clock()
    made: Counter[str] = Counter()
    distinct: set[str] = set()
    while sum(made.values()) < count:
        kind = rng.choices(kinds, shares)[0]
        if kind == "actor":
            value = (rng.choice(corpus_actors) if rng.random() < 0.75
                     else rng.choice(other_actors))
        elif kind == "cve":
            r = rng.random()
            value = (rng.choice(new_cves) if r < 0.4 and new_cves
                     else rng.choice(corpus_cves) if r < 0.8
                     else f"CVE-2025-{rng.randint(60000, 99999)}")
        elif kind == "vendor":
            value = zipf_pick(rng, list(VENDOR_NAMES), 0.8)
        elif kind == "keyword":
            value = zipf_pick(rng, keywords, 0.9)
        else:
            value = zipf_pick(rng, sources, 0.7)
        try:  # what the service would store for this input (canonical actor, …)
            stored, display = await services.subscriptions.normalise(kind, value)
        except UserError:  # e.g. a catalogue name that is also another actor's alias
            continue
        if rng.random() < 0.7:
            user = rng.randint(1, USERS)
            target_kind, target_id, owner, guild = "user", user, user, 0
        else:
            channel = rng.randint(1, CHANNELS)
            target_kind, target_id = "channel", 10_000 + channel
            owner, guild = rng.randint(1, USERS), 1 + channel % GUILDS
        _, created = await store.subscriptions.add(
            guild_id=guild, owner_id=owner, target_kind=target_kind, target_id=target_id,
            kind=kind, value=stored, display=display, now=now,
        )
        made[kind] += created
        if kind == "keyword":
            distinct.add(stored)
    return made, distinct


async def run(args: argparse.Namespace, report: Report) -> None:
    n = args.articles or (5_000 if args.quick else 100_000)
    subs = args.subscriptions or (2_000 if args.quick else 10_000)
    new = args.new or (100 if args.quick else 500)
    section(f"store of {n:,} articles (shared with bench_store)")
    built = await build_store(n, SEED)
    print(describe_built(built))
    holdout = built.holdout()
    fresh = holdout[:new]
    with tempfile.TemporaryDirectory(prefix="bench-alerts-") as tmp:
        db = copy_store(built.path, Path(tmp))
        settings = bench_settings(db)
        async with open_services(settings, clock=lambda: built.clock_now) as services:
            store = services.store
            section(f"{subs:,} subscriptions")
            corpus_cves = sorted({c for a in holdout[new:] for c in a["cves"]})
            corpus_cves += [f"CVE-2024-{1000 + i * 37}" for i in range(300)]
            start = time.perf_counter()
            made, keywords = await add_subscriptions(
                services, subs, corpus_actors=sorted(set(built.actor_names.values())),
                corpus_cves=corpus_cves, new_cves=sorted({c for a in fresh for c in a["cves"]}),
            )
            print(f"    added in {time.perf_counter() - start:.1f} s: {dict(made)}; "
                  f"{len(keywords)} distinct keywords")

            # The held-out news is about a day old at 100k articles but spans weeks in
            # smaller stores: alerts look back far enough that all of it counts as fresh,
            # so every size matches the same news (the date test still runs on every row).
            oldest = min(a["published_at"] for a in fresh)
            max_age = max(timedelta(hours=48), built.clock_now - oldest + timedelta(minutes=1))
            alerts = AlertService(store, clock=lambda: built.clock_now, max_age=max_age)
            assert await alerts.plan_round() == []  # first round: cursor to the store's end
            first = await store.articles.max_id() + 1
            for a in fresh:
                added = await store.articles.add(new_article(a, built.actor_names),
                                                 story_id=None, now=built.clock_now)
                assert added is not None
            last = await store.articles.max_id()
            section(f"{last - first + 1} new stories (article ids {first}…{last})")

            since = built.clock_now - alerts.max_age  # what plan_round passes
            async with SqlRecorder(store.db) as rec:
                found = await store.subscriptions.matches(first, last, published_since=since)
            times = []
            for _ in range(5):
                start = time.perf_counter()
                await store.subscriptions.matches(first, last, published_since=since)
                times.append(time.perf_counter() - start)
            targets = {(k, t) for k, t, _, _ in found}
            pairs = {(k, t, s) for k, t, s, _ in found}
            print(f"    {len(found):,} (target, story, subscription) matches: {len(pairs):,} "
                  f"(target, story) for {len(targets):,} targets")
            report.info(f"matches(), {subs:,} subs × {new} stories (median of 5)",
                        ms(percentile(times, 50)))

            costs, _ = sql_costs(db, rec.statements)
            section("EXPLAIN QUERY PLAN of every statement matches() runs (re-run alone)")
            scans = []
            for cost in sorted(costs, key=lambda c: c.template):
                print(f"    {cost.count:4d}× {cost.seconds * 1000:8.2f} ms {cost.rows:7d} rows  "
                      f"{cost.template[:110]}")
                for line in cost.plan:
                    print(f"{'':22}{line}")
                    if line.startswith("SCAN") and "VIRTUAL TABLE" not in line:
                        scans.append((cost.template, line))
            sql_total = sum(c.seconds for c in costs)
            rows = sum(c.rows for c in costs)
            report.info("  … SQL alone (re-run on a plain connection)", ms(sql_total))
            print(f"    the statements return {rows:,} rows; the rest of matches() is moving "
                  "them through aiosqlite and deduplicating them in Python")
            keyword_cost = sum(c.seconds for c in costs if "articles_fts" in c.template)
            keyword_runs = sum(c.count for c in costs if "articles_fts" in c.template)
            report.info(f"  … of which {keyword_runs} keyword FTS queries (re-run alone)",
                        ms(keyword_cost))
            big = [s for s in scans if any(t in s[1] for t in ("articles", "article_tags",
                                                                 "subscriptions"))]
            report.info("full scans of articles / article_tags / subscriptions",
                        str(len(big)))
            for template, line in big:
                print(f"    SCAN: {line} in {template[:80]}")

            section("AlertService.plan_round (matching, then the ledger writes in one transaction)")
            start = time.perf_counter()
            batches = await alerts.plan_round()
            took = time.perf_counter() - start
            counts = await store.deliveries.counts()
            print(f"    {len(batches):,} batches planned; batch status counts {counts}")
            report.info(f"plan_round(), {len(batches):,} targets", ms(took))
            report.info("  … of which ledger writes (plan_round − matches)",
                        ms(max(0.0, took - percentile(times, 50))))
            start = time.perf_counter()
            assert await alerts.plan_round() == []
            report.info("plan_round() with nothing new", ms(time.perf_counter() - start))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true",
                        help="5,000-article store, 2,000 subscriptions, 100 new stories")
    parser.add_argument("--articles", type=int, help="store size (default 100,000)")
    parser.add_argument("--subscriptions", type=int, help="default 10,000")
    parser.add_argument("--new", type=int, help="new stories (default 500)")
    args = parser.parse_args(argv)
    clean_environment()
    report = Report("bench_alert_match")
    asyncio.run(run(args, report))
    report.summary()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
