//! The one path every request of a client takes, token requests included:
//!
//! ```text
//! builder ──into_request──▶ reqwest::Request
//!   loop per attempt:
//!     rate limiter ─▶ bearer token (not for the token endpoint) ─▶ per-call headers, timeout
//!     ─▶ hooks.before_request ─▶ socket ─▶ hooks.after_response
//!     ─▶ read the whole body (bounded) ─▶ a success decoded once (the endpoint's generated
//!        `decode_body` over the bytes) ─▶ Outcome ─▶ RetryStrategy ─▶ wait and retry, or stop
//!   stop: success ─▶ (Answer, decoded value) ─▶ typed value
//!         failure ─▶ typed Error (OutcomeUnknown for a write that may have happened)
//! ```
//!
//! Nothing rides along hidden: the options and the body reader are arguments, the answer with
//! its decoded value, or the error, is the return value.

use std::sync::Arc;
use std::time::Duration;

use futures::future::BoxFuture;
use pax8_api::{Api, DecodeError, Endpoint, ErrorBody, Operation};
use reqwest::header::{ACCEPT, AUTHORIZATION, HeaderValue};
use serde::de::DeserializeOwned;
use tokio::time::Instant;
use tracing::Instrument;

use crate::SecretString;
use crate::answer::{Answer, BodyError, BodyReader, json_at_all, success_value, unreadable};
use crate::auth::{AccessToken, Audience, TokenManager};
use crate::call::CallOptions;
use crate::error::{Error, OAuthError, Result};
use crate::hooks::{Hooks, RequestInfo};
use crate::rate_limit::RateLimiter;
use crate::retry::{Outcome, RetryBudget, RetryPolicy, RetryStrategy};
use crate::telemetry;
use crate::traits::ApiTraits;

/// State shared by every clone of a client: the pipeline and what it consults.
#[derive(Debug)]
pub(crate) struct Pipeline {
    pub(crate) http: reqwest::Client,
    pub(crate) token_endpoint: pax8_api::auth::Client,
    pub(crate) tokens: TokenManager,
    pub(crate) limiter: Option<RateLimiter>,
    /// The budget shared with other processes using the same credentials, if any.
    pub(crate) shared_budget: Option<Arc<dyn crate::SharedRateBudget>>,
    pub(crate) budget: RetryBudget,
    pub(crate) retry: RetryPolicy,
    pub(crate) hooks: Vec<Arc<dyn Hooks>>,
    pub(crate) audiences: Vec<(Api, Audience)>,
    pub(crate) max_response_bytes: u64,
    /// API requests sent (each attempt; token requests are counted by `tokens` instead).
    pub(crate) requests_sent: std::sync::atomic::AtomicU64,
}

/// What one attempt came to.
struct Attempt<T> {
    outcome: Outcome,
    answer: Option<Answer>,
    /// What a success body was read as.
    read: Option<std::result::Result<T, DecodeError>>,
    error: Option<reqwest::Error>,
}

/// A complete answer and, for a success, what its body was read as.
pub(crate) type Received<T> = (Answer, Option<std::result::Result<T, DecodeError>>);

impl Pipeline {
    /// The audience of `api`'s tokens (the client builds one for every group).
    pub(crate) fn audience(&self, api: Api) -> Result<&Audience> {
        self.audiences
            .iter()
            .find(|(a, _)| *a == api)
            .map(|(_, audience)| audience)
            .ok_or_else(|| Error::Config(format!("no token audience for {}", api.module())))
    }

    /// Validates and builds the request of `endpoint`.
    fn request_of<E: Endpoint<ErrorBody = ErrorBody>>(endpoint: E) -> Result<reqwest::Request> {
        endpoint.into_request().map_err(|e| Error::InvalidRequest(format!("{}: {e}", E::OPERATION.operation_id)))
    }

    /// Sends `endpoint` and decodes its answer.
    pub(crate) async fn execute<E>(&self, endpoint: E, options: &CallOptions) -> Result<E::Output>
    where
        E: Endpoint<ErrorBody = ErrorBody>,
        E::Output: DeserializeOwned + Send,
    {
        self.execute_response(endpoint, options).await.map(progenitor_client::ResponseValue::into_inner)
    }

