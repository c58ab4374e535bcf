//! `--idempotency-key KEY` on writes: the first outcome under a key is kept (in
//! `idempotency.json` beside the stored credentials, owner-only) and, for 24 hours, the same
//! request under the same key returns it without sending anything again; a different request
//! under a used key is refused.
//!
//! The file is locked from the check to the record, so two processes given the same key at once
//! send the write once: the second waits and replays the first's outcome. A write that fails
//! records nothing (the same key may be used to try again); a write whose outcome is unknown
//! (exit 6) records nothing either, and says what to check first.

use std::collections::BTreeMap;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::Command;
use crate::fail::Failure;

/// How long an outcome is replayed.
pub const REPLAY_FOR: Duration = Duration::from_secs(24 * 3600);

/// The longest key accepted.
const MAX_KEY: usize = 255;

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Entry {
    /// What the request was (the command and its arguments).
    request: String,
    /// The outcome's document (`--json`'s).
    outcome: Value,
    /// When it was recorded (ms since the epoch).
    at_ms: u64,
}

/// Whether `command` writes (and so takes an idempotency key).
pub fn is_write(command: &Command) -> bool {
    use crate::{
        CompaniesCommand as Co, ContactsCommand as Ct, OrdersCommand as O, QuotesCommand as Q, RenewalsCommand as R,
        SubscriptionsCommand as S, WebhooksCommand as W,
    };
    match command {
        Command::Companies(c) => matches!(c, Co::Create { .. } | Co::Update { .. }),
        Command::Contacts(c) => matches!(c, Ct::Create { .. } | Ct::Update { .. } | Ct::Delete { .. }),
        Command::Orders(c) => matches!(c, O::Create { .. }),
        Command::Subscriptions(c) => matches!(c, S::Update { .. } | S::Cancel { .. }),
        Command::Quotes(c) => matches!(c, Q::Create { .. } | Q::AddLine { .. } | Q::RemoveLine { .. }),
        Command::Webhooks(c) => matches!(
            c,
            W::Register { .. }
                | W::Test { .. }
                | W::Retry { .. }
                | W::Enable { .. }
                | W::Disable { .. }
                | W::Delete { .. }
        ),
        Command::Renewals(r) => matches!(r.command, Some(R::Plan { .. })),
        _ => false,
    }
}

/// The request a key stands for: the command and its arguments, without the confirmation flag
/// (a retry with `--yes` is the same request).
pub fn request_of(command: &Command) -> String {
    format!("{command:?}").replace(", yes: true", "").replace(", yes: false", "")
}

/// A key held: the lock is kept until [`Held::record`] (or drop).
#[derive(Debug)]
pub struct Held {
    path: PathBuf,
    key: String,
    request: String,
    _lock: File,
}

/// What the key says about this request.
#[derive(Debug)]
pub enum Check {
    /// Not used (or expired): write, then record.
    Fresh(Held),
    /// Used for this same request: its outcome, and when.
    Replay { outcome: Value, at: SystemTime },
}

fn now_ms() -> u64 {
    u64::try_from(SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default().as_millis()).unwrap_or(u64::MAX)
}

fn read(path: &Path) -> BTreeMap<String, Entry> {
    std::fs::read_to_string(path).ok().and_then(|t| serde_json::from_str(&t).ok()).unwrap_or_default()
}

