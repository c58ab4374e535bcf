//! A complete answer, read inside the attempt that received it, and what it becomes: a typed
//! value, or a typed error that keeps the status.

use std::time::{Duration, SystemTime};

use bytes::{Bytes, BytesMut};
use pax8_api::{Api, DecodeError, ErrorBody, Operation};
use reqwest::StatusCode;
use reqwest::header::{CONTENT_TYPE, HeaderMap, RETRY_AFTER};
use serde::de::DeserializeOwned;

use crate::error::{ApiError, Error, Result};
use crate::redact::excerpt;
use crate::retry::parse_retry_after;
use crate::traits::ApiTraits;

/// How much of a body an error quotes.
pub(crate) const EXCERPT_BYTES: usize = 512;
/// What an error says instead of quoting a token endpoint body.
pub(crate) const WITHHELD: &str = "[token endpoint body withheld]";

/// Status, headers and the whole body of one response.
#[derive(Debug, Clone)]
pub(crate) struct Answer {
    pub(crate) status: StatusCode,
    pub(crate) headers: HeaderMap,
    pub(crate) body: Bytes,
}

/// Reads a success body (with its status) into what the operation returns, once, inside the
/// attempt that received it: an endpoint's generated `decode_body`, or [`json_at_all`].
pub(crate) type BodyReader<'a, T> = dyn FnMut(u16, &[u8]) -> std::result::Result<T, DecodeError> + Send + 'a;

/// The reader of answers whose type the pipeline does not know: is the body JSON at all?
pub(crate) fn json_at_all(_status: u16, body: &[u8]) -> std::result::Result<(), DecodeError> {
    serde_json::from_slice::<serde::de::IgnoredAny>(body).map(drop).map_err(DecodeError::Json)
}

/// Why a body could not be read in full.
pub(crate) enum BodyError {
    /// Larger than the client accepts.
    TooLarge,
    /// The connection broke or timed out; what arrived before is kept.
    Failed { partial: Bytes, source: reqwest::Error },
}

impl Answer {
    /// Reads the whole body of `response`, at most `limit` bytes.
    pub(crate) async fn read(
        mut response: reqwest::Response,
        limit: u64,
    ) -> std::result::Result<Self, (StatusCode, HeaderMap, BodyError)> {
        let expected = response.content_length();
        // The headers are moved out, not copied: the response is only read for its body from here.
        let (status, headers) = (response.status(), std::mem::take(response.headers_mut()));
        if expected.is_some_and(|n| n > limit) {
            return Err((status, headers, BodyError::TooLarge));
        }
        // Reserve what the server announces, up to 1 MiB: an announced length is not a promise.
        let mut body = BytesMut::with_capacity(usize::try_from(expected.unwrap_or(0).min(1 << 20)).unwrap_or(0));
        loop {
            // Once the announced length has arrived, the body is complete: no need to wait
            // for the end-of-body signal.
            if expected.is_some_and(|n| u64::try_from(body.len()).is_ok_and(|len| len == n)) {
                return Ok(Self { status, headers, body: body.freeze() });
            }
            match response.chunk().await {
                Ok(Some(chunk)) => {
                    if u64::try_from(body.len() + chunk.len()).unwrap_or(u64::MAX) > limit {
                        return Err((status, headers, BodyError::TooLarge));
                    }
                    body.extend_from_slice(&chunk);
                }
                Ok(None) => return Ok(Self { status, headers, body: body.freeze() }),
                Err(source) => return Err((status, headers, BodyError::Failed { partial: body.freeze(), source })),
            }
        }
    }

    /// The server's `Retry-After`, if it sent one.
    pub(crate) fn retry_after(&self) -> Option<Duration> {
        retry_after(&self.headers)
    }

