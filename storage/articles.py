"""Articles and the stories that group them, with tags and full-text search."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Iterable, Sequence
from datetime import date, datetime
from typing import Any

from storage.db import Database, execute_write
from storage.models import (
    Article,
    ArticleRef,
    ClusterCandidate,
    NewArticle,
    Story,
    StoryOutline,
)
from storage.timeutil import from_db, to_db

_TAG_KINDS = ("actor", "cve", "vendor", "org")


def simhash_bands(simhash: int) -> tuple[int, int, int, int]:
    """The four 16-bit bands of a (signed) 64-bit simhash, as migration 003 defines them."""
    return tuple((simhash >> shift) & 0xFFFF for shift in (0, 16, 32, 48))  # type: ignore[return-value]


# Visibility: None sees everything (the operator's CLI and shell); a guild id sees
# public articles (scope 0) and its own feeds' articles. Used with params (g, g).
VISIBLE = "(CAST(? AS BIGINT) IS NULL OR a.scope_guild IN (0, ?))"


# The same rule on a tag row, which carries its article's scope (migration 006).
_TAG_VISIBLE = "(CAST(? AS BIGINT) IS NULL OR t.scope_guild IN (0, ?))"


# PostgreSQL advisory lock key serialising article inserts (see ArticleRepository.add).
ARTICLE_WRITE_LOCK = 0x5ECB_A871


def placeholders(n: int) -> str:
    return ",".join("?" * n)


def id_in(db: Database, column: str, ids: Sequence[int]) -> tuple[str, list[object]]:
    """``column IN (?, …)`` for these ids, with its params. PostgreSQL gets one array
    parameter instead (the same plan: it reads an IN list as ``= ANY(array)``), so one
    prepared statement serves every count: asyncpg prepares each distinct text once per
    connection, and a text per list length would crowd its statement cache."""
    if db.dialect == "postgres":
        return f"{column} = ANY(CAST(? AS BIGINT[]))", [list(ids)]
    return f"{column} IN ({placeholders(len(ids))})", list(ids)


class ArticleRepository:
    def __init__(self, db: Database) -> None:
        self._db = db

    # -- writing ---------------------------------------------------------------

    async def existing_keys(
        self, *, urls: Iterable[str] = (), guids: Iterable[str] = ()
    ) -> tuple[set[str], set[str]]:
        """Which of these URLs and GUIDs are already stored (chunked IN queries)."""
        found_urls = await self._present("url", list(urls))
        found_guids = await self._present("guid", list(guids))
        return found_urls, found_guids

    async def _present(self, column: str, values: list[str]) -> set[str]:
        assert column in ("url", "guid", "import_key")
        found: set[str] = set()
        for start in range(0, len(values), 500):
            chunk = values[start : start + 500]
            sql = f"SELECT {column} FROM articles WHERE {column} IN ({placeholders(len(chunk))})"
            async with self._db.execute(sql, chunk) as cur:
                found.update(row[0] for row in await cur.fetchall())
        return found

    async def has_import_key(self, key: str) -> bool:
        return bool(await self._present("import_key", [key]))

    async def add(
        self, article: NewArticle, *, story_id: int | None, now: datetime,
        cluster: Callable[[], Awaitable[int | None]] | None = None,
    ) -> tuple[int, int] | None:
        """Store one article in its own transaction; creates a story when story_id is None.
        ``cluster`` (the clustering step) instead finds the story inside the transaction,
        after its lock, so two processes storing near-duplicates at once cannot both
        miss each other and open two stories.

        Returns (article id, story id), or None when the URL, GUID or import key is
        already stored.
        """
        # The lock: ids must become visible in the order they are handed out (the alert
        # cursor moves past max(id), so an article committed after a higher id would
        # never be matched), and clustering is serialised across processes (see above).
        # PostgreSQL takes it with the BEGIN; SQLite's BEGIN IMMEDIATE is the lock.
        async with self._db.transaction(lock=ARTICLE_WRITE_LOCK):
            if cluster is not None:
                story_id = await cluster()
            return await self._insert(article, story_id=story_id, now=now)

    async def _insert(
        self, a: NewArticle, *, story_id: int | None, now: datetime
    ) -> tuple[int, int] | None:
        db = self._db
        published = to_db(a.published_at)
        if story_id is None:
            story_id = await db.insert_id(
                "INSERT INTO stories (title, first_seen, updated_at, published_at)"
                " VALUES (?, ?, ?, ?) RETURNING id",
                (a.title, to_db(now), to_db(now), published),
            )
            new_story = True
        else:
            new_story = False
        article_id = await db.insert_id(
            "INSERT INTO articles (url, guid, import_key, feed_id, source, title, lead,"
            " text, published_at, fetched_at, key_points, commentary, refs, simhash,"
            " content_hash, story_id, band0, band1, band2, band3, scope_guild)"
            " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)"
            " ON CONFLICT DO NOTHING RETURNING id",
            (
                a.url, a.guid, a.import_key, a.feed_id, a.source, a.title, a.lead, a.text,
                published, to_db(now), json.dumps(a.key_points), json.dumps(a.commentary),
                json.dumps(a.references), a.simhash, a.content_hash, story_id,
                *simhash_bands(a.simhash), a.scope_guild,
            ),
        )
        if article_id is None:
            if new_story:
                await db.execute("DELETE FROM stories WHERE id = ?", (story_id,))
            return None
        at = published or to_db(now)  # the article's date, as coalesce(published, fetched)
        tags = [
            (kind, value, article_id, at, story_id, a.scope_guild)
            for kind, values in zip(_TAG_KINDS, (a.actors, a.cves, a.vendors, a.orgs), strict=True)
            for value in dict.fromkeys(values)
        ]
        if tags:
            await db.executemany(
                "INSERT INTO article_tags (kind, value, article_id, at, story_id,"
                " scope_guild) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
                tags,
            )
        if not new_story:
            await db.execute(
                "UPDATE stories SET updated_at = ?,"
                " published_at = CASE WHEN published_at IS NULL OR CAST(? AS TEXT) < published_at"
                " THEN ? ELSE published_at END WHERE id = ?",
                (to_db(now), published, published, story_id),
            )
        return article_id, story_id

    async def set_story_commentary(self, story_id: int, commentary: Sequence[str]) -> None:
        await execute_write(self._db,
            "UPDATE stories SET commentary = ? WHERE id = ?",
            (json.dumps(list(commentary)), story_id),
        )

    # -- reading ---------------------------------------------------------------

    async def get(self, article_id: int) -> Article | None:
        found = await self.get_many([article_id])
        return found[0] if found else None

    async def get_many(self, ids: Sequence[int]) -> list[Article]:
        """Articles by id, in the order given, with their tags."""
        if not ids:
            return []
        by_id: dict[int, Article] = {}
        for start in range(0, len(ids), 500):
            where, params = id_in(self._db, "id", ids[start : start + 500])
            async with self._db.execute(f"SELECT * FROM articles WHERE {where}", params) as cur:
                for row in await cur.fetchall():
                    by_id[row["id"]] = _article(row)
        await self._add_tags(list(by_id.values()))
        return [by_id[i] for i in ids if i in by_id]

    async def _add_tags(self, articles: Sequence[Article]) -> None:
        """Fill in the articles' tag lists from article_tags."""
        by_id: dict[int, list[Article]] = {}
        for article in articles:
            by_id.setdefault(article.id, []).append(article)
        ids = list(by_id)
        for start in range(0, len(ids), 500):
            where, params = id_in(self._db, "article_id", ids[start : start + 500])
            async with self._db.execute(
                f"SELECT article_id, kind, value FROM article_tags WHERE {where}", params
            ) as cur:
                for article_id, kind, value in await cur.fetchall():
                    for article in by_id[article_id]:
                        getattr(article, kind + "s").append(value)

    async def get_story(self, story_id: int) -> Story | None:
        stories = await self.get_stories([story_id])
        return stories[0] if stories else None

    async def get_stories(
        self, story_ids: Sequence[int], *, guild_id: int | None = None
    ) -> list[Story]:
        """Stories with their articles visible to ``guild_id`` (earliest first), in the
        order given; a story with no visible article is left out."""
        if not story_ids:
            return []
        stories: dict[int, Story] = {}
        articles: list[Article] = []
        for start in range(0, len(story_ids), 500):
            # The articles with their story's row, in one round trip (an inner join: a
            # story with no visible article is left out anyway).
            where, params = id_in(self._db, "a.story_id", story_ids[start : start + 500])
            async with self._db.execute(
                "SELECT a.*, s.title AS story_title, s.first_seen AS story_first_seen,"
                " s.updated_at AS story_updated_at, s.published_at AS story_published_at,"
                " s.commentary AS story_commentary"
                f" FROM articles a JOIN stories s ON s.id = a.story_id WHERE {where}"
                f" AND {VISIBLE} ORDER BY coalesce(a.published_at, a.fetched_at), a.id",
                (*params, guild_id, guild_id),
            ) as cur:
                for row in await cur.fetchall():
                    if row["story_id"] not in stories:
                        stories[row["story_id"]] = Story(
                            id=row["story_id"],
                            title=row["story_title"],
                            first_seen=from_db(row["story_first_seen"]),
                            updated_at=from_db(row["story_updated_at"]),
                            published_at=from_db(row["story_published_at"]),
                            commentary=json.loads(row["story_commentary"]),
                        )
                    articles.append(_article(row))
        await self._add_tags(articles)
        for article in articles:
            stories[article.story_id].articles.append(article)
        return [stories[i] for i in story_ids if i in stories]

    async def story_article_refs(
        self, story_ids: Sequence[int], *, guild_id: int | None = None
    ) -> list[ArticleRef]:
        """Light rows of the stories' articles visible to ``guild_id``, oldest first (no
        text: callers that cache what they derive from text load it only when missing)."""
        if not story_ids:
            return []
        where, params = id_in(self._db, "a.story_id", story_ids)
        async with self._db.execute(
            "SELECT a.id, a.title, a.url, a.source, a.published_at, a.story_id FROM articles a"
            f" WHERE {where} AND {VISIBLE}"
            " ORDER BY coalesce(a.published_at, a.fetched_at), a.id",
            (*params, guild_id, guild_id),
        ) as cur:
            return [article_ref(r) for r in await cur.fetchall()]

    async def outline(self, story_id: int) -> StoryOutline | None:
        """A story's title, dates, sources and tags, without loading article text."""
        async with self._db.execute(
            "SELECT title, first_seen, published_at FROM stories WHERE id = ?", (story_id,)
        ) as cur:
            row = await cur.fetchone()
        if row is None:
            return None
        async with self._db.execute(
            "SELECT source FROM articles WHERE story_id = ?"
            " ORDER BY coalesce(published_at, fetched_at), id",
            (story_id,),
        ) as cur:
            sources = list(dict.fromkeys(r[0] for r in await cur.fetchall()))
        tags: dict[str, list[str]] = {"actor": [], "cve": [], "vendor": []}
        async with self._db.execute(
            "SELECT DISTINCT t.kind, t.value FROM articles a"
            " JOIN article_tags t ON t.article_id = a.id"
            " WHERE a.story_id = ? AND t.kind IN ('actor', 'cve', 'vendor')",
            (story_id,),
        ) as cur:
            for kind, value in await cur.fetchall():
                tags[kind].append(value)
        return StoryOutline(
            id=story_id, title=row[0], first_seen=from_db(row[1]),
            published_at=from_db(row[2]), sources=sources, actors=tags["actor"],
            cves=tags["cve"], vendors=tags["vendor"],
        )

    async def story_ids_since(
        self, since: datetime, *, limit: int = 1000, guild_id: int | None = None
    ) -> list[int]:
        """Stories first stored since ``since`` whose news is not older than ``since``
        and that have an article visible to ``guild_id``."""
        async with self._db.execute(
            "SELECT s.id FROM stories s WHERE s.first_seen >= ?"
            " AND coalesce(s.published_at, s.first_seen) >= ?"
            f" AND EXISTS (SELECT 1 FROM articles a WHERE a.story_id = s.id AND {VISIBLE})"
            " ORDER BY s.first_seen DESC LIMIT ?",
            (to_db(since), to_db(since), guild_id, guild_id, limit),
        ) as cur:
            return [row[0] for row in await cur.fetchall()]

    async def cluster_candidates(
        self, *, since: datetime, actors: Sequence[str], cves: Sequence[str], simhash: int
    ) -> list[ClusterCandidate]:
        """What an incoming article could join: articles since ``since`` sharing an actor
        or CVE (the newest 100 per tag, 20 tags at most), and articles sharing a simhash
        band (possible near-duplicates, 200 at most), oldest first. Light rows: no text
        is loaded. One statement, candidates and their tags together: it runs inside
        the insert's transaction, under its lock, where each round trip counts."""
        picks: list[str] = []
        params: list[object] = []
        tags = [("actor", a) for a in actors] + [("cve", c) for c in cves]
        for n, (kind, value) in enumerate(tags[:20]):
            picks.append(
                "SELECT id FROM (SELECT t.article_id AS id FROM article_tags t"
                " JOIN articles a ON a.id = t.article_id WHERE t.kind = ? AND t.value = ?"
                " AND coalesce(a.published_at, a.fetched_at) >= ?"
                f" ORDER BY t.article_id DESC LIMIT 100) AS tag{n}")
            params += (kind, value, to_db(since))
        if simhash:
            picks.append(
                "SELECT id FROM (SELECT id FROM articles WHERE band0 = ? UNION SELECT id"
                " FROM articles WHERE band1 = ? UNION SELECT id FROM articles WHERE band2 = ?"
                " UNION SELECT id FROM articles WHERE band3 = ? LIMIT 200) AS bands")
            params += simhash_bands(simhash)
        if not picks:
            return []
        found: dict[int, ClusterCandidate] = {}
        async with self._db.execute(
            "SELECT a.id, a.story_id, a.title, a.simhash, a.published_at, t.kind, t.value"
            " FROM articles a LEFT JOIN article_tags t ON t.article_id = a.id"
            " AND t.kind IN ('actor', 'cve')"
            f" WHERE a.id IN ({' UNION ALL '.join(picks)}) ORDER BY a.id",
            params,
        ) as cur:
            for row in await cur.fetchall():
                candidate = found.get(row[0])
                if candidate is None:
                    candidate = found[row[0]] = ClusterCandidate(
                        row[0], row[1], row[2], row[3], from_db(row[4]), set(), set())
                if row[5] is not None:
                    (candidate.actors if row[5] == "actor" else candidate.cves).add(row[6])
        return list(found.values())

    async def find_by_content_hash(self, content_hash: str) -> int | None:
        """The story of an article with exactly this normalised text, if any."""
        async with self._db.execute(
            "SELECT story_id FROM articles WHERE content_hash = ? LIMIT 1", (content_hash,)
        ) as cur:
            row = await cur.fetchone()
        return row[0] if row else None

    async def tagged(
        self, kind: str, value: str, *, limit: int = 5, offset: int = 0,
        guild_id: int | None = None,
    ) -> list[ArticleRef]:
        """Newest articles carrying a tag (walks the date index backwards)."""
        async with self._db.execute(
            "SELECT a.id, a.title, a.url, a.source, a.published_at, a.story_id"
            " FROM article_tags t JOIN articles a ON a.id = t.article_id"
            f" WHERE t.kind = ? AND t.value = ? AND {_TAG_VISIBLE}"
            " ORDER BY t.at DESC, t.article_id DESC LIMIT ? OFFSET ?",
            (kind, value, guild_id, guild_id, limit, offset),
        ) as cur:
            return [article_ref(r) for r in await cur.fetchall()]

    async def tag_stats(
        self, kind: str, value: str, *, guild_id: int | None = None
    ) -> tuple[int, datetime | None, datetime | None]:
        """(article count, first seen, last seen) for a tag: the count from the per-day
        counts (migration 007), the two dates from each end of the date index."""
        async with self._db.execute(
            "SELECT coalesce(sum(t.n), 0) FROM tag_day_counts t"
            f" WHERE t.kind = ? AND t.value = ? AND {_TAG_VISIBLE}",
            (kind, value, guild_id, guild_id),
        ) as cur:
            count = (await cur.fetchone())[0]
        if not count:
            return 0, None, None
        ends = []
        for order in ("ASC", "DESC"):
            async with self._db.execute(
                "SELECT t.at FROM article_tags t"
                f" WHERE t.kind = ? AND t.value = ? AND {_TAG_VISIBLE}"
                f" ORDER BY t.at {order} LIMIT 1",
                (kind, value, guild_id, guild_id),
            ) as cur:
                ends.append(from_db((await cur.fetchone())[0]))
        return count, ends[0], ends[1]

    async def tag_days(
        self, kind: str, value: str, *, since: date, guild_id: int | None = None
    ) -> list[tuple[date, int]]:
        """(UTC day, articles) for a tag from ``since`` on, for weekly charts."""
        async with self._db.execute(
            "SELECT t.day, sum(t.n) FROM tag_day_counts t"
            f" WHERE t.kind = ? AND t.value = ? AND t.day >= ? AND {_TAG_VISIBLE}"
            " GROUP BY t.day",
            (kind, value, since.isoformat(), guild_id, guild_id),
        ) as cur:
            return [(date.fromisoformat(day), n) for day, n in await cur.fetchall()]

    async def count_tag_since(
        self, kind: str, value: str, *, since: datetime, exclude_story: int | None = None
    ) -> int:
        """Distinct public stories carrying a tag since ``since`` (commentary is shown to
        every guild, so it counts public articles only)."""
        async with self._db.execute(
            "SELECT count(DISTINCT t.story_id) FROM article_tags t"
            " WHERE t.kind = ? AND t.value = ? AND t.at >= ? AND t.story_id IS DISTINCT FROM ?"
            " AND t.scope_guild = 0",
            (kind, value, to_db(since), exclude_story),
        ) as cur:
            return (await cur.fetchone())[0]

    async def count_tag_windows(
        self, kind: str, value: str, *, windows: Sequence[tuple[datetime, datetime]],
        exclude_story: int | None = None,
    ) -> list[int]:
        """Distinct public stories carrying a tag in each (after, up to] window, in one
        walk of the date index over the span of all of them."""
        if not windows:
            return []
        cases = ", ".join(
            "count(DISTINCT CASE WHEN t.at > ? AND t.at <= ? THEN t.story_id END)"
            for _ in windows
        )
        bounds = [to_db(edge) for window in windows for edge in window]
        async with self._db.execute(
            f"SELECT {cases} FROM article_tags t"
            " WHERE t.kind = ? AND t.value = ? AND t.at > ? AND t.at <= ?"
            " AND t.story_id IS DISTINCT FROM ? AND t.scope_guild = 0",
            (*bounds, kind, value, min(bounds[0::2]), max(bounds[1::2]), exclude_story),
        ) as cur:
            return list(await cur.fetchone())

    async def earlier_stories(
        self, kind: str, value: str, *, before: datetime, since: datetime,
        exclude_story: int, limit: int = 10,
    ) -> list[int]:
        """The newest ``limit`` public stories carrying a tag between ``since`` and
        ``before`` (inclusive), other than ``exclude_story``, newest first (by the
        tag's newest article date)."""
        async with self._db.execute(
            "SELECT t.story_id FROM article_tags t"
            " WHERE t.kind = ? AND t.value = ? AND t.at >= ? AND t.at <= ?"
            " AND t.story_id IS DISTINCT FROM ? AND t.scope_guild = 0"
            " GROUP BY t.story_id ORDER BY max(t.at) DESC LIMIT ?",
            (kind, value, to_db(since), to_db(before), exclude_story, limit),
        ) as cur:
            return [row[0] for row in await cur.fetchall()]

    async def previous_tagged(
        self, kind: str, value: str, *, before: datetime, exclude_story: int
    ) -> ArticleRef | None:
        """The newest public article with a tag, older than ``before``, from another
        story."""
        async with self._db.execute(
            "SELECT a.id, a.title, a.url, a.source, a.published_at, a.story_id"
            " FROM article_tags t JOIN articles a ON a.id = t.article_id"
            " WHERE t.kind = ? AND t.value = ? AND t.at <= ? AND t.story_id IS DISTINCT FROM ?"
            " AND t.scope_guild = 0 ORDER BY t.at DESC LIMIT 1",
            (kind, value, to_db(before), exclude_story),
        ) as cur:
            row = await cur.fetchone()
        return article_ref(row) if row else None

    async def tag_values_starting(
        self, kind: str, prefix: str, *, limit: int = 25, guild_id: int | None = None
    ) -> list[str]:
        """Distinct tag values starting with ``prefix`` (case as stored), highest first,
        that have an article visible to ``guild_id`` (a range on the per-day counts'
        key, for autocomplete)."""
        async with self._db.execute(
            "SELECT DISTINCT t.value FROM tag_day_counts t"
            f" WHERE t.kind = ? AND t.value >= ? AND t.value < ? AND {_TAG_VISIBLE}"
            " ORDER BY t.value DESC LIMIT ?",
            (kind, prefix, prefix + "\U0010ffff", guild_id, guild_id, limit),
        ) as cur:
            return [row[0] for row in await cur.fetchall()]

    async def tag_values_of(self, article_ids: Sequence[int], kind: str) -> dict[int, list[str]]:
        """Each article's tag values of one kind, sorted."""
        found: dict[int, list[str]] = {}
        ids = list(article_ids)
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            async with self._db.execute(
                "SELECT article_id, value FROM article_tags"
                f" WHERE kind = ? AND article_id IN ({placeholders(len(chunk))})"
                " ORDER BY article_id, value",
                (kind, *chunk),
            ) as cur:
                for article_id, value in await cur.fetchall():
                    found.setdefault(article_id, []).append(value)
        return found

    async def max_id(self) -> int:
        async with self._db.execute("SELECT coalesce(max(id), 0) FROM articles") as cur:
            return (await cur.fetchone())[0]

    async def count(self) -> int:
        async with self._db.execute("SELECT count(*) FROM articles") as cur:
            return (await cur.fetchone())[0]

    async def window_since(self, after_id: int, *, limit: int = 5000) -> list[tuple[int, int]]:
        """(article id, story id) of articles stored after ``after_id``, oldest first."""
        async with self._db.execute(
            "SELECT id, story_id FROM articles WHERE id > ? ORDER BY id LIMIT ?",
            (after_id, limit),
        ) as cur:
            return [(row[0], row[1]) for row in await cur.fetchall()]


def article_ref(row: Any) -> ArticleRef:
    return ArticleRef(
        id=row["id"],
        title=row["title"],
        url=row["url"],
        source=row["source"],
        published_at=from_db(row["published_at"]),
        story_id=row["story_id"],
    )


def _article(row: Any) -> Article:
    return Article(
        id=row["id"],
        source=row["source"],
        title=row["title"],
        url=row["url"],
        guid=row["guid"],
        published_at=from_db(row["published_at"]),
        fetched_at=from_db(row["fetched_at"]),
        lead=row["lead"],
        text=row["text"],
        key_points=json.loads(row["key_points"]),
        commentary=json.loads(row["commentary"]),
        references=json.loads(row["refs"]),
        story_id=row["story_id"],
        simhash=row["simhash"],
        content_hash=row["content_hash"],
        feed_id=row["feed_id"],
    )
