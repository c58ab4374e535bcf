//! Running one generated call: per-call options, and turning progenitor's result into
//! [`crate::Result`].

use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use futures::TryStreamExt;
use pax8_api::ErrorBody;
use pax8_api::runtime::capture_runtime_error;
use progenitor_client::ByteStream;
use progenitor_client::ResponseValue;
use reqwest::header::{HeaderName, HeaderValue, RETRY_AFTER};
use serde::de::DeserializeOwned;

use crate::error::{ApiError, Error, Result, excerpt};
use crate::retry::{RetryPolicy, parse_retry_after};

/// Options of one call.
#[derive(Debug, Clone, Default)]
pub struct CallOptions {
    /// Retry policy for this call instead of the client's.
    pub retry: Option<RetryPolicy>,
    /// Headers set on every attempt of this call, replacing the generated ones (e.g. the
    /// `Content-Type` of a multipart upload, the `Accept` of a PDF download).
    pub headers: Vec<(HeaderName, HeaderValue)>,
}

impl CallOptions {
    /// Options with this retry policy.
    pub fn retry(policy: RetryPolicy) -> Self {
        Self { retry: Some(policy), ..Self::default() }
    }

    /// Adds a header override.
    pub fn header(mut self, name: HeaderName, value: HeaderValue) -> Self {
        self.headers.push((name, value));
        self
    }
}

/// What the runtime learns from, and tells, the call that is running.
#[derive(Debug)]
pub(crate) struct CallContext {
    pub(crate) retry: Option<RetryPolicy>,
    pub(crate) headers: Vec<(HeaderName, HeaderValue)>,
    operation: Mutex<Option<&'static str>>,
}

impl CallContext {
    pub(crate) fn set_operation(&self, operation: Option<&'static str>) {
        *self.operation.lock().expect("context lock") = operation;
    }
}

tokio::task_local! {
    static CONTEXT: Arc<CallContext>;
}

pub(crate) fn current_context() -> Option<Arc<CallContext>> {
    CONTEXT.try_with(Arc::clone).ok()
}

type Generated<T> = std::result::Result<ResponseValue<T>, progenitor_client::Error<ErrorBody>>;

/// Runs a generated call (`client.partner().find_companies().send()`) with the client's runtime
/// and returns its decoded value or a typed [`Error`].
///
/// ```no_run
/// # async fn demo(client: pax8_ext::Pax8Client) -> pax8_ext::Result<()> {
/// let products = pax8_ext::send(client.partner().find_all_products().vendor_name("Microsoft").send()).await?;
/// # Ok(()) }
/// ```
pub async fn send<T, F>(call: F) -> Result<T>
where
    T: DeserializeOwned,
    F: Future<Output = Generated<T>>,
{
    send_with(CallOptions::default(), call).await
}

/// [`send`] with per-call options (e.g. another retry policy).
pub async fn send_with<T, F>(options: CallOptions, call: F) -> Result<T>
where
    T: DeserializeOwned,
    F: Future<Output = Generated<T>>,
{
    send_response(options, call).await.map(ResponseValue::into_inner)
}

/// Like [`send_with`], keeping the status and headers.
pub async fn send_response<T, F>(options: CallOptions, call: F) -> Result<ResponseValue<T>>
where
    T: DeserializeOwned,
    F: Future<Output = Generated<T>>,
{
    let (result, operation) = run(options, call).await?;
    match result {
        Ok(value) => Ok(value),
        // An undocumented success status (201 where the spec says 200): decode it all the same.
        Err(progenitor_client::Error::UnexpectedResponse(response)) if response.status().is_success() => {
            let (status, headers) = (response.status(), response.headers().clone());
            let bytes = response.bytes().await.map_err(|source| Error::Transport { source })?;
            let body = if bytes.is_empty() { b"null".as_slice() } else { &bytes[..] };
            match serde_json::from_slice::<T>(body) {
                Ok(value) => Ok(ResponseValue::new(value, status, headers)),
                Err(source) => Err(decode_error::<T>(&bytes, source, operation)),
            }
        }
        Err(progenitor_client::Error::InvalidResponsePayload(bytes, source)) => {
            Err(decode_error::<T>(&bytes, source, operation))
        }
        Err(error) => Err(convert(error, operation).await),
    }
}

