//! Generic normalization rules: each turns one kind of upstream flaw into something progenitor
//! accepts and the server agrees with. Rules are code because they apply everywhere; fixes for
//! single places are patches (see [`crate::patch`]).

use heck::ToUpperCamelCase;
use serde_json::{Map, Value, json};

use crate::error::{GenError, Result};
use crate::pointer::{self, join, operation_pointer, operations};
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

/// The operationId rule for operations that have none: the lower-case HTTP method, then each
/// path segment in UpperCamelCase, a `{parameter}` segment as `By` + its name.
/// `GET /companies/{companyId}/contacts` becomes `getCompaniesByCompanyIdContacts`, which
/// progenitor turns into the Rust method `get_companies_by_company_id_contacts`.
pub fn derived_operation_id(method: &str, path: &str) -> String {
    let mut id = method.to_ascii_lowercase();
    for segment in path.split('/').filter(|s| !s.is_empty()) {
        match segment.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
            Some(param) => {
                id.push_str("By");
                id.push_str(&param.to_upper_camel_case());
            }
            None => id.push_str(&segment.to_upper_camel_case()),
        }
    }
    id
}

/// Rule `operation-id`: gives every operation without an operationId the
/// [`derived_operation_id`], then checks that all ids of the document are unique.
pub fn fill_operation_ids(document: &str, doc: &mut Value, report: &mut DocReport) -> Result<()> {
    let mut seen: Vec<(String, String)> = Vec::new();
    for (path, method) in operations(doc) {
        let at = operation_pointer(&path, &method);
        let op = doc
            .pointer_mut(&at)
            .and_then(Value::as_object_mut)
            .ok_or_else(|| GenError::invalid(document, format!("{at} is not an operation object")))?;
        let id = match op.get("operationId").and_then(Value::as_str) {
            Some(id) if !id.is_empty() => id.to_string(),
            _ => {
                let id = derived_operation_id(&method, &path);
                op.insert("operationId".into(), json!(id));
                report.add("operation-id", format!("{at}/operationId"), format!("added `{id}`"));
                id
            }
        };
        let here = format!("{} {path}", method.to_uppercase());
        // progenitor turns ids into snake_case method names: ids equal after that collide too.
        let key = heck::ToSnakeCase::to_snake_case(id.as_str());
        if let Some((_, first)) = seen.iter().find(|(k, _)| *k == key) {
            return Err(GenError::DuplicateOperationId {
                document: document.to_string(),
                operation_id: id,
                first: first.clone(),
                second: here,
            });
        }
        seen.push((key, here));
    }
    Ok(())
}

/// Rule `content-type`: `*/*` responses and requests with a schema become `application/json`
/// (without one, the content is dropped); 204 responses lose any body; a response offering JSON
/// and other types keeps JSON (the others are reachable through pax8-ext's raw download call);
/// `multipart/form-data` request bodies become `application/octet-stream` so the generated method
/// takes a prepared body (pax8-ext builds the multipart form).
pub fn normalize_content_types(doc: &mut Value, report: &mut DocReport) -> Result<()> {
    const RULE: &str = "content-type";
    for (path, method) in operations(doc) {
        let at = operation_pointer(&path, &method);
        let op = doc.pointer_mut(&at).expect("operation exists");
        if let Some(responses) = op.get_mut("responses").and_then(Value::as_object_mut) {
            for (status, response) in responses.iter_mut() {
                let r_at = format!("{at}/responses/{status}");
                let Some(content) = response.get_mut("content").and_then(Value::as_object_mut) else {
                    continue;
                };
                if status == "204" {
                    if !content.is_empty() {
                        report.add(RULE, format!("{r_at}/content"), "204 has no body: content removed");
                    }
                    response.as_object_mut().expect("object").shift_remove("content");
                    continue;
                }
                star_to_json(content, &format!("{r_at}/content"), report);
                if content.contains_key("application/json") && content.len() > 1 {
                    let others: Vec<String> = content.keys().filter(|k| *k != "application/json").cloned().collect();
                    content.retain(|k, _| k == "application/json");
                    report.add(
                        RULE,
                        format!("{r_at}/content"),
                        format!("kept application/json, dropped {}", others.join(", ")),
                    );
                }
            }
        }
        if let Some(content) = op.pointer_mut("/requestBody/content").and_then(Value::as_object_mut) {
            let c_at = format!("{at}/requestBody/content");
            star_to_json(content, &c_at, report);
            if content.shift_remove("multipart/form-data").is_some() {
                content.insert(
                    "application/octet-stream".into(),
                    json!({"schema": {"type": "string", "format": "binary"}}),
                );
                report.add(
                    RULE,
                    format!("{c_at}/multipart~1form-data"),
                    "multipart/form-data -> application/octet-stream (pax8-ext builds the form)",
                );
            }
        }
    }
    Ok(())
}

