//! The Pax8 API client applications depend on.
//!
//! - OAuth2 client-credentials tokens: lazy, cached per audience, refreshed before expiry,
//!   single-flight, replaced once on a 401 ([`TokenStore`] to share them between processes).
//! - Retries by a pure, table-tested rule ([`retry::classify`]): full-jitter backoff with a cap,
//!   `Retry-After`, a total time limit and a retry budget; a create (POST/PATCH) is replayed only
//!   when it provably did not reach the server.
//! - A client-side rate limiter (default 1000 requests a minute) shared by all calls.
//! - Pagination streams for every list operation ([`Paginator`]), with optional bounded concurrency.
//! - One typed, `#[non_exhaustive]` [`Error`], with the Pax8 error body on every API error.
//! - Resource handlers ([`Pax8Client::companies`], [`Pax8Client::subscriptions`], ...); the
//!   generated builders stay reachable ([`Pax8Client::partner`], ...) through [`send`].
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

mod answer;
pub mod auth;
mod call;
mod client;
mod config;
mod error;
mod hooks;
pub mod insights;
pub mod pagination;
pub mod pipeline;
pub mod rate_limit;
mod redact;
pub mod resources;
pub mod retry;

pub use auth::{AccessToken, Audience, InMemoryTokenStore, TokenStore};
pub use call::{Call, CallOptions};
pub use client::Pax8Client;
pub use config::{ClientBuilder, Environment};
pub use error::{ApiError, Error, OAuthError, Result};
pub use hooks::{Hooks, RequestInfo};
pub use pagination::{Page, Paginator};
pub use pax8_api::{self as api, Api, Date, ErrorBody, SecretString, Timestamp};
pub use retry::{RetryBudget, RetryPolicy};
