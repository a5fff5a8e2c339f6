-- Issue 6: documents clerks attach ("Daten anhängen", kind CLERK), to the Vorgang or one of
-- its notes, with who attached them and when; and the queue of blobs a final deletion left
-- to remove from the document store.

ALTER TABLE documents ADD COLUMN attached_kind TEXT;   -- VORGANG, KOMMENTAR, WIEDERVORLAGE (kind CLERK only)
ALTER TABLE documents ADD COLUMN attached_id TEXT;     -- the Kommentar's or Wiedervorlage's id
ALTER TABLE documents ADD COLUMN added_at INTEGER;
ALTER TABLE documents ADD COLUMN actor_id TEXT;
ALTER TABLE documents ADD COLUMN actor_name TEXT;

CREATE TABLE blob_deletions (
    blob_key   TEXT PRIMARY KEY,
    tenant_id  TEXT NOT NULL,
    queued_at  INTEGER NOT NULL
) WITHOUT ROWID;
