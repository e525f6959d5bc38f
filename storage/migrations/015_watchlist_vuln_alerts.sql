-- A stack watchlist per server (guild 0: the operator's own list, kept by the shell and
-- the CLI): the vendors and products it runs. name is shown; name_norm is the one key
-- every spelling shares (bot.intel.vendors.vendor_key), so "Palo Alto" and
-- "paloaltonetworks" are one entry.
CREATE TABLE watchlist (
    id         INTEGER PRIMARY KEY,
    guild_id   INTEGER NOT NULL,
    kind       TEXT NOT NULL CHECK (kind IN ('vendor', 'product')),
    name       TEXT NOT NULL,
    name_norm  TEXT NOT NULL CHECK (name_norm != ''),
    created_by INTEGER NOT NULL,
    created_at TEXT NOT NULL,
    UNIQUE (guild_id, kind, name_norm)
);
CREATE INDEX watchlist_match ON watchlist (kind, name_norm);

-- Alerts on change (a CVE enters KEV; a followed CVE's EPSS score crosses the
-- threshold). The planner compares the data with what it last looked at, kept here,
-- so a KEV or EPSS load by any process (the bot, `secbrief vulns refresh`) is alerted
-- on once, whatever crashes between the load and the round. event 'kev': the KEV CVEs
-- considered (baseline 1: already listed when the planner first looked, alerting
-- nobody); 'epss': a followed CVE's score when last looked at.
CREATE TABLE vuln_alert_seen (
    event    TEXT NOT NULL CHECK (event IN ('kev', 'epss')),
    cve      TEXT NOT NULL,
    seen_at  TEXT NOT NULL,
    score    REAL,
    baseline INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (event, cve)
) WITHOUT ROWID;

-- The ledger of those alerts, beside the story ledger: (event, target, CVE) once. A
-- batch is an ordinary delivery_batches row (purpose 'alert') whose items are here
-- instead of in deliveries; detail is the KEV entry or EPSS score as alerted (JSON),
-- reasons what matched it (JSON list), both as they were when planned.
CREATE TABLE vuln_deliveries (
    event       TEXT NOT NULL CHECK (event IN ('kev', 'epss')),
    target_kind TEXT NOT NULL,
    target_id   INTEGER NOT NULL,
    cve         TEXT NOT NULL,
    batch_id    INTEGER NOT NULL REFERENCES delivery_batches (id) ON DELETE CASCADE,
    position    INTEGER NOT NULL DEFAULT 0,
    detail      TEXT NOT NULL DEFAULT '{}',
    reasons     TEXT NOT NULL DEFAULT '[]',
    PRIMARY KEY (event, target_kind, target_id, cve)
) WITHOUT ROWID;
CREATE INDEX vuln_deliveries_batch ON vuln_deliveries (batch_id);