    /// A success whose body should be JSON but is not JSON at all (cut short, an HTML page): a
    /// transient fault. `expects_json`: the request asked for JSON; `read`: what the attempt
    /// read the body as. Well-formed JSON of another shape is not malformed (it is final), nor
    /// is an empty body, nor a file (PDF, ZIP).
    pub(crate) fn is_malformed_success<T>(
        &self,
        expects_json: bool,
        read: Option<&std::result::Result<T, DecodeError>>,
    ) -> bool {
        if !self.status.is_success() || !expects_json || self.body.is_empty() {
            return false;
        }
        let content_type = self.headers.get(CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
        if ["pdf", "zip", "octet-stream"].iter().any(|kind| content_type.contains(kind)) {
            return false;
        }
        matches!(read, Some(Err(DecodeError::Json(e))) if e.is_syntax() || e.is_eof())
    }

    /// The typed error of an error status. The Pax8 error body is decoded when there is one;
    /// otherwise a bounded, redacted excerpt of the body is kept (never for the token endpoint).
    pub(crate) fn into_error(self, api: Api, operation: &'static str, attempt: u32) -> Error {
        let retry_after = self.retry_after();
        let request_id = request_id(&self.headers);
        let body = serde_json::from_slice::<ErrorBody>(&self.body).ok().filter(|b| *b != ErrorBody::default());
        let text = match body {
            Some(_) => None,
            None if !ApiTraits::of(api).quotes_bodies => None,
            None => Some(excerpt(&self.body, EXCERPT_BYTES)).filter(|t| !t.trim().is_empty()),
        };
        let mut error = ApiError::new(self.status, Some(operation));
        error.body = body.map(Box::new);
        error.text = text;
        error.request_id = request_id;
        error.attempt = attempt;
        Error::from_response(error, retry_after)
    }
}

/// The headers a server or gateway names a request by, in the order looked at.
const REQUEST_ID_HEADERS: [&str; 6] =
    ["x-request-id", "x-correlation-id", "request-id", "correlation-id", "x-amzn-requestid", "x-amz-cf-id"];

/// The answer's request id: the first of [`REQUEST_ID_HEADERS`] that is printable ASCII of at
/// most 128 characters (anything else is not kept: it came from the network).
fn request_id(headers: &HeaderMap) -> Option<String> {
    REQUEST_ID_HEADERS.iter().find_map(|name| {
        let value = headers.get(*name)?.to_str().ok()?.trim();
        let printable = !value.is_empty() && value.len() <= 128 && value.bytes().all(|b| b.is_ascii_graphic());
        printable.then(|| value.to_string())
    })
}

fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    headers.get(RETRY_AFTER).and_then(|v| v.to_str().ok()).and_then(|v| parse_retry_after(v, SystemTime::now()))
}

/// What a success answer of an operation became, read once by its generated decoder inside the
/// attempt (`read`). A write whose success body does not decode is [`Error::AnswerUnreadable`]:
/// it happened, and must not be sent again; a read's is [`Error::Decode`] with the serde path.
pub(crate) fn success_value<T: DeserializeOwned>(
    api: Api,
    op: Operation,
    answer: &Answer,
    read: Option<std::result::Result<T, DecodeError>>,
) -> Result<T> {
    let (status, body) = (answer.status, &answer.body);
    let failed = |source: serde_json::Error| {
        // A write that happened; never a token request, which changes nothing and whose body
        // is never quoted.
        if !op.is_idempotent() && !ApiTraits::of(api).changes_nothing {
            return unreadable(op, status, body, format!("its body does not decode: {source}"));
        }
        decode_error::<T>(api, op.operation_id, body, source)
    };
    match read {
        Some(Ok(value)) => Ok(value),
        Some(Err(DecodeError::Json(source))) => Err(failed(source)),
        // A success status the document does not list (201 where it says 200): decoded all the same
        // (only a success is read, so an undeclared status here is one).
        Some(Err(DecodeError::Undeclared(_))) => {
            let json = if body.is_empty() { b"null".as_slice() } else { &body[..] };
            serde_json::from_slice::<T>(json).map_err(failed)
        }
        _ => Err(Error::from_response(ApiError::new(status, Some(op.operation_id)), None)),
    }
}

