-- Worklist speed at 100,000+ Vorgänge (see docs/benchmarks.md).

-- Counts per (tenant, assignee, status), kept by a trigger so no code path can forget them:
-- the worklist shows counts on every page and must not count all rows each time.
-- assignee_key is the nil UUID for "nicht zugewiesen". Each count is spread over 16 shards
-- (by the Vorgang's id), because one row per (tenant, NEU, unassigned) would be locked by
-- every intake until its commit and serialize them.
CREATE TABLE vorgang_counts (
    tenant_id     TEXT COLLATE "C" NOT NULL,
    assignee_key  UUID NOT NULL,
    status        TEXT COLLATE "C" NOT NULL,
    shard         SMALLINT NOT NULL,
    n             BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, assignee_key, status, shard)
);
INSERT INTO vorgang_counts
SELECT tenant_id, coalesce(assignee_id, '00000000-0000-0000-0000-000000000000'::uuid), status,
       hashtext(id::text) & 15, count(*)
  FROM vorgaenge GROUP BY 1, 2, 3, 4;

CREATE FUNCTION vorgang_counts_add(t TEXT, a UUID, s TEXT, v UUID, d BIGINT) RETURNS void LANGUAGE sql AS $$
    INSERT INTO vorgang_counts
    VALUES (t, coalesce(a, '00000000-0000-0000-0000-000000000000'::uuid), s, hashtext(v::text) & 15, d)
    ON CONFLICT (tenant_id, assignee_key, status, shard) DO UPDATE SET n = vorgang_counts.n + d
$$;

CREATE FUNCTION vorgang_counts_track() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        PERFORM vorgang_counts_add(NEW.tenant_id, NEW.assignee_id, NEW.status, NEW.id, 1);
    ELSIF TG_OP = 'DELETE' THEN
        PERFORM vorgang_counts_add(OLD.tenant_id, OLD.assignee_id, OLD.status, OLD.id, -1);
    -- The two counter rows are locked in one fixed order, so concurrent changes never deadlock.
    ELSIF coalesce(OLD.assignee_id::text, '') || '/' || OLD.status
          < coalesce(NEW.assignee_id::text, '') || '/' || NEW.status THEN
        PERFORM vorgang_counts_add(OLD.tenant_id, OLD.assignee_id, OLD.status, OLD.id, -1);
        PERFORM vorgang_counts_add(NEW.tenant_id, NEW.assignee_id, NEW.status, NEW.id, 1);
    ELSE
        PERFORM vorgang_counts_add(NEW.tenant_id, NEW.assignee_id, NEW.status, NEW.id, 1);
        PERFORM vorgang_counts_add(OLD.tenant_id, OLD.assignee_id, OLD.status, OLD.id, -1);
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER vorgaenge_counts_insert_delete AFTER INSERT OR DELETE ON vorgaenge
    FOR EACH ROW EXECUTE FUNCTION vorgang_counts_track();
CREATE TRIGGER vorgaenge_counts_update AFTER UPDATE OF status, assignee_id ON vorgaenge
    FOR EACH ROW WHEN (OLD.status IS DISTINCT FROM NEW.status OR OLD.assignee_id IS DISTINCT FROM NEW.assignee_id)
    EXECUTE FUNCTION vorgang_counts_track();

-- Sort indexes that carry the filter columns, so a page is found on the index alone.
DROP INDEX vorgaenge_by_eingang;
DROP INDEX vorgaenge_by_form;
DROP INDEX vorgaenge_by_aktenzeichen;
CREATE INDEX vorgaenge_sort_eingang ON vorgaenge (tenant_id, eingang_at, id) INCLUDE (status, assignee_id);
CREATE INDEX vorgaenge_sort_nummer ON vorgaenge (tenant_id, nummer, id) INCLUDE (status, assignee_id);
CREATE INDEX vorgaenge_sort_form ON vorgaenge (tenant_id, form_name, id) INCLUDE (status, assignee_id);
CREATE INDEX vorgaenge_sort_status ON vorgaenge (tenant_id, status, id) INCLUDE (assignee_id);
-- A missing Aktenzeichen sorts first ascending and last descending (a backward scan).
CREATE INDEX vorgaenge_sort_aktenzeichen ON vorgaenge (tenant_id, aktenzeichen NULLS FIRST, id)
    INCLUDE (status, assignee_id);
