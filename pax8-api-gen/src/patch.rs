//! Named patches from `spec/patches/`: data, not code.
//!
//! A patch file is JSON: the document it applies to, why it exists, and a list of JSON Patch
//! (RFC 6902) operations (`add`, `remove`, `replace`, `test`) whose pointers refer to the upstream
//! document (after the 3.1 to 3.0 downgrade, before any other rule). Patches are stricter than RFC
//! 6902 so that an upstream fix is noticed: `add` refuses to overwrite an existing member, and
//! `replace`/`remove` need the target to exist. A patch that no longer applies fails the pipeline
//! with its name and the pointer.

use std::path::Path;

use serde::Deserialize;
use serde_json::Value;

use crate::error::{GenError, Result};
use crate::pointer;
use crate::report::DocReport;

/// One patch file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Patch {
    /// File stem, e.g. `partner-subscription-commitment`.
    #[serde(skip)]
    pub name: String,
    /// The document name (as in `sources.toml`) it applies to.
    pub document: String,
    /// Why the patch exists: the disagreement between spec and server, and the evidence.
    pub why: String,
    /// The operations, applied in order.
    pub ops: Vec<PatchOp>,
}

/// One JSON Patch operation.
#[derive(Debug, Clone, Deserialize)]
#[serde(tag = "op", rename_all = "lowercase", deny_unknown_fields)]
pub enum PatchOp {
    /// Adds a member that must not exist yet (or inserts into an array; `-` appends).
    Add {
        /// Target pointer.
        path: String,
        /// New value.
        value: Value,
    },
    /// Removes an existing member or array element.
    Remove {
        /// Target pointer.
        path: String,
    },
    /// Replaces an existing value.
    Replace {
        /// Target pointer.
        path: String,
        /// New value.
        value: Value,
    },
    /// Fails unless the value at `path` equals `value`.
    Test {
        /// Target pointer.
        path: String,
        /// Expected value.
        value: Value,
    },
}

impl PatchOp {
    fn path(&self) -> &str {
        match self {
            PatchOp::Add { path, .. }
            | PatchOp::Remove { path }
            | PatchOp::Replace { path, .. }
            | PatchOp::Test { path, .. } => path,
        }
    }
    fn name(&self) -> &'static str {
        match self {
            PatchOp::Add { .. } => "add",
            PatchOp::Remove { .. } => "remove",
            PatchOp::Replace { .. } => "replace",
            PatchOp::Test { .. } => "test",
        }
    }
}

/// Reads every `*.json` file of `dir` (sorted by file name, which orders the patches).
pub fn load_dir(dir: &Path) -> Result<Vec<Patch>> {
    let io = |source| GenError::Io { path: dir.to_path_buf(), source };
    let mut files: Vec<_> =
        std::fs::read_dir(dir).map_err(io)?.map(|e| e.map(|e| e.path())).collect::<std::io::Result<_>>().map_err(io)?;
    files.retain(|p| p.extension().is_some_and(|e| e == "json"));
    files.sort();
    files.iter().map(|p| load_file(p)).collect()
}

/// Reads one patch file.
pub fn load_file(path: &Path) -> Result<Patch> {
    let text = std::fs::read_to_string(path).map_err(|source| GenError::Io { path: path.to_path_buf(), source })?;
    let mut patch: Patch = serde_json::from_str(&text)
        .map_err(|e| GenError::Config { path: path.to_path_buf(), reason: e.to_string() })?;
    patch.name = path.file_stem().unwrap_or_default().to_string_lossy().into_owned();
    Ok(patch)
}

/// Applies one patch to `doc`, recording each operation in `report`.
pub fn apply(doc: &mut Value, patch: &Patch, report: &mut DocReport) -> Result<()> {
    for op in &patch.ops {
        apply_op(doc, op).map_err(|reason| GenError::PatchDoesNotApply {
            patch: patch.name.clone(),
            document: patch.document.clone(),
            pointer: op.path().to_string(),
            reason,
        })?;
        report.add(&format!("patch:{}", patch.name), op.path(), op.name());
    }
    Ok(())
}