    /// [`Pipeline::execute`], keeping the status and headers. A success body is decoded once,
    /// by the endpoint's generated decoder, inside the attempt that read it: a body that is not
    /// JSON at all (cut short, an HTML page) is classified there, and retried when the request
    /// is idempotent.
    pub(crate) async fn execute_response<E>(
        &self,
        endpoint: E,
        options: &CallOptions,
    ) -> Result<progenitor_client::ResponseValue<E::Output>>
    where
        E: Endpoint<ErrorBody = ErrorBody>,
        E::Output: DeserializeOwned + Send,
    {
        let op = E::OPERATION;
        let request = Self::request_of(endpoint)?;
        let mut reader = E::decode_body;
        let (answer, read) = self.send(E::API, op, request, options, &mut reader).await?;
        let value = success_value(E::API, op, &answer, read)?;
        Ok(progenitor_client::ResponseValue::new(value, answer.status, answer.headers))
    }

    /// Sends `endpoint` and returns its complete success answer undecoded (files, and pages the
    /// caller decodes item by item).
    pub(crate) async fn execute_raw<E>(&self, endpoint: E, options: &CallOptions) -> Result<Answer>
    where
        E: Endpoint<ErrorBody = ErrorBody>,
    {
        let op = E::OPERATION;
        let request = Self::request_of(endpoint)?;
        let mut reader = json_at_all;
        let (answer, _) = self.send(E::API, op, request, options, &mut reader).await?;
        Ok(answer)
    }

