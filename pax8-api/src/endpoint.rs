//! Every generated request builder as a value: what it sends, and how its answer is decoded.
//!
//! pax8-api-gen implements [`Endpoint`] for each builder of every document, and [`Paged`] for the
//! list operations. A builder's own `send()` is the composition of the two halves around plain
//! progenitor hooks; pax8-ext drives the halves itself (rate limit, token, retries, a complete
//! body read inside each attempt), so no state rides along hidden in the request's task.
//!
//! ```no_run
//! # fn demo(client: &pax8_api::partner::Client) -> Result<(), Box<dyn std::error::Error>> {
//! use pax8_api::Endpoint;
//! use pax8_api::partner::builder::FindCompanies;
//!
//! let request = client.find_companies().city("Denver").into_request()?;
//! assert_eq!(request.url().path(), "/v1/companies");
//! assert_eq!(<FindCompanies<'_> as Endpoint>::OPERATION.operation_id, "findCompanies");
//! # Ok(()) }
//! ```

use std::future::Future;

use progenitor_client::{Error, ResponseValue};

use crate::{Api, Operation};

/// A generated request builder, split into building and decoding.
pub trait Endpoint: Sized + Send {
    /// The decoded success body.
    type Output;
    /// The error body the document declares (the shared Pax8 [`crate::ErrorBody`]).
    type ErrorBody;
    /// The API group of the operation.
    const API: Api;
    /// The operation (its row of the module's `OPERATIONS` table).
    const OPERATION: Operation;

    /// Validates the builder's values and builds the request, without sending it.
    #[allow(clippy::result_large_err)] // progenitor's own error type, as the generated `send()` returns
    fn into_request(self) -> Result<reqwest::Request, Error<Self::ErrorBody>>;

    /// Decodes a response of this operation by its status, as the generated `send()` does.
    fn decode_response(
        response: reqwest::Response,
    ) -> impl Future<Output = Result<ResponseValue<Self::Output>, Error<Self::ErrorBody>>> + Send;

    /// Decodes a body already read, by the status it came with, as [`Endpoint::decode_response`]
    /// decodes a response: one pass over the bytes, no response rebuilt around them.
    ///
    /// ```
    /// use pax8_api::{DecodeError, Endpoint};
    /// use pax8_api::partner::builder::GetCompaniesByCompanyId as GetCompany;
    ///
    /// let company = <GetCompany<'_> as Endpoint>::decode_body(200, br#"{"name": "Acme"}"#).unwrap();
    /// assert_eq!(company.name, "Acme");
    /// assert!(matches!(<GetCompany<'_> as Endpoint>::decode_body(404, b""), Err(DecodeError::ErrorStatus(404))));
    /// ```
    fn decode_body(status: u16, body: &[u8]) -> Result<Self::Output, DecodeError>;
}

/// Why a body is not an operation's success value ([`Endpoint::decode_body`]).
#[derive(Debug)]
#[non_exhaustive]
pub enum DecodeError {
    /// The status is a success the document declares, the body is not its JSON.
    Json(serde_json::Error),
    /// The document declares this status an error.
    ErrorStatus(u16),
    /// The document does not declare this status.
    Undeclared(u16),
}

impl std::fmt::Display for DecodeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DecodeError::Json(source) => write!(f, "the body does not decode: {source}"),
            DecodeError::ErrorStatus(status) => write!(f, "status {status} is an error"),
            DecodeError::Undeclared(status) => write!(f, "status {status} is not declared by the document"),
        }
    }
}

impl std::error::Error for DecodeError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            DecodeError::Json(source) => Some(source),
            _ => None,
        }
    }
}

/// A file answer's bytes as the stream progenitor hands out for one (`decode_body` of a
/// download).
#[doc(hidden)]
pub fn byte_stream_of(body: &[u8]) -> progenitor_client::ByteStream {
    let bytes = bytes::Bytes::copy_from_slice(body);
    progenitor_client::ByteStream::new(Box::pin(futures::stream::once(async move { Ok(bytes) })))
}

/// How a list operation pages, as its document says.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Paging {
    /// Query parameter of the page number.
    pub page_param: &'static str,
    /// Query parameter of the page size (`size`, or `limit` for quotes).
    pub size_param: &'static str,
    /// The first page's number (the parameter's default).
    pub first_page: u32,
    /// The largest page size allowed.
    pub max_size: u32,
    /// The size the server uses when none is given.
    pub default_size: u32,
}

/// One page of a list answer, taken apart.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageParts<T> {
    /// The items of the page.
    pub items: Vec<T>,
    /// The page number the server reports, if it reports one.
    pub number: Option<u64>,
    /// The number of pages the server reports.
    pub total_pages: Option<u64>,
    /// The number of items the server reports.
    pub total_elements: Option<u64>,
}

/// A list operation: an [`Endpoint`] with page and size setters and a paged answer.
pub trait Paged: Endpoint {
    /// One item of a page.
    type Item;
    /// The paging facts from the document.
    const PAGING: Paging;
    /// Asks for page `number` (a number the parameter cannot hold fails in `into_request`).
    fn with_page(self, number: u32) -> Self;
    /// Asks for `size` items a page.
    fn with_size(self, size: u32) -> Self;
    /// Takes an answer apart into items and counters.
    fn into_parts(output: Self::Output) -> PageParts<Self::Item>;
}

/// Finds an operation of a table by its generated method name or by its operationId.
pub fn find_operation(table: &'static [Operation], id: &str) -> Option<&'static Operation> {
    table.iter().find(|o| o.rust_method == id || o.operation_id == id)
}

#[cfg(all(test, feature = "partner"))]
mod tests {
    use super::*;

    #[test]
    fn progenitor_ids_resolve_to_operations() {
        let op = find_operation(&crate::partner::OPERATIONS, "find_companies").expect("by generated name");
        assert_eq!((op.method, op.path, op.operation_id), ("GET", "/companies", "findCompanies"));
        assert!(find_operation(&crate::partner::OPERATIONS, "createOrder").is_some(), "by operationId");
        assert!(!find_operation(&crate::partner::OPERATIONS, "create_order").unwrap().is_idempotent());
    }

    #[test]
    fn builders_carry_their_operation_and_paging() {
        use crate::partner::builder::{CreateOrder, FindCompanies};
        assert_eq!(<FindCompanies<'_> as Endpoint>::OPERATION.operation_id, "findCompanies");
        assert_eq!(<CreateOrder<'_> as Endpoint>::OPERATION.method, "POST");
        assert_eq!(<FindCompanies<'_> as Endpoint>::API, Api::Partner);
        let paging = <FindCompanies<'_> as Paged>::PAGING;
        assert_eq!((paging.first_page, paging.max_size, paging.size_param), (0, 200, "size"));
    }

    #[test]
    fn a_builder_becomes_a_request_without_sending() {
        let client = crate::partner::Client::new("http://127.0.0.1:9/v1");
        let request = client.find_companies().with_page(3).with_size(50).into_request().expect("valid");
        assert_eq!(request.method(), "GET");
        assert_eq!(request.url().as_str(), "http://127.0.0.1:9/v1/companies?page=3&size=50");
        let huge = client.find_companies().with_page(u32::MAX).into_request();
        assert!(matches!(huge, Err(Error::InvalidRequest(_))), "a page past i32 is refused, not wrapped");
    }
}
