"""Ingestion end to end over HTTP: the real IngestService against feeds and article pages
served with 100 ms latency from many loopback hosts, next to the bare-library ceiling.

    .venv/bin/python bench/bench_ingest.py [--quick] [--profile] [--feeds N] [--items N]

Feeds and pages come from a child process answering on 127.0.0.1 … 127.0.0.41 (one
aiohttp site per address), so the fetcher's per-host limit sees 40 sites. Pages are
distinct news articles (make_corpus text in paragraphs, plus nav, share bar, related
links, newsletter box, comments, footer and scripts). Every run uses a fresh store.

Figures: articles/s for N feeds × M items with the default SECBRIEF_WORKERS=1 (one worker
process; the figure the targets apply to), and 2 and 0 (threads) for comparison; the
ceiling (bare feedparser on the same feeds + trafilatura on the same pages, one process,
no network); one 1,000-item feed with
SECBRIEF_FETCH_PAGES=0 and 1. Targets: ≥ 100 articles/s, and ≥ 0.7 × the ceiling.

Where the time goes: every run prints its CPU split by role (event-loop thread, SQLite
thread, other threads, worker processes, feed server) and per article; a section times
each worker step in one process (parse_feed, extract_article_text, analyse) against
the bare libraries. --profile adds two extra WORKERS=1 runs: one with every step timed
(wall per call, queueing included) and one with the event-loop thread's CPU profiled.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import io
import math
import pstats
import random
import sys
import tempfile
import threading
import time
from contextlib import AsyncExitStack
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from xml.sax.saxutils import escape

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import feedparser
import trafilatura

from bench.common import (
    Report,
    Route,
    ServedSite,
    bench_settings,
    catalogue_template,
    clean_environment,
    cpu_times,
    create_database,
    fresh_db,
    host_url,
    percentile,
    postgres_server,
    section,
    served,
    thread_cpu,
)
from bot.config import Settings
from bot.news.analyse import RawArticle, analyse
from bot.news.extract import extract_article_text
from bot.news.parse import parse_feed
from bot.services import ingest as ingest_module
from bot.services.container import Services, open_services
from tests.fixtures.make_corpus import make_articles

LATENCY = 0.100  # seconds added before every response
HOSTS = 41  # 127.0.0.1 … 127.0.0.41; pages and feeds live on 127.0.0.2 … 41
PAGE_HOSTS = HOSTS - 1
TARGET_RATE = 100.0
TARGET_SHARE = 0.7
SEED = 7

# -- generated site -------------------------------------------------------------------

_SITES = ("Ledger Security", "Packet Storm Daily", "Breach Wire", "Patch Notes Weekly",
          "Threat Desk", "Signal & Noise", "Red Queen Report", "Blue Team Post")
_SECTIONS = ("News", "Vulnerabilities", "Ransomware", "Nation-State", "Cloud", "Policy",
             "Identity", "ICS/OT", "Podcasts", "Webinars", "Events", "Jobs")
# Project-written analyst filler: no names, no CVEs, so ground-truth tags stay exact.
_ANALYSIS = (
    "Incident responders say the first hours after disclosure decide how much damage an "
    "intrusion does, because attackers automate scanning as soon as details are public.",
    "Defenders who keep an inventory of internet-facing systems can tell within minutes "
    "whether they are exposed, while everyone else has to start by finding out.",
    "Security teams were urged to check logs going back several weeks, since the earliest "
    "signs of compromise often predate any public advisory.",
    "Several managed security providers said they had already pushed detection rules to "
    "customers and were contacting those whose telemetry showed suspicious activity.",
    "Past campaigns of this kind have lasted months, with operators returning to victims "
    "that patched but did not rotate credentials or remove persistence.",
    "Insurance brokers noted that claims linked to unpatched perimeter devices have risen "
    "for three years in a row and now shape the questions underwriters ask.",
    "Regulators in several jurisdictions require notification within days of discovering "
    "a breach, which leaves little time for a full forensic picture.",
    "Analysts cautioned that attribution in the first days after an incident is tentative "
    "and often revised as more evidence surfaces.",
)


def _paragraphs(a: dict, rng: random.Random) -> list[str]:
    """The article text as paragraphs of two or three sentences, plus analysis."""
    sentences = [s.strip() + "." for s in a["text"].replace("\n", " ").split(". ") if s.strip()]
    sentences[-1] = sentences[-1].rstrip(".") + "."
    paras: list[str] = []
    i = 0
    while i < len(sentences):
        k = rng.choice((2, 3))
        paras.append(" ".join(sentences[i : i + k]))
        i += k
    extra = rng.sample(_ANALYSIS, 4)
    paras.insert(min(3, len(paras)), extra[0] + " " + extra[1])
    paras.append(extra[2] + " " + extra[3])
    return paras


def article_page(a: dict, k: int) -> bytes:
    """A distinct ~12 KB article page: ~2-3 KB of paragraphs inside realistic chrome."""
    rng = random.Random(f"page-{k}")
    site = _SITES[k % len(_SITES)]
    title = escape(a["title"])
    when = a["published_at"]
    nav = "".join(f'<li><a href="/section/{s.lower()}">{escape(s)}</a></li>' for s in _SECTIONS)
    body = "\n".join(f"<p>{escape(p)}</p>" for p in _paragraphs(a, rng))
    related = "".join(
        f'<li><a href="/news/{rng.randint(1, 99999)}">{escape(t)}</a>'
        f"<span class=\"teaser\">{escape(_ANALYSIS[j % len(_ANALYSIS)][:90])}…</span></li>"
        for j, t in enumerate(rng.sample(_RELATED_TITLES, 6))
    )
    tags = "".join(f'<a class="tag" href="/tag/{t}">{t}</a>' for t in
                   rng.sample(("ransomware", "zero-day", "apt", "patch", "cisa", "cloud",
                               "phishing", "espionage", "malware", "breach"), 4))
    footer = "".join(f'<a href="/page/{j}">Footer link {j}</a> ' for j in range(30))
    ld = (f'{{"@context":"https://schema.org","@type":"NewsArticle","headline":"{title}",'
          f'"datePublished":"{when.isoformat()}","publisher":{{"name":"{site}"}}}}')
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>{title} | {escape(site)}</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta property="og:title" content="{title}">
<link rel="stylesheet" href="/static/site.css">
<script type="application/ld+json">{ld}</script>
<script>window.dataLayer=window.dataLayer||[];function gtag(){{dataLayer.push(arguments)}}
gtag('js',new Date());gtag('config','G-BENCH{k % 97}');var ads={{slots:[{','.join(
    f'"slot-{j}"' for j in range(40))}]}};</script>
</head><body class="article">
<div id="cookie-consent"><p>We use cookies to personalise content and ads and to analyse
our traffic.</p><button>Accept all</button><button>Manage preferences</button></div>
<header class="site-header"><a class="logo" href="/">{escape(site)}</a>
<nav><ul>{nav}</ul></nav>
<form class="search" action="/search"><input name="q" placeholder="Search"></form></header>
<div class="breadcrumb"><a href="/">Home</a> › <a href="/section/news">News</a></div>
<main><article>
<h1 class="entry-title">{title}</h1>
<div class="byline">By <a href="/author/{k % 13}">Staff Writer {k % 13}</a>
<time datetime="{when.isoformat()}">{when:%B %d, %Y}</time></div>
<div class="share-bar"><a href="#" class="share facebook">Share on Facebook</a>
<a href="#" class="share x">Share on X</a><a href="#" class="share linkedin">LinkedIn</a>
<a href="#" class="share email">Email</a><span class="comments-count">{k % 40} comments</span>
</div>
<div class="entry-content">
{body}
<aside class="inline-related"><strong>Related:</strong>
<a href="/news/{k + 1}">{escape(_RELATED_TITLES[k % len(_RELATED_TITLES)])}</a></aside>
<div class="ad-slot"><span>Advertisement</span></div>
</div>
<div class="tags">{tags}</div>
</article>
<section class="newsletter"><h3>Get the daily briefing</h3><p>Subscribe to our newsletter
for the day's security news in your inbox.</p><form><input type="email">
<button>Subscribe</button></form></section>
<section class="recommended"><h3>Recommended for you</h3><ul>{related}</ul></section>
<section id="comments"><h3>Join the conversation</h3><p>Comments are moderated.</p></section>
</main>
<footer class="site-footer"><div>{footer}</div>
<p>&copy; 2025 {escape(site)}. All rights reserved.</p>
<a href="/privacy">Privacy policy</a> <a href="/terms">Terms of use</a></footer>
<script src="/static/app.js" async></script>
</body></html>
""".encode()


