//! Rule `paging-integer`.

use serde_json::{Value, json};

use crate::error::Result;
use crate::pointer::{operation_pointer, operations};
use crate::report::DocReport;

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
