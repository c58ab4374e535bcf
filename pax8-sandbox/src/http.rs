//! Shared HTTP helpers: Pax8 error bodies, query parsing, pagination.

use std::collections::HashMap;
use std::str::FromStr;

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use pax8_api::{ErrorBody, ErrorDetail};
use serde::Serialize;
use uuid::Uuid;

/// A handler's early answer: a Pax8 error body with its status. Handlers return [`Answer`] and
/// leave with `?` when a path id, the query or the body is wrong.
#[derive(Debug)]
pub struct ApiError(Response);

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        self.0
    }
}

/// What a handler returns: its success response, or the error it answers with.
pub type Answer = Result<Response, ApiError>;

/// A JSON request body, or a 422 saying what is wrong with it.
pub fn body<T: serde::de::DeserializeOwned>(bytes: &[u8], instance: &str) -> Result<T, ApiError> {
    serde_json::from_slice(bytes).map_err(|e| invalid("body", format!("the request body is invalid: {e}"), instance))
}

/// The same JSON object as another generated type (request and response variants of one object).
pub fn convert<A: Serialize, B: serde::de::DeserializeOwned>(a: &A) -> B {
    serde_json::from_value(serde_json::to_value(a).expect("serializes")).expect("same shape")
}

/// The largest page size the v1 API allows.
pub const MAX_PAGE_SIZE: i64 = 200;

/// A Pax8 error response.
pub fn error(status: StatusCode, kind: &str, message: impl Into<String>, instance: &str) -> ApiError {
    error_with(status, kind, message, instance, Vec::new())
}

/// A Pax8 error response with field details.
pub fn error_with(
    status: StatusCode,
    kind: &str,
    message: impl Into<String>,
    instance: &str,
    details: Vec<ErrorDetail>,
) -> ApiError {
    let body = ErrorBody {
        type_: Some(kind.into()),
        message: Some(message.into()),
        instance: Some(instance.into()),
        status: Some(i64::from(status.as_u16())),
        details,
        ..Default::default()
    };
    ApiError((status, Json(body)).into_response())
}

/// A field-level failure.
pub fn detail(field: &str, message: impl Into<String>) -> ErrorDetail {
    ErrorDetail { field: Some(field.into()), message: Some(message.into()), ..Default::default() }
}

/// 404 naming the id.
pub fn not_found(what: &str, id: &str, instance: &str) -> ApiError {
    error(StatusCode::NOT_FOUND, "NOT_FOUND", format!("{what} {id} not found"), instance)
}

/// 422 with one field detail.
pub fn invalid(field: &str, message: impl Into<String>, instance: &str) -> ApiError {
    let message = message.into();
    error_with(
        StatusCode::UNPROCESSABLE_ENTITY,
        "VALIDATION_ERROR",
        format!("{field}: {message}"),
        instance,
        vec![detail(field, message)],
    )
}

/// JSON 200.
pub fn ok<T: Serialize>(value: &T) -> Answer {
    Ok(Json(value).into_response())
}

/// JSON 201.
pub fn created<T: Serialize>(value: &T) -> Answer {
    Ok((StatusCode::CREATED, Json(value)).into_response())
}

/// An answer with a status and no body (204 after a delete, 202 after a queued retry).
pub fn empty(status: StatusCode) -> Answer {
    Ok(status.into_response())
}

/// Query parameters with typed, validated access.
pub struct Query<'a> {
    pub params: &'a HashMap<String, String>,
    pub instance: &'a str,
}

impl Query<'_> {
    pub fn str(&self, name: &str) -> Option<&str> {
        self.params.get(name).map(String::as_str).filter(|v| !v.is_empty())
    }

    pub fn parse<T: FromStr>(&self, name: &str) -> Result<Option<T>, ApiError> {
        match self.str(name) {
            None => Ok(None),
            Some(v) => v.parse().map(Some).map_err(|_| invalid(name, format!("`{v}` is not valid"), self.instance)),
        }
    }

    pub fn uuid(&self, name: &str) -> Result<Option<Uuid>, ApiError> {
        self.parse(name)
    }

    pub fn bool(&self, name: &str) -> Result<Option<bool>, ApiError> {
        self.parse(name)
    }

    /// `page` (from `first`) and `size` (1..=max, default 10), or a 422.
    pub fn paging(&self, first: i64, max: i64, size_name: &str) -> Result<(i64, i64), ApiError> {
        let page = self.parse::<i64>("page")?.unwrap_or(first);
        let size = self.parse::<i64>(size_name)?.unwrap_or(10);
        if page < first {
            return Err(invalid("page", format!("must be at least {first}"), self.instance));
        }
        if !(1..=max).contains(&size) {
            return Err(invalid(size_name, format!("must be between 1 and {max}"), self.instance));
        }
        Ok((page, size))
    }
}

/// One page of `items`: `(content, total elements, total pages)`.
pub fn slice<T: Clone>(items: &[T], index: i64, size: i64) -> (Vec<T>, i64, i64) {
    let total = items.len() as i64;
    let pages = (total + size - 1) / size;
    let start = index.saturating_mul(size).min(total) as usize;
    let end = index.saturating_add(1).saturating_mul(size).min(total) as usize;
    (items[start..end].to_vec(), total, pages)
}

/// One page of borrowed `items`, cloning only that page.
pub fn slice_refs<T: Clone>(items: &[&T], index: i64, size: i64) -> (Vec<T>, i64, i64) {
    let (page, total, pages) = slice(items, index, size);
    (page.into_iter().cloned().collect(), total, pages)
}

/// `field` or `field,asc|desc` → (field, descending).
pub fn sort_spec(value: &str) -> (&str, bool) {
    match value.split_once(',') {
        Some((field, dir)) => (field, dir.eq_ignore_ascii_case("desc")),
        None => (value, false),
    }
}

/// Parses a path id (unknown or malformed ids are a 404, as Pax8 answers).
pub fn path_id(value: &str, what: &str, instance: &str) -> Result<Uuid, ApiError> {
    Uuid::parse_str(value).map_err(|_| not_found(what, value, instance))
}