_RELATED_TITLES = (
    "Why perimeter devices keep getting hacked", "Five lessons from a year of ransomware",
    "What the new disclosure rules mean for CISOs", "Inside a help-desk social engineering call",
    "The quiet rise of access brokers", "How attackers abuse remote management tools",
    "Patch Tuesday roundup", "A field guide to initial access", "When backups are not enough",
    "Threat hunting on a budget",
)


def _rss(items: list[tuple[dict, str]], *, title: str, full: bool) -> bytes:
    """RSS 2.0: each item's description is its lead; ``full`` adds content:encoded with
    the article's paragraphs (for feeds read without fetching pages)."""
    out = []
    for a, url in items:
        extra = ""
        if full:
            paras = "".join(f"<p>{escape(p)}</p>" for p in _paragraphs(a, random.Random(url)))
            extra = f"<content:encoded>{escape(paras)}</content:encoded>"
        out.append(
            f"<item><title>{escape(a['title'])}</title><link>{escape(url)}</link>"
            f'<guid isPermaLink="true">{escape(url)}</guid>'
            f"<pubDate>{format_datetime(a['published_at'], usegmt=True)}</pubDate>"
            f"<dc:creator>Staff Writer {a['id'] % 13}</dc:creator>"
            f"<category>Security</category>"
            f"<description>{escape('<p>' + escape(a['lead']) + '</p>')}</description>"
            f"{extra}</item>"
        )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n<rss version="2.0" '
        'xmlns:dc="http://purl.org/dc/elements/1.1/" '
        'xmlns:content="http://purl.org/rss/1.0/modules/content/"><channel>'
        f"<title>{escape(title)}</title><link>http://bench.invalid/</link>"
        "<description>Security news</description>" + "".join(out) + "</channel></rss>\n"
    ).encode()


