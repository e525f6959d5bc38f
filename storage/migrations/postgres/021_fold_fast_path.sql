-- secbrief_fold (001) skips its accent table when the text holds none of its letters.
--
-- translate() compares every character with every character of its list: over the ~100
-- accented letters that was 0.4-0.6 ms per 2,400-character article, more than
-- to_tsvector itself, paid twice for each stored article (the search trigger's two
-- vectors). Most news text holds none of them (curly quotes and dashes are not in the
-- list), so a regular-expression test for any of them first, and for the rest only '-',
-- '_' and '/' to spaces: 0.05 ms. The output is the same for every input, so stored
-- tsvectors stay valid. The letter list appears twice below and must stay equal
-- (tests/storage/test_fold.py compares the two paths letter by letter).
CREATE OR REPLACE FUNCTION secbrief_fold(t text) RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT
    RETURN CASE
        WHEN t ~ '[ÀÁÂÃÄÅàáâãäåÇçÈÉÊËèéêëÌÍÎÏìíîïÑñÒÓÔÕÖØòóôõöøÙÚÛÜùúûüÝýÿŠšŽžČčĆćŁłŃńŚśŹźŻżĘęĄąŐőŰű]'
        THEN translate(t,
            'ÀÁÂÃÄÅàáâãäåÇçÈÉÊËèéêëÌÍÎÏìíîïÑñÒÓÔÕÖØòóôõöøÙÚÛÜùúûüÝýÿŠšŽžČčĆćŁłŃńŚśŹźŻżĘęĄąŐőŰű-_/',
            'AAAAAAaaaaaaCcEEEEeeeeIIIIiiiiNnOOOOOOooooooUUUUuuuuYyySsZzCcCcLlNnSsZzZzEeAaOoUu   ')
        ELSE translate(t, '-_/', '   ')
    END;
