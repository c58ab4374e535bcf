-- Version 4: a platform's tenants in the mirror database.
-- The credential vault: each tenant's Pax8 client (its secret and webhook token sealed with an
-- AEAD under a master key kept elsewhere; each sealed value names its key id), its rate limit,
-- and its sync schedule: when it is due, which worker holds it (a lease renewed by
-- heartbeats), and how its last sync went.
CREATE TABLE tenants (
    name TEXT PRIMARY KEY,
    client_id TEXT NOT NULL,
    audience TEXT,
    rate_limit BIGINT,
    base_url TEXT,
    client_secret TEXT NOT NULL,
    webhook_token TEXT,
    created_at TEXT NOT NULL,
    next_due TEXT NOT NULL,
    lease_owner TEXT,
    lease_until TEXT,
    last_sync_at TEXT,
    last_status TEXT,
    last_error TEXT,
    failures BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX tenants_by_due ON tenants (next_due);
-- Access tokens shared by every process and host using a tenant's credentials (sealed like
-- secrets), and the lock one of them holds while it fetches a new one.
CREATE TABLE tokens (
    tenant TEXT NOT NULL,
    audience TEXT NOT NULL,
    token TEXT NOT NULL,
    issued_at_ms BIGINT NOT NULL,
    expires_at_ms BIGINT NOT NULL,
    PRIMARY KEY (tenant, audience)
);
CREATE TABLE token_locks (
    tenant TEXT NOT NULL,
    audience TEXT NOT NULL,
    holder TEXT NOT NULL,
    until_ms BIGINT NOT NULL,
    PRIMARY KEY (tenant, audience)
);
-- One rate budget per tenant across processes: a GCRA row (the theoretical arrival time of
-- the next request, in µs since the epoch, by the database clock) and a pause every process honours after a 429.
CREATE TABLE rate_budgets (
    tenant TEXT PRIMARY KEY,
    tat_us BIGINT NOT NULL,
    paused_until_us BIGINT NOT NULL DEFAULT 0
);
