-- secbrief schema, version 1: articles and stories, feeds, subscriptions, schedules,
-- the delivery ledger and a small key/value table.

CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

CREATE TABLE feeds (
    id                INTEGER PRIMARY KEY,
    url               TEXT NOT NULL,
    guild_id          INTEGER NOT NULL DEFAULT 0,   -- 0: the operator's default list
    added_by          INTEGER,
    notify_channel_id INTEGER,                      -- told when the feed gets disabled
    title             TEXT,
    etag              TEXT,
    last_modified     TEXT,
    failures          INTEGER NOT NULL DEFAULT 0,
    next_poll_at      TEXT,
    last_polled_at    TEXT,
    last_success_at   TEXT,
    last_error        TEXT,
    disabled          INTEGER NOT NULL DEFAULT 0,
    created_at        TEXT NOT NULL,
    UNIQUE (url, guild_id)
);

CREATE TABLE stories (
    id           INTEGER PRIMARY KEY,
    title        TEXT NOT NULL,
    first_seen   TEXT NOT NULL,      -- when the first article of the story was stored
    updated_at   TEXT NOT NULL,      -- when an article last joined
    published_at TEXT,               -- earliest publication date among its articles
    commentary   TEXT NOT NULL DEFAULT '[]'
);
CREATE INDEX stories_published ON stories (published_at);
CREATE INDEX stories_first_seen ON stories (first_seen);

CREATE TABLE articles (
    id           INTEGER PRIMARY KEY,
    url          TEXT UNIQUE,
    guid         TEXT UNIQUE,
    import_key   TEXT UNIQUE,        -- content hash for imported files without a URL
    feed_id      INTEGER REFERENCES feeds (id) ON DELETE SET NULL,
    source       TEXT NOT NULL,
    title        TEXT NOT NULL,
    lead         TEXT NOT NULL DEFAULT '',
    text         TEXT NOT NULL DEFAULT '',
    published_at TEXT,
    fetched_at   TEXT NOT NULL,
    key_points   TEXT NOT NULL DEFAULT '[]',
    commentary   TEXT NOT NULL DEFAULT '[]',
    refs         TEXT NOT NULL DEFAULT '[]',
    simhash      INTEGER NOT NULL DEFAULT 0,
    content_hash TEXT NOT NULL DEFAULT '',
    story_id     INTEGER REFERENCES stories (id)
);
CREATE INDEX articles_story ON articles (story_id);
CREATE INDEX articles_published ON articles (published_at);
CREATE INDEX articles_content_hash ON articles (content_hash);

-- actor / cve / vendor / org tags, queried by (kind, value) for lookups and alerts.
CREATE TABLE article_tags (
    kind       TEXT NOT NULL,
    value      TEXT NOT NULL,
    article_id INTEGER NOT NULL REFERENCES articles (id) ON DELETE CASCADE,
    PRIMARY KEY (kind, value, article_id)
) WITHOUT ROWID;
CREATE INDEX article_tags_article ON article_tags (article_id);

CREATE VIRTUAL TABLE articles_fts USING fts5 (
    title, key_points, text,
    content = 'articles', content_rowid = 'id',
    tokenize = 'porter unicode61 remove_diacritics 2'
);
CREATE TRIGGER articles_ai AFTER INSERT ON articles BEGIN
    INSERT INTO articles_fts (rowid, title, key_points, text)
    VALUES (new.id, new.title, new.key_points, new.text);
END;
CREATE TRIGGER articles_ad AFTER DELETE ON articles BEGIN
    INSERT INTO articles_fts (articles_fts, rowid, title, key_points, text)
    VALUES ('delete', old.id, old.title, old.key_points, old.text);
END;
CREATE TRIGGER articles_au AFTER UPDATE OF title, key_points, text ON articles BEGIN
    INSERT INTO articles_fts (articles_fts, rowid, title, key_points, text)
    VALUES ('delete', old.id, old.title, old.key_points, old.text);
    INSERT INTO articles_fts (rowid, title, key_points, text)
    VALUES (new.id, new.title, new.key_points, new.text);
END;

CREATE TABLE subscriptions (
    id          INTEGER PRIMARY KEY,
    guild_id    INTEGER NOT NULL DEFAULT 0,
    owner_id    INTEGER NOT NULL,            -- the user who subscribed
    target_kind TEXT NOT NULL CHECK (target_kind IN ('user', 'channel')),
    target_id   INTEGER NOT NULL,
    kind        TEXT NOT NULL CHECK (kind IN ('actor', 'cve', 'vendor', 'keyword', 'source')),
    value       TEXT NOT NULL,               -- normalised; canonical actor name for actors
    display     TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    UNIQUE (target_kind, target_id, kind, value)
);
CREATE INDEX subscriptions_match ON subscriptions (kind, value);
CREATE INDEX subscriptions_owner ON subscriptions (owner_id);

CREATE TABLE schedules (
    channel_id    INTEGER PRIMARY KEY,
    guild_id      INTEGER NOT NULL,
    local_time    TEXT NOT NULL,             -- HH:MM
    timezone      TEXT NOT NULL,             -- IANA name
    filters       TEXT NOT NULL DEFAULT '{}',
    created_by    INTEGER NOT NULL,
    created_at    TEXT NOT NULL,
    last_sent_at  TEXT,
    paused        INTEGER NOT NULL DEFAULT 0,
    paused_reason TEXT
);
CREATE INDEX schedules_guild ON schedules (guild_id);

-- One round's delivery to one target: an alert digest or a briefing. It may take
-- several messages (10 embeds / 6000 characters each); sent_parts records progress.
CREATE TABLE delivery_batches (
    id          INTEGER PRIMARY KEY,
    purpose     TEXT NOT NULL CHECK (purpose IN ('alert', 'briefing')),
    target_kind TEXT NOT NULL CHECK (target_kind IN ('user', 'channel')),
    target_id   INTEGER NOT NULL,
    status      TEXT NOT NULL DEFAULT 'pending'
                CHECK (status IN ('pending', 'sent', 'failed', 'refused')),
    attempts    INTEGER NOT NULL DEFAULT 0,
    next_try_at TEXT,
    message_id  INTEGER,
    last_error  TEXT,
    sent_parts  INTEGER NOT NULL DEFAULT 0,   -- messages of this batch already accepted
    created_at  TEXT NOT NULL,
    sent_at     TEXT
);
CREATE INDEX delivery_batches_status ON delivery_batches (status, next_try_at);

-- The ledger: a story reaches a target once per purpose, whatever restarts or retries.
CREATE TABLE deliveries (
    purpose     TEXT NOT NULL,
    target_kind TEXT NOT NULL,
    target_id   INTEGER NOT NULL,
    story_id    INTEGER NOT NULL REFERENCES stories (id) ON DELETE CASCADE,
    batch_id    INTEGER NOT NULL REFERENCES delivery_batches (id) ON DELETE CASCADE,
    position    INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (purpose, target_kind, target_id, story_id)
) WITHOUT ROWID;
CREATE INDEX deliveries_batch ON deliveries (batch_id);
