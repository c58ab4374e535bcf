//! `pax8 doctor`: is this machine ready? Credentials and where they come from, the config
//! files' permissions, a token, each API group answering, the clock against the server's, and
//! the rate-limit headroom the server reports.

use super::listing::count;
use super::session;
use crate::fail::Failure;
use crate::output::{Printer, Table, col};
use crate::{Cli, Globals, creds};
use serde_json::Value;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

/// What the answers said: the server's clock and rate-limit headers.
#[derive(Debug, Default)]
struct Seen {
    /// (server's Date, our clock when the answer arrived)
    date: Option<(SystemTime, SystemTime)>,
    /// (remaining, limit) from `X-RateLimit-*` or `RateLimit-*`.
    rate: Option<(u64, Option<u64>)>,
}

#[derive(Debug, Default)]
struct Observer(Mutex<Seen>);

fn header_number(response: &reqwest::Response, names: &[&str]) -> Option<u64> {
    names.iter().find_map(|n| response.headers().get(*n)?.to_str().ok()?.trim().parse().ok())
}

impl pax8_ext::Hooks for Observer {
    fn after_response(&self, response: &reqwest::Response, _info: &pax8_ext::RequestInfo) {
        let date = response
            .headers()
            .get(reqwest::header::DATE)
            .and_then(|d| d.to_str().ok())
            .and_then(|d| httpdate::parse_http_date(d).ok());
        let remaining = header_number(response, &["x-ratelimit-remaining", "ratelimit-remaining"]);
        let limit = header_number(response, &["x-ratelimit-limit", "ratelimit-limit"]);
        let Ok(mut seen) = self.0.lock() else { return };
        if let Some(date) = date {
            seen.date = Some((date, SystemTime::now()));
        }
        if let Some(remaining) = remaining {
            seen.rate = Some((remaining, limit));
        }
    }
}

/// One line of the report.
struct Check {
    name: &'static str,
    status: &'static str,
    detail: String,
}

fn check(name: &'static str, result: Result<String, String>) -> Check {
    match result {
        Ok(detail) => Check { name, status: "ok", detail },
        Err(detail) => Check { name, status: "FAIL", detail },
    }
}

/// The skew between the server's clock and ours, in plain words (Date has whole seconds).
pub fn skew(server: SystemTime, local: SystemTime) -> (Duration, &'static str) {
    match local.duration_since(server) {
        Ok(ahead) => (ahead, "ahead of"),
        Err(behind) => (behind.duration(), "behind"),
    }
}

#[cfg(unix)]
fn private(path: &std::path::Path) -> Result<String, String> {
    use std::os::unix::fs::PermissionsExt;
    match std::fs::metadata(path) {
        Ok(m) if m.permissions().mode() & 0o077 == 0 => Ok(format!("{} is owner-only", path.display())),
        Ok(m) => Err(format!(
            "{} is mode {:o}: others can read it (chmod 600 it)",
            path.display(),
            m.permissions().mode() & 0o777
        )),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(format!("{} not written yet", path.display())),
        Err(e) => Err(format!("{}: {e}", path.display())),
    }
}

#[cfg(not(unix))]
fn private(path: &std::path::Path) -> Result<String, String> {
    Ok(format!("{} (permissions not checked on this system)", path.display()))
}

