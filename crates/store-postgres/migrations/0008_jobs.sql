-- The durable job runner (domain::jobs, store::JobStore) and per-consumer event cursors.
CREATE TABLE jobs (
    id            UUID PRIMARY KEY,
    kind          TEXT COLLATE "C" NOT NULL,
    tenant_id     TEXT COLLATE "C",
    payload       JSONB NOT NULL,
    unique_key    TEXT COLLATE "C" UNIQUE,
    state         TEXT COLLATE "C" NOT NULL,
    attempt       INTEGER NOT NULL DEFAULT 0,
    max_attempts  INTEGER NOT NULL,
    scheduled_at  TIMESTAMPTZ NOT NULL,
    leased_by     TEXT,
    leased_until  TIMESTAMPTZ,
    last_error    TEXT,
    created_at    TIMESTAMPTZ NOT NULL DEFAULT now(),
    finished_at   TIMESTAMPTZ
);
CREATE INDEX jobs_due ON jobs (scheduled_at) WHERE state IN ('AVAILABLE', 'RETRYABLE');
CREATE INDEX jobs_leased ON jobs (leased_until) WHERE state = 'RUNNING';
CREATE INDEX jobs_by_state ON jobs (state, created_at);

CREATE TABLE event_cursors (
    consumer    TEXT COLLATE "C" NOT NULL,
    tenant_id   TEXT COLLATE "C" NOT NULL,
    position    BIGINT NOT NULL,
    updated_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (consumer, tenant_id)
);

-- The blob-deletion queue of issue 6 becomes jobs of the runner (one retry mechanism).
INSERT INTO jobs (id, kind, tenant_id, payload, unique_key, state, attempt, max_attempts, scheduled_at, created_at)
SELECT gen_random_uuid(), 'dokumente.blob_loeschen', tenant_id, jsonb_build_object('key', blob_key),
       'blob:' || blob_key, 'AVAILABLE', 0, 25, queued_at, queued_at
FROM blob_deletions;
DROP TABLE blob_deletions;
