//! Master keys and sealed values: XChaCha20-Poly1305 (RustCrypto `chacha20poly1305`) with a
//! random 192-bit nonce per value, the row and field it belongs to as associated data (a value
//! copied to another tenant or field does not open), and the key id in the sealed text:
//! `v1.<key id>.<base64 of nonce and ciphertext>`.
//!
//! The key is 32 random bytes in standard base64 (`openssl rand -base64 32`), from
//! `PAX8_MASTER_KEY` or a key file, never stored with the data. While a key is rotated the
//! previous ones are accepted for opening (`PAX8_PREVIOUS_MASTER_KEYS`, comma-separated, or the
//! key file's further lines); everything is sealed under the current one.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use chacha20poly1305::aead::{Aead, AeadCore, KeyInit, OsRng, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use pax8_ext::SecretString;
use sha2::Digest;

use super::VaultError;

/// One master key and its id (a fingerprint: the key cannot be derived from it).
#[derive(Clone)]
pub struct MasterKey {
    id: String,
    cipher: XChaCha20Poly1305,
}

impl std::fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MasterKey").field("id", &self.id).finish_non_exhaustive()
    }
}

impl MasterKey {
    /// A key from its standard base64 text (32 bytes once decoded).
    pub fn from_base64(text: &str) -> Result<MasterKey, VaultError> {
        let bytes = STANDARD.decode(text.trim()).map_err(|_| {
            VaultError::BadKey("a master key is 32 random bytes in standard base64 (openssl rand -base64 32)".into())
        })?;
        let key: [u8; 32] = bytes.as_slice().try_into().map_err(|_| {
            VaultError::BadKey(format!(
                "a master key is 32 bytes (openssl rand -base64 32); this one is {} bytes",
                bytes.len()
            ))
        })?;
        let digest = sha2::Sha256::digest([b"pax8-rs master key id\0".as_slice(), &key].concat());
        let id = format!("k{}", digest.iter().take(4).map(|b| format!("{b:02x}")).collect::<String>());
        Ok(MasterKey { id, cipher: XChaCha20Poly1305::new(&key.into()) })
    }

    /// The key's id, as sealed values name it.
    pub fn id(&self) -> &str {
        &self.id
    }
}

/// The current key (everything is sealed under it) and previous ones still accepted.
#[derive(Debug, Clone)]
pub struct Keyring {
    current: MasterKey,
    previous: Vec<MasterKey>,
}

impl Keyring {
    /// A keyring of one key.
    pub fn new(current: MasterKey) -> Keyring {
        Keyring { current, previous: Vec::new() }
    }

    /// Also accepts `key` for opening.
    pub fn accepting(mut self, key: MasterKey) -> Keyring {
        if key.id != self.current.id && !self.previous.iter().any(|k| k.id == key.id) {
            self.previous.push(key);
        }
        self
    }

    /// The keys from `PAX8_MASTER_KEY` and `PAX8_PREVIOUS_MASTER_KEYS`.
    pub fn from_env() -> Result<Keyring, VaultError> {
        let current = std::env::var("PAX8_MASTER_KEY").map_err(|_| {
            VaultError::BadKey(
                "no master key: set PAX8_MASTER_KEY (32 random bytes in base64: openssl rand -base64 32) or give --key-file"
                    .into(),
            )
        })?;
        let previous = std::env::var("PAX8_PREVIOUS_MASTER_KEYS").unwrap_or_default();
        Keyring::parse(&current, previous.split(','))
    }