pub(super) async fn run(cli: &Globals, printer: Printer) -> Result<(), Failure> {
    let mut checks = Vec::new();
    let source = if cli.sandbox {
        Ok("the in-process simulator (--sandbox)".to_string())
    } else if crate::demo::settings()?.is_some() {
        Ok("demo mode: a simulated Pax8 (`pax8 demo off` leaves it)".to_string())
    } else {
        match super::auth::credential_source() {
            Ok(none) if none == "none stored" => {
                Err("none: run `pax8 auth login` or set PAX8_CLIENT_ID and PAX8_CLIENT_SECRET".to_string())
            }
            other => other.map_err(|f| f.message),
        }
    };
    checks.push(check("credentials", source));
    let config = creds::path()?;
    for file in [config.clone(), config.with_file_name("tokens.json")] {
        checks.push(check("config file", private(&file)));
    }
    checks.push(check("server config", server_config(cli)));
    let observer = Arc::new(Observer::default());
    let hooks: Arc<dyn pax8_ext::Hooks> = observer.clone();
    let session = match session::session_with(cli, printer, Some(hooks)).await {
        Ok(s) => s,
        Err(f) => {
            checks.push(check("session", Err(f.message)));
            return report(&printer, checks);
        }
    };
    let client = &session.client;
    let started = Instant::now();
    let token = client.refresh_token().await.map(|()| format!("fetched in {} ms", started.elapsed().as_millis()));
    let token_ok = token.is_ok();
    checks.push(check("token", token.map_err(|e| e.to_string())));
    if token_ok {
        let partner = client.companies().list().page_size(1).first_page().await.map(|p| {
            format!("partner API answers ({})", count(p.total_elements.unwrap_or(p.items.len() as u64), "companies"))
        });
        checks.push(check("partner API", partner.map_err(|e| e.to_string())));
        let quoting = client.quotes().list().page_size(1).first_page().await.map(|p| {
            format!("quoting API answers ({})", count(p.total_elements.unwrap_or(p.items.len() as u64), "quotes"))
        });
        checks.push(check("quoting API", quoting.map_err(|e| e.to_string())));
        let webhooks = client.webhooks().list().first_page().await.map(|p| {
            format!("webhooks API answers ({})", count(p.total_elements.unwrap_or(p.items.len() as u64), "webhooks"))
        });
        checks.push(check("webhooks API", webhooks.map_err(|e| e.to_string())));
        checks.push(Check {
            name: "vendor APIs",
            status: "skipped",
            detail: "provisioning and usage take vendor credentials (another audience); not checked".into(),
        });
    }
    let seen = std::mem::take(&mut *observer.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner));
    checks.push(match seen.date {
        Some((server, local)) => {
            let (by, side) = skew(server, local);
            let detail = format!("this machine is {}s {side} the server", by.as_secs());
            // Tokens are checked against the server's clock: a minute off is worth fixing.
            if by < Duration::from_secs(60) {
                Check { name: "clock", status: "ok", detail }
            } else {
                Check { name: "clock", status: "WARN", detail: format!("{detail}: set the clock (NTP)") }
            }
        }
        None => Check { name: "clock", status: "skipped", detail: "no answer carried a Date header".into() },
    });
    let pacing = client
        .current_rate_per_minute()
        .map_or("the client does not limit its rate".to_string(), |r| format!("the client paces at {r:.0} a minute"));
    checks.push(match seen.rate {
        Some((remaining, limit)) => Check {
            name: "rate limit",
            status: if remaining == 0 { "WARN" } else { "ok" },
            detail: format!(
                "{remaining} requests left{} in the server's window; {pacing}",
                limit.map(|l| format!(" of {l}")).unwrap_or_default()
            ),
        },
        None => Check {
            name: "rate limit",
            status: "ok",
            detail: format!("the server sent no rate-limit headers; {pacing}"),
        },
    });
    session.finish()?;
    report(&printer, checks)
}

/// The servers' config file: where it is and what it sets, or why it would be refused.
fn server_config(cli: &Globals) -> Result<String, String> {
    match crate::config_file::locate(cli.config.as_deref())? {
        None => Ok(format!("none ({} is not there)", crate::config_file::default_place())),
        Some(path) => {
            let file = crate::config_file::ConfigFile::load(&path, &<Cli as clap::CommandFactory>::command())?;
            Ok(format!("{}: {}", file.path.display(), file.summary()))
        }
    }
}

fn report(printer: &Printer, checks: Vec<Check>) -> Result<(), Failure> {
    let mut t = Table::new(&[col("check", "CHECK"), col("status", "STATUS"), col("detail", "DETAIL")]);
    for c in &checks {
        t.push(vec![Value::from(c.name), Value::from(c.status), Value::from(c.detail.clone())]);
    }
    let failed = checks.iter().filter(|c| c.status == "FAIL").count();
    printer.table(&t);
    if failed > 0 {
        return Err(Failure {
            message: format!("{} failed (see the table above)", count(failed, "checks")),
            code: crate::fail::code::API,
        });
    }
    printer.note("Ready.");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn skew_says_which_side_the_clock_is_on() {
        let server = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000);
        assert_eq!(skew(server, server + Duration::from_secs(90)), (Duration::from_secs(90), "ahead of"));
        assert_eq!(skew(server, server - Duration::from_secs(5)), (Duration::from_secs(5), "behind"));
        assert_eq!(skew(server, server), (Duration::ZERO, "ahead of"));
    }
}
