//! JSON pointers (RFC 6901) and walking the operations of a document.

use serde_json::Value;

/// The HTTP methods an OpenAPI path item can hold, in the order the pipeline visits them.
pub const METHODS: [&str; 8] = ["get", "put", "post", "delete", "options", "head", "patch", "trace"];

/// Escapes one reference token.
pub fn escape(token: &str) -> String {
    token.replace('~', "~0").replace('/', "~1")
}

/// Joins reference tokens into a pointer.
pub fn join<'a>(tokens: impl IntoIterator<Item = &'a str>) -> String {
    tokens.into_iter().map(|t| format!("/{}", escape(t))).collect()
}

/// Splits a pointer into unescaped reference tokens.
pub fn split(pointer: &str) -> Result<Vec<String>, String> {
    if pointer.is_empty() {
        return Ok(Vec::new());
    }
    let Some(rest) = pointer.strip_prefix('/') else {
        return Err(format!("`{pointer}` is not a JSON pointer (must start with `/`)"));
    };
    Ok(rest.split('/').map(|t| t.replace("~1", "/").replace("~0", "~")).collect())
}

/// `(path, method)` of every operation, in document order.
pub fn operations(doc: &Value) -> Vec<(String, String)> {
    let mut out = Vec::new();
    if let Some(paths) = doc.get("paths").and_then(Value::as_object) {
        for (path, item) in paths {
            if let Some(item) = item.as_object() {
                for (method, _) in item.iter().filter(|(m, _)| METHODS.contains(&m.as_str())) {
                    out.push((path.clone(), method.clone()));
                }
            }
        }
    }
    out
}

/// Pointer of an operation object.
pub fn operation_pointer(path: &str, method: &str) -> String {
    join(["paths", path, method])
}
