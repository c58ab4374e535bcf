//! The one error type of the pipeline.

use std::path::PathBuf;

/// Everything that can stop the pipeline. Each variant names the document (and where useful the
/// patch and JSON pointer) so a failure points at the exact place to look.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum GenError {
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// What the OS said.
        #[source]
        source: std::io::Error,
    },
    /// `spec/sources.toml` or a patch file is not what the pipeline expects.
    #[error("{path}: {reason}")]
    Config {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// A document is not valid JSON or not an OpenAPI document the pipeline understands.
    #[error("document {document}: invalid OpenAPI document: {reason}")]
    InvalidDocument {
        /// Document name, as in `spec/sources.toml`.
        document: String,
        /// What is wrong.
        reason: String,
    },
    /// Two operations of one document end up with the same operationId.
    #[error("document {document}: duplicate operationId `{operation_id}` ({first} and {second})")]
    DuplicateOperationId {
        /// Document name.
        document: String,
        /// The repeated id.
        operation_id: String,
        /// `METHOD /path` of the first operation.
        first: String,
        /// `METHOD /path` of the second operation.
        second: String,
    },
    /// A patch from `spec/patches/` no longer matches the upstream document.
    #[error("patch {patch} (document {document}) no longer applies at {pointer}: {reason}")]
    PatchDoesNotApply {
        /// Patch name (its file stem).
        patch: String,
        /// Document name.
        document: String,
        /// The JSON pointer that failed.
        pointer: String,
        /// Why it failed.
        reason: String,
    },
    /// progenitor refused (or panicked on) a normalized document.
    #[error("document {document}: code generation failed: {reason}")]
    Generate {
        /// Document name.
        document: String,
        /// progenitor's message.
        reason: String,
    },
}

impl GenError {
    pub(crate) fn invalid(document: &str, reason: impl Into<String>) -> Self {
        GenError::InvalidDocument { document: document.to_string(), reason: reason.into() }
    }
}

/// Result alias of the pipeline.
pub type Result<T, E = GenError> = std::result::Result<T, E>;