    /// The attempt loop of one request, traced as one `pax8.request` span.
    pub(crate) async fn send<T: Send>(
        &self,
        api: Api,
        op: Operation,
        request: reqwest::Request,
        options: &CallOptions,
        reader: &mut BodyReader<'_, T>,
    ) -> Result<Received<T>> {
        let span = tracing::info_span!(
            "pax8.request",
            operation = op.operation_id,
            method = op.method,
            path = op.path,
            status = tracing::field::Empty,
            attempts = tracing::field::Empty,
            duration_ms = tracing::field::Empty,
        );
        async move {
            let started = Instant::now();
            let result = self.attempts(api, op, request, options, reader).await;
            let span = tracing::Span::current();
            span.record("duration_ms", u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX));
            match &result {
                Ok((answer, _)) => span.record("status", answer.status.as_u16()),
                Err(error) => {
                    tracing::debug!(%error, "pax8: request failed");
                    span.record("status", error.status().map_or(0, |s| s.as_u16()))
                }
            };
            result
        }
        .instrument(span)
        .await
    }

    async fn attempts<T: Send>(
        &self,
        api: Api,
        op: Operation,
        original: reqwest::Request,
        options: &CallOptions,
        reader: &mut BodyReader<'_, T>,
    ) -> Result<Received<T>> {
        let traits = ApiTraits::of(api);
        let mut retries = RetryStrategy::new(options.retry.unwrap_or(self.retry), &self.budget);
        // A token request or a dry run changes nothing on the server: it is retried like a GET.
        let idempotent = op.is_idempotent() || traits.changes_nothing || options.changes_nothing;
        let audience = if traits.carries_token { Some(self.audience(api)?) } else { None };
        // A streaming body cannot be copied: such a request is sent once.
        let mut original = Some(original);
        let mut attempt = 0u32;
        let mut replayed_unauthorized = false;
        loop {
            attempt += 1;
            let info = RequestInfo { operation: Some(op.operation_id), method: op.method, path: op.path, attempt };
            let mut request = match original.as_ref().and_then(reqwest::Request::try_clone) {
                Some(copy) => copy,
                None => original
                    .take()
                    .ok_or_else(|| Error::InvalidRequest("a streamed body cannot be sent again".into()))?,
            };
            let waiting = telemetry::Since::now();
            let mut held_back = false;
            if let Some(limiter) = &self.limiter {
                held_back |= !limiter.acquire().await.is_zero();
            }
            if traits.shares_budget
                && let Some(shared) = &self.shared_budget
            {
                held_back |= crate::shared_budget::take(shared.as_ref()).await;
            }
            if held_back {
                telemetry::limiter_wait(api, waiting);
            }
            let token = match &audience {
                Some(audience) => Some(self.token(audience).await?),
                None => None,
            };
            if let Some(token) = &token {
                request.headers_mut().insert(AUTHORIZATION, bearer(&token.token)?);
            }
            for (name, value) in &options.headers {
                request.headers_mut().insert(name.clone(), value.clone());
            }
            // What the request asks for once the options are applied (a file download sets its own).
            let expects_json = request.headers().get(ACCEPT).is_some_and(|v| v.as_bytes().ends_with(b"json"));
            if let Some(timeout) = options.timeout {
                *request.timeout_mut() = Some(timeout);
            }
            for hook in &self.hooks {
                hook.before_request(&mut request, &info);
            }
            if audience.is_some() {
                self.requests_sent.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            } else {
                self.tokens.count_request();
            }
            let sent = telemetry::Since::now();
            let result = self.attempt(request, &info, expects_json, reader).await?;
            let outcome = result.outcome;
            telemetry::attempt(api, op, outcome, sent);
            if let (Outcome::Status { status: 401, .. }, Some(token), Some(audience)) = (outcome, &token, &audience)
                && self.tokens.auto_refresh
                && !replayed_unauthorized
                && original.is_some()
            {
                // The token may have been revoked: drop it, fetch a new one, replay once.
                replayed_unauthorized = true;
                tracing::debug!("pax8: 401, refreshing the token and replaying once");
                self.tokens.invalidate(audience, token).await;
                continue;
            }
            if let Outcome::Status { status, .. } = outcome
                && status < 400
                && let Some(answer) = result.answer
            {
                retries.succeeded();
                if let Some(limiter) = &self.limiter {
                    limiter.on_success();
                }
                tracing::Span::current().record("attempts", attempt);
                return Ok((answer, result.read));
            }
            let is_throttle = matches!(outcome, Outcome::Status { status: 429, .. });
            if is_throttle && let Some(limiter) = &self.limiter {
                limiter.on_throttled(outcome_retry_after(outcome));
            }
            if is_throttle && let Some(shared) = &self.shared_budget {
                shared.throttled(outcome_retry_after(outcome).unwrap_or(Duration::from_secs(1))).await;
            }
            // Only a request that can be sent again is retried (a streamed body cannot).
            let wait = if original.is_some() { retries.next(idempotent, outcome) } else { None };
            if let Some(wait) = wait {
                telemetry::retry(api, outcome);
                tracing::info!(
                    attempt,
                    ?outcome,
                    wait_ms = u64::try_from(wait.as_millis()).unwrap_or(u64::MAX),
                    "pax8: retrying"
                );
                tokio::time::sleep(wait).await;
                continue;
            }
            tracing::Span::current().record("attempts", attempt);
            let error = match final_error(api, op, idempotent, attempt, result) {
                Ok(answer) => return Ok(answer),
                Err(error) => error,
            };
            for hook in &self.hooks {
                hook.on_error(&error, &info);
            }
            return Err(error);
        }
    }

    /// Sends one attempt and reads its whole answer.
    async fn attempt<T: Send>(
        &self,
        request: reqwest::Request,
        info: &RequestInfo,
        expects_json: bool,
        reader: &mut BodyReader<'_, T>,
    ) -> Result<Attempt<T>> {
        let response = match self.http.execute(request).await {
            Ok(response) => response,
            Err(error) => {
                let outcome = if error.is_connect() {
                    Outcome::ConnectFailed
                } else if error.is_timeout() {
                    Outcome::TimedOut
                } else {
                    Outcome::Interrupted
                };
                return Ok(Attempt { outcome, answer: None, read: None, error: Some(error) });
            }
        };
        for hook in &self.hooks {
            hook.after_response(&response, info);
        }
        if let Some(limiter) = &self.limiter {
            limiter.observe_headers(response.headers());
        }
        match Answer::read(response, self.max_response_bytes).await {
            Ok(answer) => {
                let status = answer.status.as_u16();
                // A success is decoded here, once; its value leaves with the attempt.
                let read = answer.status.is_success().then(|| reader(status, &answer.body));
                let outcome = if answer.is_malformed_success(expects_json, read.as_ref()) {
                    Outcome::MalformedSuccess { status }
                } else {
                    Outcome::Status { status, retry_after: answer.retry_after() }
                };
                Ok(Attempt { outcome, answer: Some(answer), read, error: None })
            }
            Err((_, _, BodyError::TooLarge)) => Err(Error::ResponseTooLarge {
                operation: info.operation.unwrap_or("?"),
                limit: self.max_response_bytes,
            }),
            Err((status, headers, BodyError::Failed { partial, source })) => Ok(Attempt {
                outcome: Outcome::BodyCut { status: status.as_u16() },
                answer: Some(Answer { status, headers, body: partial }),
                read: None,
                error: Some(source),
            }),
        }
    }

    /// A usable token for `audience`: cached, or fetched through this pipeline (single-flight).
    pub(crate) async fn token(&self, audience: &Audience) -> Result<AccessToken> {
        self.tokens.token(audience, || self.fetch_token(audience)).await
    }

    /// Fetches a new token now, single-flight with automatic refreshes.
    pub(crate) async fn refresh_token(&self, audience: &Audience) -> Result<AccessToken> {
        self.tokens.refresh(audience, || self.fetch_token(audience)).await
    }

    /// One token request through the pipeline (boxed: the pipeline calls itself).
    fn fetch_token<'a>(&'a self, audience: &'a Audience) -> BoxFuture<'a, Result<AccessToken>> {
        Box::pin(async move {
            let body = pax8_api::TokenRequest {
                client_id: self.tokens.credentials.client_id.clone(),
                client_secret: self.tokens.credentials.client_secret.expose().to_string(),
                audience: audience.as_str().to_string(),
                grant_type: "client_credentials".into(),
            };
            let issued_at = self.tokens.clock.now();
            // The client's retry policy, like every other request.
            let options = CallOptions::default();
            let response =
                self.execute(self.token_endpoint.create_access_token().body(body), &options).await.map_err(token_error);
            telemetry::token_fetch(response.is_ok());
            let response = response?;
            let lifetime = crate::auth::lifetime(response.expires_in);
            tracing::debug!(audience = audience.as_str(), lifetime_s = lifetime.as_secs(), "pax8: new access token");
            Ok(AccessToken {
                token: SecretString::new(response.access_token),
                issued_at,
                expires_at: issued_at + lifetime,
            })
        })
    }
}

