//! Generic normalization rules: each turns one kind of upstream flaw into something progenitor
//! accepts and the server agrees with. Rules are code because they apply everywhere; fixes for
//! single places are patches (see [`crate::patch`]).
//!
//! One file per rule; `visit.rs` holds the schema walk the schema rules share.

mod content_type;
mod downgrade;
mod error_response;
mod lenient_date;
mod no_pattern;
mod non_string_enum;
mod open_enum;
mod operation_id;
mod paging_integer;
mod required_undeclared;
mod secret_field;
#[cfg(test)]
mod tests;
mod visit;

pub use content_type::normalize_content_types;
pub use downgrade::downgrade_to_30;
pub use error_response::{ERROR_DETAIL_SCHEMA, ERROR_SCHEMA, ERROR_STATUSES, shared_error_responses};
pub use lenient_date::{DATE_SCHEMA, TIMESTAMP_SCHEMA, lenient_dates};
pub use no_pattern::drop_patterns;
pub use non_string_enum::drop_non_string_enums;
pub use open_enum::{OpenEnum, hoist_string_enums};
pub use operation_id::{derived_operation_id, fill_operation_ids};
pub use paging_integer::integer_paging_params;
pub use required_undeclared::drop_undeclared_required;
pub use secret_field::{SECRET_PROPERTIES, SECRET_SCHEMA, secret_fields};
pub use visit::visit_schemas;
