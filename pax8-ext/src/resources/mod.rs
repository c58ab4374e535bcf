//! Resource handlers: the ergonomic API over the generated builders.
//!
//! Each handler borrows the client (`client.companies()`), takes typed ids, validates what it can
//! before sending ([`Error::InvalidRequest`]), and returns decoded values or
//! [`Paginator`](crate::Paginator)s. `.options(CallOptions)` on a handler applies to every call
//! it makes and every paginator it returns. List filters are the generated builder's own
//! setters, passed as a closure to `list_with`, so every filter the API has is available:
//!
//! ```no_run
//! # async fn demo(client: pax8_ext::Pax8Client) -> pax8_ext::Result<()> {
//! use futures::TryStreamExt;
//! let denver: Vec<_> = client.companies().list_with(|q| q.city("Denver")).items().try_collect().await?;
//! # Ok(()) }
//! ```

mod orders;
mod partner;
mod products;
mod quotes;
mod vendor;
mod webhooks;

pub use orders::*;
pub use partner::*;
pub use products::*;
pub use quotes::*;
pub use vendor::*;
pub use webhooks::*;

use uuid::Uuid;

use crate::error::{Error, Result};

/// Parses an id given as text (command lines, config files): empty or malformed ids are an
/// [`Error::InvalidRequest`] naming the field.
pub fn parse_id(field: &str, value: &str) -> Result<Uuid> {
    let value = value.trim();
    if value.is_empty() {
        return Err(Error::InvalidRequest(format!("{field} is empty")));
    }
    Uuid::parse_str(value).map_err(|_| Error::InvalidRequest(format!("{field} `{value}` is not a UUID")))
}

/// Per-call options on a handler: `options()` and the `send` every method uses.
macro_rules! handler_options {
    ($($handler:ident),* $(,)?) => {$(
        impl<'c> $handler<'c> {
            /// Options (retry policy, timeout, headers) for every call of this handler and of the
            /// paginators it returns.
            pub fn options(mut self, options: crate::CallOptions) -> Self {
                self.options = options;
                self
            }

            #[allow(dead_code)]
            async fn send<E>(&self, endpoint: E) -> crate::Result<E::Output>
            where
                E: pax8_api::Endpoint<ErrorBody = pax8_api::ErrorBody>,
                E::Output: serde::de::DeserializeOwned + Send,
            {
                self.client.send_with(endpoint, &self.options).await
            }
        }
    )*};
}
pub(crate) use handler_options;

/// Builds a [`crate::Paginator`] over a generated list operation from a handler (`$handler`
/// holds `client` and `options`). `$make` builds the generated builder from the client `$c`;
/// `filter`, when given, is applied to it. The paging facts come from the builder's
/// generated [`pax8_api::Paged`] impl.
macro_rules! paginator {
    ($handler:expr, |$c:ident| $make:expr) => {{
        let client: crate::Pax8Client = $handler.client.clone();
        let paging = {
            let $c = &client;
            crate::pagination::paging_of(&$make)
        };
        crate::pagination::Paginator::new(
            paging,
            $handler.options.clone(),
            std::sync::Arc::new(move |number: u32, size: u32, options: crate::CallOptions| {
                let client = client.clone();
                Box::pin(async move {
                    let $c = &client;
                    crate::pagination::fetch_page($make, number, size, $c, &options).await
                }) as futures::future::BoxFuture<'static, crate::Result<_>>
            }),
        )
    }};
    ($handler:expr, |$c:ident| $make:expr, filter = $filter:expr) => {{
        let client: crate::Pax8Client = $handler.client.clone();
        let paging = {
            let $c = &client;
            crate::pagination::paging_of(&$make)
        };
        let filter = std::sync::Arc::new($filter);
        crate::pagination::Paginator::new(
            paging,
            $handler.options.clone(),
            std::sync::Arc::new(move |number: u32, size: u32, options: crate::CallOptions| {
                let client = client.clone();
                let filter = filter.clone();
                Box::pin(async move {
                    let $c = &client;
                    crate::pagination::fetch_page(filter($make), number, size, $c, &options).await
                }) as futures::future::BoxFuture<'static, crate::Result<_>>
            }),
        )
    }};
}
pub(crate) use paginator;
