-- Final deletion must not leave the words of a deleted Vorgang in the search index's
-- segments until the next merge (FTS5 'secure-delete', SQLite >= 3.44). The database file
-- itself is overwritten on delete by PRAGMA secure_delete (set on every connection).
INSERT INTO vorgang_fts (vorgang_fts, rank) VALUES ('secure-delete', 1);
