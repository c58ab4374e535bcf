//! The Pax8 error body, shared by every generated module (the pipeline points every 4xx/5xx
//! response of every document at it).

use serde::{Deserialize, Serialize};

/// What Pax8 sends with a 4xx or 5xx response. OAuth failures of the token endpoint use
/// `error`/`error_description` instead of `type`/`message`. Every field is optional: bodies vary
/// between the APIs, and an error must never fail to decode.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ErrorBody {
    /// Kind of error, e.g. `NOT_FOUND`.
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub type_: Option<String>,
    /// Human readable message.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// The path called.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instance: Option<String>,
    /// HTTP status as the server saw it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<i64>,
    /// Field-level failures.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub details: Vec<ErrorDetail>,
    /// OAuth error code (token endpoint).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// OAuth error description (token endpoint).
    #[serde(rename = "error_description", default, skip_serializing_if = "Option::is_none")]
    pub error_description: Option<String>,
}

/// One failure inside an [`ErrorBody`], e.g. a field that did not validate.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorDetail {
    /// Kind of failure.
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub type_: Option<String>,
    /// The field concerned, when the server names one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// What is wrong.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// The path called.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instance: Option<String>,
    /// HTTP status.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<i64>,
}

impl std::fmt::Display for ErrorBody {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kind = self.type_.as_deref().or(self.error.as_deref()).unwrap_or("error");
        let message = self.message.as_deref().or(self.error_description.as_deref()).unwrap_or("");
        write!(f, "{kind}: {message}")?;
        for d in &self.details {
            write!(
                f,
                "; {}{}",
                d.field.as_deref().map(|x| format!("{x}: ")).unwrap_or_default(),
                d.message.as_deref().unwrap_or("")
            )?;
        }
        Ok(())
    }
}
