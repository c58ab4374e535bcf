//! Stored credentials: `<config dir>/pax8/credentials.json`, readable by the owner only.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::fail::Failure;

/// What `pax8 auth login` stores.
#[derive(Clone, Serialize, Deserialize)]
pub struct Credentials {
    pub client_id: String,
    pub client_secret: pax8_ext::SecretString,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub base_url: Option<String>,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials")
            .field("client_id", &self.client_id)
            .field("base_url", &self.base_url)
            .finish_non_exhaustive()
    }
}

/// The file (`PAX8_CONFIG_DIR` overrides the directory).
pub fn path() -> Result<PathBuf, Failure> {
    let dir = match std::env::var_os("PAX8_CONFIG_DIR") {
        Some(d) => PathBuf::from(d),
        None => dirs::config_dir()
            .ok_or_else(|| Failure::usage("cannot find a config directory; set PAX8_CONFIG_DIR"))?
            .join("pax8"),
    };
    Ok(dir.join("credentials.json"))
}

pub fn load() -> Result<Option<Credentials>, Failure> {
    let path = path()?;
    match std::fs::read_to_string(&path) {
        Ok(text) => serde_json::from_str(&text)
            .map(Some)
            .map_err(|e| Failure::usage(format!("{} is not valid ({e}); run `pax8 auth login` again", path.display()))),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(Failure::usage(format!("cannot read {}: {e}", path.display()))),
    }
}

pub fn save(creds: &Credentials) -> Result<PathBuf, Failure> {
    let path = path()?;
    let dir = path.parent().expect("file in a directory");
    std::fs::create_dir_all(dir).map_err(|e| Failure::usage(format!("cannot create {}: {e}", dir.display())))?;
    let body = serde_json::json!({
        "client_id": creds.client_id,
        "client_secret": creds.client_secret.expose(),
        "base_url": creds.base_url,
    });
    write_private(&path, &serde_json::to_string_pretty(&body).expect("json"))
        .map_err(|e| Failure::usage(format!("cannot write {}: {e}", path.display())))?;
    Ok(path)
}

#[cfg(unix)]
pub fn write_private(path: &std::path::Path, text: &str) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let mut f = std::fs::OpenOptions::new().write(true).create(true).truncate(true).mode(0o600).open(path)?;
    f.set_permissions(std::fs::Permissions::from_mode(0o600))?;
    f.write_all(text.as_bytes())
}

#[cfg(not(unix))]
pub fn write_private(path: &std::path::Path, text: &str) -> std::io::Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    std::fs::write(path, text)
}

pub fn remove() -> Result<bool, Failure> {
    let path = path()?;
    match std::fs::remove_file(&path) {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(Failure::usage(format!("cannot remove {}: {e}", path.display()))),
    }
}
