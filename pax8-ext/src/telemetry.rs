//! Metrics of the request pipeline, through the `metrics` facade, with the feature `metrics`
//! (without it every function here is empty and compiled away).
//!
//! Names and labels follow the OpenTelemetry HTTP client conventions where they fit:
//!
//! | metric | kind | labels |
//! |---|---|---|
//! | `http_client_request_duration_seconds` | histogram, one per attempt | `http_request_method`, `http_response_status_code` (`0` when none came), `error_type` (`timeout`, `connect`, `interrupted`, `body_cut`, `malformed`, the status of a 4xx/5xx, or empty), `pax8_api`, `pax8_operation` |
//! | `pax8_client_retries_total` | counter | `pax8_api`, `reason` (as `error_type`) |
//! | `pax8_client_throttled_total` | counter, 429 answers | `pax8_api` |
//! | `pax8_client_limiter_wait_seconds` | histogram: how long an attempt the rate limiter or the shared budget held back waited (attempts that found a free slot are not observed: the count is how many were held back) | `pax8_api` |
//! | `pax8_client_token_fetches_total` | counter | `outcome` (`ok`, `error`) |
//! | `pax8_client_outcome_unknown_total` | counter: writes whose outcome is unknown | `pax8_operation` |
//!
//! The process installs a recorder (pax8-serve's admin listener does); without one the facade
//! drops every value.

#[cfg(feature = "metrics")]
use std::time::Duration;

use pax8_api::{Api, Operation};

use crate::retry::Outcome;

/// A start time, kept only with the feature (without it, nothing is read from the clock).
#[derive(Clone, Copy)]
pub(crate) struct Since(#[cfg(feature = "metrics")] tokio::time::Instant);

impl Since {
    #[inline]
    pub(crate) fn now() -> Since {
        Since(
            #[cfg(feature = "metrics")]
            tokio::time::Instant::now(),
        )
    }

    #[cfg(feature = "metrics")]
    fn elapsed(self) -> Duration {
        self.0.elapsed()
    }
}

/// The `error_type` of an attempt's outcome (empty for a success).
#[cfg_attr(not(feature = "metrics"), allow(dead_code))]
pub(crate) fn error_type(outcome: Outcome) -> &'static str {
    match outcome {
        Outcome::Status { status, .. } if status < 400 => "",
        Outcome::Status { status, .. } => status_text(status),
        Outcome::ConnectFailed => "connect",
        Outcome::TimedOut => "timeout",
        Outcome::Interrupted => "interrupted",
        Outcome::BodyCut { .. } => "body_cut",
        Outcome::MalformedSuccess { .. } => "malformed",
    }
}

/// A 4xx/5xx status as a static label (others as `4xx` or `5xx`, so the label set stays bounded).
#[cfg_attr(not(feature = "metrics"), allow(dead_code))]
fn status_text(status: u16) -> &'static str {
    const NAMED: [(u16, &str); 11] = [
        (400, "400"),
        (401, "401"),
        (403, "403"),
        (404, "404"),
        (409, "409"),
        (422, "422"),
        (429, "429"),
        (500, "500"),
        (502, "502"),
        (503, "503"),
        (504, "504"),
    ];
    match NAMED.iter().find(|(code, _)| *code == status) {
        Some((_, text)) => text,
        None if status < 500 => "4xx",
        None => "5xx",
    }
}

/// The status code as a label value: the usual ones without an allocation.
#[cfg(feature = "metrics")]
fn status_label(status: u16) -> metrics::SharedString {
    match status {
        0 => "0".into(),
        200 => "200".into(),
        201 => "201".into(),
        202 => "202".into(),
        204 => "204".into(),
        400..=599 if !status_text(status).ends_with("xx") => status_text(status).into(),
        other => other.to_string().into(),
    }
}

#[cfg(feature = "metrics")]
fn api_label(api: Api) -> &'static str {
    match api {
        Api::Auth => "auth",
        Api::Partner => "partner",
        Api::Quoting => "quoting",
        Api::Webhooks => "webhooks",
        Api::VendorProvisioning => "vendor_provisioning",
        Api::VendorUsage => "vendor_usage",
        _ => "other",
    }
}

