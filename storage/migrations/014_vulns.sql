-- Vulnerability context (issue 12): CISA's KEV catalogue, FIRST's EPSS scores, CVSS
-- from NVD (or scored offline from a vector printed in an article), and the state of
-- each of those sources, polled like feeds.
--
-- kev: one row per catalogue entry. vendor_norm / product_norm hold the names folded
-- by storage.vuln_names.normalise_name, so a watchlist's "Palo Alto" finds
-- "Palo Alto Networks".
CREATE TABLE kev (
    cve              TEXT PRIMARY KEY,
    vendor           TEXT NOT NULL,
    product          TEXT NOT NULL,
    name             TEXT NOT NULL,
    date_added       TEXT NOT NULL,            -- YYYY-MM-DD
    due_date         TEXT,                     -- YYYY-MM-DD
    required_action  TEXT NOT NULL DEFAULT '',
    known_ransomware INTEGER NOT NULL DEFAULT 0,
    description      TEXT NOT NULL DEFAULT '',
    vendor_norm      TEXT NOT NULL DEFAULT '',
    product_norm     TEXT NOT NULL DEFAULT ''
) WITHOUT ROWID;
CREATE INDEX kev_vendor_norm ON kev (vendor_norm);
CREATE INDEX kev_product_norm ON kev (product_norm);
CREATE INDEX kev_date_added ON kev (date_added);

-- epss: about 300,000 rows, so no rowid and nothing but the scores; the model's score
-- date is the source's data_date in vuln_sources (one date for the whole file).
CREATE TABLE epss (
    cve        TEXT PRIMARY KEY,
    score      REAL NOT NULL,
    percentile REAL NOT NULL
) WITHOUT ROWID;

-- cvss: the base score of each CVE the store names; source 'nvd' or 'article'.
CREATE TABLE cvss (
    cve         TEXT PRIMARY KEY,
    score       REAL NOT NULL,
    severity    TEXT NOT NULL,
    vector      TEXT NOT NULL DEFAULT '',
    source      TEXT NOT NULL DEFAULT 'nvd',
    description TEXT NOT NULL DEFAULT '',
    fetched_at  TEXT NOT NULL
) WITHOUT ROWID;

-- nvd_checked: when NVD was last asked about a CVE, whether or not it had a score
-- (a CVE awaiting analysis has none) — so it is not asked again for a week.
CREATE TABLE nvd_checked (
    cve        TEXT PRIMARY KEY,
    checked_at TEXT NOT NULL
) WITHOUT ROWID;

-- vuln_sources: poll state of kev / epss / nvd, like feeds' columns.
CREATE TABLE vuln_sources (
    source        TEXT PRIMARY KEY,
    etag          TEXT,
    last_modified TEXT,
    last_attempt  TEXT,
    last_success  TEXT,
    last_error    TEXT,
    data_date     TEXT,                        -- YYYY-MM-DD
    next_refresh  TEXT,
    failures      INTEGER NOT NULL DEFAULT 0,
    records       INTEGER NOT NULL DEFAULT 0
);
