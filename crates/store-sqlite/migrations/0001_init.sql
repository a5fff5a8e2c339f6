-- Every table of tenant data carries tenant_id first in its key and indexes, so every
-- query is scoped to one tenant and uses an index for it.

CREATE TABLE tenants (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    created_at  INTEGER NOT NULL
);

CREATE TABLE users (
    tenant_id      TEXT NOT NULL REFERENCES tenants(id),
    id             TEXT NOT NULL,
    username       TEXT NOT NULL,
    display_name   TEXT NOT NULL,
    email          TEXT,
    role           TEXT NOT NULL,
    password_hash  TEXT NOT NULL,
    disabled       INTEGER NOT NULL DEFAULT 0,
    created_at     INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, id),
    UNIQUE (tenant_id, username)
);

CREATE TABLE sessions (
    token_hash         TEXT PRIMARY KEY,
    tenant_id          TEXT NOT NULL,
    user_id            TEXT NOT NULL,
    csrf_token         TEXT NOT NULL,
    created_at         INTEGER NOT NULL,
    last_seen          INTEGER NOT NULL,
    idle_timeout_secs  INTEGER NOT NULL,
    absolute_expiry    INTEGER NOT NULL,
    FOREIGN KEY (tenant_id, user_id) REFERENCES users(tenant_id, id)
);

-- Raw deliveries, recorded before parsing. The payload itself is in the document store.
CREATE TABLE deliveries (
    tenant_id      TEXT NOT NULL REFERENCES tenants(id),
    id             TEXT NOT NULL,
    received_at    INTEGER NOT NULL,
    channel        TEXT NOT NULL,
    content_type   TEXT NOT NULL,
    blob_key       TEXT NOT NULL,
    size           INTEGER NOT NULL,
    status         TEXT NOT NULL,
    error_field    TEXT,
    error_message  TEXT,
    vorgang_id     TEXT,
    attempts       INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (tenant_id, id)
);
CREATE INDEX deliveries_by_status ON deliveries (status, tenant_id, received_at);

-- The narrow row the worklist reads; bulky data lives in vorgang_daten.
CREATE TABLE vorgaenge (
    tenant_id               TEXT NOT NULL REFERENCES tenants(id),
    id                      TEXT NOT NULL,
    nummer                  TEXT NOT NULL,
    transaction_id          TEXT NOT NULL,
    status                  TEXT NOT NULL,
    status_since            INTEGER NOT NULL,
    status_before_deletion  TEXT,
    version                 INTEGER NOT NULL,
    aktenzeichen            TEXT,
    assignee_id             TEXT,
    eingang_at              INTEGER NOT NULL,
    form_id                 TEXT NOT NULL,
    form_name               TEXT NOT NULL,
    zustaendige_stelle      TEXT NOT NULL,
    applicant_name          TEXT,
    PRIMARY KEY (tenant_id, id),
    UNIQUE (tenant_id, nummer),
    UNIQUE (tenant_id, transaction_id)
);
-- Worklist indexes. Each sort index carries the filter columns (status, assignee), so a page
-- is found by walking one index in sort order without touching the table; the query names
-- the index it wants (INDEXED BY) instead of trusting the planner's guess.
CREATE INDEX vorgaenge_sort_eingang ON vorgaenge (tenant_id, eingang_at, id, status, assignee_id);
CREATE INDEX vorgaenge_sort_nummer ON vorgaenge (tenant_id, nummer, id, status, assignee_id);
CREATE INDEX vorgaenge_sort_form ON vorgaenge (tenant_id, form_name, id, status, assignee_id);
CREATE INDEX vorgaenge_sort_status ON vorgaenge (tenant_id, status, id, assignee_id);
CREATE INDEX vorgaenge_sort_aktenzeichen ON vorgaenge (tenant_id, aktenzeichen, id, status, assignee_id);
CREATE INDEX vorgaenge_by_status ON vorgaenge (tenant_id, status, eingang_at, id, assignee_id);
CREATE INDEX vorgaenge_by_assignee ON vorgaenge (tenant_id, assignee_id, status, eingang_at, id);
-- "Nächsten Vorgang übernehmen": the oldest unassigned new one.
CREATE INDEX vorgaenge_pile ON vorgaenge (tenant_id, eingang_at, id)
    WHERE status = 'NEU' AND assignee_id IS NULL;

