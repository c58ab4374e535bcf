//! Rule `non-string-enum`.

use serde_json::Value;

use crate::error::Result;
use crate::pointer::{self};
use crate::report::DocReport;

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
