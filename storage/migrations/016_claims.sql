-- Scale-out claims (storage/claims.py): several processes on one store do each piece of
-- work once. A pending batch being sent and a feed being polled carry the claiming
-- process and the end of its lease; a schedule's run at one due time is recorded once;
-- send_budget hands out Discord send slots to every bot process from one row.
ALTER TABLE delivery_batches ADD COLUMN claimed_by TEXT;
ALTER TABLE delivery_batches ADD COLUMN claimed_until TEXT;
ALTER TABLE feeds ADD COLUMN claimed_by TEXT;
ALTER TABLE feeds ADD COLUMN claimed_until TEXT;

CREATE TABLE briefing_runs (
    channel_id INTEGER NOT NULL,
    due_at     TEXT NOT NULL,
    claimed_by TEXT NOT NULL,
    claimed_at TEXT NOT NULL,
    batch_id   INTEGER,  -- what the run planned (NULL: nothing new)
    PRIMARY KEY (channel_id, due_at)
) WITHOUT ROWID;

CREATE TABLE send_budget (
    name    TEXT PRIMARY KEY,
    next_at REAL NOT NULL  -- seconds since the epoch: the next free send slot
) WITHOUT ROWID;
INSERT INTO send_budget (name, next_at) VALUES ('discord', 0);
