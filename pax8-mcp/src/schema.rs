//! Tool schemas in standard JSON Schema only.
//!
//! schemars marks Rust integer widths with formats of its own (`uint32`, `uint64`, `int64`, …)
//! and floats with `double`/`float`. JSON-Schema validators in clients (ajv in the MCP
//! Inspector and the TypeScript SDK) warn on or reject formats they do not know. Every format
//! outside the JSON Schema 2020-12 list is removed; an integer width becomes the `minimum` and
//! `maximum` it means, so nothing the format said is lost. A `type` that is a list (schemars'
//! nullable fields, `["string", "null"]`) becomes `anyOf` branches of one type each, the form
//! every client's dialect can map (the MCP Inspector's portability check asks for it).

use serde_json::{Map, Value, json};

/// The formats JSON Schema 2020-12 defines (the format vocabulary).
const STANDARD_FORMATS: &[&str] = &[
    "date-time",
    "date",
    "time",
    "duration",
    "email",
    "idn-email",
    "hostname",
    "idn-hostname",
    "ipv4",
    "ipv6",
    "uri",
    "uri-reference",
    "iri",
    "iri-reference",
    "uuid",
    "uri-template",
    "json-pointer",
    "relative-json-pointer",
    "regex",
];

/// The bounds an integer format of schemars means (`None` for a format that is not one).
fn integer_bounds(format: &str) -> Option<(Value, Value)> {
    Some(match format {
        "uint8" => (json!(0), json!(u8::MAX)),
        "uint16" => (json!(0), json!(u16::MAX)),
        "uint32" => (json!(0), json!(u32::MAX)),
        "uint64" | "uint" => (json!(0), json!(u64::MAX)),
        "int8" => (json!(i8::MIN), json!(i8::MAX)),
        "int16" => (json!(i16::MIN), json!(i16::MAX)),
        "int32" => (json!(i32::MIN), json!(i32::MAX)),
        "int64" | "int" => (json!(i64::MIN), json!(i64::MAX)),
        _ => return None,
    })
}

/// Keywords that describe the whole value and stay beside `anyOf` (the rest constrain one type
/// and move into its branch).
const ANNOTATIONS: &[&str] = &[
    "title",
    "description",
    "default",
    "examples",
    "deprecated",
    "readOnly",
    "writeOnly",
    "$comment",
    "enum",
    "const",
];

/// `{"type": ["string", "null"], "maxLength": 3}` as
/// `{"anyOf": [{"type": "string", "maxLength": 3}, {"type": "null"}]}`.
fn split_type_list(schema: &mut Map<String, Value>) {
    let Some(Value::Array(types)) = schema.get("type") else { return };
    let types = types.clone();
    schema.remove("type");
    let constraints: Map<String, Value> = schema
        .iter()
        .filter(|(k, _)| !ANNOTATIONS.contains(&k.as_str()) && *k != "anyOf" && *k != "allOf")
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    schema.retain(|k, _| !constraints.contains_key(k));
    let branches: Vec<Value> = types
        .into_iter()
        .map(|t| {
            let mut branch = Map::new();
            if t != "null" {
                branch.extend(constraints.clone());
            }
            branch.insert("type".to_string(), t);
            Value::Object(branch)
        })
        .collect();
    match schema.remove("anyOf") {
        // An `anyOf` already there must hold as well.
        Some(existing) => {
            let all = schema.entry("allOf").or_insert_with(|| Value::Array(Vec::new()));
            if let Value::Array(all) = all {
                all.push(json!({"anyOf": existing}));
                all.push(json!({"anyOf": branches}));
            }
        }
        None => {
            schema.insert("anyOf".to_string(), Value::Array(branches));
        }
    }
}

