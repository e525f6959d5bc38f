-- Alerts say why. A subscription keeps the name its owner typed when that differs
-- from the name shown (an actor followed by an alias: "you follow Cozy Bear").
-- Each planned alert records which subscriptions matched each story, as they were
-- then, so the message can name the match and offer to unsubscribe from it even if
-- the subscription changes before the message is sent.
-- A user may mute their DM alerts until a time; a round that matches while they are
-- muted records those stories in the ledger as refused ("muted"), never sent later.

ALTER TABLE subscriptions ADD COLUMN alias TEXT;

CREATE TABLE alert_reasons (
    batch_id        INTEGER NOT NULL REFERENCES delivery_batches (id) ON DELETE CASCADE,
    story_id        INTEGER NOT NULL REFERENCES stories (id) ON DELETE CASCADE,
    subscription_id INTEGER NOT NULL,    -- no foreign key: the record outlives it
    kind            TEXT NOT NULL,
    display         TEXT NOT NULL,
    alias           TEXT,
    PRIMARY KEY (batch_id, story_id, subscription_id)
) WITHOUT ROWID;
CREATE INDEX alert_reasons_story ON alert_reasons (story_id);

CREATE TABLE alert_mutes (
    user_id INTEGER PRIMARY KEY,
    until   TEXT NOT NULL
);
