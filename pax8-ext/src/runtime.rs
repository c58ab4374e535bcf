//! The runtime pax8-ext installs in every generated client: rate limit, token, hooks, send,
//! classify, retry, trace.

use std::sync::Arc;
use std::time::SystemTime;

use pax8_api::Api;
use pax8_api::runtime::{Call, ExecFuture, Runtime};
use reqwest::header::{AUTHORIZATION, HeaderValue, RETRY_AFTER};
use tokio::time::Instant;
use tracing::Instrument;

use crate::auth::{Audience, TokenManager};
use crate::call::{CallContext, current_context};
use crate::error::Error;
use crate::hooks::{Hooks, RequestInfo};
use crate::rate_limit::RateLimiter;
use crate::retry::{Decision, Outcome, RetryBudget, RetryPolicy, classify, parse_retry_after};

/// State shared by every clone of a client.
#[derive(Debug)]
pub(crate) struct Shared {
    pub(crate) tokens: TokenManager,
    pub(crate) limiter: Option<RateLimiter>,
    pub(crate) budget: RetryBudget,
    pub(crate) retry: RetryPolicy,
    pub(crate) hooks: Vec<Arc<dyn Hooks>>,
    pub(crate) audiences: Vec<(Api, Audience)>,
}

impl Shared {
    pub(crate) fn audience(&self, api: Api) -> &Audience {
        &self.audiences.iter().find(|(a, _)| *a == api).expect("every API has an audience").1
    }
}

/// The runtime handed to pax8-api's seam.
#[derive(Debug, Clone)]
pub(crate) struct ExtRuntime(pub(crate) Arc<Shared>);

impl Runtime for ExtRuntime {
    fn execute<'a>(&'a self, call: Call<'a>) -> ExecFuture<'a> {
        let shared = self.0.clone();
        let (operation, method, path) = match call.operation {
            Some(op) => (Some(op.operation_id), op.method, op.path),
            None => (None, "?", "?"),
        };
        let span = tracing::info_span!(
            "pax8.request",
            operation = operation.unwrap_or("?"),
            method,
            path,
            status = tracing::field::Empty,
            attempts = tracing::field::Empty,
            duration_ms = tracing::field::Empty,
        );
        Box::pin(
            async move {
                let context = current_context();
                if let Some(ctx) = &context {
                    ctx.set_operation(operation);
                }
                let started = Instant::now();
                let result =
                    send(&shared, call, context.as_deref(), RequestInfo { operation, method, path, attempt: 1 }).await;
                let span = tracing::Span::current();
                span.record("duration_ms", started.elapsed().as_millis() as u64);
                match &result {
                    Ok(response) => {
                        span.record("status", response.status().as_u16());
                    }
                    Err(error) => tracing::debug!(%error, "pax8: request failed"),
                }
                result.map_err(|e| Box::new(e) as pax8_api::runtime::RuntimeError)
            }
            .instrument(span),
        )
    }
}

fn outcome_of(result: &reqwest::Result<reqwest::Response>) -> Outcome {
    match result {
        Ok(response) => Outcome::Status {
            status: response.status().as_u16(),
            retry_after: response
                .headers()
                .get(RETRY_AFTER)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| parse_retry_after(v, SystemTime::now())),
        },
        Err(e) if e.is_connect() => Outcome::ConnectFailed,
        Err(e) if e.is_timeout() => Outcome::TimedOut,
        Err(_) => Outcome::Interrupted,
    }
}

