//! `/healthz` (the process answers) and `/readyz` (what it needs works: the database, the vault
//! key, credentials).
//!
//! A readiness check is a named async function; `/readyz` runs every check at once, each within
//! [`CHECK_TIMEOUT`], and answers 200 when all pass, 503 otherwise. On a public listener the
//! answer names each check and says `ok` or `failing`; on the admin listener it also carries
//! each failure's message (which may name a host or a table, so it stays off the internet).

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use futures::future::BoxFuture;
use serde_json::{Map, Value, json};

/// The longest one check may take before it counts as failing.
pub const CHECK_TIMEOUT: Duration = Duration::from_secs(2);

type CheckFn = Arc<dyn Fn() -> BoxFuture<'static, Result<(), String>> + Send + Sync>;

/// The checks `/readyz` runs.
///
/// ```no_run
/// let ready = pax8_serve::Readiness::default().check("database", || async { Ok(()) });
/// let routes: axum::Router = pax8_serve::health::routes(ready, pax8_serve::health::Detail::Names);
/// ```
#[derive(Clone, Default)]
pub struct Readiness {
    checks: Vec<(&'static str, CheckFn)>,
}

impl std::fmt::Debug for Readiness {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.checks.iter().map(|(name, _)| name)).finish()
    }
}

/// How much a `/readyz` answer says.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Detail {
    /// Each check's name and `ok` or `failing` (public listeners).
    Names,
    /// Also each failure's message (the admin listener).
    Messages,
}

/// One `/readyz` run.
#[derive(Clone, Debug, PartialEq)]
pub struct Report {
    /// Every check passed.
    pub ready: bool,
    /// Each check and its failure, in the order added.
    pub checks: Vec<(&'static str, Result<(), String>)>,
}

impl Report {
    /// The JSON answer: `{"ready": bool, "checks": {"database": "ok" | "failing" | message}}`.
    pub fn to_json(&self, detail: Detail) -> Value {
        let checks: Map<String, Value> = self
            .checks
            .iter()
            .map(|(name, result)| {
                let said = match (result, detail) {
                    (Ok(()), _) => "ok".to_string(),
                    (Err(_), Detail::Names) => "failing".to_string(),
                    (Err(message), Detail::Messages) => message.clone(),
                };
                (name.to_string(), Value::String(said))
            })
            .collect();
        json!({"ready": self.ready, "checks": checks})
    }
}

impl Readiness {
    /// Adds a check called `name`.
    pub fn check<F, Fut>(mut self, name: &'static str, check: F) -> Self
    where
        F: Fn() -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<(), String>> + Send + 'static,
    {
        self.checks.push((name, Arc::new(move || Box::pin(check()))));
        self
    }

    /// Adds every check of `other` after these.
    pub fn and(mut self, other: Readiness) -> Self {
        self.checks.extend(other.checks);
        self
    }

    /// Runs every check at once, each within [`CHECK_TIMEOUT`].
    pub async fn run(&self) -> Report {
        let runs = self.checks.iter().map(|(name, check)| {
            let check = check.clone();
            async move {
                let result = match tokio::time::timeout(CHECK_TIMEOUT, check()).await {
                    Ok(result) => result,
                    Err(_) => Err(format!("no answer within {} s", CHECK_TIMEOUT.as_secs())),
                };
                (*name, result)
            }
        });
        let checks = futures::future::join_all(runs).await;
        Report { ready: checks.iter().all(|(_, r)| r.is_ok()), checks }
    }

    /// The `/readyz` answer.
    pub async fn answer(&self, detail: Detail) -> Response {
        let report = self.run().await;
        let status = if report.ready { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE };
        if !report.ready {
            for (name, result) in &report.checks {
                if let Err(message) = result {
                    tracing::warn!(check = name, error = %message, "not ready");
                }
            }
        }
        (status, axum::Json(report.to_json(detail))).into_response()
    }
}

/// `GET /healthz` (always 200 while the process serves) and `GET /readyz`.
pub fn routes<S: Clone + Send + Sync + 'static>(readiness: Readiness, detail: Detail) -> Router<S> {
    Router::new().route("/healthz", get(|| async { (StatusCode::OK, axum::Json(json!({"alive": true}))) })).route(
        "/readyz",
        get(move || {
            let readiness = readiness.clone();
            async move { readiness.answer(detail).await }
        }),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn every_check_runs_and_a_slow_one_fails() {
        let ready = Readiness::default()
            .check("database", || async { Ok(()) })
            .check("vault", || async { Err("no key".to_string()) })
            .check("pax8", || async {
                tokio::time::sleep(Duration::from_secs(60)).await;
                Ok(())
            });
        let report = ready.run().await;
        assert!(!report.ready);
        assert_eq!(report.checks[0], ("database", Ok(())));
        assert_eq!(report.checks[1], ("vault", Err("no key".to_string())));
        assert_eq!(report.checks[2], ("pax8", Err("no answer within 2 s".to_string())));
        assert_eq!(
            report.to_json(Detail::Names),
            json!({"ready": false, "checks": {"database": "ok", "vault": "failing", "pax8": "failing"}})
        );
        assert_eq!(report.to_json(Detail::Messages)["checks"]["vault"], "no key");
        let all_ok = Readiness::default().check("a", || async { Ok(()) }).and(Readiness::default());
        assert!(all_ok.run().await.ready);
        assert!(Readiness::default().run().await.ready, "nothing to check is ready");
    }
}
