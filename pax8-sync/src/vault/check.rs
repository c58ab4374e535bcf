//! "Test connection": fetch a tenant's token and count the companies it sees, and when that
//! fails, say why in plain words (wrong secret, an audience not enabled, no permission, the
//! rate limit, the network).

use serde::Serialize;

use super::Vault;
use crate::SyncError;

/// What a working connection sees.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Connected {
    /// The tenant.
    pub tenant: String,
    /// Companies its credentials can see.
    pub companies: u64,
}

/// Why a connection failed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, thiserror::Error)]
#[serde(tag = "problem", rename_all = "snake_case")]
#[non_exhaustive]
pub enum ConnectionProblem {
    /// 401 from the token endpoint.
    #[error(
        "Pax8 refused the client id and secret (401): check them in the Pax8 app's Integrations page, and add the \
         tenant again with the current secret"
    )]
    BadCredentials,
    /// 403 from the token endpoint: the audience is not enabled for these credentials.
    #[error(
        "Pax8 accepted the credentials but not for audience {audience} (403 \"Service not enabled within domain\"): \
         these credentials were made for another API; use their audience (--audience) or partner credentials"
    )]
    AudienceMismatch {
        /// The audience asked for.
        audience: String,
    },
    /// 403 from the API.
    #[error("the credentials work but may not read companies (403): give the API client partner access in Pax8")]
    Forbidden,
    /// 429.
    #[error("Pax8 is rate limiting these credentials (429): another process may be using the budget; try again later")]
    RateLimited,
    /// No answer.
    #[error("Pax8 could not be reached: {0}")]
    Unreachable(String),
    /// Anything else.
    #[error("{0}")]
    Other(String),
}

impl Vault {
    /// Fetches the tenant's token and counts the companies it sees.
    pub async fn test(&self, name: &str) -> Result<Result<Connected, ConnectionProblem>, SyncError> {
        let info = self.info(name).await?;
        let client = self.client(name, &reqwest::Client::new()).await?;
        let answer = client.companies().list().page_size(1).page(0).await;
        Ok(match answer {
            Ok(page) => Ok(Connected {
                tenant: name.to_string(),
                companies: page.total_elements.unwrap_or(page.items.len() as u64),
            }),
            Err(e) => Err(explain(&e, info.audience.as_deref().unwrap_or(DEFAULT_AUDIENCE))),
        })
    }
}

/// The partner audience of a tenant that names none.
pub(crate) const DEFAULT_AUDIENCE: &str = "https://api.pax8.com";

/// The plain-words reason of a failed first call.
pub(crate) fn explain(e: &pax8_ext::Error, audience: &str) -> ConnectionProblem {
    use pax8_ext::Error;
    match e {
        Error::Authentication { message, api: None, .. } if message.contains("answered 403") => {
            ConnectionProblem::AudienceMismatch { audience: audience.to_string() }
        }
        Error::Authentication { .. } => ConnectionProblem::BadCredentials,
        Error::Forbidden(_) => ConnectionProblem::Forbidden,
        Error::RateLimited { .. } => ConnectionProblem::RateLimited,
        Error::Transport { .. } | Error::Timeout { .. } => ConnectionProblem::Unreachable(e.to_string()),
        other => ConnectionProblem::Other(other.to_string()),
    }
}
