-- The PostgreSQL schema of the storage contract; the same tables and keys as the SQLite
-- backend (crates/store-sqlite/migrations/0001_init.sql).
--
-- Every table of tenant data carries tenant_id first in its key and indexes, so every query is
-- scoped to one tenant and uses an index for it. The exceptions are the lookups that happen
-- before a tenant is known (sessions by token hash) or span all tenants (unfinished deliveries).
--
-- Text that is sorted or compared as a key uses COLLATE "C": byte-wise like SQLite and Rust,
-- independent of the database's locale, and the indexes serve the worklist's ORDER BY.
-- Timestamps are timestamptz holding whole milliseconds (the store truncates before writing).
-- The bulky JSON is `json`, not `jsonb`: stored as written, so it round-trips exactly
-- (jsonb would normalise numbers and reject "\u0000" inside strings).

CREATE TABLE tenants (
    id          TEXT COLLATE "C" PRIMARY KEY,
    name        TEXT NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL
);

CREATE TABLE users (
    tenant_id      TEXT COLLATE "C" NOT NULL REFERENCES tenants (id),
    id             UUID NOT NULL,
    username       TEXT COLLATE "C" NOT NULL,
    display_name   TEXT COLLATE "C" NOT NULL,
    email          TEXT,
    role           TEXT NOT NULL,
    password_hash  TEXT NOT NULL,
    disabled       BOOLEAN NOT NULL DEFAULT FALSE,
    created_at     TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (tenant_id, id),
    CONSTRAINT users_username_key UNIQUE (tenant_id, username)
);

CREATE TABLE sessions (
    token_hash         TEXT COLLATE "C" PRIMARY KEY,
    tenant_id          TEXT COLLATE "C" NOT NULL,
    user_id            UUID NOT NULL,
    csrf_token         TEXT NOT NULL,
    created_at         TIMESTAMPTZ NOT NULL,
    last_seen          TIMESTAMPTZ NOT NULL,
    idle_timeout_secs  BIGINT NOT NULL,
    absolute_expiry    TIMESTAMPTZ NOT NULL,
    FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, id)
);

-- Raw deliveries, recorded before parsing. The payload itself is in the document store.
CREATE TABLE deliveries (
    tenant_id      TEXT COLLATE "C" NOT NULL REFERENCES tenants (id),
    id             UUID NOT NULL,
    received_at    TIMESTAMPTZ NOT NULL,
    channel        TEXT NOT NULL,
    content_type   TEXT NOT NULL,
    blob_key       TEXT NOT NULL,
    size           BIGINT NOT NULL,
    status         TEXT COLLATE "C" NOT NULL,
    error_field    TEXT,
    error_message  TEXT,
    vorgang_id     UUID,
    attempts       INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (tenant_id, id)
);
-- The quarantine of a tenant, newest first.
CREATE INDEX deliveries_by_status ON deliveries (tenant_id, status, received_at, id);
-- Deliveries stored but never completed, across tenants, oldest first (usually none).
CREATE INDEX deliveries_unfinished ON deliveries (received_at, tenant_id, id) WHERE status = 'RECEIVED';

-- The narrow row the worklist reads; bulky data lives in vorgang_daten.
CREATE TABLE vorgaenge (
    tenant_id               TEXT COLLATE "C" NOT NULL REFERENCES tenants (id),
    id                      UUID NOT NULL,
    nummer                  TEXT COLLATE "C" NOT NULL,
    transaction_id          TEXT COLLATE "C" NOT NULL,
    status                  TEXT COLLATE "C" NOT NULL,
    status_since            TIMESTAMPTZ NOT NULL,
    status_before_deletion  TEXT,
    version                 BIGINT NOT NULL,
    aktenzeichen            TEXT COLLATE "C",
    assignee_id             UUID,
    eingang_at              TIMESTAMPTZ NOT NULL,
    form_id                 TEXT NOT NULL,
    form_name               TEXT COLLATE "C" NOT NULL,
    zustaendige_stelle      TEXT NOT NULL,
    applicant_name          TEXT,
    PRIMARY KEY (tenant_id, id),
    CONSTRAINT vorgaenge_nummer_key UNIQUE (tenant_id, nummer),
    CONSTRAINT vorgaenge_transaction_key UNIQUE (tenant_id, transaction_id)
);
CREATE INDEX vorgaenge_by_eingang ON vorgaenge (tenant_id, eingang_at, id);
CREATE INDEX vorgaenge_by_status ON vorgaenge (tenant_id, status, eingang_at, id);
CREATE INDEX vorgaenge_by_assignee ON vorgaenge (tenant_id, assignee_id, status, eingang_at, id);
CREATE INDEX vorgaenge_by_form ON vorgaenge (tenant_id, form_name, id);
-- A missing Aktenzeichen sorts first ascending and last descending (a backward scan).
CREATE INDEX vorgaenge_by_aktenzeichen ON vorgaenge (tenant_id, aktenzeichen NULLS FIRST, id);
-- "Nächsten Vorgang übernehmen": the oldest unassigned new one.
CREATE INDEX vorgaenge_pile ON vorgaenge (tenant_id, eingang_at, id)
    WHERE status = 'NEU' AND assignee_id IS NULL;

CREATE TABLE vorgang_daten (
    tenant_id    TEXT COLLATE "C" NOT NULL,
    vorgang_id   UUID NOT NULL,
    leika_ids    JSON NOT NULL,
    applicant    JSON NOT NULL,
    control      JSON NOT NULL,
    form_data    JSON NOT NULL,
    PRIMARY KEY (tenant_id, vorgang_id),
    FOREIGN KEY (tenant_id, vorgang_id) REFERENCES vorgaenge (tenant_id, id)
);

CREATE TABLE documents (
    tenant_id     TEXT COLLATE "C" NOT NULL,
    id            UUID NOT NULL,
    vorgang_id    UUID NOT NULL,
    kind          TEXT COLLATE "C" NOT NULL,
    filename      TEXT COLLATE "C" NOT NULL,
    content_type  TEXT NOT NULL,
    size          BIGINT NOT NULL,
    blob_key      TEXT NOT NULL,
    sha256        TEXT NOT NULL,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, vorgang_id) REFERENCES vorgaenge (tenant_id, id)
);
CREATE INDEX documents_by_vorgang ON documents (tenant_id, vorgang_id);

-- Append-only: the history of every Vorgang and the durable outbox for later channels.
-- Writers append under a per-tenant advisory lock held until commit, so within a tenant
-- seq order is commit order and a reader paging by seq never skips a late commit.
CREATE TABLE events (
    seq         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    tenant_id   TEXT COLLATE "C" NOT NULL,
    vorgang_id  UUID NOT NULL,
    at          TIMESTAMPTZ NOT NULL,
    actor_id    UUID,
    actor_name  TEXT NOT NULL,
    kind        TEXT NOT NULL,
    payload     JSON NOT NULL
);
CREATE INDEX events_by_vorgang ON events (tenant_id, vorgang_id, seq);
CREATE INDEX events_by_tenant ON events (tenant_id, seq);
