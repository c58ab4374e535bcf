//! What changed between two versions of a patched document, schema by schema and operation by
//! operation, and which changes break code that uses the generated types.
//!
//! Breaking (for Rust callers of the generated code): a schema, property, operation or enum value
//! removed; a property's type changed; a property that becomes required (a new field callers
//! must set, or an `Option` that loses its `Option`) or stops being required (a field that
//! becomes an `Option`); a parameter that becomes required. Everything else is additive: the
//! hand-written crates build generated types through builders or `Default`, and enums are open.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

/// One reported change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    /// Whether code using the generated types may stop compiling or decoding.
    pub breaking: bool,
    /// One line for a person: what changed and where.
    pub text: String,
}

impl Change {
    fn additive(text: String) -> Self {
        Self { breaking: false, text }
    }
    fn breaking(text: String) -> Self {
        Self { breaking: true, text }
    }

    /// The line as `xtask fetch` prints it.
    pub fn line(&self) -> String {
        format!("{} {}", if self.breaking { "! breaking:" } else { "+ additive:" }, self.text)
    }
}

/// The schema changes from `old` to `new` (both whole documents).
pub fn schema_changes(old: &Value, new: &Value) -> Vec<Change> {
    let schemas = |doc: &Value| doc.pointer("/components/schemas").and_then(Value::as_object).cloned();
    let (old, new) = (schemas(old).unwrap_or_default(), schemas(new).unwrap_or_default());
    let mut changes = Vec::new();
    for (name, schema) in &new {
        match old.get(name) {
            None => changes.push(Change::additive(format!("schema {name} added"))),
            Some(before) => changes.extend(schema_change(name, before, schema)),
        }
    }
    changes.extend(
        old.keys().filter(|k| !new.contains_key(*k)).map(|name| Change::breaking(format!("schema {name} removed"))),
    );
    changes
}

fn schema_change(name: &str, old: &Value, new: &Value) -> Vec<Change> {
    let mut changes = enum_changes(name, old, new);
    let properties = |s: &Value| s.get("properties").and_then(Value::as_object).cloned().unwrap_or_default();
    let required = |s: &Value| -> BTreeSet<String> {
        s.get("required")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .map(String::from)
            .collect()
    };
    let (old_props, new_props) = (properties(old), properties(new));
    let (old_req, new_req) = (required(old), required(new));
    for (prop, schema) in &new_props {
        let place = format!("{name}.{prop}");
        let now_required = new_req.contains(prop);
        match old_props.get(prop) {
            None if now_required => changes.push(Change::breaking(format!("property {place} added, required"))),
            None => changes.push(Change::additive(format!("property {place} added, optional"))),
            Some(before) => {
                let (was, is) = (type_of(before), type_of(schema));
                if was != is {
                    changes.push(Change::breaking(format!("property {place} changed type: {was} -> {is}")));
                }
                match (old_req.contains(prop), now_required) {
                    (false, true) => changes.push(Change::breaking(format!("property {place} became required"))),
                    (true, false) => changes.push(Change::breaking(format!("property {place} became optional"))),
                    _ => {}
                }
                changes.extend(enum_changes(&place, before, schema));
            }
        }
    }
    changes.extend(
        old_props
            .keys()
            .filter(|k| !new_props.contains_key(*k))
            .map(|prop| Change::breaking(format!("property {name}.{prop} removed"))),
    );
    changes
}

/// Enum values added (additive: the generated enums are open) or removed (breaking).
fn enum_changes(place: &str, old: &Value, new: &Value) -> Vec<Change> {
    let values = |s: &Value| -> Option<BTreeSet<String>> {
        let list = s.get("enum").or_else(|| s.pointer("/items/enum"))?.as_array()?;
        Some(list.iter().map(|v| v.as_str().map_or_else(|| v.to_string(), String::from)).collect())
    };
    let (Some(old), Some(new)) = (values(old), values(new)) else { return Vec::new() };
    let mut changes: Vec<Change> =
        new.difference(&old).map(|v| Change::additive(format!("enum value {place} = {v:?} added"))).collect();
    changes.extend(old.difference(&new).map(|v| Change::breaking(format!("enum value {place} = {v:?} removed"))));
    changes
}

/// A property's type as one word: a `$ref` target, `array of X`, or `type/format`.
fn type_of(schema: &Value) -> String {
    if let Some(target) = schema.get("$ref").and_then(Value::as_str) {
        return target.rsplit('/').next().unwrap_or(target).to_string();
    }
    if let Some(all_of) = schema.get("allOf").and_then(Value::as_array)
        && let [single] = all_of.as_slice()
    {
        return type_of(single);
    }
    let kind = schema.get("type").and_then(Value::as_str).unwrap_or("any");
    if kind == "array" {
        return format!("array of {}", schema.get("items").map_or_else(|| "any".to_string(), type_of));
    }
    match schema.get("format").and_then(Value::as_str) {
        Some(format) => format!("{kind}/{format}"),
        None => kind.to_string(),
    }
}

