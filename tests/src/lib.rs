//! Shared helpers of the workspace-level tests.
#![forbid(unsafe_code)]

use std::path::{Path, PathBuf};

/// The workspace root.
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("tests/ is inside the workspace").to_path_buf()
}

/// Folder holding the unmodified upstream documents: `spec/upstream/` once `cargo xtask fetch` ran,
/// else the shared copies beside the checkout (`../shared/pax8-openapi`).
pub fn upstream_dir() -> PathBuf {
    let root = workspace_root();
    let fetched = root.join("spec/upstream");
    if fetched.join("partner-endpoints.json").is_file() {
        return fetched;
    }
    let shared = root.join("../shared/pax8-openapi");
    assert!(
        shared.join("partner-endpoints.json").is_file(),
        "no upstream documents: run `cargo xtask fetch` (or `cargo xtask fetch --from ../shared/pax8-openapi`)"
    );
    shared
}
