-- A keyword alert's words on PostgreSQL as SQLite's FTS5 reads them: every word must
-- occur, and a word joined by hyphens, dots or apostrophes ("zero-day", "U.S") is a
-- phrase of its parts, as FTS5 reads a quoted word ("zero-day" is "zero" then "day",
-- where plainto_tsquery asked for "zero" and "day" anywhere). ``words`` is
-- storage.search.match_param's space-separated words. (Search keeps plainto_tsquery:
-- a phrase is rechecked against each candidate's TOASTed tsvector, thousands of them
-- for a common word; keyword matching reads each new article's tsvector once anyway.)
CREATE FUNCTION secbrief_words_query(words text) RETURNS tsquery
    LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE STRICT AS $$
DECLARE
    result tsquery;
    word text;
BEGIN
    FOREACH word IN ARRAY string_to_array(words, ' ') LOOP
        IF result IS NULL THEN
            result := phraseto_tsquery('secbrief', secbrief_fold(word));
        ELSE
            result := result && phraseto_tsquery('secbrief', secbrief_fold(word));
        END IF;
    END LOOP;
    RETURN result;
END
$$;
