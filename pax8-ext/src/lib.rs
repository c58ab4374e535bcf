//! The Pax8 API client applications depend on.
//!
//! Every request, token requests included, takes one explicit path ([`pipeline`]): rate limiter,
//! token, hooks, send, the whole body read inside the attempt, classification, retry.
//!
//! - OAuth2 client-credentials tokens: lazy, cached per audience, refreshed before expiry,
//!   single-flight, replaced once on a 401 ([`TokenStore`] to share them between processes).
//! - Retries by a pure, table-tested rule ([`retry::classify`]): full-jitter backoff with a cap,
//!   `Retry-After`, a total time limit and a retry budget; a create (POST/PATCH) is replayed only
//!   when it provably did not reach the server, and one that may have happened without an answer
//!   is [`Error::OutcomeUnknown`] (settle an order with
//!   [`Orders::find_recent_matching`](resources::Orders::find_recent_matching)).
//! - An adaptive client-side rate limiter ([`rate_limit`]: 1000 requests in any minute by
//!   default, slowing down when the server answers 429) shared by all calls.
//! - Pagination streams for every list operation ([`Paginator`]), paging facts from the
//!   generated code, 16 pages in flight by default, items in order.
//! - One typed, `#[non_exhaustive]` [`Error`], with the Pax8 error body on every API error.
//! - Resource handlers ([`Pax8Client::companies`], [`Pax8Client::subscriptions`], ...) with
//!   per-call [`CallOptions`]; every generated builder ([`Pax8Client::partner`], ...) is sent
//!   through the same pipeline with [`Pax8Client::send`] or [`Call::call`].
//!
//! ```no_run
//! # async fn demo() -> pax8_ext::Result<()> {
//! use futures::TryStreamExt;
//! use pax8_ext::Pax8Client;
//!
//! let client = Pax8Client::builder().client_id("id").client_secret("secret").build()?;
//! let mut subscriptions = client.subscriptions().list().items();
//! while let Some(sub) = subscriptions.try_next().await? {
//!     println!("{:?} x{:?}", sub.product_name, sub.quantity);
//! }
//! # Ok(()) }
//! ```
#![forbid(unsafe_code)]
// Generated types are built as `Type { field, ..Default::default() }` even when every field is
// named today: a property added upstream then never breaks the build (`cargo xtask evolve-check`).
#![allow(clippy::needless_update)]
#![warn(missing_docs)]

mod answer;
pub mod audit;
pub mod auth;
mod call;
mod client;
mod config;
mod error;
pub mod filters;
pub mod glossary;
mod hooks;
pub mod insights;
pub mod margins;
pub mod money;
pub mod ops;
pub mod pagination;
pub mod pipeline;
pub mod rate_limit;
mod redact;
pub mod resources;
pub mod retry;
pub mod shared_budget;
mod telemetry;
mod token_file;
pub mod tolerant;
mod traits;
pub mod views;

pub use auth::{AccessToken, Audience, InMemoryTokenStore, RefreshGuard, TokenStore};
pub use call::{Call, CallOptions};
pub use client::Pax8Client;
pub use config::{ClientBuilder, Environment};
pub use error::{ApiError, Error, OAuthError, Result};
pub use hooks::{Hooks, RequestInfo};
pub use pagination::{Page, Paginator};
pub use pax8_api::{self as api, Api, Date, ErrorBody, SecretString, Timestamp};
pub use retry::{RetryBudget, RetryPolicy};
pub use shared_budget::SharedRateBudget;
pub use token_file::FileTokenStore;

/// The README's examples, compiled as doctests so they stay true.
#[doc = include_str!("../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;
