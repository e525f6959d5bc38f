"""Full-text search over the stored articles: on SQLite two FTS5 indexes (migrations
001 and 009), queried newest first, kept compact by the bot's daily job; on PostgreSQL
the GIN indexes of the narrow article_search table (migration postgres/017)."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from storage.articles import _TAG_VISIBLE, VISIBLE, article_ref, placeholders
from storage.db import Database, PostgresDatabase, SqliteDatabase, write_lock
from storage.models import SearchHit, SearchPage

# Search ranks its newest SEARCH_WINDOW matches (by rowid) by publication day, putting
# first within a day those whose title or key points hold every word (the headlines_fts
# index of migration 009).
SEARCH_WINDOW = 500
# PostgreSQL: how far back the newest-matches lookup reaches, beyond the ids that the
# matches' share of the store says should hold SEARCH_WINDOW of them (see _newest).
PROBE_SLACK = 1.5
PROBE_MIN_IDS = 1024
FTS_INDEXES = ("articles_fts", "headlines_fts")
_WORD = re.compile(r"[\w][\w.\-']*", re.UNICODE)


def match_param(db: Database, text: str) -> str | None:
    """The search parameter for ``text`` in ``db``'s dialect: an FTS5 expression on
    SQLite; on PostgreSQL the words themselves, for plainto_tsquery (which ANDs them,
    stems them and treats operators as plain words)."""
    if db.dialect == "sqlite":
        return fts_query(text)
    words = [w.strip(".-'") for w in _WORD.findall(text)]
    words = [w for w in words if w][:32]
    return " ".join(words) or None


# PostgreSQL's forms of an FTS5 MATCH: the two tsvector columns of the narrow
# article_search table (migration postgres/017), for every word (plainto_tsquery) or one
# phrase (phraseto_tsquery). Queries alias that table ``a``: it carries the scope_guild
# that the shared visibility rule (VISIBLE) reads, so a search never reads the wide
# articles rows.
_PG_INDEX = {"articles_fts": "search", "headlines_fts": "headline"}
_PG_WORDS = "@@ plainto_tsquery('secbrief', secbrief_fold(?))"
_PG_PHRASE = "@@ phraseto_tsquery('secbrief', secbrief_fold(?))"


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
    def __init__(self, db: Database) -> None:
        self._db = db

    async def search(
        self, query: str, *, limit: int = 10, offset: int = 0, guild_id: int | None = None
    ) -> list[SearchHit]:
        """The hits of ``page``."""
        found = await self.page(query, limit=limit, offset=offset, guild_id=guild_id)
        return found.hits

    async def page(
        self, query: str, *, limit: int = 10, offset: int = 0, guild_id: int | None = None
    ) -> SearchPage:
        """Articles containing every word of ``query`` (stemmed), newest first by
        publication date (undated ones by when they were fetched), and how many match.

        The index is walked newest-first by rowid (ingest order) and stops at
        SEARCH_WINDOW matches, so a common word costs no more than a rare one (bm25
        reads every match of every term: several milliseconds on a 100k-article store).
        That window is then ranked by publication day, and within a day the articles
        whose title or key points hold every word come first; matches past the window
        (pages beyond the 500th result) follow in ingest order. (PostgreSQL's GIN has no
        order to walk: see _newest.) Each hit carries its article's text, for the
        caller to choose a snippet from."""
        match = match_param(self._db, query)
        if match is None:
            return SearchPage([], 0, offset)
        wanted = offset + limit
        walked = max(SEARCH_WINDOW, wanted)
        async with self._index_scans():
            newest, total, dates = await self._newest(match, guild_id, walked)
            if not newest:
                return SearchPage([], 0, offset)
            if total is None:
                total = (len(newest) if len(newest) < walked
                         else await self._count(match, guild_id))
            window = newest[:SEARCH_WINDOW]
            headline = set(await self._search_ids("headlines_fts", match, guild_id,
                                                  limit=len(window), floor=window[-1]))
            if dates is None:
                dates = await self._dates(window)
        # Newest day first; within a day headline matches, then the newest, then by id.
        window.sort(key=lambda i: (dates.get(i, "")[:10], i in headline,
                                   dates.get(i, ""), i), reverse=True)
        ordered = window + newest[SEARCH_WINDOW:]
        page = ordered[offset:wanted]
        if not page:
            return SearchPage([], total, offset)
        async with self._db.execute(
            "SELECT a.id, a.title, a.url, a.source, a.published_at, a.story_id, a.lead,"
            f" a.text FROM articles a WHERE a.id IN ({placeholders(len(page))})",
            page,
        ) as cur:
            rows = {r["id"]: r for r in await cur.fetchall()}
        hits = [
            SearchHit(article=article_ref(rows[i]), snippet="",
                      tier=0 if i in headline else 1,
                      text=rows[i]["text"] or rows[i]["lead"] or "")
            for i in page
            if i in rows
        ]
        return SearchPage(hits, total, offset)

    async def _newest(
        self, match: str, guild_id: int | None, walked: int
    ) -> tuple[list[int], int | None, dict[int, str] | None]:
        """The newest ``walked`` visible matches (ids, newest first); how many match in
        all, and each match's date (as _dates gives them), when read on the way (else
        None)."""
        if self._db.dialect == "sqlite":  # FTS5 walks newest first and stops at the limit
            ids = await self._search_ids("articles_fts", match, guild_id, limit=walked)
            return ids, None, None
        # GIN yields its matches in no order: count them first (cheap: the visibility
        # map spares the heap), and when there are more than wanted ask GIN only for the
        # newest id blocks that should hold them, from the matches' share of the ids.
        row = await self._db.fetchall(
            "SELECT count(*), (SELECT min(id) FROM article_search),"
            " (SELECT max(id) FROM article_search)"
            f" FROM article_search a WHERE a.search {_PG_WORDS} AND {VISIBLE}",
            (match, guild_id, guild_id))
        total, first, last = row[0]  # type: ignore[index]
        # (Blocks reaching back over half the store cost GIN more than they save: then
        # all matches, as for a word with no more than ``walked`` of them.)
        floor = 0
        if total > walked:
            span = int(walked * (last - first + 1) / total * PROBE_SLACK) + PROBE_MIN_IDS
            floor = last - span if span < (last - first) // 2 else 0
        rows = await self._search_rows("articles_fts", match, guild_id, limit=walked,
                                       floor=floor)
        if floor and len(rows) < walked:  # the matches are older than their share says
            rows = await self._search_rows("articles_fts", match, guild_id, limit=walked)
        return [r[0] for r in rows], total, {r[0]: r[1] for r in rows}

    async def _dates(self, ids: list[int]) -> dict[int, str]:
        """SQLite: id -> publication time (fetch time when undated), as sortable stored
        text (PostgreSQL reads them with the ids, from article_search.at)."""
        rows = await self._db.fetchall(
            "SELECT id, coalesce(published_at, fetched_at) FROM articles"
            f" WHERE id IN ({placeholders(len(ids))})", ids)
        return {row[0]: row[1] or "" for row in rows}

    async def _count(self, match: str, guild_id: int | None) -> int:
        """SQLite: how many visible articles match (read only when the window is full;
        PostgreSQL counts first, in _newest)."""
        return await self._db.fetchval(
            "SELECT count(*) FROM articles_fts WHERE articles_fts MATCH ?"
            " AND (? IS NULL OR rowid NOT IN (SELECT id FROM articles"
            " WHERE scope_guild != 0 AND scope_guild != ?))", (match, guild_id, guild_id))

    @asynccontextmanager
    async def _index_scans(self) -> AsyncIterator[None]:
        """PostgreSQL: the statements inside run in one transaction with no sequential
        scan and a plan made for each call's values. The planner does not count reading
        each row's TOASTed tsvector, so it would filter a sequential scan with @@
        (hundreds of ms at 5,000 articles, seconds at 100,000) where the bitmap scan of
        the GIN index takes ~1 ms. (The other wrong way in, a backward walk of the
        primary key filtered the same way, the queries close themselves: they order and
        bound by ``a.id + 0``, which no index holds.) And the generic plan a prepared
        statement gets after five calls keeps the visibility test of a NULL guild, so a
        count reads every matching row instead of the visibility map: 11.5 against 4.3
        ms for a common word at 100,000 articles. Inside a caller's transaction, or on
        SQLite, nothing changes."""
        db = self._db
        if not isinstance(db, PostgresDatabase) or db._conn() is not None:
            yield
            return
        async with db.transaction(search_plans=True):
            yield

    async def _search_ids(
        self, index: str, match: str, guild_id: int | None, *, limit: int, floor: int = 0
    ) -> list[int]:
        """Ids of visible articles matching an FTS5 expression in ``index`` (one of the
        two fixed table names), newest first, from id ``floor`` on."""
        rows = await self._search_rows(index, match, guild_id, limit=limit, floor=floor)
        return [row[0] for row in rows]

    async def _search_rows(
        self, index: str, match: str, guild_id: int | None, *, limit: int, floor: int = 0
    ) -> list[Any]:
        """_search_ids' rows: the id, and on PostgreSQL for ``articles_fts`` its date
        (article_search.at). On PostgreSQL a floor also narrows the GIN lookup to the id
        blocks from it on (migration 017)."""
        params: tuple[object, ...] = (match, floor, guild_id, guild_id, limit)
        if self._db.dialect == "sqlite":
            sql = (f"SELECT rowid FROM {index} WHERE {index} MATCH ? AND rowid >= ?"
                   # visibility without reading each (large) article row: not one of the
                   # other guilds' private articles, few and listed by a partial index
                   " AND (? IS NULL OR rowid NOT IN (SELECT id FROM articles"
                   " WHERE scope_guild != 0 AND scope_guild != ?))"
                   " ORDER BY rowid DESC LIMIT ?")
        else:
            blocks = ""
            if floor > 0:  # GIN intersects the word's matches with these blocks itself
                blocks = (" AND a.id_block && secbrief_id_blocks(?, (SELECT max(id)"
                          " FROM article_search))")
                params = (match, floor, *params[1:])
            # (a.id + 0: the primary key must not be the way in, see _index_scans)
            columns = "a.id, a.at" if index == "articles_fts" else "a.id"
            sql = (f"SELECT {columns} FROM article_search a WHERE a.{_PG_INDEX[index]}"
                   f" {_PG_WORDS}{blocks} AND a.id + 0 >= ? AND {VISIBLE}"
                   " ORDER BY a.id + 0 DESC LIMIT ?")
        return await self._db.fetchall(sql, params)

    async def compact_step(self, pages: int = 200) -> bool:
        """One bounded step (about ``pages`` pages written per index, tens of
        milliseconds at 100k articles) of merging each full-text index into a single
        segment: FTS5's 'merge' with a negative count, an incremental 'optimize'. Each
        transaction adds a small segment; merged, searches read one doclist per term
        instead of several. Returns whether the step did any work."""
        if not isinstance(self._db, SqliteDatabase):
            return False  # PostgreSQL: GIN's pending list is merged by (auto)vacuum
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
        match = _phrase(self._db, phrase)
        if match is None:
            return 0
        sql = self._db.pick({
            "sqlite": "SELECT count(*) FROM articles_fts"
                      " JOIN articles a ON a.id = articles_fts.rowid"
                      f" WHERE articles_fts MATCH ? AND {VISIBLE}",
            "postgres": f"SELECT count(*) FROM article_search a WHERE a.search {_PG_PHRASE}"
                        f" AND {VISIBLE}",
        })
        async with self._index_scans():
            return await self._db.fetchval(sql, (match, guild_id, guild_id))

    async def phrase_context(
        self, phrase: str, *, guild_id: int | None = None, window: int = SEARCH_WINDOW,
        actors: int = 3,
    ) -> tuple[int, list[str]]:
        """(stories, actors) for the newest ``window`` visible articles holding
        ``phrase``: how many stories they make, and the actors tagged in them most
        often ("appears in 1 stored story, with Flax Typhoon")."""
        match = _phrase(self._db, phrase)
        if match is None:
            return 0, []
        newest = self._db.pick({
            "sqlite": "SELECT rowid FROM articles_fts WHERE articles_fts MATCH ?"
                      " ORDER BY rowid DESC LIMIT ?",
            # (id + 0: see _index_scans; a phrase is rechecked against each candidate's
            # tsvector, so a walk of the primary key would read every one of them)
            "postgres": f"SELECT id FROM article_search WHERE search {_PG_PHRASE}"
                        " ORDER BY id + 0 DESC LIMIT ?",
        })
        async with self._index_scans():
            stories = await self._db.fetchval(
                f"SELECT count(DISTINCT a.story_id) FROM articles a WHERE a.id IN ({newest})"
                f" AND {VISIBLE}",
                (match, window, guild_id, guild_id),
            )
            rows = await self._db.fetchall(
                "SELECT t.value FROM article_tags t WHERE t.kind = 'actor'"
                f" AND t.article_id IN ({newest}) AND {_TAG_VISIBLE}"
                " GROUP BY t.value ORDER BY count(DISTINCT t.story_id) DESC, t.value LIMIT ?",
                (match, window, guild_id, guild_id, actors),
            )
        return stories, [row[0] for row in rows]


def _phrase(db: Database, text: str) -> str | None:
    """``text`` as one quoted FTS5 phrase (its words in order), or None without words;
    on PostgreSQL the words, for phraseto_tsquery."""
    words = _WORD.findall(text)[:16]
    if not words:
        return None
    if db.dialect == "postgres":
        return " ".join(words)
    return '"' + " ".join(w.replace('"', '""') for w in words) + '"'
