//! Rule `required-undeclared`.

use serde_json::Value;

use super::visit::visit_schemas;
use crate::error::Result;
use crate::report::DocReport;

/// Rule `required-undeclared`: a `required` entry that names no property of an object schema
/// (`CreateLineItem.required` lists `companyId`) is removed; otherwise it generates a required
/// field of type "any" that no request can fill sensibly.
pub fn drop_undeclared_required(doc: &mut Value, report: &mut DocReport) -> Result<()> {
    visit_schemas(doc, &mut |schema, _context, at| {
        let Some(map) = schema.as_object_mut() else { return false };
        if ["allOf", "anyOf", "oneOf"].iter().any(|k| map.contains_key(*k)) {
            return false;
        }
        let Some(props) = map.get("properties").and_then(Value::as_object) else { return false };
        let names: Vec<String> = props.keys().cloned().collect();
        if let Some(required) = map.get_mut("required").and_then(Value::as_array_mut) {
            let before = required.len();
            let dropped: Vec<String> = required
                .iter()
                .filter_map(Value::as_str)
                .filter(|r| !names.iter().any(|n| n == r))
                .map(str::to_string)
                .collect();
            required.retain(|r| r.as_str().is_some_and(|r| names.iter().any(|n| n == r)));
            if required.len() != before {
                report.add("required-undeclared", format!("{at}/required"), format!("removed {}", dropped.join(", ")));
            }
        }
        false
    });
    Ok(())
}