fn star_to_json(content: &mut Map<String, Value>, at: &str, report: &mut DocReport) {
    let Some(media) = content.shift_remove("*/*") else {
        return;
    };
    if media.get("schema").is_some() && !content.contains_key("application/json") {
        content.insert("application/json".into(), media);
        report.add("content-type", format!("{at}/*~1*"), "*/* -> application/json");
    } else {
        report.add("content-type", format!("{at}/*~1*"), "*/* without schema removed");
    }
}

/// Rule `paging-integer`: query parameters `page`, `size` and `limit` typed `number` become
/// `integer` (otherwise the client sends `size=10.0`).
pub fn integer_paging_params(doc: &mut Value, report: &mut DocReport) -> Result<()> {
    for (path, method) in operations(doc) {
        let at = operation_pointer(&path, &method);
        let Some(params) = doc.pointer_mut(&format!("{at}/parameters")).and_then(Value::as_array_mut) else {
            continue;
        };
        for (i, param) in params.iter_mut().enumerate() {
            let is_paging = param.get("in").and_then(Value::as_str) == Some("query")
                && matches!(param.get("name").and_then(Value::as_str), Some("page" | "size" | "limit"));
            let Some(schema) = param.get_mut("schema").and_then(Value::as_object_mut) else {
                continue;
            };
            if is_paging && schema.get("type").and_then(Value::as_str) == Some("number") {
                schema.insert("type".into(), json!("integer"));
                schema.insert("format".into(), json!("int32"));
                for key in ["default", "minimum", "maximum"] {
                    if let Some(n) = schema.get(key).and_then(Value::as_f64) {
                        schema.insert(key.into(), json!(n as i64));
                    }
                }
                report.add("paging-integer", format!("{at}/parameters/{i}/schema/type"), "number -> integer");
            }
        }
    }
    Ok(())
}

/// Rule `non-string-enum`: enums on numbers and booleans are dropped (the server is free to send
/// another `expires_in` than the documented 86400).
pub fn drop_non_string_enums(doc: &mut Value, report: &mut DocReport) -> Result<()> {
    fn walk(value: &mut Value, at: &str, report: &mut DocReport) {
        match value {
            Value::Object(map) => {
                let typed = matches!(map.get("type").and_then(Value::as_str), Some("number" | "integer" | "boolean"));
                if typed && map.contains_key("enum") {
                    map.shift_remove("enum");
                    report.add("non-string-enum", format!("{at}/enum"), "enum on a non-string type removed");
                }
                for (k, v) in map.iter_mut() {
                    walk(v, &format!("{at}/{}", pointer::escape(k)), report);
                }
            }
            Value::Array(items) => {
                for (i, v) in items.iter_mut().enumerate() {
                    walk(v, &format!("{at}/{i}"), report);
                }
            }
            _ => {}
        }
    }
    walk(doc, "", report);
    Ok(())
}

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

/// A string enum that the generated code represents as an open enum (known variants plus
/// `Unknown(String)`), so a value the server adds later does not fail a whole response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenEnum {
    /// Component schema name (UpperCamelCase), also the Rust type name.
    pub name: String,
    /// The documented values, in document order.
    pub values: Vec<String>,
    /// The schema's description, if any.
    pub description: Option<String>,
}

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

/// Rule `no-pattern`: string `pattern`s are dropped. typify enforces them while decoding, so one
/// company whose country the server writes differently (`United States` where the pattern wants
/// `US`) would fail a whole page; validating values is the server's job.
pub fn drop_patterns(doc: &mut Value, report: &mut DocReport) -> Result<()> {
    visit_schemas(doc, &mut |schema, _context, at| {
        if let Some(map) = schema.as_object_mut()
            && let Some(pattern) = map.shift_remove("pattern")
        {
            report.add("no-pattern", format!("{at}/pattern"), format!("removed {pattern}"));
        }
        false
    });
    Ok(())
}

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

