//! Rule `error-response`.

use serde_json::{Value, json};

use crate::error::{GenError, Result};
use crate::pointer::{operation_pointer, operations};
use crate::report::DocReport;

/// Name of the shared error body schema added to every document.
pub const ERROR_SCHEMA: &str = "Pax8Error";
/// Name of the shared error detail schema.
pub const ERROR_DETAIL_SCHEMA: &str = "Pax8ErrorDetail";

/// Error statuses declared on every operation (the spec omits most of them, notably 429 and 5xx).
pub const ERROR_STATUSES: [(&str, &str); 11] = [
    ("400", "Bad request"),
    ("401", "Missing, invalid or expired access token"),
    ("403", "Forbidden"),
    ("404", "Not found"),
    ("409", "Conflict"),
    ("422", "Validation failed"),
    ("429", "Too many requests"),
    ("500", "Internal server error"),
    ("502", "Bad gateway"),
    ("503", "Service unavailable"),
    ("504", "Gateway timeout"),
];

/// Rule `error-response`: adds the shared [`ERROR_SCHEMA`] (the Pax8 error body, plus the OAuth
/// `error`/`error_description` fields) and makes every 4xx/5xx response of every operation, declared
/// or not (see [`ERROR_STATUSES`]), a JSON body of that type. progenitor needs one error type per
/// operation, so the documents' various error schemas are unified here.
pub fn shared_error_responses(document: &str, doc: &mut Value, report: &mut DocReport) -> Result<()> {
    const RULE: &str = "error-response";
    let schemas = doc
        .as_object_mut()
        .ok_or_else(|| GenError::invalid(document, "not a JSON object"))?
        .entry("components")
        .or_insert_with(|| json!({}))
        .as_object_mut()
        .ok_or_else(|| GenError::invalid(document, "components is not an object"))?
        .entry("schemas")
        .or_insert_with(|| json!({}))
        .as_object_mut()
        .ok_or_else(|| GenError::invalid(document, "components.schemas is not an object"))?;
    for name in [ERROR_SCHEMA, ERROR_DETAIL_SCHEMA] {
        if schemas.contains_key(name) {
            return Err(GenError::invalid(document, format!("already has a schema named {name}")));
        }
    }
    schemas.insert(ERROR_SCHEMA.into(), json!({
        "type": "object",
        "description": "The error body Pax8 sends with 4xx and 5xx responses (OAuth errors use `error` and `error_description`).",
        "properties": {
            "type": {"type": "string", "description": "Kind of error"},
            "message": {"type": "string", "description": "Human readable message"},
            "instance": {"type": "string", "description": "The path called"},
            "status": {"type": "integer", "description": "HTTP status"},
            "details": {"type": "array", "items": {"$ref": format!("#/components/schemas/{ERROR_DETAIL_SCHEMA}")}},
            "error": {"type": "string", "description": "OAuth error code"},
            "error_description": {"type": "string", "description": "OAuth error description"}
        }
    }));
    schemas.insert(
        ERROR_DETAIL_SCHEMA.into(),
        json!({
            "type": "object",
            "description": "One failure inside an error, e.g. a field that did not validate.",
            "properties": {
                "type": {"type": "string"},
                "field": {"type": "string"},
                "message": {"type": "string"},
                "instance": {"type": "string"},
                "status": {"type": "integer"}
            }
        }),
    );
    report.add(RULE, format!("/components/schemas/{ERROR_SCHEMA}"), "added shared error body");
    let error_content =
        json!({"application/json": {"schema": {"$ref": format!("#/components/schemas/{ERROR_SCHEMA}")}}});
    for (path, method) in operations(doc) {
        let at = operation_pointer(&path, &method);
        let op = doc.pointer_mut(&at).and_then(Value::as_object_mut).expect("operation exists");
        let responses = op.entry("responses").or_insert_with(|| json!({}));
        let Some(responses) = responses.as_object_mut() else {
            return Err(GenError::invalid(document, format!("{at}/responses is not an object")));
        };
        let mut replaced = Vec::new();
        for (status, response) in responses.iter_mut() {
            let is_error = status.starts_with('4') || status.starts_with('5');
            if is_error && let Some(obj) = response.as_object_mut() {
                obj.insert("content".into(), error_content.clone());
                replaced.push(status.clone());
            }
        }
        let mut added = Vec::new();
        for (status, description) in ERROR_STATUSES {
            if !responses.contains_key(status) {
                responses.insert(status.into(), json!({"description": description, "content": error_content.clone()}));
                added.push(status);
            }
        }
        report.add(
            RULE,
            format!("{at}/responses"),
            format!("declared [{}], added [{}]", replaced.join(","), added.join(",")),
        );
    }
    Ok(())
}
