"""Full-text search over the stored articles: two FTS5 indexes (migrations 001 and
009), queried newest first, kept compact by the bot's daily job."""

from __future__ import annotations

import re

import aiosqlite

from storage.articles import VISIBLE, article_ref, placeholders
from storage.db import write_lock
from storage.models import SearchHit

# Search puts first, among its newest SEARCH_WINDOW matches, those whose title or key
# points hold every word (the headlines_fts index of migration 009).
SEARCH_WINDOW = 500
FTS_INDEXES = ("articles_fts", "headlines_fts")
_WORD = re.compile(r"[\w][\w.\-']*", re.UNICODE)


def fts_query(text: str, *, any_word: bool = False) -> str | None:
    """Turn free user text into a safe FTS5 query: every word quoted, so operators,
    quotes, parentheses and column filters in the input are plain words."""
    words = [w.strip(".-'") for w in _WORD.findall(text)]
    words = [w for w in words if w][:32]
    if not words:
        return None
    quoted = ['"' + w.replace('"', '""') + '"' for w in words]
    return (" OR " if any_word else " ").join(quoted)


class SearchRepository:
    def __init__(self, db: aiosqlite.Connection) -> None:
        self._db = db

    async def search(
        self, query: str, *, limit: int = 10, offset: int = 0, guild_id: int | None = None
    ) -> list[SearchHit]:
        """Articles containing every word of ``query`` (stemmed), newest first, with
        those among the newest SEARCH_WINDOW whose title or key points hold every word
        put first.

        Each step is an FTS5 walk newest-first that stops at its limit, so a common word
        costs no more than a rare one (bm25 reads every match of every term to weigh
        them: several milliseconds on a 100k-article store)."""
        match = fts_query(query)
        if match is None:
            return []
        wanted = offset + limit
        newest = await self._search_ids("articles_fts", match, guild_id,
                                        limit=max(SEARCH_WINDOW, wanted))
        if not newest:
            return []
        # Headline matches are looked for only as far back as the window, the same for
        # every page, so the walk is bounded and paging is stable.
        floor = newest[min(SEARCH_WINDOW, len(newest)) - 1]
        headline = await self._search_ids("headlines_fts", match, guild_id, limit=wanted,
                                          floor=floor)
        found = dict.fromkeys(headline, 0)  # article id -> tier, in result order
        for article_id in newest:
            found.setdefault(article_id, 1)
        page = list(found)[offset:wanted]
        if not page:
            return []
        # Snippets for the page only, in one FTS5 walk over its rowid range: "+rowid IN"
        # filters that walk instead of making FTS5 seek every term once per hit.
        async with self._db.execute(
            "SELECT a.id, a.title, a.url, a.source, a.published_at, a.story_id,"
            " snippet(articles_fts, 2, '', '', '…', 24) AS snip"
            " FROM articles_fts JOIN articles a ON a.id = articles_fts.rowid"
            " WHERE articles_fts MATCH ? AND articles_fts.rowid BETWEEN ? AND ?"
            f" AND +articles_fts.rowid IN ({placeholders(len(page))})",
            (match, min(page), max(page), *page),
        ) as cur:
            rows = {r["id"]: r for r in await cur.fetchall()}
        return [
            SearchHit(article=article_ref(rows[i]), snippet=rows[i]["snip"] or "", tier=found[i])
            for i in page
            if i in rows
        ]

    async def _search_ids(
        self, index: str, match: str, guild_id: int | None, *, limit: int, floor: int = 0
    ) -> list[int]:
        """Ids of visible articles matching an FTS5 expression in ``index`` (one of the
        two fixed table names), newest first."""
        async with self._db.execute(
            f"SELECT rowid FROM {index} WHERE {index} MATCH ? AND rowid >= ?"
            # visibility without reading each (large) article row: not one of the
            # other guilds' private articles, few and listed by a partial index
            " AND (? IS NULL OR rowid NOT IN (SELECT id FROM articles"
            " WHERE scope_guild != 0 AND scope_guild != ?))"
            " ORDER BY rowid DESC LIMIT ?",
            (match, floor, guild_id, guild_id, limit),
        ) as cur:
            return [row[0] for row in await cur.fetchall()]

    async def compact_step(self, pages: int = 200) -> bool:
        """One bounded step (about ``pages`` pages written per index, tens of
        milliseconds at 100k articles) of merging each full-text index into a single
        segment: FTS5's 'merge' with a negative count, an incremental 'optimize'. Each
        transaction adds a small segment; merged, searches read one doclist per term
        instead of several. Returns whether the step did any work."""
        worked = False
        async with write_lock(self._db):
            for index in FTS_INDEXES:
                before = self._db.total_changes
                await self._db.execute(
                    f"INSERT INTO {index} ({index}, rank) VALUES ('merge', ?)", (-pages,)
                )
                worked |= self._db.total_changes - before > 1
        return worked

    async def count_matching(self, phrase: str, *, guild_id: int | None = None) -> int:
        """How many articles contain ``phrase`` as a phrase (for "appears in N articles")."""
        words = [w for w in _WORD.findall(phrase)][:16]
        if not words:
            return 0
        match = '"' + " ".join(w.replace('"', '""') for w in words) + '"'
        async with self._db.execute(
            "SELECT count(*) FROM articles_fts JOIN articles a ON a.id = articles_fts.rowid"
            f" WHERE articles_fts MATCH ? AND {VISIBLE}",
            (match, guild_id, guild_id),
        ) as cur:
            return (await cur.fetchone())[0]
