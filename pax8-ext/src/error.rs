//! The one error type of pax8-ext.

use std::time::Duration;

use pax8_api::ErrorBody;
use reqwest::StatusCode;

/// An error response from the API: status, the Pax8 error body when there is one, and the
/// operation that failed.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ApiError {
    /// HTTP status.
    pub status: StatusCode,
    /// The decoded Pax8 error body (`type`, `message`, `instance`, `details`).
    pub body: Option<Box<ErrorBody>>,
    /// operationId of the failed call, when known.
    pub operation: Option<&'static str>,
    /// The start of a body that is not a Pax8 error body (an HTML page from a proxy), bounded
    /// and with secret values removed.
    pub text: Option<String>,
    /// The id the answering server gave the request (from `x-request-id`, `x-correlation-id`,
    /// `request-id`, `correlation-id`, `x-amzn-requestid` or `x-amz-cf-id`): quote it to Pax8
    /// support.
    pub request_id: Option<String>,
    /// The attempt that got this answer (1 for the first; 0 when not known).
    pub attempt: u32,
}

impl ApiError {
    /// An error response with its status only.
    pub fn new(status: StatusCode, operation: Option<&'static str>) -> Self {
        Self { status, body: None, operation, text: None, request_id: None, attempt: 0 }
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "HTTP {}", self.status.as_u16())?;
        if let Some(op) = self.operation {
            write!(f, " from {op}")?;
        }
        if let Some(body) = &self.body {
            write!(f, " ({body})")?;
        } else if let Some(text) = self.text.as_deref().filter(|t| !t.trim().is_empty()) {
            write!(f, ": {text}")?;
        }
        match (&self.request_id, self.attempt) {
            (Some(id), attempt) if attempt > 1 => write!(f, " [request id {id}, attempt {attempt}]")?,
            (Some(id), _) => write!(f, " [request id {id}]")?,
            (None, attempt) if attempt > 1 => write!(f, " [attempt {attempt}]")?,
            (None, _) => {}
        }
        Ok(())
    }
}

/// Why the token endpoint refused or failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OAuthError {
    /// OAuth `error` code, e.g. `access_denied`.
    pub error: String,
    /// OAuth `error_description`.
    pub description: Option<String>,
}

/// Every failure of a pax8-ext call. Match on the kind, or ask [`Error::status`] and
/// [`Error::is_retryable`]; the source chain is kept.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// 401 from the API after one token refresh and replay, or a token that could not be obtained.
    #[error("authentication failed: {message}")]
    Authentication {
        /// What happened.
        message: String,
        /// OAuth error from the token endpoint, when it sent one.
        oauth: Option<Box<OAuthError>>,
        /// The API error, when the API (not the token endpoint) refused.
        api: Option<ApiError>,
    },
    /// 403.
    #[error("forbidden: {0}")]
    Forbidden(ApiError),
    /// 404.
    #[error("not found: {0}")]
    NotFound(ApiError),
    /// 400 or 422, with the field details of the Pax8 error body.
    #[error("validation failed: {0}")]
    Validation(ApiError),
    /// 429 after the retries the policy allows.
    #[error("rate limited: {error}")]
    RateLimited {
        /// How long the server asked to wait, if it said.
        retry_after: Option<Duration>,
        /// The response.
        error: ApiError,
    },
    /// 5xx after the retries the policy allows.
    #[error("server error: {0}")]
    Server(ApiError),
    /// Any other non-success status (409, 3xx...).
    #[error("unexpected response: {0}")]
    Api(ApiError),
    /// The request timed out (not replayed when it may have reached the server and is not idempotent).
    #[error("timed out: {source}")]
    Timeout {
        /// The underlying error.
        #[source]
        source: reqwest::Error,
    },
    /// Connecting or talking to the server failed.
    #[error("transport error: {source}")]
    Transport {
        /// The underlying error.
        #[source]
        source: reqwest::Error,
    },
    /// A write (POST, PATCH) may have been carried out, but no complete answer came back (a
    /// timeout, a dropped connection, a gateway's 502 or 504). It was not sent again. Look for
    /// what it would have created or changed before sending it again (for an order:
    /// [`crate::resources::Orders::find_recent_matching`]).
    #[error(
        "the outcome of {operation} is unknown: {reason}. The change may have happened; \
         look for it (for an order, list the company's recent orders) before sending it again"
    )]
    OutcomeUnknown {
        /// operationId.
        operation: &'static str,
        /// What happened to the answer.
        reason: String,
        /// The transport error behind it, if any.
        #[source]
        source: Option<reqwest::Error>,
    },
    /// A write succeeded (the server answered with a success status) but its answer could not be
    /// read: do not send it again.
    #[error(
        "{operation} succeeded (HTTP {status}) but its answer could not be read{}: {reason}",
        id.as_deref().map(|id| format!(" (id {id})")).unwrap_or_default()
    )]
    AnswerUnreadable {
        /// operationId.
        operation: &'static str,
        /// The success status.
        status: StatusCode,
        /// The `id` found in what was read, if any.
        id: Option<String>,
        /// Why it could not be read.
        reason: String,
        /// The start of the body, bounded and redacted.
        excerpt: String,
    },
    /// A response larger than the client accepts ([`crate::ClientBuilder::max_response_bytes`]).
    #[error("the answer of {operation} is larger than {limit} bytes")]
    ResponseTooLarge {
        /// operationId.
        operation: &'static str,
        /// The limit in bytes.
        limit: u64,
    },
    /// A response body that does not match its type.
    #[error("cannot decode the response of {operation} at `{path}`: {source} (body starts: {excerpt})")]
    Decode {
        /// operationId.
        operation: String,
        /// serde path of the field that failed (`content[3].status`).
        path: String,
        /// The start of the body, at most 512 bytes, with secret values removed.
        excerpt: String,
        /// serde's error.
        #[source]
        source: serde_json::Error,
    },
    /// Refused before sending: the request is invalid.
    #[error("invalid request: {0}")]
    InvalidRequest(String),
    /// The client configuration is invalid (raised by `build()`).
    #[error("invalid configuration: {0}")]
    Config(String),
    /// A paginated listing misbehaved (the server repeated a page).
    #[error("pagination stopped: {0}")]
    Pagination(String),
}

