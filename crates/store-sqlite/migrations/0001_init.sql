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
CREATE INDEX vorgaenge_by_eingang ON vorgaenge (tenant_id, eingang_at, id);
CREATE INDEX vorgaenge_by_status ON vorgaenge (tenant_id, status, eingang_at, id);
CREATE INDEX vorgaenge_by_assignee ON vorgaenge (tenant_id, assignee_id, status, eingang_at, id);
CREATE INDEX vorgaenge_by_form ON vorgaenge (tenant_id, form_name, id);
CREATE INDEX vorgaenge_by_aktenzeichen ON vorgaenge (tenant_id, aktenzeichen, id);
-- "Nächsten Vorgang übernehmen": the oldest unassigned new one.
CREATE INDEX vorgaenge_pile ON vorgaenge (tenant_id, eingang_at, id)
    WHERE status = 'NEU' AND assignee_id IS NULL;

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
