-- secbrief schema, version 10: actor profile metadata for commentary, a JSON object with
-- the optional keys motivation, sectors, targets (lists of strings) and kind (a string).
-- The catalogue version changes with this release, so the next start refills it.

ALTER TABLE actors ADD COLUMN meta TEXT NOT NULL DEFAULT '{}';
