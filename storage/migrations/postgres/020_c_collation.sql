-- Text compares bytes, as on SQLite, whatever collation the database was created with.
--
-- The repositories' shared SQL orders by text (autocomplete, alphabetical lists), takes
-- prefix ranges (value >= 'abc' AND value < 'abd'), groups and lower()s text. On a
-- database created with the server's default collation (often en_US.UTF-8 or an ICU
-- locale) those answered differently from SQLite: 'APT28' < 'apt29' < 'Axiom' instead
-- of 'APT28' < 'Axiom' < 'apt29', a range for 'l' taking in 'łuna', lower('É') = 'é'.
-- Giving every text column the "C" collation makes comparisons byte-wise (UTF-8 byte
-- order is code point order, what SQLite's BINARY does) and lower()/upper() ASCII-only
-- (SQLite's built-ins), while the queries stay the same on both engines: a parameter
-- or literal compared with a column takes the column's collation. ALTER ... TYPE with
-- only a new collation rewrites no table; it rebuilds the indexes on those columns, in
-- C order, so ORDER BY and the ranges still use them.
--
-- Not altered: articles.title, key_points and text, which nothing compares or orders
-- (on a store that had 020 before 017, generated tsvector columns used them, and
-- PostgreSQL refuses to alter a column a generated column uses). A later migration adding a text column gives it
-- COLLATE "C" (tests/storage/test_collation.py checks every column).
DO $$
DECLARE
    t record;
BEGIN
    FOR t IN
        SELECT c.relname,
               string_agg(format('ALTER COLUMN %I TYPE text COLLATE "C"', a.attname),
                          ', ' ORDER BY a.attnum) AS alters
        FROM pg_attribute a
        JOIN pg_class c ON c.oid = a.attrelid
        JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p')
          AND a.attnum > 0 AND NOT a.attisdropped
          AND a.atttypid = 'text'::regtype
          AND a.attcollation <> 'pg_catalog."C"'::regcollation
          AND NOT (c.relname = 'articles' AND a.attname IN ('title', 'key_points', 'text'))
        GROUP BY c.relname
        ORDER BY c.relname
    LOOP
        EXECUTE format('ALTER TABLE %I %s', t.relname, t.alters);
    END LOOP;
END $$;
