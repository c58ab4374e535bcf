//! What more than one test binary here needs from the simulator.

use pax8_sandbox::Sandbox;
use serde_json::{Value, json};

/// An access token from the simulator's token endpoint, asked for as a Pax8 client would.
pub async fn access_token(http: &reqwest::Client, sandbox: &Sandbox) -> String {
    let token: Value = http
        .post(format!("{}/v1/token", sandbox.base_url()))
        .json(&json!({"client_id": sandbox.client_id(), "client_secret": sandbox.client_secret(),
            "audience": "https://api.pax8.com", "grant_type": "client_credentials"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    token["access_token"].as_str().unwrap().to_string()
}
