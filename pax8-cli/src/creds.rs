//! Stored credentials: `<config dir>/pax8/credentials.json` (owner-only) holds the client id and
//! server; the client secret goes to the OS keyring (macOS Keychain, Windows Credential Manager,
//! the Secret Service on Linux desktops) where one answers, else into the same owner-only file.
//! `PAX8_KEYRING=off` keeps it in the file (headless machines, CI).

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::fail::Failure;

/// What `pax8 auth login` stores.
#[derive(Clone)]
pub struct Credentials {
    pub client_id: String,
    pub client_secret: pax8_ext::SecretString,
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

/// Where the client secret is kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SecretPlace {
    Keyring,
    File,
}

/// The file's shape: the secret only when it is not in the keyring.
#[derive(Serialize, Deserialize)]
struct Stored {
    client_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    client_secret: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    base_url: Option<String>,
    /// Absent in files written before the keyring: the secret is in the file.
    #[serde(default = "file_place")]
    secret_in: SecretPlace,
}

fn file_place() -> SecretPlace {
    SecretPlace::File
}

/// A place for secrets outside the file: the OS keyring, or a stand-in in tests.
pub trait Vault {
    /// Stores the secret for `account`.
    fn set(&self, account: &str, secret: &str) -> Result<(), String>;
    /// Reads it back.
    fn get(&self, account: &str) -> Result<String, String>;
    /// Forgets it (absent is fine).
    fn delete(&self, account: &str) -> Result<(), String>;
}

/// The OS keyring through the `keyring` crate (service `pax8`). Each call runs on its own
/// thread: the platform stores may block, and must not run inside the async runtime.
pub struct OsKeyring;

impl OsKeyring {
    fn call<T: Send + 'static>(
        account: &str,
        f: impl FnOnce(keyring::Entry) -> keyring::Result<T> + Send + 'static,
    ) -> Result<T, String> {
        if std::env::var("PAX8_KEYRING").is_ok_and(|v| v.eq_ignore_ascii_case("off")) {
            return Err("the keyring is off (PAX8_KEYRING=off)".into());
        }
        let account = account.to_string();
        std::thread::spawn(move || keyring::Entry::new("pax8", &account).and_then(f))
            .join()
            .map_err(|_| "the keyring call failed".to_string())?
            .map_err(|e| e.to_string())
    }
}

impl Vault for OsKeyring {
    fn set(&self, account: &str, secret: &str) -> Result<(), String> {
        let secret = secret.to_string();
        Self::call(account, move |entry| entry.set_password(&secret))
    }

    fn get(&self, account: &str) -> Result<String, String> {
        Self::call(account, |entry| entry.get_password())
    }

    fn delete(&self, account: &str) -> Result<(), String> {
        match Self::call(account, |entry| entry.delete_credential()) {
            Err(e) if e.contains("No matching entry") => Ok(()),
            other => other,
        }
    }
}

