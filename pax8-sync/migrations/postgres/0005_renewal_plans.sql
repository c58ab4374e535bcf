-- Version 5: renewal plans. A change Pax8 only allows at a commitment's end (a decrease, a
-- billing-term change, a cancellation) or wanted on a later day, kept until it is due and
-- applied exactly once by `renewals run`: claimed by one runner (state 'applying', compared and
-- set), applied, recorded with the answer. `basis` is what the subscription was when the plan
-- was made (quantity, status, commitment end, as JSON): a plan whose subscription has changed
-- since is held, not applied.
CREATE TABLE renewal_plans (
    id TEXT PRIMARY KEY,
    tenant TEXT NOT NULL,
    subscription_id TEXT NOT NULL,
    action TEXT NOT NULL,
    quantity BIGINT,
    billing_term TEXT,
    due TEXT NOT NULL,
    basis TEXT NOT NULL,
    state TEXT NOT NULL,
    reason TEXT,
    created_at TEXT NOT NULL,
    claimed_by TEXT,
    claimed_at_us BIGINT,
    finished_at TEXT,
    result TEXT
);
CREATE INDEX renewal_plans_by_due ON renewal_plans (tenant, state, due);
-- One open plan per subscription: a second is refused until the first is done or cancelled.
CREATE UNIQUE INDEX renewal_plans_open ON renewal_plans (tenant, subscription_id)
    WHERE state IN ('pending', 'applying');