fn apply_op(doc: &mut Value, op: &PatchOp) -> std::result::Result<(), String> {
    let tokens = pointer::split(op.path())?;
    let Some((last, parent_tokens)) = tokens.split_last() else {
        return Err("the whole document cannot be patched".into());
    };
    let mut parent = &mut *doc;
    for (depth, token) in parent_tokens.iter().enumerate() {
        parent = child_mut(parent, token).ok_or_else(|| {
            format!("`{}` does not exist", pointer::join(tokens[..=depth].iter().map(String::as_str)))
        })?;
    }
    match (op, parent) {
        (PatchOp::Add { value, .. }, Value::Object(map)) => {
            if map.contains_key(last) {
                return Err(format!("`{last}` already exists: upstream may have fixed this, remove the operation"));
            }
            map.insert(last.clone(), value.clone());
        }
        (PatchOp::Add { value, .. }, Value::Array(items)) => {
            let index = if last == "-" { items.len() } else { array_index(last, items.len() + 1)? };
            items.insert(index, value.clone());
        }
        (PatchOp::Remove { .. }, Value::Object(map)) => {
            map.shift_remove(last).ok_or_else(|| format!("`{last}` does not exist"))?;
        }
        (PatchOp::Remove { .. }, Value::Array(items)) => {
            let index = array_index(last, items.len())?;
            items.remove(index);
        }
        (PatchOp::Replace { value, .. }, parent) => {
            let target = child_mut(parent, last).ok_or_else(|| format!("`{last}` does not exist"))?;
            *target = value.clone();
        }
        (PatchOp::Test { value, .. }, parent) => {
            let target = child_mut(parent, last).ok_or_else(|| format!("`{last}` does not exist"))?;
            if target != value {
                return Err(format!("expected {value}, found {target}"));
            }
        }
        (_, other) => {
            return Err(format!("parent is a {}, not an object or array", kind(other)));
        }
    }
    Ok(())
}

fn child_mut<'a>(value: &'a mut Value, token: &str) -> Option<&'a mut Value> {
    match value {
        Value::Object(map) => map.get_mut(token),
        Value::Array(items) => {
            let len = items.len();
            array_index(token, len).ok().and_then(|i| items.get_mut(i))
        }
        _ => None,
    }
}

fn array_index(token: &str, len: usize) -> std::result::Result<usize, String> {
    match token.parse::<usize>() {
        Ok(i) if i < len && (token == "0" || !token.starts_with('0')) => Ok(i),
        _ => Err(format!("`{token}` is not an index of an array of {len}")),
    }
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn patch(ops: Value) -> Patch {
        Patch { name: "p".into(), document: "d".into(), why: "test".into(), ops: serde_json::from_value(ops).unwrap() }
    }

    #[test]
    fn applies_add_replace_remove_test() {
        let mut doc = json!({"a": {"b": 1, "list": [1, 2]}});
        let p = patch(json!([
            {"op": "test", "path": "/a/b", "value": 1},
            {"op": "replace", "path": "/a/b", "value": 2},
            {"op": "add", "path": "/a/c", "value": "x"},
            {"op": "add", "path": "/a/list/-", "value": 3},
            {"op": "remove", "path": "/a/list/0"}
        ]));
        let mut report = DocReport::default();
        apply(&mut doc, &p, &mut report).unwrap();
        assert_eq!(doc, json!({"a": {"b": 2, "list": [2, 3], "c": "x"}}));
        assert_eq!(report.changes().len(), 5);
    }

    #[test]
    fn a_patch_that_no_longer_applies_names_patch_and_pointer() {
        let mut doc = json!({"components": {"schemas": {"A": {}}}});
        let p = patch(json!([{"op": "replace", "path": "/components/schemas/B/type", "value": "x"}]));
        let err = apply(&mut doc, &p, &mut DocReport::default()).unwrap_err();
        let msg = err.to_string();
        assert!(
            matches!(err, GenError::PatchDoesNotApply { ref pointer, .. } if pointer == "/components/schemas/B/type")
        );
        assert!(
            msg.contains("patch p") && msg.contains("/components/schemas/B/type") && msg.contains("does not exist"),
            "{msg}"
        );
    }

    #[test]
    fn add_refuses_to_overwrite_so_upstream_fixes_are_noticed() {
        let mut doc = json!({"a": {"b": 1}});
        let err =
            apply(&mut doc, &patch(json!([{"op": "add", "path": "/a/b", "value": 2}])), &mut DocReport::default())
                .unwrap_err();
        assert!(err.to_string().contains("already exists"), "{err}");
    }

    #[test]
    fn failed_test_reports_expected_and_found() {
        let mut doc = json!({"a": "old"});
        let err =
            apply(&mut doc, &patch(json!([{"op": "test", "path": "/a", "value": "new"}])), &mut DocReport::default())
                .unwrap_err();
        assert!(err.to_string().contains("expected \"new\", found \"old\""), "{err}");
    }

    #[test]
    fn escaped_tokens_address_paths_with_slashes() {
        let mut doc = json!({"paths": {"/companies/{id}": {"get": {}}}});
        let p = patch(json!([{"op": "add", "path": "/paths/~1companies~1{id}/get/operationId", "value": "x"}]));
        apply(&mut doc, &p, &mut DocReport::default()).unwrap();
        assert_eq!(doc["paths"]["/companies/{id}"]["get"]["operationId"], "x");
    }

    #[test]
    fn unknown_op_is_a_parse_error() {
        assert!(serde_json::from_value::<Vec<PatchOp>>(json!([{"op": "move", "path": "/a", "from": "/b"}])).is_err());
    }
}
