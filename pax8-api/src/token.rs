//! Token endpoint bodies, hand-written so that secrets never reach `Debug` output (the
//! generated `auth` module uses these instead of generating its own).

use serde::{Deserialize, Serialize};

/// Client-credentials token request.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenRequest {
    /// The client id.
    pub client_id: String,
    /// The client secret (never printed by `Debug`).
    pub client_secret: String,
    /// `https://api.pax8.com`, `api://p8p.client`, `api://provisioning` or `api://usage`.
    pub audience: String,
    /// Always `client_credentials`.
    pub grant_type: String,
}

/// Token response. The older camelCase forms (`accessToken` or `token`, `expiresIn`,
/// `tokenType`: the token-manager form in Pax8's authentication guide) are accepted too.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
pub struct TokenResponse {
    /// The bearer token (never printed by `Debug`).
    #[serde(alias = "accessToken", alias = "token")]
    pub access_token: String,
    /// Lifetime in seconds (the documents say 86400). A number, or a string holding one;
    /// anything else reads as absent rather than failing the token.
    #[serde(
        default,
        alias = "expiresIn",
        deserialize_with = "lenient_seconds",
        skip_serializing_if = "Option::is_none"
    )]
    pub expires_in: Option<f64>,
    /// `Bearer`.
    #[serde(default, alias = "tokenType", skip_serializing_if = "Option::is_none")]
    pub token_type: Option<String>,
}

fn lenient_seconds<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<Option<f64>, D::Error> {
    Ok(match serde_json::Value::deserialize(deserializer)? {
        serde_json::Value::Number(n) => n.as_f64(),
        serde_json::Value::String(s) => s.trim().parse::<f64>().ok(),
        _ => None,
    })
}

impl std::fmt::Debug for TokenRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenRequest")
            .field("client_id", &self.client_id)
            .field("client_secret", &"[redacted]")
            .field("audience", &self.audience)
            .field("grant_type", &self.grant_type)
            .finish()
    }
}

impl std::fmt::Debug for TokenResponse {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenResponse")
            .field("access_token", &"[redacted]")
            .field("expires_in", &self.expires_in)
            .field("token_type", &self.token_type)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_spellings_and_odd_lifetimes_decode() {
        let snake: TokenResponse =
            serde_json::from_str(r#"{"access_token":"a","expires_in":86400,"token_type":"Bearer"}"#).unwrap();
        let camel: TokenResponse =
            serde_json::from_str(r#"{"accessToken":"a","expiresIn":86400,"tokenType":"Bearer"}"#).unwrap();
        assert!(snake == camel && snake.expires_in == Some(86400.0));
        let cases =
            [(r#""3600""#, Some(3600.0)), (r#""soon""#, None), ("null", None), ("1e20", Some(1e20)), ("[1]", None)];
        for (lifetime, expected) in cases {
            let body = format!(r#"{{"access_token":"a","expires_in":{lifetime}}}"#);
            let token: TokenResponse = serde_json::from_str(&body).unwrap();
            assert_eq!(token.expires_in, expected, "{lifetime}");
        }
    }

    #[test]
    fn debug_hides_secrets() {
        let req = TokenRequest {
            client_id: "id".into(),
            client_secret: "s3cr3t".into(),
            audience: "https://api.pax8.com".into(),
            grant_type: "client_credentials".into(),
        };
        let res = TokenResponse { access_token: "tok3n".into(), expires_in: Some(86400.0), token_type: None };
        let printed = format!("{req:?} {res:?}");
        assert!(!printed.contains("s3cr3t") && !printed.contains("tok3n"), "{printed}");
    }
}
