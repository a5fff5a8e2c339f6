-- Tenant-level events (a delivery quarantined or not routable) have no Vorgang.
ALTER TABLE events ALTER COLUMN vorgang_id DROP NOT NULL;