impl Error {
    /// The HTTP status behind this error, if any.
    pub fn status(&self) -> Option<StatusCode> {
        match self {
            Error::Authentication { api: Some(api), .. } => Some(api.status),
            Error::Authentication { .. } => Some(StatusCode::UNAUTHORIZED),
            Error::Forbidden(e) | Error::NotFound(e) | Error::Validation(e) | Error::Server(e) | Error::Api(e) => {
                Some(e.status)
            }
            Error::RateLimited { error, .. } => Some(error.status),
            Error::AnswerUnreadable { status, .. } => Some(*status),
            Error::Timeout { source } | Error::Transport { source } => source.status(),
            _ => None,
        }
    }

    /// Whether the same call might succeed later (rate limits, timeouts, transport and server
    /// errors). Never for [`Error::OutcomeUnknown`] or [`Error::AnswerUnreadable`]: sending a
    /// write again could do it twice.
    pub fn is_retryable(&self) -> bool {
        matches!(self, Error::RateLimited { .. } | Error::Timeout { .. } | Error::Transport { .. } | Error::Server(_))
    }

    /// Whether a write may or may not have happened ([`Error::OutcomeUnknown`]).
    pub fn is_outcome_unknown(&self) -> bool {
        matches!(self, Error::OutcomeUnknown { .. })
    }

    /// The Pax8 error body, on every API error that carried one.
    pub fn body(&self) -> Option<&ErrorBody> {
        self.api_error().and_then(|e| e.body.as_deref())
    }

    /// The API error behind this error, if it came from an HTTP response.
    pub fn api_error(&self) -> Option<&ApiError> {
        match self {
            Error::Authentication { api, .. } => api.as_ref(),
            Error::Forbidden(e) | Error::NotFound(e) | Error::Validation(e) | Error::Server(e) | Error::Api(e) => {
                Some(e)
            }
            Error::RateLimited { error, .. } => Some(error),
            _ => None,
        }
    }

    /// Classifies an error response by status.
    pub fn from_response(error: ApiError, retry_after: Option<Duration>) -> Self {
        match error.status.as_u16() {
            401 => Error::Authentication { message: error.to_string(), oauth: None, api: Some(error) },
            403 => Error::Forbidden(error),
            404 => Error::NotFound(error),
            400 | 422 => Error::Validation(error),
            429 => Error::RateLimited { retry_after, error },
            500..=599 => Error::Server(error),
            _ => Error::Api(error),
        }
    }

    pub(crate) fn from_reqwest(source: reqwest::Error) -> Self {
        if source.is_timeout() { Error::Timeout { source } } else { Error::Transport { source } }
    }
}

/// Result alias.
pub type Result<T, E = Error> = std::result::Result<T, E>;
