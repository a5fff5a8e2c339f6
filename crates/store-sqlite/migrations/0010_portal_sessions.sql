-- Sessions of people who are not clerks (store::PortalSessionStore), apart from `sessions`.
CREATE TABLE portal_sessions (
    token_hash         TEXT PRIMARY KEY,
    tenant_id          TEXT NOT NULL REFERENCES tenants (id),
    kind               TEXT NOT NULL,
    subject            TEXT NOT NULL,
    csrf_token         TEXT NOT NULL,
    created_at         INTEGER NOT NULL,
    last_seen          INTEGER NOT NULL,
    idle_timeout_secs  INTEGER NOT NULL,
    absolute_expiry    INTEGER NOT NULL
);
CREATE INDEX portal_sessions_by_subject ON portal_sessions (tenant_id, subject);
