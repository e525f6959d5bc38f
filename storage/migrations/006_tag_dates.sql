-- Lookups, charts and commentary ask "articles with this tag, newest first / since a
-- date". Keeping each tag row's article date, story and visibility on the row, in an
-- index ordered by date, answers them from the index alone instead of reading every
-- article that carries the tag.

ALTER TABLE article_tags ADD COLUMN at TEXT NOT NULL DEFAULT '';
ALTER TABLE article_tags ADD COLUMN story_id INTEGER NOT NULL DEFAULT 0;
ALTER TABLE article_tags ADD COLUMN scope_guild INTEGER NOT NULL DEFAULT 0;
UPDATE article_tags SET
    at = (SELECT coalesce(a.published_at, a.fetched_at) FROM articles a
          WHERE a.id = article_tags.article_id),
    story_id = (SELECT a.story_id FROM articles a WHERE a.id = article_tags.article_id),
    scope_guild = (SELECT a.scope_guild FROM articles a WHERE a.id = article_tags.article_id);
CREATE INDEX article_tags_by_date
    ON article_tags (kind, value, at, story_id, scope_guild, article_id);
