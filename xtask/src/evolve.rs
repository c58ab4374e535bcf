//! `cargo xtask evolve-check`: the promise that an additive upstream change never breaks a
//! hand-written crate, tested instead of hoped.
//!
//! A scratch copy of the workspace (the files git tracks or would track, and the fetched upstream documents) gets
//! a fixed synthetic additive change to the partner document: a new optional property on
//! `Company`, `Subscription` and `CreateOrder`, a new enum value, a new optional query parameter
//! and a new operation. The copy is regenerated and `cargo check --workspace` runs on it (the
//! libraries and binaries: tests may build generated types as literals).

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

use pax8_api_gen::layout;
use serde_json::{Value, json};

use crate::schema_diff;

/// Workspace crates left out of the clean-up: the same source in the copy (the generator) or
/// running now (xtask).
const UNCHANGED_CRATES: [&str; 2] = ["pax8-api-gen", "xtask"];

/// The document the synthetic change is applied to.
const DOCUMENT: &str = "partner-endpoints";

pub fn run(root: &Path) -> Result<ExitCode, String> {
    let upstream = root.join(layout::UPSTREAM);
    if !upstream.is_dir() {
        return Err(format!("{} does not exist: run `cargo xtask fetch` first", upstream.display()));
    }
    let scratch = root.join("target/evolve-check/workspace");
    if scratch.exists() {
        std::fs::remove_dir_all(&scratch).map_err(|e| format!("{}: {e}", scratch.display()))?;
    }
    copy_tracked_files(root, &scratch)?;
    let scratch_upstream = scratch.join(layout::UPSTREAM);
    copy_dir(&upstream, &scratch_upstream)?;

    let path = scratch_upstream.join(format!("{DOCUMENT}.json"));
    let mut doc: Value = serde_json::from_slice(&std::fs::read(&path).map_err(|e| format!("{}: {e}", path.display()))?)
        .map_err(|e| format!("{}: {e}", path.display()))?;
    let before = doc.clone();
    apply_additive_change(&mut doc)?;
    for change in schema_diff::schema_changes(&before, &doc) {
        println!("synthetic change: {}", change.line());
    }
    std::fs::write(&path, serde_json::to_vec_pretty(&doc).map_err(|e| e.to_string())?)
        .map_err(|e| format!("{}: {e}", path.display()))?;

    let output = pax8_api_gen::run(&scratch, &scratch_upstream).map_err(|e| e.to_string())?;
    pax8_api_gen::write(&scratch, &output).map_err(|e| e.to_string())?;
    let generated =
        std::fs::read_to_string(scratch.join("pax8-api/src/generated/partner.rs")).map_err(|e| e.to_string())?;
    for expected in ["loyalty_tier", "get_company_loyalty", "renewal_note"] {
        if !generated.contains(expected) {
            return Err(format!(
                "the regenerated partner bindings lack `{expected}`: the synthetic change did not land"
            ));
        }
    }
    println!("regenerated {} with the synthetic change; checking the workspace", scratch.display());
    // The main target directory: dependencies are already built there. Cargo hashes a path
    // package by its place in the workspace, so the copy's crates land on the main workspace's
    // own artifacts: they are removed afterwards, or the main workspace would take the copy's
    // (newer) bindings for its own.
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let status = Command::new(&cargo)
        .args(["check", "--workspace", "--locked", "--quiet"])
        .current_dir(&scratch)
        .env("CARGO_TARGET_DIR", root.join("target"))
        .status()
        .map_err(|e| format!("cannot run cargo: {e}"))?;
    let mut clean = Command::new(&cargo);
    clean.args(["clean", "--quiet"]).current_dir(&scratch).env("CARGO_TARGET_DIR", root.join("target"));
    // Every workspace crate but the generator and xtask: each may see the changed bindings.
    for crate_name in workspace_crates(&cargo, &scratch)? {
        if !UNCHANGED_CRATES.contains(&crate_name.as_str()) {
            clean.args(["-p", &crate_name]);
        }
    }
    let cleaned = clean.status().map_err(|e| format!("cannot run cargo: {e}"))?;
    if !cleaned.success() {
        return Err("cargo clean of the copy's crates failed".into());
    }
    if status.success() {
        println!("evolve-check: the workspace builds after an additive upstream change");
        Ok(ExitCode::SUCCESS)
    } else {
        eprintln!(
            "evolve-check: an additive upstream change breaks the build (above); the copy is in {}",
            scratch.display()
        );
        Ok(ExitCode::from(1))
    }
}

/// The names of the workspace's crates (`cargo metadata`), so a crate added later is cleaned too.
fn workspace_crates(cargo: &str, workspace: &Path) -> Result<Vec<String>, String> {
    let output = Command::new(cargo)
        .args(["metadata", "--no-deps", "--format-version", "1", "--locked"])
        .current_dir(workspace)
        .output()
        .map_err(|e| format!("cannot run cargo metadata: {e}"))?;
    if !output.status.success() {
        return Err(format!("cargo metadata: {}", String::from_utf8_lossy(&output.stderr).trim()));
    }
    let metadata: Value = serde_json::from_slice(&output.stdout).map_err(|e| format!("cargo metadata: {e}"))?;
    let names: Vec<String> = metadata["packages"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|p| p["name"].as_str().map(str::to_string))
        .collect();
    if names.is_empty() {
        return Err("cargo metadata lists no packages".into());
    }
    Ok(names)
}