async fn send(
    shared: &Shared,
    call: Call<'_>,
    context: Option<&CallContext>,
    mut info: RequestInfo,
) -> Result<reqwest::Response, Error> {
    let policy = context.and_then(|c| c.retry).unwrap_or(shared.retry);
    let idempotent = match call.operation {
        Some(op) => op.is_idempotent(),
        None => matches!(call.request.method().as_str(), "GET" | "HEAD" | "OPTIONS" | "PUT" | "DELETE"),
    };
    let audience = shared.audience(call.api).clone();
    let started = Instant::now();
    let mut original = Some(call.request);
    let mut replayed_unauthorized = false;
    let mut attempt = 0u32;
    let mut retries = 0u32;
    loop {
        attempt += 1;
        info.attempt = attempt;
        // Keep the original for replays; a streaming body cannot be cloned and is sent once.
        let mut request = match original.as_ref().and_then(reqwest::Request::try_clone) {
            Some(copy) => copy,
            None => {
                original.take().ok_or_else(|| Error::InvalidRequest("a streaming body cannot be replayed".into()))?
            }
        };
        if let Some(limiter) = &shared.limiter {
            limiter.acquire().await;
        }
        let token = shared.tokens.token(&audience).await?;
        let mut bearer =
            HeaderValue::from_str(&format!("Bearer {}", token.token.expose())).map_err(|_| Error::Authentication {
                message: "the access token is not a valid header value".into(),
                oauth: None,
                api: None,
            })?;
        bearer.set_sensitive(true);
        request.headers_mut().insert(AUTHORIZATION, bearer);
        if let Some(ctx) = context {
            for (name, value) in &ctx.headers {
                request.headers_mut().insert(name.clone(), value.clone());
            }
        }
        for hook in &shared.hooks {
            hook.before_request(&mut request, &info);
        }
        let result = call.client.execute(request).await;
        if let Ok(response) = &result {
            for hook in &shared.hooks {
                hook.after_response(response, &info);
            }
        }
        let outcome = outcome_of(&result);
        if let Outcome::Status { status: 401, .. } = outcome
            && shared.tokens.auto_refresh
            && !replayed_unauthorized
            && original.is_some()
        {
            // The token may have been revoked: drop it, fetch a new one, replay once.
            replayed_unauthorized = true;
            tracing::debug!("pax8: 401, refreshing the token and replaying once");
            shared.tokens.invalidate(&audience, &token).await;
            continue;
        }
        if let Outcome::Status { status, .. } = outcome
            && (200..400).contains(&status)
        {
            shared.budget.deposit_success();
            tracing::Span::current().record("attempts", attempt);
            return Ok(result.expect("a status means a response"));
        }
        let wait = match classify(idempotent, outcome) {
            Decision::Stop => None,
            Decision::Retry => Some(policy.backoff(retries, rand::random::<f64>())),
            Decision::RetryAfter(wait) if wait <= policy.max_retry_after => Some(wait),
            Decision::RetryAfter(_) => None,
        };
        let cost = if outcome == Outcome::TimedOut { RetryBudget::TIMEOUT_RETRY_COST } else { RetryBudget::RETRY_COST };
        let retry = wait.filter(|w| {
            attempt < policy.max_attempts
                && original.is_some()
                && started.elapsed() + *w <= policy.max_elapsed
                && shared.budget.try_withdraw(cost)
        });
        match retry {
            Some(wait) => {
                retries += 1;
                tracing::info!(attempt, ?outcome, wait_ms = wait.as_millis() as u64, "pax8: retrying");
                tokio::time::sleep(wait).await;
            }
            None => {
                tracing::Span::current().record("attempts", attempt);
                return match result {
                    Ok(response) => {
                        if !shared.hooks.is_empty() {
                            // The body is decoded later by the caller; hooks see status and operation.
                            let error = Error::from_response(
                                crate::error::ApiError {
                                    status: response.status(),
                                    body: None,
                                    operation: info.operation,
                                },
                                None,
                            );
                            for hook in &shared.hooks {
                                hook.on_error(&error, &info);
                            }
                        }
                        Ok(response)
                    }
                    Err(e) => {
                        let error = Error::from_reqwest(e);
                        for hook in &shared.hooks {
                            hook.on_error(&error, &info);
                        }
                        Err(error)
                    }
                };
            }
        }
    }
}
