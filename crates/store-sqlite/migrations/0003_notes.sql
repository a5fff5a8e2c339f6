-- Issue 6: the clerk's own notes on a Vorgang. Kommentare (internal) and Wiedervorlagen
-- (follow-ups with a Frist). Fristen are ISO dates ('YYYY-MM-DD'), which sort as text.

CREATE TABLE kommentare (
    tenant_id   TEXT NOT NULL,
    id          TEXT NOT NULL,
    vorgang_id  TEXT NOT NULL,
    text        TEXT NOT NULL,
    at          INTEGER NOT NULL,
    actor_id    TEXT,
    actor_name  TEXT NOT NULL,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, vorgang_id) REFERENCES vorgaenge(tenant_id, id)
);
CREATE INDEX kommentare_by_vorgang ON kommentare (tenant_id, vorgang_id, at, id);

CREATE TABLE wiedervorlagen (
    tenant_id     TEXT NOT NULL,
    id            TEXT NOT NULL,
    vorgang_id    TEXT NOT NULL,
    betreff       TEXT NOT NULL,
    beschreibung  TEXT NOT NULL,
    frist         TEXT NOT NULL,
    erledigt      INTEGER NOT NULL DEFAULT 0,
    erledigt_at   INTEGER,
    created_at    INTEGER NOT NULL,
    actor_id      TEXT,
    actor_name    TEXT NOT NULL,
    version       INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, vorgang_id) REFERENCES vorgaenge(tenant_id, id)
);
-- Per Vorgang (its list, and the earliest open Frist below).
CREATE INDEX wiedervorlagen_by_vorgang ON wiedervorlagen (tenant_id, vorgang_id, erledigt, frist);
-- The view across Vorgänge: open ones by Frist.
CREATE INDEX wiedervorlagen_by_frist ON wiedervorlagen (tenant_id, erledigt, frist, id);

-- The earliest Frist of the Vorgang's open Wiedervorlagen, for the worklist. Kept by
-- triggers, so that no code path (add, update, import) can forget it.
ALTER TABLE vorgaenge ADD COLUMN naechste_frist TEXT;

CREATE TRIGGER wiedervorlagen_frist_insert AFTER INSERT ON wiedervorlagen BEGIN
    UPDATE vorgaenge SET naechste_frist = (
        SELECT min(frist) FROM wiedervorlagen
         WHERE tenant_id = NEW.tenant_id AND vorgang_id = NEW.vorgang_id AND erledigt = 0)
     WHERE tenant_id = NEW.tenant_id AND id = NEW.vorgang_id;
END;

CREATE TRIGGER wiedervorlagen_frist_update AFTER UPDATE OF frist, erledigt, vorgang_id ON wiedervorlagen BEGIN
    UPDATE vorgaenge SET naechste_frist = (
        SELECT min(frist) FROM wiedervorlagen
         WHERE tenant_id = OLD.tenant_id AND vorgang_id = OLD.vorgang_id AND erledigt = 0)
     WHERE tenant_id = OLD.tenant_id AND id = OLD.vorgang_id;
    UPDATE vorgaenge SET naechste_frist = (
        SELECT min(frist) FROM wiedervorlagen
         WHERE tenant_id = NEW.tenant_id AND vorgang_id = NEW.vorgang_id AND erledigt = 0)
     WHERE tenant_id = NEW.tenant_id AND id = NEW.vorgang_id;
END;

CREATE TRIGGER wiedervorlagen_frist_delete AFTER DELETE ON wiedervorlagen BEGIN
    UPDATE vorgaenge SET naechste_frist = (
        SELECT min(frist) FROM wiedervorlagen
         WHERE tenant_id = OLD.tenant_id AND vorgang_id = OLD.vorgang_id AND erledigt = 0)
     WHERE tenant_id = OLD.tenant_id AND id = OLD.vorgang_id;
END;
