-- Version 2: many tenants in one database, money as NUMERIC.
-- Every mirrored row belongs to a tenant (`pax8 sync --tenant NAME`); rows of a version-1
-- database become the tenant `default`. Keys are (tenant, id). Amounts are NUMERIC (exact
-- decimals on PostgreSQL; SQLite keeps them as numbers of 15 significant digits, which every
-- Pax8 amount fits), written and read as decimal text.

CREATE TABLE companies_v2 (
    tenant TEXT NOT NULL DEFAULT 'default',
    id TEXT NOT NULL,
    name TEXT NOT NULL,
    status TEXT,
    city TEXT,
    country TEXT,
    data TEXT NOT NULL,
    hash TEXT NOT NULL,
    last_seen_sync TEXT,
    removed_at TEXT,
    PRIMARY KEY (tenant, id)
);
INSERT INTO companies_v2 (tenant, id, name, status, city, country, data, hash, last_seen_sync, removed_at) SELECT 'default', id, name, status, city, country, data, hash, last_seen_sync, removed_at FROM companies;
DROP TABLE companies;
ALTER TABLE companies_v2 RENAME TO companies;

CREATE TABLE contacts_v2 (
    tenant TEXT NOT NULL DEFAULT 'default',
    id TEXT NOT NULL,
    company_id TEXT NOT NULL,
    name TEXT NOT NULL,
    email TEXT,
    data TEXT NOT NULL,
    hash TEXT NOT NULL,
    last_seen_sync TEXT,
    removed_at TEXT,
    PRIMARY KEY (tenant, id)
);
INSERT INTO contacts_v2 (tenant, id, company_id, name, email, data, hash, last_seen_sync, removed_at) SELECT 'default', id, company_id, name, email, data, hash, last_seen_sync, removed_at FROM contacts;
DROP TABLE contacts;
ALTER TABLE contacts_v2 RENAME TO contacts;

CREATE TABLE products_v2 (
    tenant TEXT NOT NULL DEFAULT 'default',
    id TEXT NOT NULL,
    name TEXT,
    vendor TEXT,
    sku TEXT,
    data TEXT NOT NULL,
    hash TEXT NOT NULL,
    last_seen_sync TEXT,
    removed_at TEXT,
    PRIMARY KEY (tenant, id)
);
INSERT INTO products_v2 (tenant, id, name, vendor, sku, data, hash, last_seen_sync, removed_at) SELECT 'default', id, name, vendor, sku, data, hash, last_seen_sync, removed_at FROM products;
DROP TABLE products;
ALTER TABLE products_v2 RENAME TO products;

CREATE TABLE subscriptions_v2 (
    tenant TEXT NOT NULL DEFAULT 'default',
    id TEXT NOT NULL,
    company_id TEXT,
    product_id TEXT,
    product_name TEXT,
    quantity DOUBLE PRECISION,
    price NUMERIC,
    partner_cost NUMERIC,
    billing_term TEXT,
    status TEXT,
    commitment_end TEXT,
    data TEXT NOT NULL,
    hash TEXT NOT NULL,
    last_seen_sync TEXT,
    removed_at TEXT,
    PRIMARY KEY (tenant, id)
);
INSERT INTO subscriptions_v2 (tenant, id, company_id, product_id, product_name, quantity, price, partner_cost, billing_term, status, commitment_end, data, hash, last_seen_sync, removed_at) SELECT 'default', id, company_id, product_id, product_name, quantity, price, partner_cost, billing_term, status, commitment_end, data, hash, last_seen_sync, removed_at FROM subscriptions;
DROP TABLE subscriptions;
ALTER TABLE subscriptions_v2 RENAME TO subscriptions;

CREATE TABLE invoices_v2 (
    tenant TEXT NOT NULL DEFAULT 'default',
    id TEXT NOT NULL,
    invoice_date TEXT,
    status TEXT,
    total NUMERIC,
    balance NUMERIC,
    data TEXT NOT NULL,
    hash TEXT NOT NULL,
    last_seen_sync TEXT,
    removed_at TEXT,
    PRIMARY KEY (tenant, id)
);
INSERT INTO invoices_v2 (tenant, id, invoice_date, status, total, balance, data, hash, last_seen_sync, removed_at) SELECT 'default', id, invoice_date, status, total, balance, data, hash, last_seen_sync, removed_at FROM invoices;
DROP TABLE invoices;
ALTER TABLE invoices_v2 RENAME TO invoices;