/// Name of the schema that secret-bearing string properties are pointed at.
pub const SECRET_SCHEMA: &str = "Pax8Secret";
/// Property names whose values are secrets.
pub const SECRET_PROPERTIES: [&str; 5] = ["authorization", "client_secret", "clientSecret", "password", "access_token"];

/// Rule `secret-field`: string properties that hold secrets (a webhook's `authorization` header
/// value, passwords, tokens; see [`SECRET_PROPERTIES`]) point at [`SECRET_SCHEMA`], which the
/// generator maps to `pax8_api::SecretString`: never printed by `Debug` or `Display`.
pub fn secret_fields(document: &str, doc: &mut Value, report: &mut DocReport) -> Result<()> {
    let mut used = false;
    visit_schemas(doc, &mut |schema, _context, at| {
        let Some((parent, name)) = at.rsplit_once('/') else { return false };
        let is_secret = parent.ends_with("/properties") && SECRET_PROPERTIES.contains(&name);
        if is_secret && schema.get("type").and_then(Value::as_str) == Some("string") {
            report.add("secret-field", at, format!("-> {SECRET_SCHEMA}"));
            *schema = json!({"$ref": format!("#/components/schemas/{SECRET_SCHEMA}")});
            used = true;
            return true;
        }
        false
    });
    if used {
        let schemas = doc
            .pointer_mut("/components/schemas")
            .and_then(Value::as_object_mut)
            .ok_or_else(|| GenError::invalid(document, "no components.schemas"))?;
        if schemas.contains_key(SECRET_SCHEMA) {
            return Err(GenError::invalid(document, format!("already has a schema named {SECRET_SCHEMA}")));
        }
        schemas.insert(SECRET_SCHEMA.into(), json!({"type": "string", "description": "A secret, never printed"}));
    }
    Ok(())
}

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

/// Rule `open-enum`: every string enum becomes a named component schema (inline ones are hoisted,
/// named after where they stand, see [`visit_schemas`]), and is listed so the generator replaces
/// it with an open enum.
pub fn hoist_string_enums(doc: &mut Value, report: &mut DocReport) -> Result<Vec<OpenEnum>> {
    let components: Vec<String> = doc
        .pointer("/components/schemas")
        .and_then(Value::as_object)
        .map(|m| m.keys().cloned().collect())
        .unwrap_or_default();
    let mut hoister = Hoister { taken: components, created: Vec::new(), enums: Vec::new() };
    visit_schemas(doc, &mut |schema, context, at| {
        let Some(values) = string_enum_values(schema) else {
            return false;
        };
        let component = at.strip_prefix("/components/schemas/").filter(|rest| !rest.contains('/'));
        if let Some(name) = component {
            hoister.enums.push(OpenEnum { name: name.to_string(), values, description: description(schema) });
            report.add("open-enum", at, format!("component `{name}` becomes an open enum"));
        } else {
            let name = hoister.name_for(context, &values, description(schema));
            report.add("open-enum", at, format!("hoisted to `{name}`"));
            *schema = json!({"$ref": format!("#/components/schemas/{name}")});
        }
        true
    });
    if !hoister.created.is_empty() {
        let schemas =
            doc.pointer_mut("/components/schemas").and_then(Value::as_object_mut).expect("components.schemas exists");
        for (name, schema) in hoister.created {
            schemas.insert(name, schema);
        }
    }
    Ok(hoister.enums)
}

struct Hoister {
    taken: Vec<String>,
    created: Vec<(String, Value)>,
    enums: Vec<OpenEnum>,
}

impl Hoister {
    /// A free component name for an enum with these values; an existing hoisted enum of the same
    /// name and values is reused.
    fn name_for(&mut self, context: &str, values: &[String], description: Option<String>) -> String {
        let base = context.to_upper_camel_case();
        let mut n = 1;
        loop {
            let name = if n == 1 { base.clone() } else { format!("{base}{n}") };
            if let Some(existing) = self.enums.iter().find(|e| e.name == name)
                && existing.values == values
                && self.created.iter().any(|(c, _)| *c == name)
            {
                return name;
            }
            if !self.taken.contains(&name) {
                let mut schema = json!({"type": "string", "enum": values});
                if let Some(d) = &description {
                    schema["description"] = json!(d);
                }
                self.taken.push(name.clone());
                self.created.push((name.clone(), schema));
                self.enums.push(OpenEnum { name: name.clone(), values: values.to_vec(), description });
                return name;
            }
            n += 1;
        }
    }
}

