-- secbrief schema, version 2: the threat-actor catalogue, operator overrides and
-- organisations linked to actors. The catalogue version lives in meta
-- (key 'actors.catalogue_version').

CREATE TABLE actors (
    id             INTEGER PRIMARY KEY,
    name           TEXT NOT NULL,                 -- canonical name
    name_norm      TEXT NOT NULL,                 -- normalise_alias(name)
    country        TEXT,                          -- ISO-2, as the catalogue says
    description    TEXT NOT NULL DEFAULT '',
    refs           TEXT NOT NULL DEFAULT '[]',    -- JSON list of URLs
    related        TEXT NOT NULL DEFAULT '[]',    -- JSON list of canonical names
    mitre_id       TEXT,
    origin         TEXT NOT NULL CHECK (origin IN ('catalogue', 'operator')),
    schemes        TEXT NOT NULL DEFAULT '{}',    -- JSON {scheme: [names]}
    -- operator overrides of a catalogue actor; kept apart so that reloading a new
    -- catalogue version keeps them and removing them from the file restores the original
    op_country     TEXT,
    op_description TEXT,
    op_refs        TEXT NOT NULL DEFAULT '[]'
);
-- replace_catalogue / apply_overrides update rows in place by name, so ids stay stable
CREATE UNIQUE INDEX actors_origin_name ON actors (origin, name_norm);

-- every name of an actor, the canonical one included. The primary key leads with
-- alias_norm: exact lookups and prefix (autocomplete) range scans both use it.
CREATE TABLE actor_aliases (
    alias_norm TEXT NOT NULL,
    alias      TEXT NOT NULL,
    actor_id   INTEGER NOT NULL REFERENCES actors (id) ON DELETE CASCADE,
    origin     TEXT NOT NULL DEFAULT 'catalogue' CHECK (origin IN ('catalogue', 'operator')),
    scheme     TEXT NOT NULL DEFAULT '',          -- naming scheme: microsoft, mandiant, ...
    PRIMARY KEY (alias_norm, actor_id)
) WITHOUT ROWID;
CREATE INDEX actor_aliases_actor ON actor_aliases (actor_id);

-- organisations the operator links to an actor (a sanctioned contractor, a front company):
-- looked up by name, never returned as actors
CREATE TABLE organisations (
    name_norm       TEXT PRIMARY KEY,
    name            TEXT NOT NULL,
    linked_actor_id INTEGER REFERENCES actors (id) ON DELETE SET NULL,
    linked_actor    TEXT NOT NULL                 -- as written in the overrides file
);
CREATE INDEX organisations_actor ON organisations (linked_actor_id);