/// One attempt's answer (or its absence) after `elapsed`.
#[cfg_attr(not(feature = "metrics"), allow(unused_variables))]
#[inline]
pub(crate) fn attempt(api: Api, op: Operation, outcome: Outcome, sent: Since) {
    #[cfg(feature = "metrics")]
    {
        let status = match outcome {
            Outcome::Status { status, .. } | Outcome::BodyCut { status } => status,
            Outcome::MalformedSuccess { status } => status,
            _ => 0,
        };
        metrics::histogram!(
            "http_client_request_duration_seconds",
            "http_request_method" => op.method,
            "http_response_status_code" => status_label(status),
            "error_type" => error_type(outcome),
            "pax8_api" => api_label(api),
            "pax8_operation" => op.operation_id,
        )
        .record(sent.elapsed().as_secs_f64());
        if matches!(outcome, Outcome::Status { status: 429, .. }) {
            metrics::counter!("pax8_client_throttled_total", "pax8_api" => api_label(api)).increment(1);
        }
    }
}

/// A retry after `outcome`.
#[cfg_attr(not(feature = "metrics"), allow(unused_variables))]
#[inline]
pub(crate) fn retry(api: Api, outcome: Outcome) {
    #[cfg(feature = "metrics")]
    metrics::counter!("pax8_client_retries_total", "pax8_api" => api_label(api), "reason" => error_type(outcome))
        .increment(1);
}

/// Time an attempt was held back by the rate limiter or the shared budget (called only when
/// one of them made it wait: an observation of zero would cost as much and say nothing).
#[cfg_attr(not(feature = "metrics"), allow(unused_variables))]
#[inline]
pub(crate) fn limiter_wait(api: Api, waiting: Since) {
    #[cfg(feature = "metrics")]
    metrics::histogram!("pax8_client_limiter_wait_seconds", "pax8_api" => api_label(api))
        .record(waiting.elapsed().as_secs_f64());
}

/// A token request's result.
#[cfg_attr(not(feature = "metrics"), allow(unused_variables))]
#[inline]
pub(crate) fn token_fetch(ok: bool) {
    #[cfg(feature = "metrics")]
    metrics::counter!("pax8_client_token_fetches_total", "outcome" => if ok { "ok" } else { "error" }).increment(1);
}

/// A write whose outcome is unknown.
#[cfg_attr(not(feature = "metrics"), allow(unused_variables))]
#[inline]
pub(crate) fn outcome_unknown(op: Operation) {
    #[cfg(feature = "metrics")]
    metrics::counter!("pax8_client_outcome_unknown_total", "pax8_operation" => op.operation_id).increment(1);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_types_are_few_and_fixed() {
        assert_eq!(error_type(Outcome::Status { status: 200, retry_after: None }), "");
        assert_eq!(error_type(Outcome::Status { status: 304, retry_after: None }), "");
        assert_eq!(error_type(Outcome::Status { status: 429, retry_after: None }), "429");
        assert_eq!(error_type(Outcome::Status { status: 418, retry_after: None }), "4xx");
        assert_eq!(error_type(Outcome::Status { status: 599, retry_after: None }), "5xx");
        assert_eq!(error_type(Outcome::Status { status: 400, retry_after: None }), "400");
        assert_eq!(error_type(Outcome::TimedOut), "timeout");
        assert_eq!(error_type(Outcome::ConnectFailed), "connect");
        assert_eq!(error_type(Outcome::Interrupted), "interrupted");
        assert_eq!(error_type(Outcome::BodyCut { status: 200 }), "body_cut");
    }

    #[cfg(feature = "metrics")]
    #[test]
    fn status_labels_are_the_codes() {
        for code in [0, 200, 201, 202, 204, 206, 304, 400, 404, 418, 429, 503, 599] {
            assert_eq!(&*status_label(code), code.to_string());
        }
    }
}
