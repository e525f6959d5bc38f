-- Actor lookups show a total and a weekly chart; counting a busy actor's tag rows
-- one by one costs milliseconds per lookup at 100k articles. Articles per
-- (tag, UTC day, visibility) are kept here instead, by triggers, so every path that
-- adds or removes tag rows (including cascades from deleted articles) keeps it right.

CREATE TABLE tag_day_counts (
    kind        TEXT NOT NULL,
    value       TEXT NOT NULL,
    day         TEXT NOT NULL,      -- substr(article_tags.at, 1, 10), a UTC date
    scope_guild INTEGER NOT NULL,
    n           INTEGER NOT NULL,
    PRIMARY KEY (kind, value, day, scope_guild)
) WITHOUT ROWID;

INSERT INTO tag_day_counts (kind, value, day, scope_guild, n)
    SELECT kind, value, substr(at, 1, 10), scope_guild, count(*)
    FROM article_tags GROUP BY 1, 2, 3, 4;

CREATE TRIGGER article_tags_count_ai AFTER INSERT ON article_tags BEGIN
    INSERT INTO tag_day_counts (kind, value, day, scope_guild, n)
    VALUES (new.kind, new.value, substr(new.at, 1, 10), new.scope_guild, 1)
    ON CONFLICT (kind, value, day, scope_guild) DO UPDATE SET n = n + 1;
END;

CREATE TRIGGER article_tags_count_ad AFTER DELETE ON article_tags BEGIN
    UPDATE tag_day_counts SET n = n - 1
    WHERE kind = old.kind AND value = old.value AND day = substr(old.at, 1, 10)
      AND scope_guild = old.scope_guild;
    DELETE FROM tag_day_counts
    WHERE kind = old.kind AND value = old.value AND day = substr(old.at, 1, 10)
      AND scope_guild = old.scope_guild AND n <= 0;
END;

-- Tag rows are written once and never updated; refuse an update rather than let the
-- counts drift from the rows.
CREATE TRIGGER article_tags_count_au BEFORE UPDATE ON article_tags BEGIN
    SELECT RAISE(ABORT, 'article_tags rows are immutable; delete and re-insert');
END;
