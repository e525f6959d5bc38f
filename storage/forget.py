"""Remove one article from the store everywhere, in one transaction.

Deleting the article row does most of it through the schema: both full-text indexes
(triggers of migrations 001 and 009), its tag rows (ON DELETE CASCADE) and with them
the per-day tag counts (triggers of migration 007), and its import key (a column of the
row, so a forgotten import can be imported again). What the schema cannot know is
done here: a story left without articles is deleted together with the pending
deliveries that would send it (and batches left empty); a story that keeps other
articles gets its title and dates from them again.
"""

from __future__ import annotations

from dataclasses import dataclass

from storage.db import Database, Transaction
from storage.models import ArticleRef
from storage.timeutil import from_db


@dataclass(slots=True)
class Forgotten:
    """What ``ForgetRepository.forget`` removed."""

    article: ArticleRef
    tags_removed: int
    story_removed: bool
    story_articles_left: int
    pending_deliveries_removed: int
    pending_batches_removed: int


class ForgetRepository:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def find(self, *, article_id: int | None = None, url: str | None = None) -> int | None:
        """The id of the article with this id or (canonical) URL, if stored."""
        if article_id is not None:
            sql, param = "SELECT id FROM articles WHERE id = ?", article_id
        else:
            sql, param = "SELECT id FROM articles WHERE url = ?", url
        async with self._db.execute(sql, (param,)) as cur:
            row = await cur.fetchone()
        return row[0] if row else None

    async def forget(self, article_id: int) -> Forgotten | None:
        """Remove the article; None (and nothing changed) when it is not stored."""
        async with Transaction(self._db) as db:
            async with db.execute(
                "SELECT id, title, url, source, published_at, story_id FROM articles"
                " WHERE id = ?",
                (article_id,),
            ) as cur:
                row = await cur.fetchone()
            if row is None:
                return None
            article = ArticleRef(
                id=row[0], title=row[1], url=row[2], source=row[3],
                published_at=from_db(row[4]), story_id=row[5],
            )
            async with db.execute(
                "SELECT count(*) FROM article_tags WHERE article_id = ?", (article_id,)
            ) as cur:
                tags = (await cur.fetchone())[0]
            await db.execute("DELETE FROM articles WHERE id = ?", (article_id,))
            left, deliveries, batches = 0, 0, 0
            if article.story_id is not None:
                left, deliveries, batches = await self._after_removal(db, article.story_id)
            removed = article.story_id is not None and left == 0
            return Forgotten(
                article=article, tags_removed=tags, story_removed=removed,
                story_articles_left=left,
                pending_deliveries_removed=deliveries, pending_batches_removed=batches,
            )

    async def _after_removal(
        self, db: Database, story_id: int
    ) -> tuple[int, int, int]:
        """Delete the story if it is empty now, else recompute its fields from the
        articles left. Returns (articles left, pending deliveries removed, pending
        batches removed)."""
        async with db.execute(
            "SELECT count(*), min(fetched_at), max(fetched_at),"
            " min(published_at) FROM articles WHERE story_id = ?",
            (story_id,),
        ) as cur:
            left, first_seen, updated_at, published_at = await cur.fetchone()
        if left:
            # The story's title is its first stored article's (as when it was created).
            await db.execute(
                "UPDATE stories SET title = (SELECT title FROM articles WHERE story_id = ?"
                " ORDER BY id LIMIT 1), first_seen = ?, updated_at = ?, published_at = ?"
                " WHERE id = ?",
                (story_id, first_seen, updated_at, published_at, story_id),
            )
            return left, 0, 0
        async with db.execute(
            "SELECT d.batch_id FROM deliveries d JOIN delivery_batches b ON b.id = d.batch_id"
            " WHERE d.story_id = ? AND b.status = 'pending'",
            (story_id,),
        ) as cur:
            pending = [r[0] for r in await cur.fetchall()]
        # The ledger rows of the story go with it (ON DELETE CASCADE), sent ones included:
        # there is nothing left to deliver or to guard against delivering twice.
        await db.execute("DELETE FROM stories WHERE id = ?", (story_id,))
        batches = 0
        for batch_id in dict.fromkeys(pending):
            cur = await db.execute(
                "DELETE FROM delivery_batches WHERE id = ? AND status = 'pending'"
                " AND NOT EXISTS (SELECT 1 FROM deliveries WHERE batch_id = ?)",
                (batch_id, batch_id),
            )
            batches += cur.rowcount
        return 0, len(pending), batches
