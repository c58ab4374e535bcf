//! A normalized, text rendering of a document's API surface, for snapshots: a spec change
//! shows up as a reviewable diff.

use heck::ToSnakeCase;
use serde_json::Value;

use crate::pointer::{operation_pointer, operations};

/// One line per operation, then its parameters, body and responses.
pub fn render(doc: &Value) -> String {
    let mut out = String::new();
    for (path, method) in operations(doc) {
        let op = doc.pointer(&operation_pointer(&path, &method)).expect("operation");
        let id = op.get("operationId").and_then(Value::as_str).unwrap_or("?");
        out.push_str(&format!("{} {path}  {id} -> {}()\n", method.to_uppercase(), id.to_snake_case()));
        for p in op.get("parameters").and_then(Value::as_array).into_iter().flatten() {
            let required = if p.get("required").and_then(Value::as_bool).unwrap_or(false) { "" } else { "?" };
            out.push_str(&format!(
                "    {} {}{required}: {}\n",
                p.get("in").and_then(Value::as_str).unwrap_or("?"),
                p.get("name").and_then(Value::as_str).unwrap_or("?"),
                describe(p.get("schema").unwrap_or(&Value::Null))
            ));
        }
        if let Some(content) = op.pointer("/requestBody/content").and_then(Value::as_object) {
            for (media, body) in content {
                out.push_str(&format!("    body {media}: {}\n", describe(body.get("schema").unwrap_or(&Value::Null))));
            }
        }
        // One line per distinct body, statuses in numeric order.
        let mut lines: Vec<(String, Vec<String>)> = Vec::new();
        let mut statuses: Vec<(&String, &Value)> =
            op.get("responses").and_then(Value::as_object).into_iter().flatten().collect();
        statuses.sort_by_key(|(status, _)| status.parse::<u16>().unwrap_or(u16::MAX));
        for (status, response) in statuses {
            let types: Vec<String> = response
                .get("content")
                .and_then(Value::as_object)
                .into_iter()
                .flatten()
                .map(|(media, m)| format!("{media} {}", describe(m.get("schema").unwrap_or(&Value::Null))))
                .collect();
            let body = if types.is_empty() { "(no body)".to_string() } else { types.join(" | ") };
            match lines.iter_mut().find(|(b, _)| *b == body) {
                Some((_, codes)) => codes.push(status.clone()),
                None => lines.push((body, vec![status.clone()])),
            }
        }
        for (body, codes) in lines {
            out.push_str(&format!("    {}: {body}\n", codes.join(",")));
        }
    }
    out
}

/// Short type description of a schema: component names for references, structure otherwise.
pub fn describe(schema: &Value) -> String {
    if let Some(r) = schema.get("$ref").and_then(Value::as_str) {
        return r.rsplit('/').next().unwrap_or(r).to_string();
    }
    let nullable = if schema.get("nullable").and_then(Value::as_bool) == Some(true) { "?" } else { "" };
    let ty = schema.get("type").and_then(Value::as_str);
    let base = match ty {
        Some("array") => format!("[{}]", describe(schema.get("items").unwrap_or(&Value::Null))),
        Some("object") | None if schema.get("properties").is_some() => {
            let props: Vec<String> = schema["properties"]
                .as_object()
                .into_iter()
                .flatten()
                .map(|(k, v)| format!("{k}: {}", describe(v)))
                .collect();
            format!("{{{}}}", props.join(", "))
        }
        Some(t) => match schema.get("format").and_then(Value::as_str) {
            Some(f) => format!("{t}({f})"),
            None => t.to_string(),
        },
        None => {
            for key in ["allOf", "anyOf", "oneOf"] {
                if let Some(members) = schema.get(key).and_then(Value::as_array) {
                    let parts: Vec<String> = members.iter().map(describe).collect();
                    return format!("{key}({})", parts.join(", "));
                }
            }
            "any".to_string()
        }
    };
    format!("{base}{nullable}")
}