class Site:
    """The generated corpus as feeds and pages; deterministic, so the server process and
    the ceiling measurement build the same bytes."""

    def __init__(self, feeds: int, items: int) -> None:
        self.feeds = feeds
        self.items = items
        self.total = feeds * items
        base = datetime(2025, 3, 1, tzinfo=UTC)
        self.articles = make_articles(self.total, SEED)
        for i, a in enumerate(self.articles):  # recent news, newest first in each feed
            a["published_at"] = base - timedelta(minutes=7 * i)
        self.pages = [article_page(a, k) for k, a in enumerate(self.articles)]

    @staticmethod
    def page_host(k: int) -> int:
        return 2 + k % PAGE_HOSTS

    def page_path(self, k: int) -> str:
        return f"/news/{k}/{self.articles[k]['url'].rstrip('/').rsplit('/', 1)[-1]}"

    def page_url(self, port: int, k: int) -> str:
        return host_url(self.page_host(k), port, self.page_path(k))

    def feed_url(self, port: int, f: int) -> str:
        return host_url(2 + f % PAGE_HOSTS, port, f"/feeds/{f}.xml")

    def big_feed_url(self, port: int, *, full: bool) -> str:
        return host_url(2, port, "/feeds/all-full.xml" if full else "/feeds/all.xml")

    def feed_bodies(self, port: int) -> dict[str, bytes]:
        bodies = {}
        for f in range(self.feeds):
            ks = range(f * self.items, (f + 1) * self.items)
            bodies[f"/feeds/{f}.xml"] = _rss(
                [(self.articles[k], self.page_url(port, k)) for k in ks],
                title=_SITES[f % len(_SITES)], full=False)
        every = [(a, self.page_url(port, k)) for k, a in enumerate(self.articles)]
        bodies["/feeds/all.xml"] = _rss(every, title="Everything", full=False)
        bodies["/feeds/all-full.xml"] = _rss(every, title="Everything", full=True)
        return bodies

    def routes(self, port: int) -> dict[str, Route]:
        routes = {path: Route(body) for path, body in self.feed_bodies(port).items()}
        for k, page in enumerate(self.pages):
            routes[self.page_path(k)] = Route(page, content_type="text/html; charset=utf-8")
        return routes


