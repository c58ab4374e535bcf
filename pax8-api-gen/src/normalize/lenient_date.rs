//! Rule `lenient-date`.

use serde_json::{Value, json};

use super::visit::visit_schemas;
use crate::error::{GenError, Result};
use crate::report::DocReport;

/// Names of the lenient date types that replace `format: date-time` and `format: date` schemas.
pub const TIMESTAMP_SCHEMA: &str = "Pax8Timestamp";
/// See [`TIMESTAMP_SCHEMA`].
pub const DATE_SCHEMA: &str = "Pax8Date";

/// Rule `lenient-date`: every `format: date-time` string becomes a reference to
/// [`TIMESTAMP_SCHEMA`], every `format: date` (and the documents' `yyyy-MM-dd`) one to
/// [`DATE_SCHEMA`]. The generator maps both to pax8-api's lenient `Timestamp` and `Date`, because
/// the server sends bare dates in date-time fields and offsets without a colon (`-0700`).
pub fn lenient_dates(document: &str, doc: &mut Value, report: &mut DocReport) -> Result<()> {
    let mut used = false;
    visit_schemas(doc, &mut |schema, _context, at| {
        let is_string = matches!(schema.get("type").and_then(Value::as_str), Some("string"));
        let target = match schema.get("format").and_then(Value::as_str) {
            Some("date-time") if is_string => TIMESTAMP_SCHEMA,
            Some("date" | "yyyy-MM-dd") if is_string => DATE_SCHEMA,
            _ => return false,
        };
        report.add("lenient-date", at, format!("-> {target}"));
        let reference = json!({"$ref": format!("#/components/schemas/{target}")});
        // A nullable date stays nullable (a sibling of `$ref` would be ignored).
        *schema = if schema.get("nullable") == Some(&Value::Bool(true)) {
            json!({"allOf": [reference], "nullable": true})
        } else {
            reference
        };
        used = true;
        true
    });
    let schemas = doc
        .pointer_mut("/components/schemas")
        .and_then(Value::as_object_mut)
        .ok_or_else(|| GenError::invalid(document, "no components.schemas"))?;
    for (name, format) in [(TIMESTAMP_SCHEMA, "date-time"), (DATE_SCHEMA, "date")] {
        if schemas.contains_key(name) {
            return Err(GenError::invalid(document, format!("already has a schema named {name}")));
        }
        if used {
            schemas.insert(name.into(), json!({"type": "string", "format": format}));
        }
    }
    Ok(())
}
