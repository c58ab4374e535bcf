//! Mirror a Pax8 tenant into SQL (SQLite, embedded, or PostgreSQL) and keep it current.
//!
//! - [`sync`]: pages through companies (with contacts), products, subscriptions, invoices (with
//!   items) and Azure usage summaries; upserts keyed by Pax8 ids, one transaction per page with
//!   its checkpoint, so an interrupted sync leaves the database consistent and the next run
//!   continues where it stopped. Unchanged rows are not rewritten (a content hash decides);
//!   rows that disappeared upstream are marked `removed_at`, never deleted. Each sync adds one
//!   `subscription_snapshots` row per subscription, so seat drift is a query ([`drift`]).
//! - [`receiver`]: a webhook endpoint that checks the bearer token in constant time, bounds the
//!   body, stores each raw event once and applies subscription and company events to the mirror.
//!
//! ```no_run
//! # async fn demo(client: pax8_ext::Pax8Client) -> Result<(), pax8_sync::SyncError> {
//! let store = pax8_sync::Store::open("sqlite://pax8.db").await?;
//! let summary = pax8_sync::sync(&store, &client, &pax8_sync::SyncOptions::default(), &|_| {}).await?;
//! println!("{summary:?}");
//! # Ok(()) }
//! ```
#![forbid(unsafe_code)]

mod drift;
mod entities;
mod items;
pub use pax8_serve::listener;
mod binds;
mod checkpoint;
mod lock;
mod marks;
mod odd;
mod options;
mod pages;
mod part;
pub mod plans;
pub mod receiver;
mod rows;
mod run;
mod state;
mod store;
mod stored;
mod tally;
pub mod vault;
pub mod worker;
mod write;

pub use drift::{Drift, drift};
pub use lock::{LOCK_STALE_AFTER, LOCK_WAIT};
pub use run::{FULL_AFTER, Progress, SyncMode, SyncOptions, SyncSummary, USAGE_MAX_AGE, sync};
pub use store::{Store, redacted_url};
#[doc(hidden)]
pub use write::bench_write_subscriptions;

/// The tenant of a database that mirrors one Pax8 partner (and of every version-1 row).
pub const DEFAULT_TENANT: &str = "default";

/// Why a sync or a query failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SyncError {
    /// The Pax8 API failed (after the client's retries); the next run resumes.
    #[error("Pax8: {0}")]
    Api(#[from] pax8_ext::Error),
    /// The database failed.
    #[error("database: {0}")]
    Db(#[from] sqlx::Error),
    /// Stopped on request (tests simulate a kill with this).
    #[error("sync interrupted; the next run resumes from the last checkpoint")]
    Interrupted,
    /// The vault refused (a key, a tenant).
    #[error(transparent)]
    Vault(#[from] vault::VaultError),
    /// Bad arguments (database URL...).
    #[error("{0}")]
    Invalid(String),
    /// Another sync holds this database (and kept it past the wait).
    #[error(
        "another sync ({holder}, started {since}) holds this database; wait for it to finish (a sync that was killed \
         releases it after {} minutes without progress)",
        LOCK_STALE_AFTER.as_secs() / 60
    )]
    Busy {
        /// The holding sync's id.
        holder: String,
        /// When it took the database.
        since: String,
    },
}
