-- Version 6: a renewal plan's change confirmed by what Pax8 says afterwards. `renewals run`
-- records the API's answer ('applied'); the next sync or a subscription webhook that shows the
-- subscription where the plan took it stamps the plan confirmed, with what confirmed it
-- ('sync' or 'webhook').
ALTER TABLE renewal_plans ADD COLUMN confirmed_at TEXT;
ALTER TABLE renewal_plans ADD COLUMN confirmed_by TEXT;