# -- measurements ------------------------------------------------------------------------


def bare_extract(html: str, **options: object) -> str | None:
    """trafilatura as bench_parse_extract calls it (no project code)."""
    return trafilatura.extract(
        html, favor_precision=True, include_comments=False, include_tables=False,
        include_images=False, include_links=False, output_format="txt", **options,
    )


def _cpu(fn) -> float:
    start = time.process_time()
    fn()
    return time.process_time() - start


def ceiling(site: Site, port: int) -> tuple[float, float, float]:
    """(articles/s, feed-parse seconds, extraction seconds): bare feedparser on the same
    N feeds and trafilatura on the same pages, one process, no network."""
    feeds = [site.feed_bodies(port)[f"/feeds/{f}.xml"] for f in range(site.feeds)]
    bare_extract(site.pages[0].decode())  # warm-up: imports, lxml
    feedparser.parse(io.BytesIO(feeds[0]))
    t0 = time.perf_counter()
    for body in feeds:
        assert len(feedparser.parse(io.BytesIO(body)).entries) == site.items
    t1 = time.perf_counter()
    for page in site.pages:
        assert bare_extract(page.decode("utf-8"))
    t2 = time.perf_counter()
    return site.total / (t2 - t0), t1 - t0, t2 - t1


async def stage_costs(site: Site, port: int) -> dict[str, float]:
    """CPU ms per article of each step the workers run, one process, same data: the
    project's parse_feed and extract_article_text next to the bare libraries, the whole
    analyse() (extraction included), and trafilatura without its fallback extractors."""
    with tempfile.TemporaryDirectory(prefix="bench-ingest-") as tmp:
        db = await fresh_db(Path(tmp))
        async with open_services(bench_settings(db)) as services:
            tagger = services.tagger
    n = site.total
    feeds = [site.feed_bodies(port)[f"/feeds/{f}.xml"] for f in range(site.feeds)]
    urls = [site.page_url(port, k) for k in range(n)]
    raws = [RawArticle(source="Bench", title=a["title"], url=urls[k],
                       published_at=a["published_at"], page_html=site.pages[k],
                       feed_html=f"<p>{escape(a['lead'])}</p>")
            for k, a in enumerate(site.articles)]
    analyse(raws[0], tagger)  # warm-up
    plain = [bare_extract(p.decode()) for p in site.pages]
    fast: list[str | None] = []
    costs = {
        "feedparser (bare)": _cpu(lambda: [feedparser.parse(io.BytesIO(b)) for b in feeds]),
        "parse_feed (ours)": _cpu(lambda: [parse_feed(b, base_url=urls[0]) for b in feeds]),
        "trafilatura (bare)": _cpu(lambda: [bare_extract(p.decode()) for p in site.pages]),
        "extract_article_text (ours)": _cpu(
            lambda: [extract_article_text(p, url=u) for p, u in zip(site.pages, urls,
                                                                   strict=True)]),
        "analyse() incl. extraction": _cpu(lambda: [analyse(r, tagger) for r in raws]),
        "trafilatura fast=True (bare)": _cpu(
            lambda: fast.extend(bare_extract(p.decode(), fast=True) for p in site.pages)),
    }
    same = sum(a == b for a, b in zip(plain, fast, strict=True))
    print(f"    trafilatura fast=True gives the same text as the default on {same}/{n} pages")
    return {name: seconds / n * 1000 for name, seconds in costs.items()}


