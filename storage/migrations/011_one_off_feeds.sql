-- One-off polls (`secbrief ingest --once --feed URL`) keep a feed row only to
-- remember its validators (ETag / Last-Modified), so a repeat is conditional. Such a
-- row is not on anyone's feed list: the bot never polls it and `/feeds` never shows
-- it. Adding the URL as a feed later turns it into an ordinary one.
ALTER TABLE feeds ADD COLUMN one_off INTEGER NOT NULL DEFAULT 0;
