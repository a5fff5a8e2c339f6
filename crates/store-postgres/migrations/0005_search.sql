-- Issue 6: "Vorgang suchen" and the worklist filters.
--
-- The search text is computed in Rust (domain::search), never by SQL: the store writes the
-- folded words of Vorgangsnummer, Aktenzeichen, applicant name, form name and form-data
-- values as such_vektor = to_tsvector('simple', words) when it creates or imports a Vorgang
-- and when its Aktenzeichen changes. The words are only [a-z0-9] separated by spaces, so the
-- 'simple' configuration (no stemming, no stop words) keeps each as it is. The vector lives
-- in the Vorgang's row: deleting the row deletes its index entries.
ALTER TABLE vorgaenge ADD COLUMN such_vektor tsvector;
CREATE INDEX vorgaenge_search ON vorgaenge USING gin (such_vektor);

-- The original form-data text, for the snippet of a hit. NULL means "not indexed yet": rows
-- of older versions, which the store indexes at startup (search::backfill), since a
-- migration cannot call Rust; the partial index finds them at once and is empty afterwards.
ALTER TABLE vorgang_daten ADD COLUMN such_text TEXT;
CREATE INDEX vorgang_daten_unindexed ON vorgang_daten (tenant_id, vorgang_id) WHERE such_text IS NULL;

-- Filters without text: the form's Vorgänge in Eingang order on the index alone (the unit's
-- have vorgaenge_by_unit since 0003).
CREATE INDEX vorgaenge_by_form ON vorgaenge (tenant_id, form_name, eingang_at, id)
    INCLUDE (status, assignee_id, unit_id);
