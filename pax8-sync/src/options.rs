//! What a sync is asked to do ([`SyncOptions`], [`SyncMode`]) and what it did ([`SyncSummary`]).

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::DEFAULT_TENANT;
use crate::lock::LOCK_WAIT;

/// Whether a sync re-reads everything or only what can have changed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SyncMode {
    /// Lists are read whole; a company's contacts only when the company is new, its
    /// `updatedDate` moved or is unknown, or a webhook touched it; an invoice's items only
    /// while it is not final; Azure usage once per [`SyncOptions::usage_max_age`]. Becomes a
    /// full sync when the tenant's last full one is older than [`SyncOptions::full_after`].
    #[default]
    Incremental,
    /// Everything re-read.
    Full,
}

/// How a sync runs.
#[derive(Debug, Clone)]
pub struct SyncOptions {
    /// Items per page (the API maximum, 200, by default).
    pub page_size: u32,
    /// The time recorded for snapshots and removals.
    pub now: DateTime<Utc>,
    /// Stop after this many commits: pages, and the parts an invoice's items are written in
    /// (simulates a kill in tests).
    pub stop_after_pages: Option<usize>,
    /// How long to wait while another sync holds the database ([`LOCK_WAIT`] by default).
    pub lock_wait: std::time::Duration,
    /// The tenant the rows belong to ([`DEFAULT_TENANT`] by default): one database can mirror
    /// many Pax8 partners, each synced with its own credentials.
    pub tenant: String,
    /// Incremental (the default) or full.
    pub mode: SyncMode,
    /// An incremental sync is full when the tenant's last full sync started longer ago than
    /// this ([`FULL_AFTER`], a week, by default), or there was none: the safety net for changes
    /// no date or status shows.
    pub full_after: std::time::Duration,
    /// Azure usage summaries read longer ago than this are read again ([`USAGE_MAX_AGE`]).
    pub usage_max_age: chrono::Duration,
    /// Child lists (contacts, invoice items, usage) fetched at once (4 by default); every
    /// request goes through the client's one rate limiter.
    pub concurrency: usize,
}

/// How old the last full sync may be before an incremental sync is full.
pub const FULL_AFTER: std::time::Duration = std::time::Duration::from_secs(7 * 24 * 3600);
/// How old Azure usage may be before a sync reads it again: Pax8 updates usage about daily.
pub const USAGE_MAX_AGE: chrono::Duration = chrono::Duration::hours(12);

impl Default for SyncOptions {
    fn default() -> Self {
        Self {
            page_size: 200,
            now: Utc::now(),
            stop_after_pages: None,
            lock_wait: LOCK_WAIT,
            tenant: DEFAULT_TENANT.to_string(),
            mode: SyncMode::Incremental,
            full_after: FULL_AFTER,
            usage_max_age: USAGE_MAX_AGE,
            concurrency: 4,
        }
    }
}

/// What a sync did. For a resumed sync, the counts are those of the whole sync, every run that
/// worked on it added up (each page's counts are committed with the page).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct SyncSummary {
    /// Rows fetched from Pax8 (each once: a row the sync had already counted, read again after
    /// a resume or listed twice, is not counted again).
    pub fetched: u64,
    /// Rows inserted (snapshots excluded).
    pub inserted: u64,
    /// Rows whose content changed.
    pub updated: u64,
    /// Rows seen again unchanged.
    pub unchanged: u64,
    /// Rows marked removed (no longer upstream).
    pub removed: u64,
    /// Snapshot rows written.
    pub snapshots: u64,
    /// API requests sent (retries included; token requests excluded).
    pub requests: u64,
    /// Child lists not re-read because they cannot have changed (a company's contacts, an
    /// invoice's items, a subscription's usage): each one request or more saved.
    pub skipped: u64,
    /// Whether everything was re-read.
    pub full: bool,
    /// Whether this run continued an interrupted one.
    pub resumed: bool,
    /// Renewal plans applied earlier that this sync saw done (`Store::confirm_plans`).
    pub plans_confirmed: u64,
    /// Items of the API's answers left out or repaired because their values fit no field of
    /// their type (listed in the `odd_rows` table; the rest of the sync went on).
    pub odd_rows: u64,
}
