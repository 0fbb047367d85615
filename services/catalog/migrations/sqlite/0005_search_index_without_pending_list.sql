-- PostgreSQL's text-search index stops keeping a pending list (see the PostgreSQL migration). SQLite's FTS5 index
-- has no such list: this version has nothing to change here, and is kept so both databases count the same versions.
SELECT 1;
