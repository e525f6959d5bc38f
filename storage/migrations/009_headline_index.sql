-- A second full-text index over each article's title and key points only. Search puts
-- articles whose headline or key points hold every word first; asking the main index
-- with a column filter made FTS5 decode the positions of every occurrence of every
-- term (milliseconds for common words), while this index's doclists are short.

CREATE VIRTUAL TABLE headlines_fts USING fts5 (
    title, key_points,
    content = 'articles', content_rowid = 'id',
    tokenize = 'porter unicode61 remove_diacritics 2'
);
INSERT INTO headlines_fts (headlines_fts) VALUES ('rebuild');
CREATE TRIGGER articles_headlines_ai AFTER INSERT ON articles BEGIN
    INSERT INTO headlines_fts (rowid, title, key_points)
    VALUES (new.id, new.title, new.key_points);
END;
CREATE TRIGGER articles_headlines_ad AFTER DELETE ON articles BEGIN
    INSERT INTO headlines_fts (headlines_fts, rowid, title, key_points)
    VALUES ('delete', old.id, old.title, old.key_points);
END;
CREATE TRIGGER articles_headlines_au AFTER UPDATE OF title, key_points ON articles BEGIN
    INSERT INTO headlines_fts (headlines_fts, rowid, title, key_points)
    VALUES ('delete', old.id, old.title, old.key_points);
    INSERT INTO headlines_fts (rowid, title, key_points)
    VALUES (new.id, new.title, new.key_points);
END;