class Run:
    def __init__(self, label: str, expected: int) -> None:
        self.label = label
        self.expected = expected
        self.wall = math.nan
        self.added = 0
        self.failed = 0
        self.cpu: dict[str, float] = {}  # seconds by role
        self.profile: pstats.Stats | None = None

    @property
    def rate(self) -> float:
        return self.added / self.wall

    def describe(self) -> str:
        total = sum(v for k, v in self.cpu.items() if k != "feed server")
        parts = ", ".join(f"{k} {v:.1f}" for k, v in self.cpu.items())
        return (f"{self.label}: {self.added} added, {self.failed} failed in {self.wall:.2f} s\n"
                f"      CPU s: {parts}\n"
                f"      = {total / max(self.added, 1) * 1000:.1f} ms CPU per article in secbrief; "
                f"both cores {sum(self.cpu.values()) / (2 * self.wall):.0%} busy "
                f"(server included); event loop {self.cpu.get('event loop', 0) / self.wall:.0%}")


async def run_ingest(label: str, urls: list[str], expected: int, *, server: ServedSite,
                     workers: int, fetch_pages: bool, profile: bool = False,
                     stages: bool = False) -> Run:
    """One IngestService.poll on a fresh store, with its CPU split by role: the event-loop
    thread, the SQLite connection's thread, other threads (analysis threads when
    WORKERS=0; the pool's feeder threads), the worker processes, and the feed server."""
    run = Run(label, expected)
    main_tid = threading.main_thread().native_id
    with tempfile.TemporaryDirectory(prefix="bench-ingest-") as tmp:
        db = await fresh_db(Path(tmp))
        settings = bench_settings(db, SECBRIEF_WORKERS=workers,
                                  SECBRIEF_FETCH_PAGES=fetch_pages)
        _, children0 = cpu_times()
        server0 = server.cpu()
        async with open_services(settings) as services:
            sqlite_tid = getattr(getattr(services.store.db, "_thread", None), "native_id", None)
            profiler = None
            if profile:
                # Start the worker pool first: forked while the profiler is on, the workers
                # would inherit it and run several times slower.
                executor = getattr(services.ingest, "_executor", None)
                if executor is not None:
                    await asyncio.get_running_loop().run_in_executor(executor, int)
                profiler = cProfile.Profile(time.thread_time)
            timers = Stages(services) if stages else None
            threads0 = thread_cpu()
            start = time.perf_counter()
            if profiler:
                profiler.enable()
            try:
                report = await services.ingest.poll(urls)
            finally:
                if profiler:
                    profiler.disable()
                    run.profile = pstats.Stats(profiler)
                if timers:
                    timers.restore()
            run.wall = time.perf_counter() - start
            threads1 = thread_cpu()
        _, children1 = cpu_times()  # the pool has shut down: its CPU is counted
        server1 = server.cpu()
    roles = {"event loop": 0.0, "SQLite thread": 0.0, "other threads": 0.0}
    for tid, seconds in threads1.items():
        role = ("event loop" if tid == main_tid else
                "SQLite thread" if tid == sqlite_tid else "other threads")
        roles[role] += seconds - threads0.get(tid, 0.0)
    roles["workers"] = children1 - children0
    roles["feed server"] = server1 - server0
    run.cpu = roles
    run.added, run.failed = report.added, report.failed
    if report.added != expected or report.errors:
        print(f"    WARNING {label}: expected {expected} added, got {report.added} "
              f"(duplicates {report.duplicates}, failed {report.failed}); "
              f"errors: {report.errors[:3]}")
    print(f"    {run.describe()}", flush=True)
    if timers:
        timers.print()
    return run


