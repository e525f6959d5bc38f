-- Planning a round asks which of the new stories each target already has: look the
-- ledger up by story rather than scanning it.
CREATE INDEX deliveries_story ON deliveries (story_id, purpose);
