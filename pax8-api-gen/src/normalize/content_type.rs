//! Rule `content-type`.

use serde_json::{Map, Value, json};

use crate::error::Result;
use crate::pointer::{operation_pointer, operations};
use crate::report::DocReport;

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