/// Checks `key` for `request` in the file at `path`, holding its lock when the key is fresh.
pub fn check(path: &Path, key: &str, request: String) -> Result<Check, Failure> {
    if key.is_empty() || key.len() > MAX_KEY || !key.chars().all(|c| c.is_ascii_graphic()) {
        return Err(Failure::usage(format!(
            "an idempotency key is 1 to {MAX_KEY} printable characters without spaces (e.g. a UUID)"
        )));
    }
    let failed = |e: std::io::Error| Failure::usage(format!("idempotency keys ({}): {e}", path.display()));
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(failed)?;
    }
    let lock = open_owner_only(&path.with_extension("lock")).map_err(failed)?;
    lock.lock().map_err(failed)?;
    let entries = read(path);
    let horizon = now_ms().saturating_sub(u64::try_from(REPLAY_FOR.as_millis()).unwrap_or(u64::MAX));
    match entries.get(key).filter(|e| e.at_ms >= horizon) {
        Some(entry) if entry.request == request => {
            Ok(Check::Replay { outcome: entry.outcome.clone(), at: UNIX_EPOCH + Duration::from_millis(entry.at_ms) })
        }
        Some(_) => Err(Failure::usage(format!(
            "the idempotency key `{key}` was used for a different request in the last 24 hours: nothing was sent \
             (use a new key for a new request)"
        ))),
        None => Ok(Check::Fresh(Held { path: path.to_path_buf(), key: key.to_string(), request, _lock: lock })),
    }
}

impl Held {
    /// Records the outcome under the key (and forgets entries older than 24 hours).
    pub fn record(self, outcome: Value) -> Result<(), Failure> {
        let failed = |e: std::io::Error| Failure::usage(format!("idempotency keys ({}): {e}", self.path.display()));
        let mut entries = read(&self.path);
        let horizon = now_ms().saturating_sub(u64::try_from(REPLAY_FOR.as_millis()).unwrap_or(u64::MAX));
        entries.retain(|_, e| e.at_ms >= horizon);
        entries.insert(self.key.clone(), Entry { request: self.request.clone(), outcome, at_ms: now_ms() });
        let text = serde_json::to_string_pretty(&entries).unwrap_or_default();
        let temporary = self.path.with_extension("tmp");
        crate::creds::write_private(&temporary, &text).map_err(failed)?;
        std::fs::rename(&temporary, &self.path).map_err(failed)?;
        Ok(())
    }
}

fn open_owner_only(path: &Path) -> std::io::Result<File> {
    let mut options = std::fs::OpenOptions::new();
    options.create(true).truncate(false).write(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_replays_its_request_and_refuses_another() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("idempotency.json");
        let Check::Fresh(held) = check(&path, "k-1", "A".into()).unwrap() else { panic!("fresh") };
        held.record(serde_json::json!({"done": true})).unwrap();
        let Check::Replay { outcome, .. } = check(&path, "k-1", "A".into()).unwrap() else { panic!("replay") };
        assert_eq!(outcome, serde_json::json!({"done": true}));
        let other = check(&path, "k-1", "B".into()).unwrap_err();
        assert!(other.message.contains("was used for a different request"), "{}", other.message);
        assert!(matches!(check(&path, "k-2", "B".into()).unwrap(), Check::Fresh(_)));
        for bad in ["", "has space", &"x".repeat(256)] {
            assert!(check(&path, bad, "A".into()).is_err(), "{bad:?}");
        }
        // An entry older than 24 hours is forgotten: the key is fresh again.
        let mut entries = read(&path);
        entries.get_mut("k-1").unwrap().at_ms -= u64::try_from(REPLAY_FOR.as_millis()).unwrap() + 1;
        std::fs::write(&path, serde_json::to_string(&entries).unwrap()).unwrap();
        assert!(matches!(check(&path, "k-1", "B".into()).unwrap(), Check::Fresh(_)));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
        }
    }

    #[test]
    fn the_request_ignores_the_confirmation_flag() {
        let cli = |args: &[&str]| <crate::Cli as clap::Parser>::try_parse_from(args).unwrap().command;
        let with = request_of(&cli(&["pax8", "subscriptions", "update", "S", "--quantity", "3", "--yes"]));
        let without = request_of(&cli(&["pax8", "subscriptions", "update", "S", "--quantity", "3"]));
        assert_eq!(with, without);
        assert_ne!(with, request_of(&cli(&["pax8", "subscriptions", "update", "S", "--quantity", "4"])));
        assert!(is_write(&cli(&["pax8", "orders", "create", "--company", "c", "--product", "p", "--quantity", "1"])));
        assert!(!is_write(&cli(&["pax8", "companies", "list"])));
    }
}
