-- Event and audit numbers per tenant: installation-wide numbers let one tenant count another's
-- activity from the gaps. `seq` stays the physical order; what tenants see is `tenant_seq`.
ALTER TABLE events ADD COLUMN tenant_seq BIGINT;
UPDATE events SET tenant_seq = numbered.n
FROM (SELECT seq AS s, row_number() OVER (PARTITION BY tenant_id ORDER BY seq) AS n FROM events) AS numbered
WHERE events.seq = numbered.s;
ALTER TABLE events ALTER COLUMN tenant_seq SET NOT NULL;
CREATE UNIQUE INDEX events_by_tenant_seq ON events (tenant_id, tenant_seq);

ALTER TABLE audit ADD COLUMN tenant_seq BIGINT;
UPDATE audit SET tenant_seq = numbered.n
FROM (SELECT seq AS s, row_number() OVER (PARTITION BY tenant_id ORDER BY seq) AS n FROM audit) AS numbered
WHERE audit.seq = numbered.s;
ALTER TABLE audit ALTER COLUMN tenant_seq SET NOT NULL;
CREATE UNIQUE INDEX audit_by_tenant_seq ON audit (tenant_id, tenant_seq);
CREATE INDEX audit_by_action_seq ON audit (tenant_id, action, tenant_seq);

-- The last number handed out per tenant and log; never goes back (a final deletion removes
-- events, but their numbers are not handed out again). Appends lock their tenant's row until
-- commit, so numbers follow commit order within a tenant.
CREATE TABLE tenant_sequences (
    tenant_id  TEXT COLLATE "C" NOT NULL,
    name       TEXT COLLATE "C" NOT NULL,
    value      BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, name)
);
INSERT INTO tenant_sequences (tenant_id, name, value) SELECT tenant_id, 'events', max(tenant_seq) FROM events GROUP BY tenant_id;
INSERT INTO tenant_sequences (tenant_id, name, value) SELECT tenant_id, 'audit', max(tenant_seq) FROM audit GROUP BY tenant_id;

-- The schema version of each event's payload (domain::vorgang::EVENT_SCHEMA_VERSION).
ALTER TABLE events ADD COLUMN schema_version INTEGER NOT NULL DEFAULT 1;
