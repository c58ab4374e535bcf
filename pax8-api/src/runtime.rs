//! The seam between the generated clients and the runtime that pax8-ext supplies.
//!
//! Every generated `Client` carries a [`Seam`] (progenitor's inner type). When a request is sent,
//! the generated code calls `ClientHooks::exec`, which this crate implements for each client
//! (progenitor's hooks must live beside the generated `Client`) by handing the request to
//! [`dispatch`]: with a [`Runtime`] installed the runtime sends it (adding auth, retries, rate
//! limiting, tracing); without one the request goes straight to `reqwest`, so the clients work as
//! plain progenitor clients.
//!
//! A runtime's own failures (a token that could not be fetched, a retry budget exhausted) cannot be
//! expressed as `reqwest::Error`. [`capture_runtime_error`] runs a call in a scope that keeps the
//! typed error; the generated call then returns an unexpected status 599 response that the caller
//! swaps for the captured error.

use std::cell::RefCell;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use crate::{Api, Operation};

/// A runtime's own error (not an HTTP response), boxed with its source chain.
pub type RuntimeError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// A boxed future returned by [`Runtime::execute`].
pub type ExecFuture<'a> = Pin<Box<dyn Future<Output = Result<reqwest::Response, RuntimeError>> + Send + 'a>>;

/// Status of the placeholder response returned when a runtime fails without an HTTP response.
pub const RUNTIME_ERROR_STATUS: u16 = 599;

/// One request on its way out.
#[derive(Debug)]
pub struct Call<'a> {
    /// The HTTP client (shared connection pool) of the generated client.
    pub client: &'a reqwest::Client,
    /// The API group.
    pub api: Api,
    /// The operation, when the operationId is known (it always is for generated calls).
    pub operation: Option<&'static Operation>,
    /// The request as built by the generated code.
    pub request: reqwest::Request,
}

/// What pax8-ext implements to take over sending: auth, retries, rate limiting, tracing.
pub trait Runtime: Send + Sync + 'static {
    /// Sends `call.request` (possibly several times) and returns the final response.
    fn execute<'a>(&'a self, call: Call<'a>) -> ExecFuture<'a>;
}

/// progenitor's inner type for every generated client: an optional [`Runtime`].
#[derive(Clone, Default)]
pub struct Seam {
    runtime: Option<Arc<dyn Runtime>>,
}

impl Seam {
    /// A seam that hands every request to `runtime`.
    pub fn new(runtime: Arc<dyn Runtime>) -> Self {
        Self { runtime: Some(runtime) }
    }

    /// The installed runtime, if any.
    pub fn runtime(&self) -> Option<&Arc<dyn Runtime>> {
        self.runtime.as_ref()
    }
}

impl fmt::Debug for Seam {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Seam").field("runtime", &self.runtime.as_ref().map(|_| "installed")).finish()
    }
}

/// Finds an operation of a table by the id progenitor reports (the generated method name) or by
/// the document's operationId.
pub fn find_operation(table: &'static [Operation], id: &str) -> Option<&'static Operation> {
    table.iter().find(|o| o.rust_method == id || o.operation_id == id)
}

tokio::task_local! {
    static CAPTURED: RefCell<Option<RuntimeError>>;
}

/// Runs `future` (a generated call) so that a runtime error raised inside it is returned typed
/// beside its output instead of only as a status 599 placeholder.
pub async fn capture_runtime_error<F: Future>(future: F) -> (F::Output, Option<RuntimeError>) {
    CAPTURED
        .scope(RefCell::new(None), async move {
            let output = future.await;
            let error = CAPTURED.with(|slot| slot.borrow_mut().take());
            (output, error)
        })
        .await
}

/// Sends one generated request through the seam. Called by the generated clients' hooks.
pub async fn dispatch(
    seam: &Seam,
    client: &reqwest::Client,
    api: Api,
    operation: Option<&'static Operation>,
    request: reqwest::Request,
) -> reqwest::Result<reqwest::Response> {
    let Some(runtime) = &seam.runtime else {
        return client.execute(request).await;
    };
    match runtime.execute(Call { client, api, operation, request }).await {
        Ok(response) => Ok(response),
        Err(error) => Ok(placeholder_response(error)),
    }
}

fn placeholder_response(error: RuntimeError) -> reqwest::Response {
    let body = serde_json::json!({
        "type": "ClientRuntimeError",
        "status": RUNTIME_ERROR_STATUS,
        "message": error.to_string(),
    });
    let _ = CAPTURED.try_with(|slot| *slot.borrow_mut() = Some(error));
    let response = http::Response::builder()
        .status(RUNTIME_ERROR_STATUS)
        .header(http::header::CONTENT_TYPE, "application/json")
        .body(body.to_string())
        .expect("static response parts are valid");
    reqwest::Response::from(response)
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
}