fn string_enum_values(schema: &Value) -> Option<Vec<String>> {
    let map = schema.as_object()?;
    let values = map.get("enum")?.as_array()?;
    let ty = map.get("type").and_then(Value::as_str);
    if !matches!(ty, None | Some("string")) {
        return None;
    }
    let strings: Vec<String> = values.iter().filter_map(|v| v.as_str().map(str::to_string)).collect();
    (!strings.is_empty()).then_some(strings)
}

fn description(schema: &Value) -> Option<String> {
    schema.get("description").and_then(Value::as_str).map(str::to_string)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc_with_op(op: Value) -> Value {
        json!({"openapi": "3.0.1", "info": {"title": "t", "version": "1"}, "paths": {"/things/{thingId}": {"get": op}}})
    }

    #[test]
    fn downgrade_rewrites_31_constructs() {
        let mut doc = json!({
            "openapi": "3.1.0",
            "webhooks": {},
            "components": {"schemas": {"A": {
                "type": "object",
                "properties": {
                    "n": {"type": ["string", "null"], "examples": ["x", "y"]},
                    "c": {"const": "fixed"},
                    "m": {"type": "integer", "exclusiveMinimum": 0},
                    "const": {"type": "string"}
                }
            }}}
        });
        let mut report = DocReport::default();
        downgrade_to_30(&mut doc, &mut report).unwrap();
        assert_eq!(doc["openapi"], "3.0.3");
        assert!(doc.get("webhooks").is_none());
        let props = &doc["components"]["schemas"]["A"]["properties"];
        assert_eq!(props["n"], json!({"type": "string", "nullable": true, "example": "x"}));
        assert_eq!(props["c"], json!({"enum": ["fixed"]}));
        assert_eq!(props["m"], json!({"type": "integer", "exclusiveMinimum": true, "minimum": 0}));
        assert_eq!(props["const"], json!({"type": "string"}), "a property named `const` is not a keyword");
        assert!(report.changes().iter().any(|c| c.pointer == "/components/schemas/A/properties/n/type"));
    }

    #[test]
    fn downgrade_leaves_30_documents_alone() {
        let mut doc = json!({"openapi": "3.0.1", "components": {"schemas": {"A": {"const": 1}}}});
        let before = doc.clone();
        downgrade_to_30(&mut doc, &mut DocReport::default()).unwrap();
        assert_eq!(doc, before);
    }

    #[test]
    fn derived_ids_follow_method_and_path() {
        assert_eq!(derived_operation_id("get", "/companies/{companyId}"), "getCompaniesByCompanyId");
        assert_eq!(
            derived_operation_id("delete", "/companies/{companyId}/contacts/{contactId}"),
            "deleteCompaniesByCompanyIdContactsByContactId"
        );
        assert_eq!(
            derived_operation_id("get", "/products/{productId}/provision-details"),
            "getProductsByProductIdProvisionDetails"
        );
    }

    #[test]
    fn missing_ids_are_filled_existing_kept() {
        let mut doc = json!({"paths": {
            "/a": {"get": {"operationId": "listA"}, "post": {}},
        }});
        let mut report = DocReport::default();
        fill_operation_ids("d", &mut doc, &mut report).unwrap();
        assert_eq!(doc["paths"]["/a"]["get"]["operationId"], "listA");
        assert_eq!(doc["paths"]["/a"]["post"]["operationId"], "postA");
        assert_eq!(report.changes().len(), 1);
    }

    #[test]
    fn duplicate_operation_ids_are_an_error_naming_both_operations() {
        let mut doc = json!({"paths": {
            "/a": {"get": {"operationId": "same"}},
            "/b": {"get": {"operationId": "Same"}}
        }});
        let err = fill_operation_ids("doc", &mut doc, &mut DocReport::default()).unwrap_err();
        let msg = err.to_string();
        assert!(matches!(err, GenError::DuplicateOperationId { .. }));
        assert!(msg.contains("GET /a") && msg.contains("GET /b") && msg.contains("doc"), "{msg}");
    }

    #[test]
    fn content_types_are_normalized() {
        let mut doc = json!({"paths": {"/x": {
            "get": {"responses": {
                "200": {"content": {"application/json": {"schema": {"type": "object"}}, "application/pdf": {}}},
                "204": {"content": {"*/*": {"schema": {"type": "object"}}}},
                "400": {"content": {"*/*": {"schema": {"$ref": "#/components/schemas/E"}}}}
            }},
            "post": {"requestBody": {"content": {"multipart/form-data": {"schema": {"type": "object"}}}}, "responses": {
                "201": {"content": {"*/*": {"schema": {"type": "string"}}}},
                "202": {"content": {"*/*": {}}}
            }}
        }}});
        normalize_content_types(&mut doc, &mut DocReport::default()).unwrap();
        let get = &doc["paths"]["/x"]["get"]["responses"];
        assert_eq!(get["200"]["content"].as_object().unwrap().keys().collect::<Vec<_>>(), ["application/json"]);
        assert!(get["204"].get("content").is_none());
        assert!(get["400"]["content"]["application/json"]["schema"].is_object());
        let post = &doc["paths"]["/x"]["post"];
        assert_eq!(post["requestBody"]["content"]["application/octet-stream"]["schema"]["format"], "binary");
        assert!(post["responses"]["201"]["content"]["application/json"].is_object());
        assert!(post["responses"]["202"]["content"].as_object().unwrap().is_empty());
    }

    #[test]
    fn paging_numbers_become_integers() {
        let mut doc = doc_with_op(json!({"parameters": [
            {"name": "size", "in": "query", "schema": {"type": "number", "default": 10, "maximum": 200}},
            {"name": "total", "in": "query", "schema": {"type": "number"}}
        ]}));
        integer_paging_params(&mut doc, &mut DocReport::default()).unwrap();
        let params = &doc["paths"]["/things/{thingId}"]["get"]["parameters"];
        assert_eq!(params[0]["schema"], json!({"type": "integer", "default": 10, "maximum": 200, "format": "int32"}));
        assert_eq!(params[1]["schema"]["type"], "number");
    }

    #[test]
    fn non_string_enums_are_dropped() {
        let mut doc = json!({"components": {"schemas": {"T": {"properties": {
            "expires_in": {"type": "number", "enum": [86400]},
            "kind": {"type": "string", "enum": ["a"]}
        }}}}});
        drop_non_string_enums(&mut doc, &mut DocReport::default()).unwrap();
        assert!(doc["components"]["schemas"]["T"]["properties"]["expires_in"].get("enum").is_none());
        assert!(doc["components"]["schemas"]["T"]["properties"]["kind"].get("enum").is_some());
    }

    #[test]
    fn error_responses_are_unified_and_completed() {
        let mut doc = doc_with_op(json!({"responses": {
            "200": {"description": "ok"},
            "401": {"description": "no", "content": {"application/json": {"examples": {}}}}
        }}));
        shared_error_responses("d", &mut doc, &mut DocReport::default()).unwrap();
        let responses = &doc["paths"]["/things/{thingId}"]["get"]["responses"];
        let reference = json!({"$ref": "#/components/schemas/Pax8Error"});
        assert_eq!(responses["401"]["content"]["application/json"]["schema"], reference);
        assert_eq!(responses["401"]["description"], "no");
        for status in ["429", "500", "502", "503", "504"] {
            assert_eq!(responses[status]["content"]["application/json"]["schema"], reference, "{status}");
        }
        assert!(responses["200"].get("content").is_none());
        assert!(doc["components"]["schemas"]["Pax8Error"]["properties"]["details"].is_object());
    }

    #[test]
    fn error_schema_name_clash_is_an_error() {
        let mut doc = json!({"components": {"schemas": {"Pax8Error": {}}}, "paths": {}});
        assert!(shared_error_responses("d", &mut doc, &mut DocReport::default()).is_err());
    }

    #[test]
    fn patterns_are_dropped() {
        let mut doc = json!({"components": {"schemas": {"A": {"type": "object", "properties": {
            "country": {"type": "string", "pattern": "^[A-Z]{2}$"}
        }}}}});
        drop_patterns(&mut doc, &mut DocReport::default()).unwrap();
        assert_eq!(doc["components"]["schemas"]["A"]["properties"]["country"], json!({"type": "string"}));
    }

    #[test]
    fn required_names_without_property_are_dropped() {
        let mut doc = json!({"components": {"schemas": {
            "A": {"type": "object", "required": ["id", "ghost"], "properties": {"id": {"type": "string"}}},
            "B": {"allOf": [{"$ref": "#/components/schemas/A"}], "required": ["ghost"]}
        }}});
        let mut report = DocReport::default();
        drop_undeclared_required(&mut doc, &mut report).unwrap();
        assert_eq!(doc["components"]["schemas"]["A"]["required"], json!(["id"]));
        assert_eq!(doc["components"]["schemas"]["B"]["required"], json!(["ghost"]), "composed schemas are left alone");
        assert_eq!(report.changes().len(), 1);
    }

    #[test]
    fn secret_properties_point_at_the_secret_schema() {
        let mut doc = json!({"paths": {}, "components": {"schemas": {"W": {"type": "object", "properties": {
            "authorization": {"type": "string", "description": "Bearer value"},
            "url": {"type": "string"}
        }}}}});
        secret_fields("d", &mut doc, &mut DocReport::default()).unwrap();
        let props = &doc["components"]["schemas"]["W"]["properties"];
        assert_eq!(props["authorization"], json!({"$ref": "#/components/schemas/Pax8Secret"}));
        assert_eq!(props["url"]["type"], "string");
        assert!(doc["components"]["schemas"]["Pax8Secret"].is_object());
    }

    #[test]
    fn dates_become_lenient_types() {
        let mut doc = json!({
            "paths": {"/s": {"get": {"operationId": "find", "parameters": [
                {"name": "from", "in": "query", "schema": {"type": "string", "format": "date"}}
            ], "responses": {}}}},
            "components": {"schemas": {"T": {"type": "object", "properties": {
                "at": {"type": "string", "format": "date-time", "description": "d"},
                "day": {"type": "string", "format": "yyyy-MM-dd"},
                "id": {"type": "string", "format": "uuid"},
                "gone": {"type": "string", "format": "date-time", "nullable": true}
            }}}}
        });
        lenient_dates("d", &mut doc, &mut DocReport::default()).unwrap();
        let props = &doc["components"]["schemas"]["T"]["properties"];
        assert_eq!(
            props["gone"],
            json!({"allOf": [{"$ref": "#/components/schemas/Pax8Timestamp"}], "nullable": true}),
            "a nullable date stays nullable"
        );
        assert_eq!(props["at"], json!({"$ref": "#/components/schemas/Pax8Timestamp"}));
        assert_eq!(props["day"], json!({"$ref": "#/components/schemas/Pax8Date"}));
        assert_eq!(props["id"]["format"], "uuid");
        assert_eq!(
            doc["paths"]["/s"]["get"]["parameters"][0]["schema"],
            json!({"$ref": "#/components/schemas/Pax8Date"})
        );
        assert_eq!(doc["components"]["schemas"]["Pax8Timestamp"], json!({"type": "string", "format": "date-time"}));
    }

    #[test]
    fn string_enums_are_hoisted_named_by_context_and_deduplicated() {
        let mut doc = json!({
            "paths": {"/s": {"get": {"operationId": "findThings", "parameters": [
                {"name": "status", "in": "query", "schema": {"type": "string", "enum": ["A", "B"]}}
            ], "responses": {}}}},
            "components": {"schemas": {
                "Kind": {"type": "string", "enum": ["x", "y"]},
                "Thing": {"type": "object", "properties": {
                    "status": {"type": "string", "enum": ["A", "B"], "description": "d"},
                    "tags": {"type": "array", "items": {"type": "string", "enum": ["t"]}},
                    "kind": {"$ref": "#/components/schemas/Kind"}
                }},
                "ThingStatus": {"type": "object"}
            }}
        });
        let enums = hoist_string_enums(&mut doc, &mut DocReport::default()).unwrap();
        let names: Vec<&str> = enums.iter().map(|e| e.name.as_str()).collect();
        assert_eq!(names, ["Kind", "ThingStatus2", "ThingTagsItem", "FindThingsStatus"]);
        let schemas = &doc["components"]["schemas"];
        assert_eq!(schemas["Thing"]["properties"]["status"], json!({"$ref": "#/components/schemas/ThingStatus2"}));
        assert_eq!(schemas["ThingStatus2"], json!({"type": "string", "enum": ["A", "B"], "description": "d"}));
        assert_eq!(schemas["ThingStatus"], json!({"type": "object"}), "existing names are not overwritten");
        assert_eq!(
            doc["paths"]["/s"]["get"]["parameters"][0]["schema"],
            json!({"$ref": "#/components/schemas/FindThingsStatus"})
        );
    }
}
