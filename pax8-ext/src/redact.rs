//! Bounded, redacted excerpts of bodies for errors and logs.
//!
//! Any body quoted in an error goes through [`excerpt`]: the values of secret-looking fields
//! (`access_token`, `client_secret`, `authorization`...) are replaced, whether the JSON parses or
//! is cut short, and the text is cut to a bound on a character boundary. Bodies of the token
//! endpoint are never quoted at all (see [`crate::pipeline`]).

/// Field names whose values are never shown (compared without case, `-` and `_`).
const SECRET_FIELDS: [&str; 10] = [
    "accesstoken",
    "refreshtoken",
    "idtoken",
    "token",
    "clientsecret",
    "secret",
    "password",
    "authorization",
    "apikey",
    "bearer",
];

const REDACTED: &str = "[redacted]";

fn is_secret(name: &str) -> bool {
    let folded: String = name.chars().filter(|c| !matches!(c, '-' | '_')).flat_map(char::to_lowercase).collect();
    SECRET_FIELDS.contains(&folded.as_str())
}

/// At most `max` bytes of `bytes` as text, with secret values replaced, cut on a character
/// boundary (`…` marks a cut).
pub(crate) fn excerpt(bytes: &[u8], max: usize) -> String {
    let text = String::from_utf8_lossy(bytes);
    let clean = match serde_json::from_str::<serde_json::Value>(&text) {
        Ok(mut value) => {
            redact_value(&mut value);
            value.to_string()
        }
        Err(_) => redact_text(&text),
    };
    cut(&clean, max)
}

fn cut(text: &str, max: usize) -> String {
    if text.len() <= max {
        return text.to_string();
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &text[..end])
}

fn redact_value(value: &mut serde_json::Value) {
    match value {
        serde_json::Value::Object(map) => {
            for (key, v) in map.iter_mut() {
                if is_secret(key) {
                    *v = serde_json::Value::String(REDACTED.into());
                } else {
                    redact_value(v);
                }
            }
        }
        serde_json::Value::Array(items) => items.iter_mut().for_each(redact_value),
        _ => {}
    }
}

/// Redacts `"secret_field": <value>` in text that is not valid JSON (a body cut short, a form):
/// everything after a secret key up to the end of its value (or of the text) is replaced.
fn redact_text(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(open) = rest.find('"') {
        let after_open = &rest[open + 1..];
        let Some(close) = after_open.find('"') else {
            out.push_str(rest);
            return out;
        };
        let key = &after_open[..close];
        out.push_str(&rest[..open + 1 + close + 1]);
        rest = &after_open[close + 1..];
        let trimmed = rest.trim_start();
        if is_secret(key) && trimmed.starts_with(':') {
            out.push_str(": \"");
            out.push_str(REDACTED);
            out.push('"');
            rest = skip_value(trimmed[1..].trim_start());
        }
    }
    out.push_str(rest);
    // Form bodies and headers: `access_token=...`, `Bearer ...`.
    redact_pairs(&out)
}

/// The text after one JSON value at the start of `text` (to the end when it is cut short).
fn skip_value(text: &str) -> &str {
    if let Some(body) = text.strip_prefix('"') {
        let mut escaped = false;
        for (i, c) in body.char_indices() {
            match c {
                '\\' if !escaped => escaped = true,
                '"' if !escaped => return &body[i + 1..],
                _ => escaped = false,
            }
        }
        return "";
    }
    let end = text.find([',', '}', ']', '\n']).unwrap_or(text.len());
    &text[end..]
}

fn redact_pairs(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for (i, word) in text.split('&').enumerate() {
        if i > 0 {
            out.push('&');
        }
        match word.split_once('=') {
            Some((key, _)) if is_secret(key.trim()) => {
                out.push_str(key);
                out.push('=');
                out.push_str(REDACTED);
            }
            _ => out.push_str(word),
        }
    }
    let lower = out.to_ascii_lowercase();
    match lower.find("bearer ") {
        Some(at) => format!("{}bearer {REDACTED}", &out[..at]),
        None => out,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_values_are_replaced_in_json() {
        let body = br#"{"access_token":"eyJ-secret","expires_in":86400,"nested":{"Client-Secret":"s3"},"list":[{"password":"p"}]}"#;
        let text = excerpt(body, 512);
        for secret in ["eyJ-secret", "s3", "\"p\""] {
            assert!(!text.contains(secret), "{text}");
        }
        assert!(text.contains("86400"), "other fields stay: {text}");
    }

    #[test]
    fn secret_values_are_replaced_in_bodies_cut_short() {
        let cut_in_value = excerpt(br#"{"token_type":"Bearer","access_token":"eyJhbGciOiJIUzI1NiJ9.abc"#, 512);
        assert!(!cut_in_value.contains("eyJ"), "{cut_in_value}");
        let cut_after = excerpt(br#"{"accessToken": "eyJ-x", "expiresIn": 1e20, "scope"#, 512);
        assert!(!cut_after.contains("eyJ"), "{cut_after}");
        assert!(cut_after.contains("1e20"), "{cut_after}");
        let escaped = excerpt(br#"{"refresh_token":"a\"eyJ","x":1"#, 512);
        assert!(!escaped.contains("eyJ"), "{escaped}");
        let form = excerpt(b"grant_type=client_credentials&client_secret=hunter2", 512);
        assert!(!form.contains("hunter2") && form.contains("grant_type"), "{form}");
        let header = excerpt(b"<html>Authorization: Bearer eyJ.zzz</html>", 512);
        assert!(!header.contains("eyJ"), "{header}");
    }

    #[test]
    fn text_that_is_not_json_keeps_everything_but_the_secrets() {
        // A body cut short: the keys and other values stay exactly as they were.
        assert_eq!(
            redact_text(r#"{"token_type":"Bearer","access_token":"eyJ.x","expires_in":60,"sco"#),
            r#"{"token_type":"Bearer","access_token": "[redacted]","expires_in":60,"sco"#
        );
        // An escaped quote inside a secret does not end it early; a number value ends at its comma.
        assert_eq!(redact_text(r#"{"secret":"a\"b","n":1,"#), r#"{"secret": "[redacted]","n":1,"#);
        assert_eq!(
            redact_text(r#"{"secret":"a\\","n":1,"#),
            r#"{"secret": "[redacted]","n":1,"#,
            "an escaped backslash"
        );
        assert_eq!(redact_text(r#"{"password":12345,"user":"u""#), r#"{"password": "[redacted]","user":"u""#);
        // Form bodies: only the secret pairs change.
        assert_eq!(redact_text("a=1&client_secret=s&b=2"), "a=1&client_secret=[redacted]&b=2");
        assert_eq!(redact_text("grant_type=client_credentials"), "grant_type=client_credentials");
    }

    #[test]
    fn excerpts_are_bounded_on_a_character_boundary() {
        assert_eq!(excerpt(b"<html>bad gateway</html>", 9), "<html>bad…");
        assert_eq!(excerpt("ééé".as_bytes(), 3), "é…");
        assert_eq!(excerpt(b"short", 512), "short");
        assert_eq!(excerpt(b"", 10), "");
    }

    #[test]
    fn plain_fields_are_not_secrets() {
        for name in ["id", "name", "tokenType", "token_type", "expires_in", "message"] {
            assert!(!is_secret(name), "{name}");
        }
        for name in ["access_token", "AccessToken", "client-secret", "Authorization", "token", "API_KEY"] {
            assert!(is_secret(name), "{name}");
        }
    }
}