fn outcome_retry_after(outcome: Outcome) -> Option<Duration> {
    match outcome {
        Outcome::Status { retry_after, .. } => retry_after,
        _ => None,
    }
}

fn bearer(token: &SecretString) -> Result<HeaderValue> {
    let mut value = HeaderValue::from_str(&format!("Bearer {}", token.expose())).map_err(|_| {
        Error::Authentication { message: "the access token is not a valid header value".into(), oauth: None, api: None }
    })?;
    value.set_sensitive(true);
    Ok(value)
}

/// What an attempt that will not be retried becomes.
fn final_error<T>(api: Api, op: Operation, idempotent: bool, number: u32, attempt: Attempt<T>) -> Result<Received<T>> {
    let Attempt { outcome, answer, read, error } = attempt;
    // (`idempotent` is true for token requests: they are never unknown or unreadable writes.)
    if !idempotent && outcome.outcome_unknown() {
        let reason = match outcome {
            Outcome::TimedOut => "no answer came in time".to_string(),
            Outcome::Interrupted => "the connection closed before an answer came".to_string(),
            Outcome::Status { status, .. } | Outcome::BodyCut { status } => {
                format!("a gateway answered HTTP {status} for the server")
            }
            Outcome::ConnectFailed | Outcome::MalformedSuccess { .. } => "no complete answer came".to_string(),
        };
        telemetry::outcome_unknown(op);
        return Err(Error::OutcomeUnknown { operation: op.operation_id, reason, source: error });
    }
    match (outcome, answer, error) {
        (Outcome::BodyCut { .. }, Some(answer), Some(source)) if answer.status.is_success() => {
            if idempotent {
                Err(Error::from_reqwest(source))
            } else {
                Err(unreadable(
                    op,
                    answer.status,
                    &answer.body,
                    format!("the connection broke while reading it: {source}"),
                ))
            }
        }
        // A success the policy stopped retrying (its body not JSON): the decoder reports it, as
        // `AnswerUnreadable` for a write. A cut error body keeps its status.
        (_, Some(answer), _) if answer.status.is_success() || answer.status.is_redirection() => Ok((answer, read)),
        (_, Some(answer), _) => Err(answer.into_error(api, op.operation_id, number)),
        (_, None, Some(source)) => Err(Error::from_reqwest(source)),
        (_, None, None) => Err(Error::InvalidRequest(format!("{}: no answer and no error", op.operation_id))),
    }
}

/// A token endpoint failure as an authentication error with the OAuth fields, never the body.
fn token_error(error: Error) -> Error {
    let Some(api) = error.api_error() else { return error };
    let status = api.status.as_u16();
    let body = api.body.as_deref();
    let oauth = body
        .and_then(|b| b.error.clone())
        .map(|code| Box::new(OAuthError { error: code, description: body.and_then(|b| b.error_description.clone()) }));
    let description = body
        .and_then(|b| b.error_description.as_deref().or(b.message.as_deref()))
        .unwrap_or("no description")
        .to_string();
    if error.is_retryable() {
        // A 5xx or 429 after the retries: keep its kind, so callers know to try later.
        return error;
    }
    Error::Authentication { message: format!("token endpoint answered {status}: {description}"), oauth, api: None }
}