/// The keyring account of a login: the client id at its server.
fn account(client_id: &str, base_url: Option<&str>) -> String {
    format!("{client_id}@{}", base_url.unwrap_or("pax8"))
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

fn read(path: &Path) -> Result<Option<Stored>, Failure> {
    match std::fs::read_to_string(path) {
        Ok(text) => serde_json::from_str(&text)
            .map(Some)
            .map_err(|e| Failure::usage(format!("{} is not valid ({e}); run `pax8 auth login` again", path.display()))),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(Failure::usage(format!("cannot read {}: {e}", path.display()))),
    }
}

/// The stored credentials and where their secret was kept.
pub fn load_from(path: &Path, vault: &dyn Vault) -> Result<Option<(Credentials, SecretPlace)>, Failure> {
    let Some(stored) = read(path)? else { return Ok(None) };
    let secret = match (stored.secret_in, stored.client_secret) {
        (SecretPlace::File, Some(secret)) => secret,
        (SecretPlace::File, None) => {
            return Err(Failure::usage(format!(
                "{} holds no client secret; run `pax8 auth login` again",
                path.display()
            )));
        }
        (SecretPlace::Keyring, _) => {
            vault.get(&account(&stored.client_id, stored.base_url.as_deref())).map_err(|e| {
                Failure::usage(format!(
                    "the client secret is in the OS keyring but cannot be read ({e}); run `pax8 auth login` again"
                ))
            })?
        }
    };
    let creds = Credentials {
        client_id: stored.client_id,
        client_secret: pax8_ext::SecretString::new(secret),
        base_url: stored.base_url,
    };
    Ok(Some((creds, stored.secret_in)))
}

pub fn load() -> Result<Option<(Credentials, SecretPlace)>, Failure> {
    load_from(&path()?, &OsKeyring)
}

/// Stores the credentials: the secret in the vault if it takes it, else in the file.
pub fn save_to(path: &Path, vault: &dyn Vault, creds: &Credentials) -> Result<SecretPlace, Failure> {
    let account = account(&creds.client_id, creds.base_url.as_deref());
    let place = match vault.set(&account, creds.client_secret.expose()) {
        Ok(()) => SecretPlace::Keyring,
        Err(e) => {
            tracing::debug!(error = %e, "no OS keyring; the client secret goes to the owner-only file");
            SecretPlace::File
        }
    };
    let stored = Stored {
        client_id: creds.client_id.clone(),
        client_secret: (place == SecretPlace::File).then(|| creds.client_secret.expose().to_string()),
        base_url: creds.base_url.clone(),
        secret_in: place,
    };
    let text = serde_json::to_string_pretty(&stored).map_err(|e| Failure::usage(e.to_string()))?;
    write_private(path, &text).map_err(|e| Failure::usage(format!("cannot write {}: {e}", path.display())))?;
    Ok(place)
}

pub fn save(creds: &Credentials) -> Result<(PathBuf, SecretPlace), Failure> {
    let path = path()?;
    let place = save_to(&path, &OsKeyring, creds)?;
    Ok((path, place))
}

/// Removes the file and the keyring entry it points at; says whether there was a file.
pub fn remove_from(path: &Path, vault: &dyn Vault) -> Result<bool, Failure> {
    if let Ok(Some(stored)) = read(path)
        && stored.secret_in == SecretPlace::Keyring
        && let Err(e) = vault.delete(&account(&stored.client_id, stored.base_url.as_deref()))
    {
        tracing::warn!(error = %e, "the keyring entry could not be removed");
    }
    match std::fs::remove_file(path) {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(Failure::usage(format!("cannot remove {}: {e}", path.display()))),
    }
}

pub fn remove() -> Result<bool, Failure> {
    remove_from(&path()?, &OsKeyring)
}

#[cfg(unix)]
pub fn write_private(path: &Path, text: &str) -> std::io::Result<()> {
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
pub fn write_private(path: &Path, text: &str) -> std::io::Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    std::fs::write(path, text)
}

#[cfg(test)]
mod tests {
    use std::cell::RefCell;
    use std::collections::HashMap;

    use super::*;

    /// A keyring in memory; `None` behaves like a machine without one.
    struct Memory(Option<RefCell<HashMap<String, String>>>);

    impl Vault for Memory {
        fn set(&self, account: &str, secret: &str) -> Result<(), String> {
            let map = self.0.as_ref().ok_or("no keyring")?;
            map.borrow_mut().insert(account.into(), secret.into());
            Ok(())
        }
        fn get(&self, account: &str) -> Result<String, String> {
            let map = self.0.as_ref().ok_or("no keyring")?;
            map.borrow().get(account).cloned().ok_or_else(|| "No matching entry".into())
        }
        fn delete(&self, account: &str) -> Result<(), String> {
            let map = self.0.as_ref().ok_or("no keyring")?;
            map.borrow_mut().remove(account);
            Ok(())
        }
    }

    fn creds() -> Credentials {
        Credentials {
            client_id: "id-1".into(),
            client_secret: pax8_ext::SecretString::new("s3cret-value".to_string()),
            base_url: Some("http://127.0.0.1:9".into()),
        }
    }

    #[test]
    fn with_a_keyring_the_secret_never_reaches_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("credentials.json");
        let vault = Memory(Some(RefCell::default()));
        assert_eq!(save_to(&path, &vault, &creds()).unwrap(), SecretPlace::Keyring);
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(!text.contains("s3cret-value"), "{text}");
        assert!(text.contains("\"secret_in\": \"keyring\""), "{text}");
        assert_eq!(vault.get("id-1@http://127.0.0.1:9").unwrap(), "s3cret-value");
        let (loaded, place) = load_from(&path, &vault).unwrap().unwrap();
        assert_eq!((loaded.client_secret.expose(), place), ("s3cret-value", SecretPlace::Keyring));
        assert_eq!(loaded.base_url.as_deref(), Some("http://127.0.0.1:9"));
        assert!(remove_from(&path, &vault).unwrap());
        assert!(vault.get("id-1@http://127.0.0.1:9").is_err(), "logout forgets the keyring entry");
        assert!(!remove_from(&path, &vault).unwrap());
    }

    #[test]
    fn without_a_keyring_the_secret_goes_to_the_owner_only_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("nested").join("credentials.json");
        let vault = Memory(None);
        assert_eq!(save_to(&path, &vault, &creds()).unwrap(), SecretPlace::File);
        let (loaded, place) = load_from(&path, &vault).unwrap().unwrap();
        assert_eq!((loaded.client_secret.expose(), place), ("s3cret-value", SecretPlace::File));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
        }
    }

    #[test]
    fn a_keyring_that_lost_the_secret_or_an_old_file_is_handled() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("credentials.json");
        save_to(&path, &Memory(Some(RefCell::default())), &creds()).unwrap();
        let err = load_from(&path, &Memory(Some(RefCell::default()))).unwrap_err();
        assert!(err.message.contains("in the OS keyring but cannot be read"), "{}", err.message);
        assert!(!err.message.contains("s3cret"), "{}", err.message);
        // A file written before the keyring (no `secret_in`) still loads.
        std::fs::write(&path, r#"{"client_id": "old", "client_secret": "kept"}"#).unwrap();
        let (loaded, place) = load_from(&path, &Memory(None)).unwrap().unwrap();
        assert_eq!(
            (loaded.client_id.as_str(), loaded.client_secret.expose(), place),
            ("old", "kept", SecretPlace::File)
        );
        std::fs::write(&path, r#"{"client_id": "old"}"#).unwrap();
        assert!(load_from(&path, &Memory(None)).unwrap_err().message.contains("holds no client secret"));
        assert!(format!("{:?}", creds()).contains("id-1") && !format!("{:?}", creds()).contains("s3cret"));
    }
}
