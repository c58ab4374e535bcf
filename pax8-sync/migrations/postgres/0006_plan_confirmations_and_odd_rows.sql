-- Version 6: a renewal plan's change confirmed by what Pax8 says afterwards. `renewals run`
-- records the API's answer ('applied'); the next sync or a subscription webhook that shows the
-- subscription where the plan took it stamps the plan confirmed, with what confirmed it
-- ('sync' or 'webhook').
ALTER TABLE renewal_plans ADD COLUMN confirmed_at TEXT;
ALTER TABLE renewal_plans ADD COLUMN confirmed_by TEXT;

-- Items of an API answer a sync could not take as sent: left out ('skipped': a value its type
-- cannot hold) or kept with a lone UTF-16 surrogate replaced ('repaired'). One odd item never
-- fails the rest of a tenant's sync; each is listed here, with the sync that met it.
CREATE TABLE odd_rows (
    tenant TEXT NOT NULL,
    sync_id TEXT NOT NULL,
    operation TEXT NOT NULL,
    kind TEXT NOT NULL,
    item_id TEXT,
    reason TEXT NOT NULL,
    seen_at TEXT NOT NULL
);
CREATE INDEX odd_rows_by_sync ON odd_rows (tenant, sync_id);
