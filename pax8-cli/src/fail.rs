//! Failures and exit codes: usage 2, authentication 3, API 4, network 5, outcome unknown 6.

use pax8_ext::Error;

/// Exit codes.
pub mod code {
    pub const USAGE: u8 = 2;
    pub const AUTH: u8 = 3;
    pub const API: u8 = 4;
    pub const NETWORK: u8 = 5;
    /// A write may or may not have happened (its answer was lost) and could not be settled.
    pub const UNSETTLED: u8 = 6;
}

/// A failure with its message (saying what to do next) and exit code.
#[derive(Debug)]
pub struct Failure {
    pub message: String,
    pub code: u8,
}

impl Failure {
    pub fn usage(message: impl Into<String>) -> Self {
        Self { message: message.into(), code: code::USAGE }
    }
}

/// An operation's refusal or failure. `check` is the command that tells whether a write whose
/// answer was lost happened (e.g. `pax8 orders list --company ID`).
pub fn from_op(error: pax8_ext::ops::OpError, check: &str) -> Failure {
    use pax8_ext::ops::OpError;
    match error {
        OpError::Refused(message) => Failure::usage(message),
        OpError::ChooseCommitment { product, billing_term, choices } => {
            let names: Vec<&str> = choices.iter().filter_map(|c| c.term.as_deref()).collect();
            Failure::usage(format!(
                "{product} needs a commitment term and none matches `{billing_term}`: use --term with one of: {}",
                names.join(", ")
            ))
        }
        unsettled @ OpError::Unsettled { .. } => {
            Failure { message: format!("{unsettled}: check with `{check}` before retrying"), code: code::UNSETTLED }
        }
        OpError::Api(error) => error.into(),
        other => Failure { message: other.to_string(), code: code::API },
    }
}

/// The id of an object the server sent, or a failure saying it sent none (never a panic).
pub fn id_of(id: Option<uuid::Uuid>, what: &str) -> Result<uuid::Uuid, Failure> {
    id.ok_or_else(|| Failure {
        message: format!("the server sent a {what} without an id\n  hint: report it with the output of --json"),
        code: code::API,
    })
}

impl From<Error> for Failure {
    fn from(e: Error) -> Self {
        let (code, hint) = match &e {
            Error::Authentication { .. } => {
                (code::AUTH, "check the credentials (`pax8 auth status`, `pax8 auth login`)")
            }
            Error::Forbidden(_) => {
                (code::AUTH, "these credentials may not do this; check their scope in the Pax8 portal")
            }
            Error::Config(_) => (code::AUTH, "run `pax8 auth login` or set PAX8_CLIENT_ID and PAX8_CLIENT_SECRET"),
            Error::InvalidRequest(_) => (code::USAGE, "fix the arguments and try again"),
            Error::NotFound(_) => (code::API, "check the id (`list` shows the existing ones)"),
            Error::Validation(_) => (code::API, "the server refused the values; see the details above"),
            Error::RateLimited { .. } => (code::API, "Pax8 is limiting requests; wait a minute and try again"),
            Error::Timeout { .. } | Error::Transport { .. } => {
                (code::NETWORK, "check the network connection and try again")
            }
            Error::OutcomeUnknown { .. } => {
                (code::UNSETTLED, "do not repeat it blindly: list what it would have changed first")
            }
            Error::AnswerUnreadable { .. } => (code::API, "the change was made: do not repeat it"),
            _ => (code::API, "try again later; if it persists, report it with the output of --json"),
        };
        let mut message = e.to_string();
        if let Error::RateLimited { retry_after: Some(d), .. } = &e {
            message.push_str(&format!(" (retry after {} s)", d.as_secs()));
        }
        Failure { message: format!("{message}\n  hint: {hint}"), code }
    }
}

/// A mirror failure: the API's as an API failure; anything else says the sync resumes.
pub fn sync_failure(e: pax8_sync::SyncError) -> Failure {
    match e {
        pax8_sync::SyncError::Api(api) => Failure::from(api),
        busy @ pax8_sync::SyncError::Busy { .. } => Failure { message: busy.to_string(), code: code::API },
        other => Failure {
            message: format!("{other}\n  hint: run the same command again: a sync resumes where it stopped"),
            code: code::API,
        },
    }
}

/// A vault failure (a key, a tenant) is the user's to fix; the rest as [`sync_failure`].
pub fn vault_failure(e: pax8_sync::SyncError) -> Failure {
    match e {
        pax8_sync::SyncError::Vault(v) => Failure { message: v.to_string(), code: code::USAGE },
        other => sync_failure(other),
    }
}
