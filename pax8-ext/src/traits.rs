//! What sets one API's requests apart from another's, as data the pipeline reads instead of
//! asking "is this the token endpoint?" wherever it matters.

use pax8_api::Api;

/// How the requests of an API are handled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ApiTraits {
    /// Its requests change nothing on the server, whatever their method: retried like reads,
    /// never an unknown outcome.
    pub changes_nothing: bool,
    /// Its requests carry an access token of the API's audience.
    pub carries_token: bool,
    /// Its requests take a start from the rate budget other processes share.
    pub shares_budget: bool,
    /// Its bodies may be quoted in errors (redacted): never the token endpoint's, which hold
    /// secrets.
    pub quotes_bodies: bool,
}

impl ApiTraits {
    /// The traits of `api`.
    pub(crate) const fn of(api: Api) -> ApiTraits {
        match api {
            // The token endpoint: a token request creates nothing anyone can see, carries the
            // credentials instead of a token, is paced by the process's own limiter only (it
            // is counted apart: `Pax8Client::token_requests_sent`), and its answers are secrets.
            Api::Auth => {
                ApiTraits { changes_nothing: true, carries_token: false, shares_budget: false, quotes_bodies: false }
            }
            _ => ApiTraits { changes_nothing: false, carries_token: true, shares_budget: true, quotes_bodies: true },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_token_endpoint_is_set_apart() {
        let auth = ApiTraits::of(Api::Auth);
        assert_eq!(
            (auth.changes_nothing, auth.carries_token, auth.shares_budget, auth.quotes_bodies),
            (true, false, false, false)
        );
        for api in [Api::Partner, Api::Quoting, Api::Webhooks] {
            let t = ApiTraits::of(api);
            assert_eq!(
                (t.changes_nothing, t.carries_token, t.shares_budget, t.quotes_bodies),
                (false, true, true, true)
            );
        }
    }
}
