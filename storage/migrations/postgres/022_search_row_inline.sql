-- article_search keeps its date and id block in the row itself (migration 017).
--
-- toast_tuple_target = 128 moves columns out to TOAST until a row is under 128 bytes:
-- the two tsvectors, as intended, but then also the 27-byte date, since the row was
-- still a few bytes over. Every search reads the dates of its newest 500 matches, and
-- each was a TOAST index lookup: 1.2-2.5 ms of a search at 100,000 articles (the date
-- of ~1,000 rows when a query reads all its matches). PLAIN storage keeps both small
-- columns in the row (the id block would be moved out next). The type change to the
-- same type is what makes PostgreSQL rewrite the rows that are already stored (12.7 s
-- at 100,000 articles); SET STORAGE alone only applies to rows written after it.
ALTER TABLE article_search
    ALTER COLUMN at TYPE TEXT COLLATE "C" USING at || '',
    ALTER COLUMN at SET STORAGE PLAIN,
    ALTER COLUMN id_block SET STORAGE PLAIN;

-- The rewritten table has no visibility map yet, without which a search's count reads
-- every matching row (5.7 against 2.8 ms a search at 100,000 articles).
-- after commit: VACUUM (ANALYZE) article_search