/// Parameter changes of one operation present in both versions.
pub fn parameter_changes(operation: &str, old: &Value, new: &Value) -> Vec<Change> {
    let params = |op: &Value| -> BTreeMap<String, bool> {
        op.get("parameters")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|p| {
                let name = p.get("name")?.as_str()?;
                let place = p.get("in").and_then(Value::as_str).unwrap_or("?");
                Some((format!("{place} {name}"), p.get("required").and_then(Value::as_bool).unwrap_or(false)))
            })
            .collect()
    };
    let (old, new) = (params(old), params(new));
    let mut changes = Vec::new();
    for (param, &required) in &new {
        match old.get(param) {
            None if required => {
                changes.push(Change::breaking(format!("{operation}: required parameter {param} added")))
            }
            None => changes.push(Change::additive(format!("{operation}: optional parameter {param} added"))),
            Some(false) if required => {
                changes.push(Change::breaking(format!("{operation}: parameter {param} became required")))
            }
            _ => {}
        }
    }
    changes.extend(
        old.keys()
            .filter(|k| !new.contains_key(*k))
            .map(|param| Change::breaking(format!("{operation}: parameter {param} removed"))),
    );
    changes
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn doc(schemas: Value) -> Value {
        json!({"components": {"schemas": schemas}})
    }

    fn lines(changes: &[Change]) -> Vec<String> {
        changes.iter().map(Change::line).collect()
    }

    #[test]
    fn every_kind_of_schema_change_is_reported_and_marked() {
        let old = doc(json!({
            "Company": {"required": ["name", "phone"], "properties": {
                "name": {"type": "string"}, "phone": {"type": "string"}, "size": {"type": "integer"},
                "status": {"type": "string", "enum": ["Active", "Inactive"]},
                "website": {"type": "string"}, "gone": {"type": "boolean"}}},
            "Old": {"type": "object"}
        }));
        let new = doc(json!({
            "Company": {"required": ["name", "website"], "properties": {
                "name": {"type": "string"}, "phone": {"type": "string"}, "size": {"type": "string"},
                "status": {"type": "string", "enum": ["Active", "Paused"]},
                "website": {"type": "string"}, "loyaltyTier": {"type": "string"}, "owner": {"$ref": "#/components/schemas/Owner"}}},
            "Owner": {"type": "object"}
        }));
        let mut got = lines(&schema_changes(&old, &new));
        got.sort();
        let mut want = vec![
            "+ additive: property Company.loyaltyTier added, optional",
            "+ additive: property Company.owner added, optional",
            "! breaking: property Company.size changed type: integer -> string",
            "! breaking: property Company.phone became optional",
            "! breaking: property Company.website became required",
            "+ additive: enum value Company.status = \"Paused\" added",
            "! breaking: enum value Company.status = \"Inactive\" removed",
            "! breaking: property Company.gone removed",
            "+ additive: schema Owner added",
            "! breaking: schema Old removed",
        ];
        want.sort();
        assert_eq!(got, want);
    }

    #[test]
    fn a_new_required_property_is_breaking_and_identical_schemas_report_nothing() {
        let old = doc(json!({"A": {"properties": {"x": {"type": "string", "format": "uuid"}}}}));
        let new = doc(
            json!({"A": {"required": ["y"], "properties": {"x": {"type": "string", "format": "uuid"}, "y": {"type": "array", "items": {"$ref": "#/components/schemas/B"}}}}}),
        );
        assert_eq!(lines(&schema_changes(&old, &new)), ["! breaking: property A.y added, required"]);
        assert!(schema_changes(&new, &new).is_empty());
        assert!(schema_changes(&json!({}), &json!({})).is_empty());
    }

    #[test]
    fn types_are_named_by_reference_array_and_format() {
        assert_eq!(type_of(&json!({"$ref": "#/components/schemas/Address"})), "Address");
        assert_eq!(type_of(&json!({"allOf": [{"$ref": "#/components/schemas/Address"}]})), "Address");
        assert_eq!(type_of(&json!({"type": "array", "items": {"type": "string"}})), "array of string");
        assert_eq!(type_of(&json!({"type": "string", "format": "date"})), "string/date");
        assert_eq!(type_of(&json!({})), "any");
        // Two-element allOf is not one type.
        assert_eq!(type_of(&json!({"allOf": [{"type": "string"}, {"type": "integer"}]})), "any");
    }

    #[test]
    fn enum_values_on_array_items_count_too() {
        let old =
            doc(json!({"A": {"properties": {"tags": {"type": "array", "items": {"type": "string", "enum": ["a"]}}}}}));
        let new = doc(
            json!({"A": {"properties": {"tags": {"type": "array", "items": {"type": "string", "enum": ["a", "b"]}}}}}),
        );
        assert_eq!(lines(&schema_changes(&old, &new)), ["+ additive: enum value A.tags = \"b\" added"]);
    }

    #[test]
    fn parameters_added_removed_and_made_required() {
        let old = json!({"parameters": [
            {"name": "page", "in": "query"}, {"name": "size", "in": "query", "required": false},
            {"name": "gone", "in": "header"}]});
        let new = json!({"parameters": [
            {"name": "page", "in": "query"}, {"name": "size", "in": "query", "required": true},
            {"name": "tier", "in": "query"}, {"name": "tenant", "in": "path", "required": true}]});
        let mut got = lines(&parameter_changes("GET /companies", &old, &new));
        got.sort();
        let mut want = vec![
            "! breaking: GET /companies: parameter query size became required",
            "+ additive: GET /companies: optional parameter query tier added",
            "! breaking: GET /companies: required parameter path tenant added",
            "! breaking: GET /companies: parameter header gone removed",
        ];
        want.sort();
        assert_eq!(got, want);
        assert!(parameter_changes("x", &new, &new).is_empty());
    }
}