class Stages:
    """Wall time of each ingestion step per article, waiting included, by wrapping the
    services' methods for one run (diagnostics only: --profile)."""

    STEPS = ("fetch", "analyse", "find_story", "articles.add", "commentary.refresh")

    def __init__(self, services: Services) -> None:
        self.events: list[tuple[str, float, float]] = []
        self.t0 = time.perf_counter()
        self._undo: list[tuple[object, str, object]] = []
        ingest = services.ingest
        self._wrap(getattr(ingest, "_fetcher", None), "fetch", "fetch")
        self._wrap(ingest, "_analyse", "analyse")
        self._wrap(ingest_module, "find_story", "find_story")
        self._wrap(services.store.articles, "add", "articles.add")
        self._wrap(services.commentary, "refresh", "commentary.refresh")

    def _wrap(self, owner: object, name: str, label: str) -> None:
        original = getattr(owner, name, None)
        if original is None:
            return

        async def timed(*args, **kwargs):
            start = time.perf_counter()
            try:
                return await original(*args, **kwargs)
            finally:
                self.events.append((label, start, time.perf_counter()))

        setattr(owner, name, timed)
        self._undo.append((owner, name, original))

    def restore(self) -> None:
        for owner, name, original in reversed(self._undo):
            if owner is ingest_module:
                setattr(owner, name, original)
            else:
                delattr(owner, name)  # back to the class attribute

    def print(self) -> None:
        print("    wall per call, waiting included; 'done by': seconds after the poll began")
        print(f"    {'step':<20} {'calls':>6} {'mean':>9} {'p95':>9} {'done by':>9}")
        for step in self.STEPS:
            spans = [(a - self.t0, b - self.t0) for label, a, b in self.events if label == step]
            if not spans:
                continue
            took = [b - a for a, b in spans]
            print(f"    {step:<20} {len(spans):6d} {sum(took) / len(took) * 1000:6.0f} ms "
                  f"{percentile(took, 95) * 1000:6.0f} ms {max(b for _, b in spans):8.2f} s")


def print_profile(stats: pstats.Stats, top: int = 25) -> None:
    out = io.StringIO()
    stats.stream = out  # type: ignore[attr-defined]
    stats.sort_stats("tottime").print_stats(top)
    lines = out.getvalue().splitlines()
    start = next((i for i, line in enumerate(lines) if "ncalls" in line), 0)
    print(f"    cProfile (CPU time of the event-loop thread), top {top} by own time:")
    for line in lines[start : start + top + 1]:
        print("      " + line.strip()[:150])


