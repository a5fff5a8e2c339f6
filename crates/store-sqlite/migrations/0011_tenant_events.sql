-- Tenant-level events (a delivery quarantined or not routable) have no Vorgang. SQLite cannot
-- drop a NOT NULL, so the table is rebuilt with the same rows, numbers and indexes; the
-- AUTOINCREMENT counter is carried over so no physical number is handed out twice.
CREATE TABLE events_new (
    seq            INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant_id      TEXT NOT NULL,
    vorgang_id     TEXT,
    at             INTEGER NOT NULL,
    actor_id       TEXT,
    actor_name     TEXT NOT NULL,
    kind           TEXT NOT NULL,
    payload        TEXT NOT NULL,
    tenant_seq     INTEGER,
    schema_version INTEGER NOT NULL DEFAULT 1
);
INSERT INTO events_new (seq, tenant_id, vorgang_id, at, actor_id, actor_name, kind, payload, tenant_seq, schema_version)
SELECT seq, tenant_id, vorgang_id, at, actor_id, actor_name, kind, payload, tenant_seq, schema_version FROM events;
INSERT INTO sqlite_sequence (name, seq)
SELECT 'events_new', seq FROM sqlite_sequence WHERE name = 'events'
  AND NOT EXISTS (SELECT 1 FROM sqlite_sequence WHERE name = 'events_new');
UPDATE sqlite_sequence SET seq = max(seq, (SELECT seq FROM sqlite_sequence WHERE name = 'events'))
WHERE name = 'events_new' AND EXISTS (SELECT 1 FROM sqlite_sequence WHERE name = 'events');
DROP TABLE events;
ALTER TABLE events_new RENAME TO events;
CREATE INDEX events_by_vorgang ON events (tenant_id, vorgang_id, seq);
CREATE INDEX events_by_tenant ON events (tenant_id, seq);
CREATE UNIQUE INDEX events_by_tenant_seq ON events (tenant_id, tenant_seq);
