//! Caller-supplied hooks around every request: add a header, record metrics.

use crate::error::Error;

/// What a hook learns about the request it sees.
#[derive(Debug, Clone, Copy)]
pub struct RequestInfo {
    /// operationId (e.g. `findCompanies`), when known.
    pub operation: Option<&'static str>,
    /// HTTP method.
    pub method: &'static str,
    /// Path template, e.g. `/companies/{companyId}`.
    pub path: &'static str,
    /// 1 for the first attempt.
    pub attempt: u32,
}

/// Hooks run by the client around each attempt. All methods default to doing nothing.
///
/// ```no_run
/// use pax8_ext::{Hooks, RequestInfo};
///
/// #[derive(Debug)]
/// struct Tenant;
/// impl Hooks for Tenant {
///     fn before_request(&self, request: &mut reqwest::Request, _info: &RequestInfo) {
///         request.headers_mut().insert("x-msp-tenant", "acme".parse().unwrap());
///     }
/// }
/// ```
pub trait Hooks: Send + Sync + std::fmt::Debug + 'static {
    /// Before each attempt is sent (the `Authorization` header is already set: do not log it).
    fn before_request(&self, _request: &mut reqwest::Request, _info: &RequestInfo) {}
    /// After each response arrives (any status).
    fn after_response(&self, _response: &reqwest::Response, _info: &RequestInfo) {}
    /// When a call fails for good.
    fn on_error(&self, _error: &Error, _info: &RequestInfo) {}
}
