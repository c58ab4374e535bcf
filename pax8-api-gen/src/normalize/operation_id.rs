//! Rule `operation-id`.

use heck::ToUpperCamelCase;
use serde_json::{Value, json};

use crate::error::{GenError, Result};
use crate::pointer::{operation_pointer, operations};
use crate::report::DocReport;

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