-- Counts per (tenant, assignee, status), kept by triggers so that no code path can forget
-- them: the worklist shows counts on every page and must not count 100,000 rows each time.
CREATE TABLE vorgang_counts (
    tenant_id    TEXT NOT NULL,
    assignee_id  TEXT NOT NULL,  -- '' for unassigned
    status       TEXT NOT NULL,
    n            INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, assignee_id, status)
) WITHOUT ROWID;

CREATE TRIGGER vorgaenge_count_insert AFTER INSERT ON vorgaenge BEGIN
    INSERT OR IGNORE INTO vorgang_counts VALUES (NEW.tenant_id, coalesce(NEW.assignee_id, ''), NEW.status, 0);
    UPDATE vorgang_counts SET n = n + 1
     WHERE tenant_id = NEW.tenant_id AND assignee_id = coalesce(NEW.assignee_id, '') AND status = NEW.status;
END;

CREATE TRIGGER vorgaenge_count_delete AFTER DELETE ON vorgaenge BEGIN
    UPDATE vorgang_counts SET n = n - 1
     WHERE tenant_id = OLD.tenant_id AND assignee_id = coalesce(OLD.assignee_id, '') AND status = OLD.status;
END;

CREATE TRIGGER vorgaenge_count_update AFTER UPDATE OF status, assignee_id ON vorgaenge
WHEN OLD.status IS NOT NEW.status OR OLD.assignee_id IS NOT NEW.assignee_id BEGIN
    UPDATE vorgang_counts SET n = n - 1
     WHERE tenant_id = OLD.tenant_id AND assignee_id = coalesce(OLD.assignee_id, '') AND status = OLD.status;
    INSERT OR IGNORE INTO vorgang_counts VALUES (NEW.tenant_id, coalesce(NEW.assignee_id, ''), NEW.status, 0);
    UPDATE vorgang_counts SET n = n + 1
     WHERE tenant_id = NEW.tenant_id AND assignee_id = coalesce(NEW.assignee_id, '') AND status = NEW.status;
END;

CREATE TABLE vorgang_daten (
    tenant_id    TEXT NOT NULL,
    vorgang_id   TEXT NOT NULL,
    leika_ids    TEXT NOT NULL,
    applicant    TEXT NOT NULL,
    control      TEXT NOT NULL,
    form_data    TEXT NOT NULL,
    PRIMARY KEY (tenant_id, vorgang_id),
    FOREIGN KEY (tenant_id, vorgang_id) REFERENCES vorgaenge(tenant_id, id)
);

CREATE TABLE documents (
    tenant_id     TEXT NOT NULL,
    id            TEXT NOT NULL,
    vorgang_id    TEXT NOT NULL,
    kind          TEXT NOT NULL,
    filename      TEXT NOT NULL,
    content_type  TEXT NOT NULL,
    size          INTEGER NOT NULL,
    blob_key      TEXT NOT NULL,
    sha256        TEXT NOT NULL,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, vorgang_id) REFERENCES vorgaenge(tenant_id, id)
);
CREATE INDEX documents_by_vorgang ON documents (tenant_id, vorgang_id);

-- Append-only: the history of every Vorgang and the durable outbox for later channels.
CREATE TABLE events (
    seq         INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant_id   TEXT NOT NULL,
    vorgang_id  TEXT NOT NULL,
    at          INTEGER NOT NULL,
    actor_id    TEXT,
    actor_name  TEXT NOT NULL,
    kind        TEXT NOT NULL,
    payload     TEXT NOT NULL
);
CREATE INDEX events_by_vorgang ON events (tenant_id, vorgang_id, seq);
CREATE INDEX events_by_tenant ON events (tenant_id, seq);
