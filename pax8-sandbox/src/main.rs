//! `pax8-sandbox`: runs the simulator for people and tools.
//!
//! ```text
//! cargo run -p pax8-sandbox -- --port 8080 --seed 7 --companies 25
//! ```
#![forbid(unsafe_code)]

use std::process::ExitCode;
use std::time::Duration;

use pax8_sandbox::{Faults, Sandbox, SandboxConfig};

const USAGE: &str = "\
usage: pax8-sandbox [--port N] [--seed N] [--companies N] [--token-lifetime SECONDS]
                    [--rate-limit PER_MINUTE] [--error-rate SHARE] [--latency-ms N]
                    [--drop-rate SHARE] [--malformed-rate SHARE]";

fn parse() -> Result<SandboxConfig, String> {
    let mut config = SandboxConfig { port: 8080, ..SandboxConfig::default() };
    let mut faults = Faults::default();
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        if flag == "--help" || flag == "-h" {
            return Err(USAGE.into());
        }
        let value = args.next().ok_or_else(|| format!("{flag} needs a value\n{USAGE}"))?;
        let bad = || format!("{flag}: `{value}` is not valid\n{USAGE}");
        match flag.as_str() {
            "--port" => config.port = value.parse().map_err(|_| bad())?,
            "--seed" => config.seed = value.parse().map_err(|_| bad())?,
            "--companies" => config.companies = value.parse().map_err(|_| bad())?,
            "--token-lifetime" => config.token_lifetime = Duration::from_secs(value.parse().map_err(|_| bad())?),
            "--rate-limit" => faults.rate_limit_per_minute = Some(value.parse().map_err(|_| bad())?),
            "--error-rate" => faults.server_error_rate = value.parse().map_err(|_| bad())?,
            "--latency-ms" => faults.latency = Duration::from_millis(value.parse().map_err(|_| bad())?),
            "--drop-rate" => faults.drop_before_rate = value.parse().map_err(|_| bad())?,
            "--malformed-rate" => faults.malformed_rate = value.parse().map_err(|_| bad())?,
            other => return Err(format!("unknown flag `{other}`\n{USAGE}")),
        }
    }
    config.faults = faults;
    Ok(config)
}

#[tokio::main]
async fn main() -> ExitCode {
    let config = match parse() {
        Ok(c) => c,
        Err(message) => {
            eprintln!("{message}");
            return ExitCode::from(2);
        }
    };
    let sandbox = match Sandbox::start(config.clone()).await {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(1);
        }
    };
    let (companies, subscriptions) = sandbox.with_world(|w| (w.companies.len(), w.subscriptions.len()));
    println!(
        "Pax8 sandbox listening on {} ({companies} companies, {subscriptions} subscriptions, seed {})",
        sandbox.base_url(),
        config.seed
    );
    println!();
    println!("  export PAX8_BASE_URL={}", sandbox.base_url());
    println!("  export PAX8_CLIENT_ID={}", sandbox.client_id());
    println!("  export PAX8_CLIENT_SECRET={}", sandbox.client_secret());
    println!();
    println!("Ctrl-C to stop.");
    let _ = tokio::signal::ctrl_c().await;
    ExitCode::SUCCESS
}