/// A write that succeeded but whose answer could not be read.
pub(crate) fn unreadable(op: Operation, status: StatusCode, body: &[u8], reason: String) -> Error {
    Error::AnswerUnreadable {
        operation: op.operation_id,
        status,
        id: find_id(body),
        reason,
        excerpt: excerpt(body, EXCERPT_BYTES),
    }
}

/// A body that does not match its type: where it failed, and a redacted excerpt (none for the
/// token endpoint, whose bodies hold secrets).
pub(crate) fn decode_error<T: DeserializeOwned>(
    api: Api,
    operation: &'static str,
    bytes: &[u8],
    source: serde_json::Error,
) -> Error {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let path = match serde_path_to_error::deserialize::<_, T>(&mut de) {
        Err(e) => e.path().to_string(),
        Ok(_) => ".".into(),
    };
    let excerpt = if ApiTraits::of(api).quotes_bodies { excerpt(bytes, EXCERPT_BYTES) } else { WITHHELD.to_string() };
    Error::Decode { operation: operation.to_string(), path, excerpt, source }
}

/// The first `"id": "<value>"` of a body, even one cut short (the id of what a write created).
pub(crate) fn find_id(body: &[u8]) -> Option<String> {
    let text = String::from_utf8_lossy(body);
    let mut rest = text.as_ref();
    while let Some(at) = rest.find("\"id\"") {
        rest = &rest[at + 4..];
        let Some(value) = rest.trim_start().strip_prefix(':') else { continue };
        let Some(value) = value.trim_start().strip_prefix('"') else { continue };
        let end = value.find('"')?;
        let id = &value[..end];
        if !id.is_empty() && id.len() <= 128 && id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') {
            return Some(id.to_string());
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(status: u16, content_type: &str, body: &'static str) -> Answer {
        let mut headers = HeaderMap::new();
        headers.insert(CONTENT_TYPE, content_type.parse().unwrap());
        Answer { status: StatusCode::from_u16(status).unwrap(), headers, body: Bytes::from_static(body.as_bytes()) }
    }

    #[test]
    fn malformed_successes_are_json_successes_that_do_not_parse() {
        fn check(answer: &Answer, expects_json: bool) -> bool {
            let read = json_at_all(answer.status.as_u16(), &answer.body);
            answer.is_malformed_success(expects_json, Some(&read))
        }
        assert!(check(&answer(200, "application/json", r#"{"content":[{"id"#), true));
        assert!(check(&answer(200, "text/html", "<html>proxy</html>"), true));
        assert!(!check(&answer(200, "application/json", r#"{"a":1}"#), true));
        let shape = answer(200, "application/json", r#"{"a":1}"#);
        let typed = serde_json::from_slice::<Vec<u8>>(&shape.body).map_err(DecodeError::Json);
        assert!(!shape.is_malformed_success(true, Some(&typed)), "JSON of another shape is final, not malformed");
        assert!(!check(&answer(200, "application/json", ""), true), "an empty body is for the decoder");
        assert!(!check(&answer(200, "application/pdf", "%PDF-1.7"), true));
        assert!(!check(&answer(200, "text/html", "<html/>"), false), "no JSON was asked for");
        assert!(!check(&answer(502, "text/html", "<html/>"), true), "errors are not successes");
    }

    #[test]
    fn errors_keep_the_request_id_and_the_attempt() {
        let mut a = answer(500, "application/json", r#"{"type":"ERROR","message":"boom"}"#);
        a.headers.insert("x-correlation-id", "corr-1".parse().unwrap());
        a.headers.insert("x-request-id", " req-7 ".parse().unwrap());
        let e = a.into_error(Api::Partner, "findOrders", 3);
        let api = e.api_error().unwrap();
        assert_eq!((api.request_id.as_deref(), api.attempt), (Some("req-7"), 3), "x-request-id first, trimmed");
        assert!(e.to_string().ends_with("[request id req-7, attempt 3]"), "{e}");
        let mut b = answer(404, "application/json", "{}");
        b.headers.insert("x-amz-cf-id", "cf-9".parse().unwrap());
        b.headers.insert("x-request-id", "has space".parse().unwrap());
        let e = b.into_error(Api::Partner, "findOrders", 1);
        assert_eq!(e.api_error().unwrap().request_id.as_deref(), Some("cf-9"), "an unprintable id is passed over");
        assert!(e.to_string().ends_with("[request id cf-9]"), "{e}");
        let mut c = answer(503, "application/json", "{}");
        c.headers.insert("request-id", "x".repeat(129).parse().unwrap());
        let e = c.into_error(Api::Partner, "findOrders", 2);
        assert_eq!(e.api_error().unwrap().request_id, None, "too long");
        assert!(e.to_string().ends_with(" [attempt 2]"), "{e}");
        let plain = answer(409, "application/json", "{}").into_error(Api::Partner, "findOrders", 1);
        assert!(!plain.to_string().contains("[request id") && !plain.to_string().contains("attempt"), "{plain}");
    }

    #[test]
    fn error_statuses_keep_their_status_whatever_the_body() {
        let html =
            answer(502, "text/html", "<html><body>Bad Gateway</body></html>").into_error(Api::Partner, "findOrders", 1);
        assert_eq!(html.status(), Some(StatusCode::BAD_GATEWAY));
        assert!(html.is_retryable());
        let text = html.api_error().and_then(|e| e.text.clone()).unwrap();
        assert!(text.contains("Bad Gateway"), "{text}");
        assert!(html.to_string().contains("Bad Gateway"), "{html}");
        let empty = answer(429, "application/json", "").into_error(Api::Partner, "findOrders", 1);
        assert_eq!(empty.status(), Some(StatusCode::TOO_MANY_REQUESTS));
        assert!(matches!(empty, Error::RateLimited { .. }) && empty.is_retryable());
        assert_eq!(empty.api_error().unwrap().text, None);
        let pax8 = answer(404, "application/json", r#"{"type":"NOT_FOUND","message":"no such order"}"#).into_error(
            Api::Partner,
            "findOrdersByOrderId",
            1,
        );
        assert_eq!(pax8.body().and_then(|b| b.message.as_deref()), Some("no such order"));
        assert_eq!(pax8.api_error().unwrap().text, None);
    }

    #[test]
    fn token_endpoint_bodies_are_never_quoted() {
        let err = answer(500, "text/plain", "access_token=eyJ-leaked").into_error(Api::Auth, "createAccessToken", 1);
        assert!(!format!("{err} {err:?}").contains("eyJ"));
        let err = decode_error::<pax8_api::TokenResponse>(
            Api::Auth,
            "createAccessToken",
            br#"{"access_token":"eyJ-leaked","expires_in":"soon"}"#,
            serde_json::from_str::<u8>("x").unwrap_err(),
        );
        assert!(!format!("{err} {err:?}").contains("eyJ"), "{err}");
        assert!(err.to_string().contains(WITHHELD));
    }

    #[test]
    fn ids_are_found_in_bodies_cut_short() {
        assert_eq!(find_id(br#"{"id":"5b1e","companyId":"c","lineItems":[{"id"#).as_deref(), Some("5b1e"));
        assert_eq!(find_id(br#"{"companyId": "c", "id" : "a-b-c"}"#).as_deref(), Some("a-b-c"));
        assert_eq!(find_id(br#"{"name":"x","id":12}"#), None, "not a string id");
        assert_eq!(find_id(br#"{"id":"abc"#), None, "the value itself is cut");
        assert_eq!(find_id(b"<html>"), None);
        assert_eq!(find_id(br#"{"id":"","name":"x"}"#), None, "an empty id is no id");
        assert_eq!(find_id(br#"{"id":"<script>"}"#), None, "only letters, digits and dashes");
        let long = format!(r#"{{"id":"{}"}}"#, "a".repeat(129));
        assert_eq!(find_id(long.as_bytes()), None, "at most 128 characters");
        let longest = format!(r#"{{"id":"{}"}}"#, "a".repeat(128));
        assert_eq!(find_id(longest.as_bytes()).map(|id| id.len()), Some(128));
    }
}
