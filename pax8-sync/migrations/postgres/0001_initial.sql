-- Version 1: the schema as first released (every statement is IF NOT EXISTS, so a database created
-- before migrations were recorded is adopted as it is).
CREATE TABLE IF NOT EXISTS syncs (
    id TEXT PRIMARY KEY,
    started_at TEXT NOT NULL,
    finished_at TEXT,
    status TEXT NOT NULL,
    fetched BIGINT NOT NULL DEFAULT 0,
    inserted BIGINT NOT NULL DEFAULT 0,
    updated BIGINT NOT NULL DEFAULT 0,
    removed BIGINT NOT NULL DEFAULT 0,
    unchanged BIGINT NOT NULL DEFAULT 0,
    snapshots BIGINT NOT NULL DEFAULT 0
);
-- One sync at a time per database: the holder, since when, and its last progress.
CREATE TABLE IF NOT EXISTS sync_lock (
    name TEXT PRIMARY KEY,
    holder TEXT NOT NULL,
    since TEXT NOT NULL,
    heartbeat TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS sync_checkpoints (
    sync_id TEXT NOT NULL,
    resource TEXT NOT NULL,
    next_page BIGINT NOT NULL,
    done BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (sync_id, resource)
);
CREATE TABLE IF NOT EXISTS companies (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    status TEXT,
    city TEXT,
    country TEXT,
    data TEXT NOT NULL,
    hash TEXT NOT NULL,
    last_seen_sync TEXT,
    removed_at TEXT
);
CREATE TABLE IF NOT EXISTS contacts (
    id TEXT PRIMARY KEY,
    company_id TEXT NOT NULL,
    name TEXT NOT NULL,
    email TEXT,
    data TEXT NOT NULL,
    hash TEXT NOT NULL,
    last_seen_sync TEXT,
    removed_at TEXT
);
CREATE TABLE IF NOT EXISTS products (
    id TEXT PRIMARY KEY,
    name TEXT,
    vendor TEXT,
    sku TEXT,
    data TEXT NOT NULL,
    hash TEXT NOT NULL,
    last_seen_sync TEXT,
    removed_at TEXT
);
CREATE TABLE IF NOT EXISTS subscriptions (
    id TEXT PRIMARY KEY,
    company_id TEXT,
    product_id TEXT,
    product_name TEXT,
    quantity DOUBLE PRECISION,
    price DOUBLE PRECISION,
    partner_cost DOUBLE PRECISION,
    billing_term TEXT,
    status TEXT,
    commitment_end TEXT,
    data TEXT NOT NULL,
    hash TEXT NOT NULL,
    last_seen_sync TEXT,
    removed_at TEXT
);
CREATE TABLE IF NOT EXISTS subscription_snapshots (
    sync_id TEXT NOT NULL,
    subscription_id TEXT NOT NULL,
    taken_at TEXT NOT NULL,
    quantity DOUBLE PRECISION,
    price DOUBLE PRECISION,
    status TEXT,
    -- 'sync' or 'webhook' (then sync_id is 'webhook:<event id>').
    source TEXT NOT NULL DEFAULT 'sync',
    PRIMARY KEY (sync_id, subscription_id)
);
CREATE TABLE IF NOT EXISTS invoices (
    id TEXT PRIMARY KEY,
    invoice_date TEXT,
    status TEXT,
    total DOUBLE PRECISION,
    balance DOUBLE PRECISION,
    data TEXT NOT NULL,
    hash TEXT NOT NULL,
    last_seen_sync TEXT,
    removed_at TEXT
);
CREATE TABLE IF NOT EXISTS invoice_items (
    id TEXT PRIMARY KEY,
    invoice_id TEXT NOT NULL,
    company_id TEXT,
    subscription_id TEXT,
    product_name TEXT,
    quantity DOUBLE PRECISION,
    cost_total DOUBLE PRECISION,
    total DOUBLE PRECISION,
    data TEXT NOT NULL,
    hash TEXT NOT NULL,
    last_seen_sync TEXT,
    removed_at TEXT
);
CREATE TABLE IF NOT EXISTS usage_summaries (
    id TEXT PRIMARY KEY,
    subscription_id TEXT NOT NULL,
    company_id TEXT,
    resource_group TEXT,
    current_charges DOUBLE PRECISION,
    data TEXT NOT NULL,
    hash TEXT NOT NULL,
    last_seen_sync TEXT,
    removed_at TEXT
);
CREATE TABLE IF NOT EXISTS webhook_events (
    event_id TEXT PRIMARY KEY,
    received_at TEXT NOT NULL,
    topic TEXT,
    status TEXT NOT NULL,
    reason TEXT,
    body TEXT NOT NULL
);
