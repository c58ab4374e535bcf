//! `pax8-sandbox`: runs the simulator for people and tools.
//!
//! ```text
//! cargo run -p pax8-sandbox -- --port 8080 --seed 7 --companies 25 --drop-after-rate 0.2
//! ```
#![forbid(unsafe_code)]

use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use pax8_sandbox::{Faults, Sandbox, SandboxConfig};

/// A stateful local Pax8 (token endpoint, partner v1, quoting v2, webhooks v2, vendor APIs)
/// with fault injection.
#[derive(Debug, Parser)]
#[command(name = "pax8-sandbox", version)]
struct Args {
    /// Port on 127.0.0.1 (0 picks a free one).
    #[arg(long, default_value_t = 8080)]
    port: u16,
    /// Seed of the generated fixture and of the fault dice.
    #[arg(long, default_value_t = SandboxConfig::default().seed)]
    seed: u64,
    /// Companies in the fixture (about 10 subscriptions each).
    #[arg(long, default_value_t = SandboxConfig::default().companies)]
    companies: usize,
    /// Lifetime of issued access tokens, in seconds.
    #[arg(long, value_name = "SECONDS")]
    token_lifetime: Option<u64>,
    /// Requests a minute before 429 with Retry-After (a fixed one-minute window).
    #[arg(long, value_name = "PER_MINUTE")]
    rate_limit: Option<u32>,
    /// Share (0 to 1) of requests answered 500, 502 or 503 without being processed.
    #[arg(long, value_name = "SHARE", default_value_t = 0.0, value_parser = share)]
    error_rate: f64,
    /// Latency added to every request, in milliseconds.
    #[arg(long, value_name = "MS", default_value_t = 0)]
    latency_ms: u64,
    /// Share of connections closed before the request is processed.
    #[arg(long, value_name = "SHARE", default_value_t = 0.0, value_parser = share)]
    drop_rate: f64,
    /// Share of connections closed after the request was processed: the answer is lost, the change is made.
    #[arg(long, value_name = "SHARE", default_value_t = 0.0, value_parser = share)]
    drop_after_rate: f64,
    /// Share of successful answers whose JSON body is cut short.
    #[arg(long, value_name = "SHARE", default_value_t = 0.0, value_parser = share)]
    malformed_rate: f64,
    /// Answer exactly as the upstream documents describe, without the real server's quirks.
    #[arg(long)]
    spec_exact: bool,
    /// The fixture's "today" and the server's clock at start (YYYY-MM-DD; default: the current
    /// UTC date): time travel for commitment ends, renewals and invoices.
    #[arg(long, value_name = "DATE")]
    today: Option<chrono::NaiveDate>,
    /// Issue invoices that match the subscriptions exactly (by default each carries one planted
    /// discrepancy of each kind an invoice audit finds: see the README).
    #[arg(long)]
    clean_invoices: bool,
    /// Monthly invoices at start (1 to 120): fewer keep a huge tenant (`--companies 100000`) light.
    #[arg(long, default_value_t = 6, value_parser = clap::value_parser!(u32).range(1..=120))]
    invoices: u32,
}

fn share(value: &str) -> Result<f64, String> {
    let share: f64 = value.parse().map_err(|_| format!("`{value}` is not a number"))?;
    if (0.0..=1.0).contains(&share) { Ok(share) } else { Err(format!("{share} is not between 0 and 1")) }
}

impl Args {
    fn config(&self) -> SandboxConfig {
        let mut config = SandboxConfig {
            port: self.port,
            seed: self.seed,
            companies: self.companies,
            spec_exact: self.spec_exact,
            today: self.today,
            planted_discrepancies: !self.clean_invoices,
            invoices: self.invoices,
            ..SandboxConfig::default()
        };
        if let Some(seconds) = self.token_lifetime {
            config.token_lifetime = Duration::from_secs(seconds);
        }
        config.faults = Faults {
            rate_limit_per_minute: self.rate_limit,
            server_error_rate: self.error_rate,
            latency: Duration::from_millis(self.latency_ms),
            drop_before_rate: self.drop_rate,
            drop_after_rate: self.drop_after_rate,
            malformed_rate: self.malformed_rate,
            ..Faults::default()
        };
        config
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    let config = Args::parse().config();
    let sandbox = match Sandbox::start(config.clone()).await {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(1);
        }
    };
    // `--today`: the server's clock is moved to that day too, so its "now" agrees with the
    // fixture (commitments end, plans fall due, invoices are issued as on that day).
    if let Some(today) = config.today {
        sandbox.advance_clock(today - chrono::Utc::now().date_naive());
    }
    let (companies, subscriptions) = sandbox.with_world(|w| (w.companies.len(), w.subscriptions.len()));
    println!(
        "Pax8 sandbox listening on {} ({companies} companies, {subscriptions} subscriptions, seed {})",
        sandbox.base_url(),
        config.seed
    );
    if config.planted_discrepancies {
        println!("Each invoice carries planted discrepancies for an audit to find (--clean-invoices: none).");
    }
    println!();
    println!("  export PAX8_BASE_URL={}", sandbox.base_url());
    println!("  export PAX8_CLIENT_ID={}", sandbox.client_id());
    println!("  export PAX8_CLIENT_SECRET={}", sandbox.client_secret());
    println!();
    println!("Ctrl-C to stop.");
    let _ = tokio::signal::ctrl_c().await;
    ExitCode::SUCCESS
}
