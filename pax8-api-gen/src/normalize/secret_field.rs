//! Rule `secret-field`.

use serde_json::{Value, json};

use super::visit::visit_schemas;
use crate::error::{GenError, Result};
use crate::report::DocReport;

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
