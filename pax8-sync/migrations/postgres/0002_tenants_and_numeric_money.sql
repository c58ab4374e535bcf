-- Version 2: many tenants in one database, money as NUMERIC.
-- Every mirrored row belongs to a tenant (`pax8 sync --tenant NAME`); rows of a version-1
-- database become the tenant `default`. Keys are (tenant, id). Amounts are NUMERIC (exact
-- decimals on PostgreSQL; SQLite keeps them as numbers of 15 significant digits, which every
-- Pax8 amount fits), written and read as decimal text.

ALTER TABLE companies ADD COLUMN tenant TEXT NOT NULL DEFAULT 'default';
ALTER TABLE companies DROP CONSTRAINT companies_pkey;
ALTER TABLE companies ADD PRIMARY KEY (tenant, id);

ALTER TABLE contacts ADD COLUMN tenant TEXT NOT NULL DEFAULT 'default';
ALTER TABLE contacts DROP CONSTRAINT contacts_pkey;
ALTER TABLE contacts ADD PRIMARY KEY (tenant, id);

ALTER TABLE products ADD COLUMN tenant TEXT NOT NULL DEFAULT 'default';
ALTER TABLE products DROP CONSTRAINT products_pkey;
ALTER TABLE products ADD PRIMARY KEY (tenant, id);

ALTER TABLE subscriptions ADD COLUMN tenant TEXT NOT NULL DEFAULT 'default';
ALTER TABLE subscriptions DROP CONSTRAINT subscriptions_pkey;
ALTER TABLE subscriptions ADD PRIMARY KEY (tenant, id);
ALTER TABLE subscriptions ALTER COLUMN price TYPE NUMERIC USING price::NUMERIC;
ALTER TABLE subscriptions ALTER COLUMN partner_cost TYPE NUMERIC USING partner_cost::NUMERIC;

ALTER TABLE invoices ADD COLUMN tenant TEXT NOT NULL DEFAULT 'default';
ALTER TABLE invoices DROP CONSTRAINT invoices_pkey;
ALTER TABLE invoices ADD PRIMARY KEY (tenant, id);
ALTER TABLE invoices ALTER COLUMN total TYPE NUMERIC USING total::NUMERIC;
ALTER TABLE invoices ALTER COLUMN balance TYPE NUMERIC USING balance::NUMERIC;

ALTER TABLE invoice_items ADD COLUMN tenant TEXT NOT NULL DEFAULT 'default';
ALTER TABLE invoice_items DROP CONSTRAINT invoice_items_pkey;
ALTER TABLE invoice_items ADD PRIMARY KEY (tenant, id);
ALTER TABLE invoice_items ALTER COLUMN cost_total TYPE NUMERIC USING cost_total::NUMERIC;
ALTER TABLE invoice_items ALTER COLUMN total TYPE NUMERIC USING total::NUMERIC;

ALTER TABLE usage_summaries ADD COLUMN tenant TEXT NOT NULL DEFAULT 'default';
ALTER TABLE usage_summaries DROP CONSTRAINT usage_summaries_pkey;
ALTER TABLE usage_summaries ADD PRIMARY KEY (tenant, id);
ALTER TABLE usage_summaries ALTER COLUMN current_charges TYPE NUMERIC USING current_charges::NUMERIC;

ALTER TABLE subscription_snapshots ADD COLUMN tenant TEXT NOT NULL DEFAULT 'default';
ALTER TABLE subscription_snapshots DROP CONSTRAINT subscription_snapshots_pkey;
ALTER TABLE subscription_snapshots ADD PRIMARY KEY (tenant, sync_id, subscription_id);
ALTER TABLE subscription_snapshots ALTER COLUMN price TYPE NUMERIC USING price::NUMERIC;
CREATE INDEX subscription_snapshots_by_subscription ON subscription_snapshots (tenant, subscription_id, taken_at);

ALTER TABLE webhook_events ADD COLUMN tenant TEXT NOT NULL DEFAULT 'default';
ALTER TABLE webhook_events DROP CONSTRAINT webhook_events_pkey;
ALTER TABLE webhook_events ADD PRIMARY KEY (tenant, event_id);

ALTER TABLE syncs ADD COLUMN tenant TEXT NOT NULL DEFAULT 'default';
-- The lock row is named after its tenant now; a version-1 lock ('sync') is the default tenant's.
UPDATE sync_lock SET name = 'default' WHERE name = 'sync';
