-- A briefing is a digest: a header message in the channel, then the story cards in a
-- thread started from it. A restart mid-digest carries on in the same thread, so the
-- batch records where its cards go (the thread; the channel itself when the bot may
-- not create threads there) and the header they hang from. ``period_start`` is the
-- start of the time a briefing covers (its end is ``created_at``), shown in the header.

ALTER TABLE delivery_batches ADD COLUMN period_start TEXT;
ALTER TABLE delivery_batches ADD COLUMN header_message_id INTEGER;
ALTER TABLE delivery_batches ADD COLUMN cards_channel_id INTEGER;
