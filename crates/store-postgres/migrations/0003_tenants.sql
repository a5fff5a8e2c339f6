-- Tenants with kind, host and IP allowlist; Organisationseinheiten; users with several roles,
-- units, OIDC identity and lockout; visibility by unit in the worklist and its counts; API
-- tokens; the audit log.

-- Tenants. Every tenant so far was a city administration; the platform tenant is the one
-- place operators work from.
ALTER TABLE tenants
    ADD COLUMN kind          TEXT NOT NULL DEFAULT 'STADT',
    ADD COLUMN host          TEXT COLLATE "C",
    ADD COLUMN ip_allowlist  TEXT[] NOT NULL DEFAULT '{}';
UPDATE tenants SET kind = 'PLATTFORM' WHERE id = 'plattform';
ALTER TABLE tenants ALTER COLUMN kind DROP DEFAULT;
-- NULLs are distinct: only tenants addressed by host name compete for one.
ALTER TABLE tenants ADD CONSTRAINT tenants_host_key UNIQUE (host);

-- The kennung is what form services send as zustaendigeStelle: intake routes by it alone,
-- across tenants, so it is unique in the whole installation.
CREATE TABLE units (
    tenant_id  TEXT COLLATE "C" NOT NULL REFERENCES tenants (id),
    id         UUID NOT NULL,
    name       TEXT COLLATE "C" NOT NULL,
    kennung    TEXT COLLATE "C" NOT NULL,
    PRIMARY KEY (tenant_id, id),
    CONSTRAINT units_kennung_key UNIQUE (kennung)
);

-- Users: the single role becomes a list ("SACHBEARBEITUNG,ADMIN", sorted by the domain).
ALTER TABLE users
    ADD COLUMN roles          TEXT NOT NULL DEFAULT '',
    ADD COLUMN oidc_subject   TEXT COLLATE "C",
    ADD COLUMN failed_logins  INTEGER NOT NULL DEFAULT 0,
    ADD COLUMN locked_until   TIMESTAMPTZ;
UPDATE users SET roles = CASE upper(role)
    WHEN 'ADMIN' THEN 'ADMIN'
    WHEN 'SACHBEARBEITUNG' THEN 'SACHBEARBEITUNG'
    ELSE '' END;
ALTER TABLE users DROP COLUMN role;
ALTER TABLE users ALTER COLUMN roles DROP DEFAULT;
ALTER TABLE users ADD CONSTRAINT users_oidc_subject_key UNIQUE (tenant_id, oidc_subject);

CREATE TABLE user_units (
    tenant_id  TEXT COLLATE "C" NOT NULL,
    user_id    UUID NOT NULL,
    unit_id    UUID NOT NULL,
    PRIMARY KEY (tenant_id, user_id, unit_id),
    -- An import replaces a user by deleting it; its memberships go with it.
    CONSTRAINT user_units_user_fkey FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, id)
        ON DELETE CASCADE,
    CONSTRAINT user_units_unit_fkey FOREIGN KEY (tenant_id, unit_id) REFERENCES units (tenant_id, id)
);

-- Expired sessions are swept periodically, across tenants.
CREATE INDEX sessions_by_expiry ON sessions (absolute_expiry);

-- The Vorgang's Organisationseinheit. The composite key keeps a Vorgang from pointing at
-- another tenant's unit.
ALTER TABLE vorgaenge ADD COLUMN unit_id UUID;
ALTER TABLE vorgaenge ADD CONSTRAINT vorgaenge_unit_fkey
    FOREIGN KEY (tenant_id, unit_id) REFERENCES units (tenant_id, id);

-- Counts, now also per unit: a restricted principal's counts are the sum of the count rows
-- its visibility covers (unit, assignee, or status NEU), still without counting Vorgänge.
-- unit_key and assignee_key are the nil UUID for "none".
DROP TRIGGER vorgaenge_counts_insert_delete ON vorgaenge;
DROP TRIGGER vorgaenge_counts_update ON vorgaenge;
DROP FUNCTION vorgang_counts_track();
DROP FUNCTION vorgang_counts_add(TEXT, UUID, TEXT, UUID, BIGINT);
DROP TABLE vorgang_counts;

CREATE TABLE vorgang_counts (
    tenant_id     TEXT COLLATE "C" NOT NULL,
    unit_key      UUID NOT NULL,
    assignee_key  UUID NOT NULL,
    status        TEXT COLLATE "C" NOT NULL,
    shard         SMALLINT NOT NULL,
    n             BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, unit_key, assignee_key, status, shard)
);
INSERT INTO vorgang_counts
SELECT tenant_id, coalesce(unit_id, '00000000-0000-0000-0000-000000000000'::uuid),
       coalesce(assignee_id, '00000000-0000-0000-0000-000000000000'::uuid), status,
       hashtext(id::text) & 15, count(*)
  FROM vorgaenge GROUP BY 1, 2, 3, 4, 5;

-- The key leads with the unit; "Meine" and a clerk's own Vorgänge look up by assignee. Not
-- covering n, so the counter updates stay HOT.
CREATE INDEX vorgang_counts_by_assignee ON vorgang_counts (tenant_id, assignee_key);

CREATE FUNCTION vorgang_counts_add(t TEXT, u UUID, a UUID, s TEXT, v UUID, d BIGINT) RETURNS void LANGUAGE sql AS $$
    INSERT INTO vorgang_counts
    VALUES (t, coalesce(u, '00000000-0000-0000-0000-000000000000'::uuid),
            coalesce(a, '00000000-0000-0000-0000-000000000000'::uuid), s, hashtext(v::text) & 15, d)
    ON CONFLICT (tenant_id, unit_key, assignee_key, status, shard) DO UPDATE SET n = vorgang_counts.n + d
