//! Per-call options, and sending any generated builder through a client's pipeline.

use std::future::Future;
use std::time::Duration;

use bytes::Bytes;
use pax8_api::{Endpoint, ErrorBody};
use progenitor_client::ResponseValue;
use reqwest::header::{HeaderName, HeaderValue};
use serde::de::DeserializeOwned;

use crate::error::Result;
use crate::retry::RetryPolicy;
use crate::{Error, Pax8Client};

/// Options of one call (or of every call of a handler or paginator they are given to).
///
/// ```no_run
/// # async fn demo(client: pax8_ext::Pax8Client) -> pax8_ext::Result<()> {
/// use std::time::Duration;
/// use pax8_ext::{CallOptions, RetryPolicy};
///
/// let patient = CallOptions::default().retry_policy(RetryPolicy::attempts(6)).timeout(Duration::from_secs(90));
/// let invoices = client.invoices().options(patient).list().collect_all().await?;
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, Default)]
pub struct CallOptions {
    /// Retry policy for this call instead of the client's.
    pub retry: Option<RetryPolicy>,
    /// Timeout of each attempt instead of the client's.
    pub timeout: Option<Duration>,
    /// Headers set on every attempt of this call, replacing the generated ones (e.g. the
    /// `Content-Type` of a multipart upload, the `Accept` of a PDF download).
    pub headers: Vec<(HeaderName, HeaderValue)>,
    /// The request changes nothing on the server (a dry run): it is retried like a read, and a
    /// lost answer is a plain error rather than [`Error::OutcomeUnknown`].
    pub changes_nothing: bool,
    /// Pages are decoded item by item: an item that does not decode is left out and reported
    /// here instead of failing the page ([`crate::tolerant`]). Listings only.
    pub odd_items: Option<crate::tolerant::OddItems>,
}

impl CallOptions {
    /// Options with this retry policy.
    pub fn retry(policy: RetryPolicy) -> Self {
        Self { retry: Some(policy), ..Self::default() }
    }

    /// Sets the retry policy.
    pub fn retry_policy(mut self, policy: RetryPolicy) -> Self {
        self.retry = Some(policy);
        self
    }

    /// Sets the timeout of each attempt.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// Marks the request as changing nothing on the server (e.g. an order with `isMock=true`):
    /// it is then retried like a GET, and a lost answer cannot mean a change was made.
    pub fn changes_nothing(mut self) -> Self {
        self.changes_nothing = true;
        self
    }

    /// Decodes pages item by item, reporting to `sink` each item left out (its values fit no
    /// field of its type) or repaired (a lone surrogate), instead of failing the page: for a
    /// mirror, where one odd item must not stop the rest.
    pub fn tolerate_odd_items(mut self, sink: crate::tolerant::OddItems) -> Self {
        self.odd_items = Some(sink);
        self
    }

    /// Adds a header override.
    pub fn header(mut self, name: HeaderName, value: HeaderValue) -> Self {
        self.headers.push((name, value));
        self
    }
}

/// Sends a generated builder through a [`Pax8Client`]'s pipeline (rate limit, token, retries,
/// typed errors). Implemented for every builder of every document.
///
/// ```no_run
/// # async fn demo(client: pax8_ext::Pax8Client) -> pax8_ext::Result<()> {
/// use pax8_ext::{Call, CallOptions};
///
/// let microsoft = client
///     .partner()
///     .find_all_products()
///     .vendor_name("Microsoft")
///     .call(&client, &CallOptions::default())
///     .await?;
/// # Ok(()) }
/// ```
pub trait Call: Endpoint<ErrorBody = ErrorBody> {
    /// Sends the request with `options` and decodes the answer.
    fn call(self, client: &Pax8Client, options: &CallOptions) -> impl Future<Output = Result<Self::Output>> + Send;
}

impl<E> Call for E
where
    E: Endpoint<ErrorBody = ErrorBody>,
    E::Output: DeserializeOwned + Send,
{
    fn call(self, client: &Pax8Client, options: &CallOptions) -> impl Future<Output = Result<Self::Output>> + Send {
        client.pipeline().execute(self, options)
    }
}

impl Pax8Client {
    /// Sends a generated builder with the client's defaults and decodes the answer.
    ///
    /// ```no_run
    /// # async fn demo(client: pax8_ext::Pax8Client) -> pax8_ext::Result<()> {
    /// let page = client.send(client.partner().find_companies().city("Denver")).await?;
    /// # Ok(()) }
    /// ```
    pub async fn send<E>(&self, endpoint: E) -> Result<E::Output>
    where
        E: Endpoint<ErrorBody = ErrorBody>,
        E::Output: DeserializeOwned + Send,
    {
        self.pipeline().execute(endpoint, &CallOptions::default()).await
    }

    /// [`Pax8Client::send`] with per-call options.
    pub async fn send_with<E>(&self, endpoint: E, options: &CallOptions) -> Result<E::Output>
    where
        E: Endpoint<ErrorBody = ErrorBody>,
        E::Output: DeserializeOwned + Send,
    {
        self.pipeline().execute(endpoint, options).await
    }

    /// [`Pax8Client::send_with`], keeping the status and headers.
    pub async fn send_response<E>(&self, endpoint: E, options: &CallOptions) -> Result<ResponseValue<E::Output>>
    where
        E: Endpoint<ErrorBody = ErrorBody>,
        E::Output: DeserializeOwned + Send,
    {
        self.pipeline().execute_response(endpoint, options).await
    }

    /// Sends a builder whose success answer is a file (a PDF, a ZIP) and returns its bytes.
    /// An answer in JSON instead is refused.
    pub async fn send_file<E>(&self, endpoint: E, options: &CallOptions) -> Result<Bytes>
    where
        E: Endpoint<ErrorBody = ErrorBody>,
    {
        let answer = self.pipeline().execute_raw(endpoint, options).await?;
        let is_json = answer
            .headers
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.contains("json"));
        if is_json {
            return Err(Error::InvalidRequest("the server answered with JSON metadata, not the file".into()));
        }
        Ok(answer.body)
    }
}
