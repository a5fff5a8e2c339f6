-- Tenants get a kind, a host and an IP allowlist; Organisationseinheiten; users get several
-- roles, units, an OIDC identity and lockout; Vorgänge belong to a unit; API tokens; audit log.

ALTER TABLE tenants ADD COLUMN kind TEXT NOT NULL DEFAULT 'STADT';
ALTER TABLE tenants ADD COLUMN host TEXT;
-- One network per line: the allowlist is only ever read and written whole.
ALTER TABLE tenants ADD COLUMN ip_allowlist TEXT NOT NULL DEFAULT '';
UPDATE tenants SET kind = 'PLATTFORM' WHERE id = 'plattform';
CREATE UNIQUE INDEX tenants_by_host ON tenants (host) WHERE host IS NOT NULL;

-- The kennung is what form services send as zustaendigeStelle; intake routes by it alone,
-- so it is unique across the installation, not per tenant.
CREATE TABLE units (
    tenant_id  TEXT NOT NULL REFERENCES tenants(id),
    id         TEXT NOT NULL,
    name       TEXT NOT NULL,
    kennung    TEXT NOT NULL UNIQUE,
    PRIMARY KEY (tenant_id, id)
);
CREATE INDEX units_by_name ON units (tenant_id, name, id);

-- Roles as "SACHBEARBEITUNG,ADMIN" (domain::user::roles_to_text); the old single role is
-- carried over as it was.
ALTER TABLE users ADD COLUMN roles TEXT NOT NULL DEFAULT '';
UPDATE users SET roles = role;
ALTER TABLE users DROP COLUMN role;
ALTER TABLE users ADD COLUMN oidc_subject TEXT;
ALTER TABLE users ADD COLUMN failed_logins INTEGER NOT NULL DEFAULT 0;
ALTER TABLE users ADD COLUMN locked_until INTEGER;
CREATE UNIQUE INDEX users_by_oidc_subject ON users (tenant_id, oidc_subject) WHERE oidc_subject IS NOT NULL;

CREATE TABLE user_units (
    tenant_id  TEXT NOT NULL,
    user_id    TEXT NOT NULL,
    unit_id    TEXT NOT NULL,
    PRIMARY KEY (tenant_id, user_id, unit_id),
    FOREIGN KEY (tenant_id, user_id) REFERENCES users(tenant_id, id),
    FOREIGN KEY (tenant_id, unit_id) REFERENCES units(tenant_id, id)
) WITHOUT ROWID;

-- Expiry sweeps look at every session; the table is small (live sessions only).
CREATE INDEX sessions_by_user ON sessions (tenant_id, user_id);

ALTER TABLE vorgaenge ADD COLUMN unit_id TEXT;

-- The sort indexes carry unit_id as well, so the visibility filter (unit, assignee, status)
-- is checked on index entries and a page still never touches the table.
DROP INDEX vorgaenge_sort_eingang;
DROP INDEX vorgaenge_sort_nummer;
DROP INDEX vorgaenge_sort_form;
DROP INDEX vorgaenge_sort_status;
DROP INDEX vorgaenge_sort_aktenzeichen;
DROP INDEX vorgaenge_by_status;
DROP INDEX vorgaenge_by_assignee;
DROP INDEX vorgaenge_pile;
CREATE INDEX vorgaenge_sort_eingang ON vorgaenge (tenant_id, eingang_at, id, status, assignee_id, unit_id);
CREATE INDEX vorgaenge_sort_nummer ON vorgaenge (tenant_id, nummer, id, status, assignee_id, unit_id);
CREATE INDEX vorgaenge_sort_form ON vorgaenge (tenant_id, form_name, id, status, assignee_id, unit_id);
CREATE INDEX vorgaenge_sort_status ON vorgaenge (tenant_id, status, id, assignee_id, unit_id);
CREATE INDEX vorgaenge_sort_aktenzeichen ON vorgaenge (tenant_id, aktenzeichen, id, status, assignee_id, unit_id);
CREATE INDEX vorgaenge_by_status ON vorgaenge (tenant_id, status, eingang_at, id, assignee_id, unit_id);
CREATE INDEX vorgaenge_by_assignee ON vorgaenge (tenant_id, assignee_id, status, eingang_at, id, unit_id);
CREATE INDEX vorgaenge_pile ON vorgaenge (tenant_id, eingang_at, id, unit_id)
    WHERE status = 'NEU' AND assignee_id IS NULL;