async def main_async(args: argparse.Namespace, site: Site, server: ServedSite) -> Report:
    report = Report("bench_ingest")
    await catalogue_template()  # built once and cached; not part of any figure
    port = server.port
    n = site.total
    feed_urls = [site.feed_url(port, f) for f in range(site.feeds)]
    default_of = {name: f.default for name, f in Settings.model_fields.items()}
    at_once = min(default_of["fetch_concurrency"], PAGE_HOSTS * default_of["per_host_limit"])
    floor = math.ceil(n / at_once) * LATENCY + LATENCY  # one feed round, then the pages
    print(f"{site.feeds} feeds × {site.items} items = {n} articles; pages average "
          f"{sum(map(len, site.pages)) / n / 1024:.1f} KB on {PAGE_HOSTS} loopback hosts; "
          f"{LATENCY * 1000:.0f} ms latency per response")
    print(f"network floor at the default limits ({at_once} page fetches at once): "
          f"≥ {floor:.2f} s, i.e. ≤ {n / floor:.0f} articles/s")

    section("ceiling: bare feedparser + trafilatura, same feeds and pages, 1 process")
    ceil_rate, parse_s, extract_s = ceiling(site, port)
    print(f"    feedparser {parse_s:.2f} s for {site.feeds} feeds; trafilatura {extract_s:.2f} s "
          f"for {n} pages ({extract_s / n * 1000:.1f} ms/page)")
    report.info("ceiling (bare libraries, 1 process)", f"{ceil_rate:.0f} art/s")

    section("CPU per article of each worker step, 1 process, same data")
    for name, per in (await stage_costs(site, port)).items():
        report.info(f"  {name}", f"{per:.2f} ms/art")

    section(f"IngestService.poll, {site.feeds} feeds × {site.items} items, pages fetched")
    default = default_of["workers"]
    for workers in (default, *sorted({0, 1, 2} - {default}, reverse=True)):
        mode = "process pool" if workers else "threads"
        run = await run_ingest(f"WORKERS={workers} ({mode})", feed_urls, n, server=server,
                               workers=workers, fetch_pages=True)
        if workers != default:  # for comparison: the targets apply to the default
            report.info(f"ingest {site.feeds}×{site.items}, WORKERS={workers}",
                        f"{run.rate:.0f} art/s ({run.rate / ceil_rate:.2f}×)")
            continue
        report.check(f"ingest {site.feeds}×{site.items}, WORKERS={workers}",
                     f"{run.rate:.0f} art/s", f"≥ {TARGET_RATE:.0f} art/s",
                     run.rate >= TARGET_RATE)
        report.check(f"  … share of ceiling, WORKERS={workers}",
                     f"{run.rate / ceil_rate:.2f}×", f"≥ {TARGET_SHARE}×",
                     run.rate >= TARGET_SHARE * ceil_rate)
        report.info(f"  … wall time, WORKERS={workers}", f"{run.wall:.2f} s")

    section(f"one {n}-item feed (WORKERS={default})")
    for fetch_pages in (False, True):
        url = site.big_feed_url(port, full=not fetch_pages)
        run = await run_ingest(f"1 feed × {n}, FETCH_PAGES={int(fetch_pages)}", [url], n,
                               server=server, workers=default, fetch_pages=fetch_pages)
        report.info(f"1 feed × {n}, FETCH_PAGES={int(fetch_pages)}: wall",
                    f"{run.wall:.2f} s")
        report.check(f"1 feed × {n}, FETCH_PAGES={int(fetch_pages)}: rate",
                     f"{run.rate:.0f} art/s", f"≥ {TARGET_RATE:.0f} art/s",
                     run.rate >= TARGET_RATE)

    if args.profile:
        section(f"re-run with each step timed: {site.feeds} feeds × {site.items} items, "
                f"WORKERS={default}")
        await run_ingest(f"timed steps WORKERS={default}", feed_urls, n, server=server,
                         workers=default, fetch_pages=True, stages=True)
        section(f"profiled re-run: {site.feeds} feeds × {site.items} items, "
                f"WORKERS={default} (pool started first; the profiler slows the event loop, "
                "so no figure)")
        run = await run_ingest(f"profiled WORKERS={default}", feed_urls, n, server=server,
                               workers=default, fetch_pages=True, profile=True)
        if run.profile is not None:
            print_profile(run.profile)
    return report