    /// The keys in a file: the current key on the first line, previous ones on the next.
    pub fn from_file(path: &std::path::Path) -> Result<Keyring, VaultError> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| VaultError::BadKey(format!("cannot read the key file {}: {e}", path.display())))?;
        let mut lines = text.lines().map(str::trim).filter(|l| !l.is_empty() && !l.starts_with('#'));
        let current =
            lines.next().ok_or_else(|| VaultError::BadKey(format!("the key file {} holds no key", path.display())))?;
        Keyring::parse(current, lines)
    }

    fn parse<'a>(current: &str, previous: impl Iterator<Item = &'a str>) -> Result<Keyring, VaultError> {
        let mut ring = Keyring::new(MasterKey::from_base64(current)?);
        for key in previous.map(str::trim).filter(|k| !k.is_empty()) {
            ring = ring.accepting(MasterKey::from_base64(key)?);
        }
        Ok(ring)
    }

    /// The id everything is sealed under.
    pub fn current_id(&self) -> &str {
        &self.current.id
    }

    fn ids(&self) -> Vec<String> {
        std::iter::once(&self.current).chain(&self.previous).map(|k| k.id.clone()).collect()
    }

    /// `plain` sealed under the current key, bound to `context` (the row and field).
    pub(crate) fn seal(&self, plain: &str, context: &str) -> Result<String, VaultError> {
        let nonce = XChaCha20Poly1305::generate_nonce(&mut OsRng);
        let sealed = self
            .current
            .cipher
            .encrypt(&nonce, Payload { msg: plain.as_bytes(), aad: context.as_bytes() })
            .map_err(|_| VaultError::Corrupt { context: context.to_string() })?;
        Ok(format!("v1.{}.{}", self.current.id, STANDARD.encode([nonce.as_slice(), &sealed].concat())))
    }

    /// The key id a sealed value names.
    pub(crate) fn key_of(sealed: &str) -> Option<&str> {
        let mut parts = sealed.splitn(3, '.');
        (parts.next() == Some("v1")).then(|| parts.next()).flatten()
    }

    /// Opens a value sealed for `context` under any key of the ring.
    pub(crate) fn open(&self, sealed: &str, context: &str) -> Result<SecretString, VaultError> {
        let corrupt = || VaultError::Corrupt { context: context.to_string() };
        let mut parts = sealed.splitn(3, '.');
        let (Some("v1"), Some(key_id), Some(body)) = (parts.next(), parts.next(), parts.next()) else {
            return Err(corrupt());
        };
        let key = std::iter::once(&self.current).chain(&self.previous).find(|k| k.id == key_id).ok_or_else(|| {
            VaultError::UnknownKey { context: context.to_string(), key_id: key_id.to_string(), known: self.ids() }
        })?;
        let bytes = STANDARD.decode(body).map_err(|_| corrupt())?;
        if bytes.len() < 24 {
            return Err(corrupt());
        }
        let (nonce, ciphertext) = bytes.split_at(24);
        let plain = key
            .cipher
            .decrypt(XNonce::from_slice(nonce), Payload { msg: ciphertext, aad: context.as_bytes() })
            .map_err(|_| corrupt())?;
        String::from_utf8(plain).map(SecretString::new).map_err(|_| corrupt())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
    const B: &str = "ICEiIyQlJicoKSorLC0uLzAxMjM0NTY3ODk6Ozw9Pj8=";

    #[test]
    fn a_sealed_value_opens_only_with_its_key_and_its_context() {
        let a = Keyring::new(MasterKey::from_base64(A).unwrap());
        let sealed = a.seal("s3cr3t", "tenants/acme/client_secret").unwrap();
        assert!(sealed.starts_with(&format!("v1.{}.", a.current_id())), "{sealed}");
        assert!(!sealed.contains("s3cr3t"));
        assert_ne!(sealed, a.seal("s3cr3t", "tenants/acme/client_secret").unwrap(), "a fresh nonce each time");
        assert_eq!(a.open(&sealed, "tenants/acme/client_secret").unwrap().expose(), "s3cr3t");
        assert!(matches!(a.open(&sealed, "tenants/other/client_secret"), Err(VaultError::Corrupt { .. })));
        let b = Keyring::new(MasterKey::from_base64(B).unwrap());
        let Err(VaultError::UnknownKey { key_id, known, .. }) = b.open(&sealed, "tenants/acme/client_secret") else {
            panic!("another key must not open it")
        };
        assert_eq!((key_id.as_str(), known), (a.current_id(), vec![b.current_id().to_string()]));
        // While rotating, the previous key still opens what it sealed.
        let both = b.clone().accepting(MasterKey::from_base64(A).unwrap());
        assert_eq!(both.open(&sealed, "tenants/acme/client_secret").unwrap().expose(), "s3cr3t");
        assert_eq!(Keyring::key_of(&sealed), Some(a.current_id()));
        let mut tampered = sealed.clone();
        tampered.pop();
        tampered.push(if sealed.ends_with('A') { 'B' } else { 'A' });
        assert!(a.open(&tampered, "tenants/acme/client_secret").is_err());
        assert!(a.open("v1.nope", "x").is_err() && a.open("plain", "x").is_err());
    }

    #[test]
    fn a_keyring_holds_each_key_once_and_reads_key_files_and_lists() {
        let (a, b) = (MasterKey::from_base64(A).unwrap(), MasterKey::from_base64(B).unwrap());
        let ring = Keyring::new(a.clone()).accepting(a.clone()).accepting(b.clone()).accepting(b.clone());
        assert_eq!(ring.ids(), [a.id().to_string(), b.id().to_string()]);
        let dir = std::env::temp_dir().join(format!("pax8-keys-{}", uuid::Uuid::new_v4()));
        std::fs::write(&dir, format!("# the current key\n\n{B}\n# the previous one\n{A}\n\n")).unwrap();
        let from_file = Keyring::from_file(&dir).unwrap();
        std::fs::remove_file(&dir).unwrap();
        assert_eq!(from_file.ids(), [b.id().to_string(), a.id().to_string()]);
        // Empty entries of a comma-separated list are skipped, not refused.
        let listed = Keyring::parse(A, [" ", B, ""].into_iter()).unwrap();
        assert_eq!(listed.ids(), [a.id().to_string(), b.id().to_string()]);
        // A body shorter than a nonce is corrupt, not a panic.
        let short = format!("v1.{}.AAAA", a.id());
        assert!(matches!(Keyring::new(a).open(&short, "x"), Err(VaultError::Corrupt { .. })));
    }

    #[test]
    fn keys_are_32_bytes_of_base64_and_their_ids_show_nothing_of_them() {
        assert!(matches!(MasterKey::from_base64("not base64!"), Err(VaultError::BadKey(_))));
        let Err(VaultError::BadKey(short)) = MasterKey::from_base64("AAEC") else { panic!() };
        assert!(short.contains("3 bytes"), "{short}");
        let key = MasterKey::from_base64(A).unwrap();
        assert_eq!(key.id().len(), 9);
        assert!(!format!("{key:?}").contains(A) && format!("{key:?}").contains(key.id()));
        assert_ne!(key.id(), MasterKey::from_base64(B).unwrap().id());
    }
}