-- Counts now per (tenant, unit, assignee, status): a restricted visibility sums the rows it
-- covers, which are few (units × assignees × statuses that occur), never the Vorgänge.
DROP TRIGGER vorgaenge_count_insert;
DROP TRIGGER vorgaenge_count_delete;
DROP TRIGGER vorgaenge_count_update;
DROP TABLE vorgang_counts;
CREATE TABLE vorgang_counts (
    tenant_id    TEXT NOT NULL,
    assignee_id  TEXT NOT NULL,  -- '' for unassigned
    unit_id      TEXT NOT NULL,  -- '' for no unit
    status       TEXT NOT NULL,
    n            INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, assignee_id, unit_id, status)
) WITHOUT ROWID;
INSERT INTO vorgang_counts (tenant_id, assignee_id, unit_id, status, n)
    SELECT tenant_id, coalesce(assignee_id, ''), coalesce(unit_id, ''), status, count(*)
      FROM vorgaenge GROUP BY 1, 2, 3, 4;

CREATE TRIGGER vorgaenge_count_insert AFTER INSERT ON vorgaenge BEGIN
    INSERT OR IGNORE INTO vorgang_counts
        VALUES (NEW.tenant_id, coalesce(NEW.assignee_id, ''), coalesce(NEW.unit_id, ''), NEW.status, 0);
    UPDATE vorgang_counts SET n = n + 1
     WHERE tenant_id = NEW.tenant_id AND assignee_id = coalesce(NEW.assignee_id, '')
       AND unit_id = coalesce(NEW.unit_id, '') AND status = NEW.status;
END;

CREATE TRIGGER vorgaenge_count_delete AFTER DELETE ON vorgaenge BEGIN
    UPDATE vorgang_counts SET n = n - 1
     WHERE tenant_id = OLD.tenant_id AND assignee_id = coalesce(OLD.assignee_id, '')
       AND unit_id = coalesce(OLD.unit_id, '') AND status = OLD.status;
END;

CREATE TRIGGER vorgaenge_count_update AFTER UPDATE OF status, assignee_id, unit_id ON vorgaenge
WHEN OLD.status IS NOT NEW.status OR OLD.assignee_id IS NOT NEW.assignee_id OR OLD.unit_id IS NOT NEW.unit_id BEGIN
    UPDATE vorgang_counts SET n = n - 1
     WHERE tenant_id = OLD.tenant_id AND assignee_id = coalesce(OLD.assignee_id, '')
       AND unit_id = coalesce(OLD.unit_id, '') AND status = OLD.status;
    INSERT OR IGNORE INTO vorgang_counts
        VALUES (NEW.tenant_id, coalesce(NEW.assignee_id, ''), coalesce(NEW.unit_id, ''), NEW.status, 0);
    UPDATE vorgang_counts SET n = n + 1
     WHERE tenant_id = NEW.tenant_id AND assignee_id = coalesce(NEW.assignee_id, '')
       AND unit_id = coalesce(NEW.unit_id, '') AND status = NEW.status;
END;

CREATE TABLE api_tokens (
    tenant_id     TEXT NOT NULL REFERENCES tenants(id),
    id            TEXT NOT NULL,
    name          TEXT NOT NULL,
    scopes        TEXT NOT NULL,  -- "EINGANG,LESEN" (domain::access::scopes_to_text)
    token_hash    TEXT NOT NULL UNIQUE,
    created_at    INTEGER NOT NULL,
    created_by    TEXT NOT NULL,
    last_used_at  INTEGER,
    revoked_at    INTEGER,
    PRIMARY KEY (tenant_id, id)
);
CREATE INDEX api_tokens_by_created ON api_tokens (tenant_id, created_at, id);

CREATE TABLE audit (
    seq         INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant_id   TEXT NOT NULL,
    at          INTEGER NOT NULL,
    actor_id    TEXT,
    actor_name  TEXT NOT NULL,
    action      TEXT NOT NULL,
    target      TEXT,
    detail      TEXT,
    ip          TEXT
);
CREATE INDEX audit_by_tenant ON audit (tenant_id, seq);
CREATE INDEX audit_by_action ON audit (tenant_id, action, seq);