async def ingest_processes(label: str, db: Path | str, urls: list[str], expected: int, *,
                           processes: int) -> tuple[float, int]:
    """``processes`` real ``secbrief ingest --once`` workers started together on one
    store (each claims the due feeds it polls; storage/claims.py): (wall s, articles
    stored). The catalogue is loaded into the store before the clock starts."""
    import os
    import subprocess

    from storage.store import Store

    async with open_services(bench_settings(db)):
        pass  # the store's schema and catalogue, as a running bot's store has them
    with tempfile.TemporaryDirectory(prefix="bench-ingest-proc-") as tmp:
        feeds = Path(tmp) / "feeds.txt"
        feeds.write_text("".join(f"{u}\n" for u in urls))
        env = {k: v for k, v in os.environ.items() if not k.startswith("SECBRIEF_")}
        env.update(SECBRIEF_DATABASE=str(db), SECBRIEF_FEEDS=str(feeds),
                   SECBRIEF_ALLOW_PRIVATE_FEEDS="1", SECBRIEF_WORKERS="1",
                   SECBRIEF_KEV_URL="", SECBRIEF_EPSS_URL="", SECBRIEF_NVD_URL="")
        start = time.perf_counter()
        procs = [await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot", "ingest", "--once", "--json", env=env,
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE) for _ in range(processes)]
        errors = [(await p.communicate())[1] for p in procs]
        wall = time.perf_counter() - start
    for proc, err in zip(procs, errors, strict=True):
        if proc.returncode != 0:
            print(f"    WARNING {label}: a worker exited {proc.returncode}: "
                  f"{err.decode()[-300:]}")
    store = await Store.open(db)
    try:
        added = await store.articles.count()
    finally:
        await store.close()
    if added != expected:
        print(f"    WARNING {label}: expected {expected} articles, stored {added}")
    print(f"    {label}: {added} articles in {wall:.2f} s = {added / wall:.0f} art/s "
          "(process start and exit included)", flush=True)
    return wall, added


async def main_processes(args: argparse.Namespace, site: Site, server: ServedSite) -> Report:
    """--database: `secbrief ingest` workers end to end, SQLite ×1 and PostgreSQL ×1, ×2."""
    report = Report("bench_ingest --database")
    await catalogue_template()
    urls = [site.feed_url(server.port, f) for f in range(site.feeds)]
    n = site.total
    section(f"secbrief ingest --once workers, {site.feeds} feeds × {site.items} items, "
            f"pages fetched, SECBRIEF_WORKERS=1 each")
    runs: list[tuple[str, int]] = []
    if args.database in ("sqlite", "both"):
        runs.append(("sqlite", 1))
    if args.database in ("postgres", "both"):
        runs += [("postgres", 1), ("postgres", 2)]
    async with AsyncExitStack() as stack:
        server = (await stack.enter_async_context(postgres_server())
                  if any(kind == "postgres" for kind, _ in runs) else None)
        for number, (kind, processes) in enumerate(runs):
            with tempfile.TemporaryDirectory(prefix="bench-ingest-") as tmp:
                if kind == "sqlite":
                    db: Path | str = await fresh_db(Path(tmp))
                else:
                    db = await create_database(server, f"ingest_{number}")
                name = "SQLite" if kind == "sqlite" else "PostgreSQL"
                label = f"{name}, {processes} worker{'s' if processes > 1 else ''}"
                wall, added = await ingest_processes(label, db, urls, n, processes=processes)
                report.check(f"secbrief ingest ×{processes}, {name}",
                             f"{added / wall:.0f} art/s", f"≥ {TARGET_RATE:.0f} art/s",
                             added / wall >= TARGET_RATE)
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="4 feeds × 25 items (smoke run)")
    parser.add_argument("--feeds", type=int, help="feeds (default 10)")
    parser.add_argument("--items", type=int, help="items per feed (default 100)")
    parser.add_argument("--profile", action="store_true",
                        help="cProfile the event-loop thread during the process-pool run")
    parser.add_argument("--database", choices=("sqlite", "postgres", "both"),
                        help="instead: real `secbrief ingest --once` workers on that store "
                             "(SQLite ×1; PostgreSQL ×1 and ×2, a throw-away server)")
    args = parser.parse_args(argv)
    clean_environment()
    feeds = args.feeds or (4 if args.quick else 10)
    items = args.items or (25 if args.quick else 100)
    site = Site(feeds, items)
    # The server process is forked before any store, thread or event loop exists.
    assert threading.active_count() == 1
    with served(site.routes, hosts=HOSTS, latency=LATENCY) as server:
        run = main_processes if args.database else main_async
        report = asyncio.run(run(args, site, server))
    report.summary()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