CREATE TABLE invoice_items_v2 (
    tenant TEXT NOT NULL DEFAULT 'default',
    id TEXT NOT NULL,
    invoice_id TEXT NOT NULL,
    company_id TEXT,
    subscription_id TEXT,
    product_name TEXT,
    quantity DOUBLE PRECISION,
    cost_total NUMERIC,
    total NUMERIC,
    data TEXT NOT NULL,
    hash TEXT NOT NULL,
    last_seen_sync TEXT,
    removed_at TEXT,
    PRIMARY KEY (tenant, id)
);
INSERT INTO invoice_items_v2 (tenant, id, invoice_id, company_id, subscription_id, product_name, quantity, cost_total, total, data, hash, last_seen_sync, removed_at) SELECT 'default', id, invoice_id, company_id, subscription_id, product_name, quantity, cost_total, total, data, hash, last_seen_sync, removed_at FROM invoice_items;
DROP TABLE invoice_items;
ALTER TABLE invoice_items_v2 RENAME TO invoice_items;

CREATE TABLE usage_summaries_v2 (
    tenant TEXT NOT NULL DEFAULT 'default',
    id TEXT NOT NULL,
    subscription_id TEXT NOT NULL,
    company_id TEXT,
    resource_group TEXT,
    current_charges NUMERIC,
    data TEXT NOT NULL,
    hash TEXT NOT NULL,
    last_seen_sync TEXT,
    removed_at TEXT,
    PRIMARY KEY (tenant, id)
);
INSERT INTO usage_summaries_v2 (tenant, id, subscription_id, company_id, resource_group, current_charges, data, hash, last_seen_sync, removed_at) SELECT 'default', id, subscription_id, company_id, resource_group, current_charges, data, hash, last_seen_sync, removed_at FROM usage_summaries;
DROP TABLE usage_summaries;
ALTER TABLE usage_summaries_v2 RENAME TO usage_summaries;

CREATE TABLE subscription_snapshots_v2 (
    tenant TEXT NOT NULL DEFAULT 'default',
    sync_id TEXT NOT NULL,
    subscription_id TEXT NOT NULL,
    taken_at TEXT NOT NULL,
    quantity DOUBLE PRECISION,
    price NUMERIC,
    status TEXT,
    source TEXT NOT NULL DEFAULT 'sync',
    PRIMARY KEY (tenant, sync_id, subscription_id)
);
INSERT INTO subscription_snapshots_v2 (tenant, sync_id, subscription_id, taken_at, quantity, price, status, source)
    SELECT 'default', sync_id, subscription_id, taken_at, quantity, price, status, source FROM subscription_snapshots;
DROP TABLE subscription_snapshots;
ALTER TABLE subscription_snapshots_v2 RENAME TO subscription_snapshots;
CREATE INDEX subscription_snapshots_by_subscription ON subscription_snapshots (tenant, subscription_id, taken_at);

CREATE TABLE webhook_events_v2 (
    tenant TEXT NOT NULL DEFAULT 'default',
    event_id TEXT NOT NULL,
    received_at TEXT NOT NULL,
    topic TEXT,
    status TEXT NOT NULL,
    reason TEXT,
    body TEXT NOT NULL,
    PRIMARY KEY (tenant, event_id)
);
INSERT INTO webhook_events_v2 (tenant, event_id, received_at, topic, status, reason, body)
    SELECT 'default', event_id, received_at, topic, status, reason, body FROM webhook_events;
DROP TABLE webhook_events;
ALTER TABLE webhook_events_v2 RENAME TO webhook_events;

ALTER TABLE syncs ADD COLUMN tenant TEXT NOT NULL DEFAULT 'default';
-- The lock row is named after its tenant now; a version-1 lock ('sync') is the default tenant's.
UPDATE sync_lock SET name = 'default' WHERE name = 'sync';
