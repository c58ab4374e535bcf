-- Version 3: incremental syncs.
-- What a child list was last read for, so an incremental sync re-reads only what can have
-- changed: a company's contacts (the company's `updatedDate` they were read at; NULL: unknown,
-- re-read), an invoice's items (the invoice status they were read at) and an Azure
-- subscription's usage summaries (when they were read).
ALTER TABLE companies ADD COLUMN contacts_read_for TEXT;
ALTER TABLE invoices ADD COLUMN items_read_status TEXT;
ALTER TABLE subscriptions ADD COLUMN usage_read_at TEXT;
-- The sync that last read the child list: a child not seen by a sync is marked removed only
-- when that sync read its parent's list (or the parent is gone), so children of a parent
-- whose list was skipped are not rewritten just to say they are still there.
ALTER TABLE companies ADD COLUMN children_read_sync TEXT;
ALTER TABLE invoices ADD COLUMN children_read_sync TEXT;
ALTER TABLE subscriptions ADD COLUMN children_read_sync TEXT;
-- Each sync says whether it re-read everything, whether it took the week's baseline snapshot
-- of every subscription, how many API requests it sent and how many child lists it skipped.
ALTER TABLE syncs ADD COLUMN full_sync BIGINT NOT NULL DEFAULT 1;
ALTER TABLE syncs ADD COLUMN baseline BIGINT NOT NULL DEFAULT 1;
ALTER TABLE syncs ADD COLUMN requests BIGINT NOT NULL DEFAULT 0;
ALTER TABLE syncs ADD COLUMN skipped BIGINT NOT NULL DEFAULT 0;
-- Children are found by their parent when a skipped parent's children are marked seen.
CREATE INDEX contacts_by_company ON contacts (tenant, company_id);
CREATE INDEX invoice_items_by_invoice ON invoice_items (tenant, invoice_id);
CREATE INDEX usage_summaries_by_subscription ON usage_summaries (tenant, subscription_id);
CREATE INDEX syncs_by_tenant ON syncs (tenant, started_at);
-- A webhook body is kept exactly as received: as text when it is UTF-8 without a NUL byte
-- (what a text column holds on both backends), otherwise as standard base64.
ALTER TABLE webhook_events ADD COLUMN body_encoding TEXT NOT NULL DEFAULT 'utf8';
