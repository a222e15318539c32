-- Hosts in maintenance (kvmigrate hosts maintenance H on): a drain never places a VM on them. Keyed by the host's
-- name as the user gave it; the URI is kept so a host given by URI is recognised too. since: epoch milliseconds.
CREATE TABLE host_maintenance (
    host  TEXT   NOT NULL PRIMARY KEY,
    uri   TEXT   NOT NULL,
    since BIGINT NOT NULL
);
