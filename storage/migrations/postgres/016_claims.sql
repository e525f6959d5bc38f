-- Scale-out claims (storage/claims.py); the same as SQLite's 016_claims.sql.
ALTER TABLE delivery_batches ADD COLUMN claimed_by TEXT;
ALTER TABLE delivery_batches ADD COLUMN claimed_until TEXT;
ALTER TABLE feeds ADD COLUMN claimed_by TEXT;
ALTER TABLE feeds ADD COLUMN claimed_until TEXT;

CREATE TABLE briefing_runs (
    channel_id BIGINT NOT NULL,
    due_at     TEXT NOT NULL,
    claimed_by TEXT NOT NULL,
    claimed_at TEXT NOT NULL,
    batch_id   BIGINT,  -- what the run planned (NULL: nothing new)
    PRIMARY KEY (channel_id, due_at)
);

CREATE TABLE send_budget (
    name    TEXT PRIMARY KEY,
    next_at DOUBLE PRECISION NOT NULL
);
INSERT INTO send_budget (name, next_at) VALUES ('discord', 0);
