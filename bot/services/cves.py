"""CVE lookups (`/cve`, `secbrief cve`) and the vulnerability context every surface
shows next to a CVE.

What is known about a CVE comes from ``store.vulns`` (CISA KEV, FIRST EPSS, NVD CVSS);
each part may be missing, which every surface shows as "unknown". The stories come from
the store's CVE tags, newest first, visible to the asker as actor lookups are: a guild
sees public articles and its own feeds'; None (the operator) sees everything.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from bot.intel.cves import normalise_cve
from bot.services.errors import UserError
from storage.models import ArticleRef
from storage.store import Store
from storage.vuln_models import CveContext

STORIES = 10  # stories a lookup lists
AUTOCOMPLETE = 25
MAX_ID = 40  # longer than any CVE ID (CVE-YYYY- and up to 7 digits), with room for spaces
_SCAN = 5  # tag rows read per story shown (a story's several articles share one entry)
CONTEXT_CHUNK = 5000  # CVEs per context query (a briefing of Patch Tuesday stories names more)


def parse_cve_id(text: str) -> str:
    """The canonical CVE ID (upper case, ASCII hyphens) in ``text``, or a UserError saying
    what a CVE ID looks like. Strict: the rules that tag articles (bot.intel.cves)."""
    value = " ".join(text.split())
    if not value:
        raise UserError("Give a CVE ID, e.g. CVE-2024-3400.")
    cve = normalise_cve(value[:MAX_ID]) if len(value) <= MAX_ID else None
    if cve is None:
        shown = value if len(value) <= MAX_ID else value[:MAX_ID] + "…"
        raise UserError(f"“{shown}” is not a CVE ID: give one such as CVE-2024-3400 "
                        "(CVE, the year, then 4 to 7 digits).")
    return cve


async def cve_contexts(store: Store, ids: Iterable[str]) -> dict[str, CveContext]:
    """The context of each CVE in ``ids`` (one query for up to 5,000 of them); a CVE no
    source knows gets an empty context, so callers never meet a missing key."""
    wanted = list(dict.fromkeys(ids))
    found: dict[str, CveContext] = {}
    for start in range(0, len(wanted), CONTEXT_CHUNK):  # SQLite caps bound parameters
        found.update(await store.vulns.context(wanted[start : start + CONTEXT_CHUNK]))
    return {cve: found.get(cve) or CveContext(id=cve) for cve in wanted}


@dataclass(slots=True)
class CveLookup:
    id: str
    context: CveContext
    stories: list[ArticleRef] = field(default_factory=list)  # newest article per story
    stored_articles: int = 0  # articles naming it, visible to the asker
    first_seen: datetime | None = None
    last_seen: datetime | None = None
    kev_loaded: bool = False  # the KEV catalogue is in the store (so absent = not listed)

    @property
    def name(self) -> str | None:
        """KEV's vulnerabilityName (NVD gives no name)."""
        return self.context.kev.name if self.context.kev else None

    @property
    def description(self) -> str:
        """KEV's shortDescription, else NVD's English description, else ""."""
        kev, cvss = self.context.kev, self.context.cvss
        return (kev.description if kev else "") or (cvss.description if cvss else "")

    @property
    def vendor(self) -> str | None:
        return self.context.kev.vendor if self.context.kev else None

    @property
    def product(self) -> str | None:
        return self.context.kev.product if self.context.kev else None

    @property
    def known(self) -> bool:
        """Whether anything at all is known: a source's data or a stored story."""
        ctx = self.context
        return bool(ctx.kev or ctx.epss or ctx.cvss or self.stored_articles)


class CveService:
    def __init__(self, store: Store) -> None:
        self._store = store

    async def lookup(
        self, text: str, *, limit: int = STORIES, guild_id: int | None = None
    ) -> CveLookup:
        """Everything known about one CVE and the stories naming it, newest first. A
        malformed ID is a UserError; a well-formed one nobody knows is a lookup with
        nothing in it."""
        cve = parse_cve_id(text)
        context = await self._store.vulns.context_one(cve) or CveContext(id=cve)
        articles = self._store.articles
        total, first, last = await articles.tag_stats("cve", cve, guild_id=guild_id)
        kev = await self._store.vulns.source_status("kev")
        result = CveLookup(id=cve, context=context, stored_articles=total,
                           first_seen=first, last_seen=last, kev_loaded=kev.records > 0)
        if total:
            result.stories = await self._stories(cve, limit=limit, guild_id=guild_id)
        return result

    async def _stories(self, cve: str, *, limit: int, guild_id: int | None) -> list[ArticleRef]:
        """The newest article of each of the newest ``limit`` stories naming ``cve``."""
        shown: dict[int | None, ArticleRef] = {}
        offset, page = 0, limit * _SCAN
        while len(shown) < limit:
            refs = await self._store.articles.tagged("cve", cve, limit=page, offset=offset,
                                                     guild_id=guild_id)
            for ref in refs:
                key = ref.story_id if ref.story_id is not None else -ref.id
                shown.setdefault(key, ref)
            if len(refs) < page:
                break
            offset += page
        return list(shown.values())[:limit]

    async def autocomplete(self, typed: str, *, guild_id: int | None = None) -> list[str]:
        """CVE IDs in the store starting with what is typed ("2024-34" and "cve-2024-34"
        alike), newest IDs first, at most 25; visible to the asker only."""
        text = "".join(typed.split()).upper()[:MAX_ID]
        if not text.startswith("CVE-"):
            text = "CVE-" + text.removeprefix("CVE")
        return await self._store.articles.tag_values_starting(
            "cve", text, limit=AUTOCOMPLETE, guild_id=guild_id)
