-- A due refresh of a vulnerability source (kev / epss / nvd) is claimed like a feed
-- (storage/claims.py): the refreshing process and the end of its lease, so two processes
-- whose refresh falls due together fetch and load it once.
ALTER TABLE vuln_sources ADD COLUMN claimed_by TEXT;
ALTER TABLE vuln_sources ADD COLUMN claimed_until TEXT;
