//! Resource handlers: the ergonomic API over the generated builders.
//!
//! Each handler borrows the client (`client.companies()`), takes typed ids, validates what it can
//! before sending ([`Error::InvalidRequest`]), and returns decoded values or [`Paginator`]s. List
//! filters are the generated builder's own setters, passed as a closure to `list_with`, so every
//! filter the API has is available:
//!
//! ```no_run
//! # async fn demo(client: pax8_ext::Pax8Client) -> pax8_ext::Result<()> {
//! use futures::TryStreamExt;
//! let denver: Vec<_> = client.companies().list_with(|q| q.city("Denver")).items().try_collect().await?;
//! # Ok(()) }
//! ```

mod partner;
mod quotes;
mod vendor;
mod webhooks;

pub use partner::*;
pub use quotes::*;
pub use vendor::*;
pub use webhooks::*;

use uuid::Uuid;

use crate::error::{Error, Result};
use crate::pagination::Page;

/// Parses an id given as text (command lines, config files): empty or malformed ids are an
/// [`Error::InvalidRequest`] naming the field.
pub fn parse_id(field: &str, value: &str) -> Result<Uuid> {
    let value = value.trim();
    if value.is_empty() {
        return Err(Error::InvalidRequest(format!("{field} is empty")));
    }
    Uuid::parse_str(value).map_err(|_| Error::InvalidRequest(format!("{field} `{value}` is not a UUID")))
}

/// A list response that carries one page.
pub trait PagedBody {
    /// The item type.
    type Item;
    /// Converts the body, given the page number and size asked for.
    fn into_page(self, number: u32, size: u32) -> Page<Self::Item>;
}

fn to_u32(n: Option<i64>) -> Option<u32> {
    n.and_then(|n| u32::try_from(n).ok())
}

macro_rules! v1_paged {
    ($($body:ty => $item:ty),* $(,)?) => {$(
        impl PagedBody for $body {
            type Item = $item;
            fn into_page(self, number: u32, size: u32) -> Page<$item> {
                let info = self.page;
                Page {
                    items: self.content,
                    number,
                    size,
                    total_pages: to_u32(info.as_ref().and_then(|p| p.total_pages)),
                    total_elements: info.as_ref().and_then(|p| p.total_elements).and_then(|n| u64::try_from(n).ok()),
                }
            }
        }
    )*};
}

use pax8_api::partner::types as v1;
v1_paged! {
    v1::FindCompaniesResponse => v1::Company,
    v1::GetCompaniesByCompanyIdContactsResponse => v1::Contact,
    v1::FindAllProductsResponse => v1::Product,
    v1::FindOrdersResponse => v1::Order,
    v1::FindSubscriptionsResponse => v1::Subscription,
    v1::FindPartnerInvoicesResponse => v1::Invoice,
    v1::FindPartnerInvoiceItemsResponse => v1::InvoiceItem,
    v1::FindSubscriptionUsageSummariesResponse => v1::UsageSummary,
    v1::FindPartnerDraftInvoiceItemsResponse => v1::InvoiceItem,
}

macro_rules! v2_paged {
    ($($body:ty => $item:ty),* $(,)?) => {$(
        impl PagedBody for $body {
            type Item = $item;
            fn into_page(self, number: u32, size: u32) -> Page<$item> {
                Page {
                    items: self.content,
                    number,
                    size,
                    total_pages: u32::try_from(self.page.total_pages).ok(),
                    total_elements: u64::try_from(self.page.total_elements).ok(),
                }
            }
        }
    )*};
}

v2_paged! {
    pax8_api::quoting::types::ListResponse => pax8_api::quoting::types::ListContent,
    pax8_api::webhooks::types::WebhookPagedResult => pax8_api::webhooks::types::Webhook,
    pax8_api::webhooks::types::WebhookLogPagedResult => pax8_api::webhooks::types::WebhookLog,
}

impl PagedBody for pax8_api::webhooks::types::TopicDefinitionPagedResult {
    type Item = pax8_api::webhooks::types::TopicDefinition;
    fn into_page(self, number: u32, size: u32) -> Page<Self::Item> {
        Page {
            items: self.content,
            number,
            size,
            total_pages: u32::try_from(self.total_pages).ok(),
            total_elements: u64::try_from(self.total_elements).ok(),
        }
    }
}

/// Builds a [`crate::Paginator`] over a generated list operation.
///
/// `$client` is a `Pax8Client`; `$make` builds the generated builder from the generated client
/// `$c`, `$filter` is applied to it, then the page and size setters.
macro_rules! paginator {
    ($client:expr, $first:expr, $max:expr, $size_setter:ident($size:expr), |$c:ident| $make:expr) => {{
        let client: crate::Pax8Client = $client.clone();
        crate::pagination::Paginator::new(
            $first,
            $max,
            std::sync::Arc::new(move |number: u32, size: u32| {
                let client = client.clone();
                Box::pin(async move {
                    let $c = &client;
                    let builder = $make.page(number as i32).$size_setter(($size)(size));
                    let body = crate::send(builder.send()).await?;
                    Ok(crate::resources::PagedBody::into_page(body, number, size))
                }) as futures::future::BoxFuture<'static, crate::Result<_>>
            }),
        )
    }};
    ($client:expr, $first:expr, $max:expr, $size_setter:ident($size:expr), |$c:ident| $make:expr, filter = $filter:expr) => {{
        let client: crate::Pax8Client = $client.clone();
        let filter = std::sync::Arc::new($filter);
        crate::pagination::Paginator::new(
            $first,
            $max,
            std::sync::Arc::new(move |number: u32, size: u32| {
                let client = client.clone();
                let filter = filter.clone();
                Box::pin(async move {
                    let $c = &client;
                    let builder = filter($make).page(number as i32).$size_setter(($size)(size));
                    let body = crate::send(builder.send()).await?;
                    Ok(crate::resources::PagedBody::into_page(body, number, size))
                }) as futures::future::BoxFuture<'static, crate::Result<_>>
            }),
        )
    }};
}
pub(crate) use paginator;