/// The fixed synthetic change: additive only (optional properties, an enum value, an optional
/// parameter, an operation).
pub fn apply_additive_change(doc: &mut Value) -> Result<(), String> {
    add_property(doc, "Company", "loyaltyTier", json!({"type": "string", "description": "synthetic"}))?;
    add_property(doc, "Subscription", "renewalNote", json!({"type": "string", "description": "synthetic"}))?;
    add_property(doc, "CreateOrder", "loyaltyTier", json!({"type": "string", "description": "synthetic"}))?;
    let status = doc
        .pointer_mut("/components/schemas/Subscription/properties/status/enum")
        .and_then(Value::as_array_mut)
        .ok_or_else(|| format!("{DOCUMENT}: Subscription.status has no enum"))?;
    status.push(json!("Paused"));
    let parameters = doc
        .pointer_mut("/paths/~1companies/get/parameters")
        .and_then(Value::as_array_mut)
        .ok_or_else(|| format!("{DOCUMENT}: GET /companies has no parameters"))?;
    parameters.push(json!({"name": "loyaltyTier", "in": "query", "required": false, "schema": {"type": "string"}}));
    let paths =
        doc.get_mut("paths").and_then(Value::as_object_mut).ok_or_else(|| format!("{DOCUMENT} has no paths"))?;
    paths.insert(
        "/companies/{companyId}/loyalty".into(),
        json!({"get": {
            "operationId": "getCompanyLoyalty",
            "summary": "synthetic",
            "parameters": [{"name": "companyId", "in": "path", "required": true, "schema": {"type": "string", "format": "uuid"}}],
            "responses": {"200": {"description": "OK", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Company"}}}}}
        }}),
    );
    Ok(())
}

fn add_property(doc: &mut Value, schema: &str, name: &str, property: Value) -> Result<(), String> {
    let properties = doc
        .pointer_mut(&format!("/components/schemas/{schema}/properties"))
        .and_then(Value::as_object_mut)
        .ok_or_else(|| format!("{DOCUMENT}: schema {schema} has no properties"))?;
    properties.insert(name.into(), property);
    Ok(())
}

fn copy_tracked_files(root: &Path, to: &Path) -> Result<(), String> {
    let output = Command::new("git")
        .args(["ls-files", "-z", "--cached", "--others", "--exclude-standard"])
        .current_dir(root)
        .output()
        .map_err(|e| format!("cannot run git: {e}"))?;
    if !output.status.success() {
        return Err(format!("git ls-files: {}", String::from_utf8_lossy(&output.stderr).trim()));
    }
    for name in output.stdout.split(|&b| b == 0).filter(|n| !n.is_empty()) {
        let relative = PathBuf::from(String::from_utf8_lossy(name).into_owned());
        let (from, dest) = (root.join(&relative), to.join(&relative));
        if !from.is_file() {
            continue; // deleted in the working tree, or a symlink to a directory
        }
        if let Some(parent) = dest.parent() {
            std::fs::create_dir_all(parent).map_err(|e| format!("{}: {e}", parent.display()))?;
        }
        std::fs::copy(&from, &dest).map_err(|e| format!("{}: {e}", from.display()))?;
    }
    Ok(())
}

fn copy_dir(from: &Path, to: &Path) -> Result<(), String> {
    std::fs::create_dir_all(to).map_err(|e| format!("{}: {e}", to.display()))?;
    for entry in std::fs::read_dir(from).map_err(|e| format!("{}: {e}", from.display()))? {
        let entry = entry.map_err(|e| e.to_string())?;
        if entry.path().is_file() {
            std::fs::copy(entry.path(), to.join(entry.file_name())).map_err(|e| e.to_string())?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn partner() -> Value {
        json!({
            "paths": {"/companies": {"get": {"parameters": [{"name": "page", "in": "query"}]}}},
            "components": {"schemas": {
                "Company": {"properties": {"name": {"type": "string"}}},
                "Subscription": {"properties": {"status": {"type": "string", "enum": ["Active"]}}},
                "CreateOrder": {"properties": {"companyId": {"type": "string"}}}
            }}
        })
    }

    #[test]
    fn the_synthetic_change_is_additive_only_and_complete() {
        let before = partner();
        let mut after = before.clone();
        apply_additive_change(&mut after).unwrap();
        let changes = schema_diff::schema_changes(&before, &after);
        assert!(changes.iter().all(|c| !c.breaking), "{changes:?}");
        assert_eq!(changes.len(), 4, "{changes:?}");
        let params = schema_diff::parameter_changes(
            "GET /companies",
            &before["paths"]["/companies"]["get"],
            &after["paths"]["/companies"]["get"],
        );
        assert_eq!(params.len(), 1);
        assert!(!params[0].breaking);
        assert!(after["paths"]["/companies/{companyId}/loyalty"]["get"]["operationId"] == "getCompanyLoyalty");
    }

    #[test]
    fn a_document_without_the_schemas_is_refused_by_name() {
        let mut doc = json!({"paths": {}, "components": {"schemas": {}}});
        let err = apply_additive_change(&mut doc).unwrap_err();
        assert!(err.contains("Company"), "{err}");
    }
}
