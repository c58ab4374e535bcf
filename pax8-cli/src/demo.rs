//! Demo mode: `pax8 demo on` makes every command talk to a simulated Pax8 whose state is kept in
//! the config directory, so an order placed in demo mode is still there on the next command (like
//! the official CLI's demo mode). `--sandbox` stays a throwaway simulator for one command.
//!
//! Files beside the credentials: `demo.json` (the switch: seed, size and the fixture's "today",
//! fixed when demo mode was turned on so the data does not move from day to day),
//! `demo-state.json` (the simulator's saved state) and `demo.lock` (one command at a time).

use std::path::PathBuf;

use chrono::NaiveDate;
use pax8_sandbox::{Sandbox, SandboxConfig, SavedState};
use serde::{Deserialize, Serialize};

use crate::fail::Failure;

/// What `pax8 demo on` fixed.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
pub struct Settings {
    pub seed: u64,
    pub companies: usize,
    pub today: NaiveDate,
}

fn file(name: &str) -> Result<PathBuf, Failure> {
    Ok(crate::creds::path()?.with_file_name(name))
}

fn io(what: &str, path: &std::path::Path, e: impl std::fmt::Display) -> Failure {
    Failure::usage(format!("cannot {what} {}: {e}", path.display()))
}

/// The settings when demo mode is on.
pub fn settings() -> Result<Option<Settings>, Failure> {
    let path = file("demo.json")?;
    match std::fs::read_to_string(&path) {
        Ok(text) => serde_json::from_str(&text)
            .map(Some)
            .map_err(|e| Failure::usage(format!("{} is not valid ({e}); run `pax8 demo off`", path.display()))),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(io("read", &path, e)),
    }
}

/// Turns demo mode on (keeping any state saved before).
pub fn turn_on(settings: Settings) -> Result<PathBuf, Failure> {
    let path = file("demo.json")?;
    let text = serde_json::to_string_pretty(&settings).map_err(|e| io("write", &path, e))?;
    crate::creds::write_private(&path, &text).map_err(|e| io("write", &path, e))?;
    Ok(path)
}

/// Turns demo mode off; `forget` also deletes the saved state. Says whether it was on.
pub fn turn_off(forget: bool) -> Result<bool, Failure> {
    let was_on = remove(&file("demo.json")?)?;
    if forget {
        forget_state()?;
    }
    Ok(was_on)
}

/// Deletes the saved state (demo mode stays as it is).
pub fn forget_state() -> Result<(), Failure> {
    remove(&file("demo-state.json")?).map(drop)
}

fn remove(path: &std::path::Path) -> Result<bool, Failure> {
    match std::fs::remove_file(path) {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(io("remove", path, e)),
    }
}

/// The saved state, if any.
pub fn saved() -> Result<Option<SavedState>, Failure> {
    let path = file("demo-state.json")?;
    let text = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(io("read", &path, e)),
    };
    let state: SavedState = serde_json::from_str(&text).map_err(|e| {
        Failure::usage(format!("{} is not valid ({e}); `pax8 demo reset` starts afresh", path.display()))
    })?;
    state.check().map_err(|e| Failure::usage(format!("{}: {e}; `pax8 demo reset` starts afresh", path.display())))?;
    Ok(Some(state))
}

/// A simulator started from the demo's saved state, holding the demo lock until dropped.
pub struct Demo {
    pub sandbox: Sandbox,
    _lock: std::fs::File,
}

impl Demo {
    /// Waits for any other demo command to finish, then starts the simulator.
    pub async fn start(settings: Settings) -> Result<Demo, Failure> {
        let lock_path = file("demo.lock")?;
        if let Some(dir) = lock_path.parent() {
            std::fs::create_dir_all(dir).map_err(|e| io("create", dir, e))?;
        }
        let lock = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)
            .map_err(|e| io("open", &lock_path, e))?;
        lock.lock().map_err(|e| io("lock", &lock_path, e))?;
        let config = SandboxConfig {
            seed: settings.seed,
            companies: settings.companies,
            today: Some(settings.today),
            saved: saved()?,
            ..SandboxConfig::default()
        };
        let sandbox = Sandbox::start(config)
            .await
            .map_err(|e| Failure::usage(format!("cannot start the demo simulator: {e}")))?;
        Ok(Demo { sandbox, _lock: lock })
    }

    /// Saves the simulator's state for the next command (written whole, then renamed, so a
    /// command stopped half-way leaves the previous state).
    pub fn save(&self) -> Result<(), Failure> {
        let path = file("demo-state.json")?;
        let text = serde_json::to_string(&self.sandbox.save()).map_err(|e| io("write", &path, e))?;
        let partial = path.with_extension("json.partial");
        crate::creds::write_private(&partial, &text).map_err(|e| io("write", &partial, e))?;
        std::fs::rename(&partial, &path).map_err(|e| io("write", &path, e))
    }
}
