//! `spec/sources.toml`: which documents exist, where they come from, which version is in use.

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::error::{GenError, Result};

/// The parsed `sources.toml`.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq, Eq)]
pub struct Sources {
    /// The documents, in generation order.
    #[serde(rename = "document")]
    pub documents: Vec<Source>,
}

/// One upstream document.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Source {
    /// File stem in `spec/upstream/` and `spec/`.
    pub name: String,
    /// Rust module (and cargo feature) in pax8-api.
    pub module: String,
    /// Canonical download address.
    pub url: String,
    /// sha256 (hex) of the upstream version the committed files were generated from.
    pub sha256: String,
}

impl Sources {
    /// Reads and validates `sources.toml`.
    pub fn load(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|source| GenError::Io { path: path.to_path_buf(), source })?;
        Self::parse(&text).map_err(|reason| GenError::Config { path: path.to_path_buf(), reason })
    }

    /// Parses and validates the TOML text.
    pub fn parse(text: &str) -> std::result::Result<Self, String> {
        let sources: Sources = toml::from_str(text).map_err(|e| e.to_string())?;
        for (i, s) in sources.documents.iter().enumerate() {
            if sources.documents[..i].iter().any(|o| o.name == s.name || o.module == s.module) {
                return Err(format!("document `{}` (module `{}`) is listed twice", s.name, s.module));
            }
            if s.sha256.len() != 64 || !s.sha256.bytes().all(|b| b.is_ascii_hexdigit()) {
                return Err(format!("document `{}`: sha256 is not 64 hex digits", s.name));
            }
        }
        Ok(sources)
    }

    /// Serializes back to TOML (used by `fetch --accept`), keeping the header comment.
    pub fn to_toml(&self, header: &str) -> String {
        let body = toml::to_string(self).expect("sources serialize");
        format!("{header}{body}")
    }
}

/// Hex sha256 of some bytes.
pub fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
}