$$;

CREATE FUNCTION vorgang_counts_track() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        PERFORM vorgang_counts_add(NEW.tenant_id, NEW.unit_id, NEW.assignee_id, NEW.status, NEW.id, 1);
    ELSIF TG_OP = 'DELETE' THEN
        PERFORM vorgang_counts_add(OLD.tenant_id, OLD.unit_id, OLD.assignee_id, OLD.status, OLD.id, -1);
    -- The two counter rows are locked in one fixed order, so concurrent changes never deadlock.
    ELSIF coalesce(OLD.unit_id::text, '') || '/' || coalesce(OLD.assignee_id::text, '') || '/' || OLD.status
          < coalesce(NEW.unit_id::text, '') || '/' || coalesce(NEW.assignee_id::text, '') || '/' || NEW.status THEN
        PERFORM vorgang_counts_add(OLD.tenant_id, OLD.unit_id, OLD.assignee_id, OLD.status, OLD.id, -1);
        PERFORM vorgang_counts_add(NEW.tenant_id, NEW.unit_id, NEW.assignee_id, NEW.status, NEW.id, 1);
    ELSE
        PERFORM vorgang_counts_add(NEW.tenant_id, NEW.unit_id, NEW.assignee_id, NEW.status, NEW.id, 1);
        PERFORM vorgang_counts_add(OLD.tenant_id, OLD.unit_id, OLD.assignee_id, OLD.status, OLD.id, -1);
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER vorgaenge_counts_insert_delete AFTER INSERT OR DELETE ON vorgaenge
    FOR EACH ROW EXECUTE FUNCTION vorgang_counts_track();
CREATE TRIGGER vorgaenge_counts_update AFTER UPDATE OF status, assignee_id, unit_id ON vorgaenge
    FOR EACH ROW WHEN (OLD.status IS DISTINCT FROM NEW.status OR OLD.assignee_id IS DISTINCT FROM NEW.assignee_id
                       OR OLD.unit_id IS DISTINCT FROM NEW.unit_id)
    EXECUTE FUNCTION vorgang_counts_track();

-- The sort indexes carry the unit too, so a restricted worklist page is still found on the
-- index alone.
DROP INDEX vorgaenge_sort_eingang;
DROP INDEX vorgaenge_sort_nummer;
DROP INDEX vorgaenge_sort_form;
DROP INDEX vorgaenge_sort_status;
DROP INDEX vorgaenge_sort_aktenzeichen;
DROP INDEX vorgaenge_pile;
CREATE INDEX vorgaenge_sort_eingang ON vorgaenge (tenant_id, eingang_at, id) INCLUDE (status, assignee_id, unit_id);
CREATE INDEX vorgaenge_sort_nummer ON vorgaenge (tenant_id, nummer, id) INCLUDE (status, assignee_id, unit_id);
CREATE INDEX vorgaenge_sort_form ON vorgaenge (tenant_id, form_name, id) INCLUDE (status, assignee_id, unit_id);
CREATE INDEX vorgaenge_sort_status ON vorgaenge (tenant_id, status, id) INCLUDE (assignee_id, unit_id);
-- A missing Aktenzeichen sorts first ascending and last descending (a backward scan).
CREATE INDEX vorgaenge_sort_aktenzeichen ON vorgaenge (tenant_id, aktenzeichen NULLS FIRST, id)
    INCLUDE (status, assignee_id, unit_id);
-- A clerk of one unit among many: their Vorgänge by Eingang without walking the whole tenant.
CREATE INDEX vorgaenge_by_unit ON vorgaenge (tenant_id, unit_id, eingang_at, id) INCLUDE (status, assignee_id);
-- "Nächsten Vorgang übernehmen": the oldest unassigned new one (of the claimer's units).
CREATE INDEX vorgaenge_pile ON vorgaenge (tenant_id, eingang_at, id) INCLUDE (unit_id)
    WHERE status = 'NEU' AND assignee_id IS NULL;

-- Machine access. Only the hash of a token is stored; lookups by hash span tenants.
CREATE TABLE api_tokens (
    tenant_id     TEXT COLLATE "C" NOT NULL REFERENCES tenants (id),
    id            UUID NOT NULL,
    name          TEXT NOT NULL,
    scopes        TEXT NOT NULL,
    token_hash    TEXT COLLATE "C" NOT NULL,
    created_at    TIMESTAMPTZ NOT NULL,
    created_by    TEXT NOT NULL,
    last_used_at  TIMESTAMPTZ,
    revoked_at    TIMESTAMPTZ,
    PRIMARY KEY (tenant_id, id),
    CONSTRAINT api_tokens_hash_key UNIQUE (token_hash)
);
CREATE INDEX api_tokens_by_created ON api_tokens (tenant_id, created_at, id);

-- Append-only, like the event log, but without its commit-order guarantee: nobody pages
-- through it as an outbox.
CREATE TABLE audit (
    seq         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    tenant_id   TEXT COLLATE "C" NOT NULL,
    at          TIMESTAMPTZ NOT NULL,
    actor_id    UUID,
    actor_name  TEXT NOT NULL,
    action      TEXT COLLATE "C" NOT NULL,
    target      TEXT,
    detail      TEXT,
    ip          TEXT
);
CREATE INDEX audit_by_tenant ON audit (tenant_id, seq);
CREATE INDEX audit_by_action ON audit (tenant_id, action, seq);
