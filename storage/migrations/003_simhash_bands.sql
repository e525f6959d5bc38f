-- Near-duplicate lookup without scanning: a 64-bit simhash split into four 16-bit
-- bands. Two hashes within Hamming distance 3 agree on at least one whole band
-- (pigeonhole), so candidates are the articles sharing any band: four indexed lookups.

ALTER TABLE articles ADD COLUMN band0 INTEGER NOT NULL DEFAULT 0;
ALTER TABLE articles ADD COLUMN band1 INTEGER NOT NULL DEFAULT 0;
ALTER TABLE articles ADD COLUMN band2 INTEGER NOT NULL DEFAULT 0;
ALTER TABLE articles ADD COLUMN band3 INTEGER NOT NULL DEFAULT 0;
UPDATE articles SET band0 = simhash & 65535, band1 = (simhash >> 16) & 65535,
    band2 = (simhash >> 32) & 65535, band3 = (simhash >> 48) & 65535;
CREATE INDEX articles_band0 ON articles (band0);
CREATE INDEX articles_band1 ON articles (band1);
CREATE INDEX articles_band2 ON articles (band2);
CREATE INDEX articles_band3 ON articles (band3);
