-- Articles from a guild's own feeds are that guild's: scope_guild is 0 for public
-- articles (operator feeds, imports) and the guild id otherwise. Briefings, searches,
-- lookups and alerts for a guild show public articles and its own, never another's.

ALTER TABLE articles ADD COLUMN scope_guild INTEGER NOT NULL DEFAULT 0;
UPDATE articles SET scope_guild = coalesce(
    (SELECT guild_id FROM feeds WHERE feeds.id = articles.feed_id), 0);
