//! Visiting every schema of a document: what the schema rules share.

use heck::ToUpperCamelCase;
use serde_json::Value;

use crate::pointer::{self, join, operation_pointer, operations};

/// Visits every schema of a document (component schemas, parameter, request and response
/// schemas, recursively through properties, items, additionalProperties and allOf/anyOf/oneOf),
/// parents before children. `visit(schema, context, pointer)` may replace the schema; returning
/// `true` stops the descent into it. `context` is an UpperCamelCase name for where the schema
/// stands: `Subscription` + property `status` -> `SubscriptionStatus`; query parameter `status` of
/// `findCompanies` -> `FindCompaniesStatus`; request bodies `{Op}Body`, responses `{Op}Response`,
/// array items `…Item`. Component schemas are visited with `context` = their name.
pub fn visit_schemas(doc: &mut Value, visit: &mut dyn FnMut(&mut Value, &str, &str) -> bool) {
    let names: Vec<String> = doc
        .pointer("/components/schemas")
        .and_then(Value::as_object)
        .map(|m| m.keys().cloned().collect())
        .unwrap_or_default();
    for name in names {
        let at = join(["components", "schemas", &name]);
        let schema = doc.pointer_mut(&at).expect("schema exists");
        visit_schema(schema, &name, &at, visit);
    }
    for (path, method) in operations(doc) {
        let at = operation_pointer(&path, &method);
        let op_name =
            doc.pointer(&format!("{at}/operationId")).and_then(Value::as_str).unwrap_or_default().to_upper_camel_case();
        let op = doc.pointer_mut(&at).expect("operation exists");
        if let Some(params) = op.get_mut("parameters").and_then(Value::as_array_mut) {
            for (i, param) in params.iter_mut().enumerate() {
                let pname = param.get("name").and_then(Value::as_str).unwrap_or_default().to_upper_camel_case();
                if let Some(schema) = param.get_mut("schema") {
                    visit_schema(schema, &format!("{op_name}{pname}"), &format!("{at}/parameters/{i}/schema"), visit);
                }
            }
        }
        if let Some(content) = op.pointer_mut("/requestBody/content").and_then(Value::as_object_mut) {
            for (media, body) in content.iter_mut() {
                if let Some(schema) = body.get_mut("schema") {
                    let s_at = format!("{at}/requestBody/content/{}/schema", pointer::escape(media));
                    visit_schema(schema, &format!("{op_name}Body"), &s_at, visit);
                }
            }
        }
        if let Some(responses) = op.get_mut("responses").and_then(Value::as_object_mut) {
            for (status, response) in responses.iter_mut() {
                let Some(content) = response.get_mut("content").and_then(Value::as_object_mut) else {
                    continue;
                };
                for (media, body) in content.iter_mut() {
                    if let Some(schema) = body.get_mut("schema") {
                        let s_at = format!("{at}/responses/{status}/content/{}/schema", pointer::escape(media));
                        visit_schema(schema, &format!("{op_name}Response"), &s_at, visit);
                    }
                }
            }
        }
    }
}

fn visit_schema(schema: &mut Value, context: &str, at: &str, visit: &mut dyn FnMut(&mut Value, &str, &str) -> bool) {
    if schema.get("$ref").is_some() || visit(schema, context, at) {
        return;
    }
    let Some(map) = schema.as_object_mut() else {
        return;
    };
    if let Some(props) = map.get_mut("properties").and_then(Value::as_object_mut) {
        for (prop, s) in props.iter_mut() {
            let p_at = format!("{at}/properties/{}", pointer::escape(prop));
            visit_schema(s, &format!("{context}{}", prop.to_upper_camel_case()), &p_at, visit);
        }
    }
    if let Some(items) = map.get_mut("items") {
        visit_schema(items, &format!("{context}Item"), &format!("{at}/items"), visit);
    }
    if let Some(extra @ Value::Object(_)) = map.get_mut("additionalProperties") {
        visit_schema(extra, &format!("{context}Value"), &format!("{at}/additionalProperties"), visit);
    }
    for key in ["allOf", "anyOf", "oneOf"] {
        if let Some(members) = map.get_mut(key).and_then(Value::as_array_mut) {
            for (i, m) in members.iter_mut().enumerate() {
                visit_schema(m, context, &format!("{at}/{key}/{i}"), visit);
            }
        }
    }
}
