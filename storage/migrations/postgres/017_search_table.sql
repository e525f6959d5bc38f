-- Full-text search moves out of the wide articles table into a narrow one.
--
-- A search reads every row its GIN lookup finds (to check visibility, keep the newest
-- 500 and count them all). In articles, whose rows carry the whole text, a common word
-- ("ransomware": a quarter of a 100,000-article store) meant ~17,000 heap pages per
-- pass: 129 ms p95. article_search holds only what a search reads: the id, the scope,
-- the date it is ranked by and the two tsvectors, compressed and pushed out to TOAST
-- (toast_tuple_target) so that ~65 rows fit in a heap page. A plain every-word query
-- is answered by GIN without rechecking the tsvector, so those are not read at all.
--
-- GIN returns its matches in no order, so the newest 500 of a common word still meant
-- visiting all 25,000. id_block (the id's block of 1,024, as a one-element array so
-- that core GIN can index it) sits in the same GIN indexes: a search for the newest
-- matches asks for the word AND the newest blocks, which GIN intersects itself, so the
-- heap sees only the rows in those blocks (storage/search.py sizes them from the count).
CREATE FUNCTION secbrief_id_block(id BIGINT) RETURNS int[]
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN ARRAY[(id >> 10)::int];

-- The blocks of the ids first_id..last_id (the other side of an && with id_block).
CREATE FUNCTION secbrief_id_blocks(first_id BIGINT, last_id BIGINT) RETURNS int[]
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN ARRAY(SELECT generate_series((first_id >> 10)::int, (last_id >> 10)::int));

CREATE FUNCTION secbrief_search_vector(title text, key_points text, body text)
    RETURNS tsvector LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN to_tsvector('secbrief', secbrief_fold(title || ' ' || key_points || ' ' || body));

CREATE FUNCTION secbrief_headline_vector(title text, key_points text)
    RETURNS tsvector LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN to_tsvector('secbrief', secbrief_fold(title || ' ' || key_points));

CREATE TABLE article_search (
    id          BIGINT PRIMARY KEY REFERENCES articles (id) ON DELETE CASCADE,
    scope_guild BIGINT NOT NULL DEFAULT 0,
    at          TEXT COLLATE "C" NOT NULL,  -- coalesce(published_at, fetched_at)
    id_block    int[] GENERATED ALWAYS AS (secbrief_id_block(id)) STORED,
    search      tsvector NOT NULL,  -- SQLite: articles_fts (title, key points, text)
    headline    tsvector NOT NULL   -- SQLite: headlines_fts (title, key points)
) WITH (toast_tuple_target = 128);

-- The index follows every insert and every edit of what it holds (deletes cascade).
-- (The columns are compared here rather than listed in the trigger's UPDATE OF, which
-- would make their types unalterable by later migrations.)
CREATE FUNCTION secbrief_index_article() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND (NEW.title, NEW.key_points, NEW.text, NEW.scope_guild,
                             NEW.published_at, NEW.fetched_at)
            IS NOT DISTINCT FROM (OLD.title, OLD.key_points, OLD.text, OLD.scope_guild,
                                  OLD.published_at, OLD.fetched_at) THEN
        RETURN NULL;
    END IF;
    INSERT INTO article_search (id, scope_guild, at, search, headline)
    VALUES (NEW.id, NEW.scope_guild, coalesce(NEW.published_at, NEW.fetched_at),
            secbrief_search_vector(NEW.title, NEW.key_points, NEW.text),
            secbrief_headline_vector(NEW.title, NEW.key_points))
    ON CONFLICT (id) DO UPDATE SET scope_guild = excluded.scope_guild, at = excluded.at,
        search = excluded.search, headline = excluded.headline;
    RETURN NULL;
END
$$;

-- Every article at once: this migration, and secbrief migrate after its copy (which
-- runs with the tables' triggers off).
CREATE FUNCTION secbrief_index_all_articles() RETURNS void LANGUAGE sql AS $$
    INSERT INTO article_search (id, scope_guild, at, search, headline)
    SELECT id, scope_guild, coalesce(published_at, fetched_at),
           secbrief_search_vector(title, key_points, text),
           secbrief_headline_vector(title, key_points)
    FROM articles
    ON CONFLICT (id) DO UPDATE SET scope_guild = excluded.scope_guild, at = excluded.at,
        search = excluded.search, headline = excluded.headline
$$;

CREATE TRIGGER articles_search_index
    AFTER INSERT OR UPDATE ON articles
    FOR EACH ROW EXECUTE FUNCTION secbrief_index_article();

SELECT secbrief_index_all_articles();

DROP INDEX articles_search;
DROP INDEX articles_headline;
ALTER TABLE articles DROP COLUMN search, DROP COLUMN headline;
CREATE INDEX article_search_search ON article_search USING gin (search, id_block);
CREATE INDEX article_search_headline ON article_search USING gin (headline, id_block);
