"""Compare the store's contents before and after an action."""

from __future__ import annotations

from storage.store import Store

TABLES = ("articles", "stories", "article_tags", "feeds", "subscriptions", "schedules",
          "delivery_batches", "deliveries", "meta", "actors", "actor_aliases", "organisations")


async def snapshot(store: Store) -> dict[str, list[tuple]]:
    contents = {}
    for table in TABLES:
        async with store.db.execute(f"SELECT * FROM {table} ORDER BY 1, 2") as cur:
            contents[table] = [tuple(row) for row in await cur.fetchall()]
    return contents
