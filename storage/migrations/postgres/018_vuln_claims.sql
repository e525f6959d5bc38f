-- Claims on the vulnerability sources' refreshes; the same as SQLite's 017_vuln_claims.sql.
ALTER TABLE vuln_sources ADD COLUMN claimed_by TEXT;
ALTER TABLE vuln_sources ADD COLUMN claimed_until TEXT;
