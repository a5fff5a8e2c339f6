-- Issue 6: "Vorgang suchen" and the worklist filters.
--
-- The search text is computed in Rust (domain::search), never by SQL: the store writes the
-- folded words of Vorgangsnummer, Aktenzeichen, applicant name, form name and form-data
-- values into vorgang_fts under the Vorgang's rowid when it creates or imports a Vorgang and
-- when its Aktenzeichen changes. The original form-data text (for the hit's snippet) is
-- vorgang_daten.such_text; NULL there means "not indexed yet": rows of older versions, which
-- the store indexes at startup (search::backfill), since a migration cannot call Rust.
ALTER TABLE vorgang_daten ADD COLUMN such_text TEXT;
-- Finds the ones still to index at once; empty (and free) once they are.
CREATE INDEX vorgang_daten_unindexed ON vorgang_daten (tenant_id) WHERE such_text IS NULL;

-- Contentless (the words are not stored twice), rowid = vorgaenge.rowid, so a hit is one
-- rowid lookup away from the filter columns. detail=none: only which rows hold a word, no
-- positions (prefix and AND queries need no more). Prefix indexes for 2 and 3 characters
-- make short prefixes ("mü", "sch") cheap.
-- VACUUM keeps the rowids (checked: the copy carries them over). Should the index ever need
-- rebuilding: DELETE FROM vorgang_fts; UPDATE vorgang_daten SET such_text = NULL; restart.
CREATE VIRTUAL TABLE vorgang_fts USING fts5(
    words,
    content = '',
    contentless_delete = 1,
    detail = none,
    prefix = '2 3',
    tokenize = 'unicode61 remove_diacritics 0'
);

-- Whatever deletes a Vorgang (final deletion, a rolled-back import) takes its index entry
-- with it: no code path can forget it.
CREATE TRIGGER vorgaenge_search_delete AFTER DELETE ON vorgaenge BEGIN
    DELETE FROM vorgang_fts WHERE rowid = OLD.rowid;
END;

-- Filters without text: the form's and the unit's Vorgänge in Eingang order, found on the
-- index alone (like the sort indexes, they carry the visibility columns).
CREATE INDEX vorgaenge_by_form ON vorgaenge (tenant_id, form_name, eingang_at, id, status, assignee_id, unit_id);
CREATE INDEX vorgaenge_by_unit ON vorgaenge (tenant_id, unit_id, eingang_at, id, status, assignee_id, form_name);
