-- The durable job runner (domain::jobs, store::JobStore) and per-consumer event cursors.
CREATE TABLE jobs (
    id            TEXT PRIMARY KEY,
    kind          TEXT NOT NULL,
    tenant_id     TEXT,
    payload       TEXT NOT NULL,
    unique_key    TEXT UNIQUE,
    state         TEXT NOT NULL,
    attempt       INTEGER NOT NULL DEFAULT 0,
    max_attempts  INTEGER NOT NULL,
    scheduled_at  INTEGER NOT NULL,
    leased_by     TEXT,
    leased_until  INTEGER,
    last_error    TEXT,
    created_at    INTEGER NOT NULL,
    finished_at   INTEGER
);
CREATE INDEX jobs_due ON jobs (scheduled_at) WHERE state IN ('AVAILABLE', 'RETRYABLE');
CREATE INDEX jobs_leased ON jobs (leased_until) WHERE state = 'RUNNING';
CREATE INDEX jobs_by_state ON jobs (state, created_at);

CREATE TABLE event_cursors (
    consumer    TEXT NOT NULL,
    tenant_id   TEXT NOT NULL,
    position    INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL,
    PRIMARY KEY (consumer, tenant_id)
);

-- The blob-deletion queue of issue 6 becomes jobs of the runner (one retry mechanism).
INSERT INTO jobs (id, kind, tenant_id, payload, unique_key, state, attempt, max_attempts, scheduled_at, created_at)
SELECT lower(hex(randomblob(16))), 'dokumente.blob_loeschen', tenant_id, json_object('key', blob_key),
       'blob:' || blob_key, 'AVAILABLE', 0, 25, queued_at, queued_at
FROM blob_deletions;
DROP TABLE blob_deletions;