/// Rewrites `schema` (and every schema inside it) to standard formats and single types only.
/// Bounds already stated are kept: a narrower `maximum` than the width's stays.
pub(crate) fn standardize(schema: &mut Map<String, Value>) {
    if let Some(Value::String(format)) = schema.get("format")
        && !STANDARD_FORMATS.contains(&format.as_str())
    {
        let bounds = integer_bounds(format);
        schema.remove("format");
        if let Some((minimum, maximum)) = bounds {
            schema.entry("minimum").or_insert(minimum);
            schema.entry("maximum").or_insert(maximum);
        }
    }
    split_type_list(schema);
    for value in schema.values_mut() {
        standardize_value(value);
    }
}

fn standardize_value(value: &mut Value) {
    match value {
        Value::Object(object) => standardize(object),
        Value::Array(items) => items.iter_mut().for_each(standardize_value),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn standardized(value: Value) -> Value {
        let Value::Object(mut object) = value else { panic!("not an object") };
        standardize(&mut object);
        Value::Object(object)
    }

    fn formats(value: &Value, found: &mut Vec<String>) {
        match value {
            Value::Object(object) => {
                if let Some(Value::String(f)) = object.get("format") {
                    found.push(f.clone());
                }
                object.values().for_each(|v| formats(v, found));
            }
            Value::Array(items) => items.iter().for_each(|v| formats(v, found)),
            _ => {}
        }
    }

    #[test]
    fn integer_widths_become_bounds() {
        let schema = json!({"type": "object", "properties": {
            "page": {"type": "integer", "format": "uint32", "minimum": 0},
            "total": {"type": ["integer", "null"], "format": "uint64", "minimum": 0},
            "offset": {"type": "integer", "format": "int64"},
            "small": {"type": "integer", "format": "uint8", "maximum": 100},
        }});
        let out = standardized(schema);
        assert_eq!(out["properties"]["page"], json!({"type": "integer", "minimum": 0, "maximum": u32::MAX}));
        assert_eq!(
            out["properties"]["total"],
            json!({"anyOf": [{"type": "integer", "minimum": 0, "maximum": u64::MAX}, {"type": "null"}]})
        );
        assert_eq!(out["properties"]["offset"], json!({"type": "integer", "minimum": i64::MIN, "maximum": i64::MAX}));
        // A bound the schema states is narrower than the width's, and kept.
        assert_eq!(out["properties"]["small"], json!({"type": "integer", "minimum": 0, "maximum": 100}));
    }

    #[test]
    fn type_lists_become_branches() {
        let schema = json!({"type": "object", "properties": {
            "name": {"type": ["string", "null"], "description": "A name.", "maxLength": 3},
            "kind": {"type": ["string", "null"], "enum": ["a", "b", null]},
            "either": {"type": ["integer", "null"], "anyOf": [{"minimum": 1}, {"maximum": -1}]},
            "plain": {"type": "string"},
        }});
        let out = standardized(schema);
        assert_eq!(
            out["properties"]["name"],
            json!({"description": "A name.", "anyOf": [{"maxLength": 3, "type": "string"}, {"type": "null"}]})
        );
        assert_eq!(
            out["properties"]["kind"],
            json!({"enum": ["a", "b", null], "anyOf": [{"type": "string"}, {"type": "null"}]})
        );
        assert_eq!(
            out["properties"]["either"],
            json!({"allOf": [
                {"anyOf": [{"minimum": 1}, {"maximum": -1}]},
                {"anyOf": [{"type": "integer"}, {"type": "null"}]},
            ]})
        );
        assert_eq!(out["properties"]["plain"], json!({"type": "string"}));
        assert_eq!(out["type"], "object");
    }

    #[test]
    fn standard_formats_stay_others_go() {
        let schema = json!({
            "$defs": {"Id": {"type": "string", "format": "uuid"}},
            "anyOf": [{"type": "string", "format": "date-time"}, {"type": "number", "format": "double"}],
            "items": {"type": "string", "format": "decimal"},
        });
        let out = standardized(schema);
        let mut found = Vec::new();
        formats(&out, &mut found);
        found.sort();
        assert_eq!(found, ["date-time", "uuid"]);
        assert_eq!(out["anyOf"][1], json!({"type": "number"}));
    }
}
