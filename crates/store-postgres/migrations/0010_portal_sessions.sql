-- Sessions of people who are not clerks (store::PortalSessionStore), apart from `sessions`.
CREATE TABLE portal_sessions (
    token_hash         TEXT COLLATE "C" PRIMARY KEY,
    tenant_id          TEXT COLLATE "C" NOT NULL REFERENCES tenants (id),
    kind               TEXT COLLATE "C" NOT NULL,
    subject            TEXT NOT NULL,
    csrf_token         TEXT NOT NULL,
    created_at         TIMESTAMPTZ NOT NULL,
    last_seen          TIMESTAMPTZ NOT NULL,
    idle_timeout_secs  BIGINT NOT NULL,
    absolute_expiry    TIMESTAMPTZ NOT NULL
);
CREATE INDEX portal_sessions_by_subject ON portal_sessions (tenant_id, subject);
