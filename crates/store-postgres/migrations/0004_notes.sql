-- Kommentare and Wiedervorlagen (issue 6): the clerk's own notes on a Vorgang.

-- Internal notes, never shown to the applicant; listed by (at, id).
CREATE TABLE kommentare (
    tenant_id   TEXT COLLATE "C" NOT NULL,
    id          UUID NOT NULL,
    vorgang_id  UUID NOT NULL,
    text        TEXT NOT NULL,
    at          TIMESTAMPTZ NOT NULL,
    actor_id    UUID,
    actor_name  TEXT NOT NULL,
    PRIMARY KEY (tenant_id, id),
    CONSTRAINT kommentare_vorgang_fkey FOREIGN KEY (tenant_id, vorgang_id) REFERENCES vorgaenge (tenant_id, id)
);
CREATE INDEX kommentare_by_vorgang ON kommentare (tenant_id, vorgang_id, at, id);

-- Follow-ups with a due date (Frist), versioned for optimistic concurrency.
CREATE TABLE wiedervorlagen (
    tenant_id     TEXT COLLATE "C" NOT NULL,
    id            UUID NOT NULL,
    vorgang_id    UUID NOT NULL,
    betreff       TEXT NOT NULL,
    beschreibung  TEXT NOT NULL,
    frist         DATE NOT NULL,
    erledigt      BOOLEAN NOT NULL DEFAULT FALSE,
    erledigt_at   TIMESTAMPTZ,
    created_at    TIMESTAMPTZ NOT NULL,
    actor_id      UUID,
    actor_name    TEXT NOT NULL,
    version       BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, id),
    CONSTRAINT wiedervorlagen_vorgang_fkey FOREIGN KEY (tenant_id, vorgang_id) REFERENCES vorgaenge (tenant_id, id)
);
CREATE INDEX wiedervorlagen_by_vorgang ON wiedervorlagen (tenant_id, vorgang_id);
-- The list across Vorgänge and the count of due ones: open ones by Frist.
CREATE INDEX wiedervorlagen_by_frist ON wiedervorlagen (tenant_id, erledigt, frist, id);

-- The earliest Frist of the Vorgang's open Wiedervorlagen, kept in the same transaction by
-- every change of a Wiedervorlage, so the worklist shows it without a per-row subquery.
ALTER TABLE vorgaenge ADD COLUMN naechste_frist DATE;