/// Runs a generated call that returns a byte stream (a ZIP download) and collects the bytes.
pub async fn send_bytes<F>(options: CallOptions, call: F) -> Result<Bytes>
where
    F: Future<Output = Generated<ByteStream>>,
{
    let (result, operation) = run(options, call).await?;
    match result {
        Ok(stream) => {
            let chunks: Vec<Bytes> =
                stream.into_inner().into_inner().try_collect().await.map_err(|source| Error::Transport { source })?;
            Ok(Bytes::from(chunks.concat()))
        }
        Err(error) => Err(convert(error, operation).await),
    }
}

/// Runs a generated JSON call whose server answers with a file instead (a PDF download with
/// `download=true`): the raw body is the result; a JSON body is refused.
pub(crate) async fn send_file<T, F>(options: CallOptions, call: F) -> Result<Bytes>
where
    F: Future<Output = Generated<T>>,
{
    let (result, operation) = run(options, call).await?;
    match result {
        Ok(_) => Err(Error::InvalidRequest("the server answered with JSON metadata, not the file".into())),
        Err(progenitor_client::Error::InvalidResponsePayload(bytes, _)) => Ok(bytes),
        Err(error) => Err(convert(error, operation).await),
    }
}

/// Runs the call in a context the runtime reads (options) and writes (operation id); a runtime
/// error (token, budget) wins over the placeholder response it leaves.
async fn run<T, F>(options: CallOptions, call: F) -> Result<(Generated<T>, Option<&'static str>)>
where
    F: Future<Output = Generated<T>>,
{
    let context = Arc::new(CallContext { retry: options.retry, headers: options.headers, operation: Mutex::new(None) });
    let (result, runtime_error) = CONTEXT.scope(context.clone(), capture_runtime_error(call)).await;
    if let Some(error) = runtime_error {
        return Err(match error.downcast::<Error>() {
            Ok(ours) => *ours,
            Err(other) => Error::InvalidRequest(other.to_string()),
        });
    }
    let operation = *context.operation.lock().expect("context lock");
    Ok((result, operation))
}

/// Maps a progenitor error to ours.
async fn convert(error: progenitor_client::Error<ErrorBody>, operation: Option<&'static str>) -> Error {
    use progenitor_client::Error as P;
    match error {
        P::ErrorResponse(response) => {
            let retry_after = retry_after(response.headers());
            let status = response.status();
            Error::from_response(
                ApiError { status, body: Some(Box::new(response.into_inner())), operation },
                retry_after,
            )
        }
        P::InvalidResponsePayload(bytes, source) => Error::Decode {
            operation: operation.unwrap_or("?").to_string(),
            path: ".".into(),
            excerpt: excerpt(&bytes, 512),
            source,
        },
        P::UnexpectedResponse(response) => {
            let status = response.status();
            let retry_after = retry_after(response.headers());
            let body = match response.bytes().await {
                Ok(bytes) => serde_json::from_slice::<ErrorBody>(&bytes).ok().map(Box::new),
                Err(source) => return Error::Transport { source },
            };
            Error::from_response(ApiError { status, body, operation }, retry_after)
        }
        P::CommunicationError(source) | P::ResponseBodyError(source) | P::InvalidUpgrade(source) => {
            Error::from_reqwest(source)
        }
        P::InvalidRequest(message) | P::Custom(message) => Error::InvalidRequest(message),
    }
}

fn decode_error<T: DeserializeOwned>(
    bytes: &[u8],
    source: serde_json::Error,
    operation: Option<&'static str>,
) -> Error {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let path = match serde_path_to_error::deserialize::<_, T>(&mut de) {
        Err(e) => e.path().to_string(),
        Ok(_) => ".".into(),
    };
    Error::Decode { operation: operation.unwrap_or("?").to_string(), path, excerpt: excerpt(bytes, 512), source }
}

fn retry_after(headers: &reqwest::header::HeaderMap) -> Option<Duration> {
    headers.get(RETRY_AFTER).and_then(|v| v.to_str().ok()).and_then(|v| parse_retry_after(v, SystemTime::now()))
}
