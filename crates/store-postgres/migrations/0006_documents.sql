-- Issue 6: documents clerks attach ("Daten anhängen", kind CLERK), to the Vorgang or one of
-- its notes, with who attached them and when; and the queue of blobs a final deletion left
-- to remove from the document store.

ALTER TABLE documents
    ADD COLUMN attached_kind TEXT COLLATE "C",  -- VORGANG, KOMMENTAR, WIEDERVORLAGE (kind CLERK only)
    ADD COLUMN attached_id UUID,                -- the Kommentar's or Wiedervorlage's id
    ADD COLUMN added_at TIMESTAMPTZ,
    ADD COLUMN actor_id UUID,
    ADD COLUMN actor_name TEXT;

CREATE TABLE blob_deletions (
    blob_key   TEXT COLLATE "C" PRIMARY KEY,
    tenant_id  TEXT COLLATE "C" NOT NULL,
    queued_at  TIMESTAMPTZ NOT NULL DEFAULT now()
);
