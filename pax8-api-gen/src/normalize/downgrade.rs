//! Rule `downgrade-3.1`.

use serde_json::{Map, Value, json};

use crate::error::Result;
use crate::pointer::{self, join};
use crate::report::DocReport;

/// Rule `downgrade-3.1`: OpenAPI 3.1 to 3.0.3. Rewrites the version string, `type: [X, "null"]` to
/// `type: X` + `nullable`, schema `examples` arrays to `example`, `const` to a one-value `enum`,
/// numeric `exclusiveMinimum`/`exclusiveMaximum` to the 3.0 boolean form, and drops keywords 3.0
/// lacks (`$schema`, `$id`, `contentMediaType`, `contentEncoding`, top-level `webhooks`,
/// `jsonSchemaDialect`, `info.license.identifier`).
pub fn downgrade_to_30(doc: &mut Value, report: &mut DocReport) -> Result<()> {
    let version = doc.get("openapi").and_then(Value::as_str).unwrap_or_default().to_string();
    if !version.starts_with("3.1") {
        return Ok(());
    }
    doc["openapi"] = json!("3.0.3");
    report.add("downgrade-3.1", "/openapi", format!("{version} -> 3.0.3"));
    if let Some(root) = doc.as_object_mut() {
        for key in ["webhooks", "jsonSchemaDialect"] {
            if root.shift_remove(key).is_some() {
                report.add("downgrade-3.1", join([key]), "removed (not in 3.0)");
            }
        }
    }
    if let Some(license) = doc.pointer_mut("/info/license").and_then(Value::as_object_mut)
        && license.shift_remove("identifier").is_some()
    {
        report.add("downgrade-3.1", "/info/license/identifier", "removed (not in 3.0)");
    }
    downgrade_value(doc, "", false, report);
    Ok(())
}

fn downgrade_value(value: &mut Value, at: &str, is_name_map: bool, report: &mut DocReport) {
    match value {
        Value::Object(map) => {
            if !is_name_map {
                downgrade_schema_keywords(map, at, report);
            }
            for (key, child) in map.iter_mut() {
                let child_at = format!("{at}/{}", pointer::escape(key));
                // Maps keyed by names hold schemas/objects, never keywords.
                let names = !is_name_map && matches!(key.as_str(), "properties" | "schemas" | "paths" | "responses");
                downgrade_value(child, &child_at, names, report);
            }
        }
        Value::Array(items) => {
            for (i, child) in items.iter_mut().enumerate() {
                downgrade_value(child, &format!("{at}/{i}"), false, report);
            }
        }
        _ => {}
    }
}

fn downgrade_schema_keywords(map: &mut Map<String, Value>, at: &str, report: &mut DocReport) {
    const RULE: &str = "downgrade-3.1";
    if let Some(Value::Array(types)) = map.get("type").cloned() {
        let non_null: Vec<&Value> = types.iter().filter(|t| t.as_str() != Some("null")).collect();
        let nullable = non_null.len() < types.len();
        match non_null.as_slice() {
            [single] => {
                map.insert("type".into(), (*single).clone());
            }
            _ => {
                map.shift_remove("type");
            }
        }
        if nullable {
            map.insert("nullable".into(), json!(true));
        }
        report.add(
            RULE,
            format!("{at}/type"),
            format!("type {} -> single type{}", Value::Array(types), if nullable { " + nullable" } else { "" }),
        );
    }
    if let Some(Value::Array(examples)) = map.get("examples").cloned() {
        map.shift_remove("examples");
        if let Some(first) = examples.into_iter().next() {
            map.entry("example").or_insert(first);
        }
        report.add(RULE, format!("{at}/examples"), "examples array -> example");
    }
    if let Some(value) = map.shift_remove("const") {
        map.insert("enum".into(), json!([value]));
        report.add(RULE, format!("{at}/const"), "const -> single-value enum");
    }
    for (exclusive, bound) in [("exclusiveMinimum", "minimum"), ("exclusiveMaximum", "maximum")] {
        if let Some(n @ Value::Number(_)) = map.get(exclusive).cloned() {
            map.insert(bound.into(), n);
            map.insert(exclusive.into(), json!(true));
            report.add(RULE, format!("{at}/{exclusive}"), format!("numeric {exclusive} -> {bound} + boolean"));
        }
    }
    for key in ["$schema", "$id", "contentMediaType", "contentEncoding"] {
        if map.shift_remove(key).is_some() {
            report.add(RULE, format!("{at}/{}", pointer::escape(key)), "removed (not in 3.0)");
        }
    }
}
