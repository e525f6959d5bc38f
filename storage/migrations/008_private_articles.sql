-- Search filters out other guilds' private articles (from their own feeds). They are
-- few, so listing them through a partial index is cheaper than reading the scope of
-- every ranked article from its (large) row.

CREATE INDEX articles_private ON articles (scope_guild) WHERE scope_guild != 0;
