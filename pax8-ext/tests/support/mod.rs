//! A scripted HTTP/1.1 server on 127.0.0.1 for precise client tests: the token endpoint issues
//! numbered tokens, every other request gets the next scripted step (then the fallback). It runs
//! on the test's own runtime, so its delays follow paused tokio time.
#![allow(dead_code)]

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// What the server does with one request.
#[derive(Debug, Clone)]
pub enum Step {
    /// Answer with this status, headers and JSON body, after `delay`.
    Respond { status: u16, headers: Vec<(String, String)>, body: String, delay: Duration },
    /// Close the connection without reading the request (it never reached the application).
    DropBeforeRead,
    /// Read the request (it counts as received), then close without answering.
    DropAfterRead,
    /// Answer with this status and the start of `body`, announcing more bytes than are sent,
    /// then close: the body is cut short.
    Cut { status: u16, body: String },
    /// Write these bytes as the whole answer (a chunked body, say), then keep the connection.
    Raw(String),
}

impl Step {
    pub fn json(status: u16, body: serde_json::Value) -> Self {
        Step::Respond { status, headers: vec![], body: body.to_string(), delay: Duration::ZERO }
    }
    /// A body of any type (`content-type` as given), sent whole.
    pub fn text(status: u16, content_type: &str, body: &str) -> Self {
        Step::Respond {
            status,
            headers: vec![("content-type".into(), content_type.into())],
            body: body.into(),
            delay: Duration::ZERO,
        }
    }
    pub fn with_header(mut self, name: &str, value: &str) -> Self {
        if let Step::Respond { headers, .. } = &mut self {
            headers.push((name.to_string(), value.to_string()));
        }
        self
    }
    pub fn delayed(mut self, by: Duration) -> Self {
        if let Step::Respond { delay, .. } = &mut self {
            *delay = by;
        }
        self
    }
}

/// One request as received.
#[derive(Debug, Clone)]
pub struct Received {
    pub method: String,
    pub path: String,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Received {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }
}

#[derive(Default)]
struct State {
    script: VecDeque<Step>,
    fallback: Option<Step>,
    token_script: VecDeque<Step>,
    token_lifetime: u64,
    tokens_issued: u32,
    received: Vec<Received>,
    connections: u32,
}

#[derive(Clone)]
pub struct ScriptServer {
    pub base_url: String,
    state: Arc<Mutex<State>>,
}

impl ScriptServer {
    pub async fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base_url = format!("http://{}", listener.local_addr().unwrap());
        let state = Arc::new(Mutex::new(State { token_lifetime: 86400, ..State::default() }));
        let s = state.clone();
        tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else { return };
                s.lock().unwrap().connections += 1;
                tokio::spawn(serve(stream, s.clone()));
            }
        });
        Self { base_url, state }
    }

    /// Steps for the next API requests, in order.
    pub fn script(&self, steps: impl IntoIterator<Item = Step>) {
        self.state.lock().unwrap().script.extend(steps);
    }
    /// What every API request gets once the script is used up.
    pub fn fallback(&self, step: Step) {
        self.state.lock().unwrap().fallback = Some(step);
    }
    /// Steps for the next token requests (default: a new token each time).
    pub fn script_token(&self, steps: impl IntoIterator<Item = Step>) {
        self.state.lock().unwrap().token_script.extend(steps);
    }
    pub fn token_lifetime(&self, seconds: u64) {
        self.state.lock().unwrap().token_lifetime = seconds;
    }
    pub fn tokens_issued(&self) -> u32 {
        self.state.lock().unwrap().tokens_issued
    }
    /// API requests received (token requests excluded).
    pub fn received(&self) -> Vec<Received> {
        self.state.lock().unwrap().received.iter().filter(|r| !r.path.ends_with("/token")).cloned().collect()
    }
    /// Token requests received.
    pub fn token_requests(&self) -> Vec<Received> {
        self.state.lock().unwrap().received.iter().filter(|r| r.path.ends_with("/token")).cloned().collect()
    }
    /// TCP connections accepted so far.
    pub fn connections(&self) -> u32 {
        self.state.lock().unwrap().connections
    }
    pub fn api_calls(&self) -> usize {
        self.received().len()
    }
}

async fn serve(mut stream: TcpStream, state: Arc<Mutex<State>>) {
    loop {
        // Peek at the script before reading: a DropBeforeRead closes an unread connection.
        let mut buf = Vec::new();
        let mut chunk = [0u8; 4096];
        let header_end = loop {
            if let Some(pos) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                break pos + 4;
            }
            match stream.read(&mut chunk).await {
                Ok(0) | Err(_) => return,
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
            }
        };
        let head = String::from_utf8_lossy(&buf[..header_end]).to_string();
        let mut lines = head.split("\r\n");
        let mut first = lines.next().unwrap_or_default().split(' ');
        let method = first.next().unwrap_or_default().to_string();
        let path = first.next().unwrap_or_default().to_string();
        let headers: Vec<(String, String)> = lines
            .filter_map(|l| l.split_once(':').map(|(n, v)| (n.trim().to_lowercase(), v.trim().to_string())))
            .collect();
        let length: usize =
            headers.iter().find(|(n, _)| n == "content-length").and_then(|(_, v)| v.parse().ok()).unwrap_or(0);
        let is_token = path.split('?').next().unwrap_or_default().ends_with("/token");
        let step = {
            let mut st = state.lock().unwrap();
            if is_token { st.token_script.pop_front() } else { st.script.pop_front().or_else(|| st.fallback.clone()) }
        };
        if matches!(step, Some(Step::DropBeforeRead)) {
            return;
        }
        while buf.len() < header_end + length {
            match stream.read(&mut chunk).await {
                Ok(0) | Err(_) => return,
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
            }
        }
        let body = String::from_utf8_lossy(&buf[header_end..header_end + length]).to_string();
        let step = {
            let mut st = state.lock().unwrap();
            st.received.push(Received { method, path, headers, body });
            match step {
                Some(step) => step,
                None if is_token => {
                    st.tokens_issued += 1;
                    let body = serde_json::json!({
                        "access_token": format!("tok3n-{}", st.tokens_issued),
                        "expires_in": st.token_lifetime,
                        "token_type": "Bearer"
                    });
                    Step::json(200, body)
                }
                None => Step::json(404, serde_json::json!({"type": "NOT_SCRIPTED", "message": "no step left"})),
            }
        };
        match step {
            Step::DropBeforeRead | Step::DropAfterRead => return,
            Step::Raw(raw) => {
                if stream.write_all(raw.as_bytes()).await.is_err() {
                    return;
                }
            }
            Step::Cut { status, body } => {
                let out = format!(
                    "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{body}",
                    body.len() + 100
                );
                let _ = stream.write_all(out.as_bytes()).await;
                return;
            }
            Step::Respond { status, headers, body, delay } => {
                if !delay.is_zero() {
                    tokio::time::sleep(delay).await;
                }
                let mut out = format!("HTTP/1.1 {status} X\r\ncontent-length: {}\r\n", body.len());
                if !headers.iter().any(|(n, _)| n.eq_ignore_ascii_case("content-type")) {
                    out.push_str("content-type: application/json\r\n");
                }
                for (n, v) in headers {
                    out.push_str(&format!("{n}: {v}\r\n"));
                }
                out.push_str("\r\n");
                out.push_str(&body);
                if stream.write_all(out.as_bytes()).await.is_err() {
                    return;
                }
            }
        }
    }
}

/// A client for `server`: test credentials, no client-side timeouts (paused-time tests) or rate limit.
pub fn scripted(server: &ScriptServer) -> pax8_ext::ClientBuilder {
    pax8_ext::Pax8Client::builder()
        .client_id("test-id")
        .client_secret("s3cr3t-value")
        .base_url(&server.base_url)
        .http_client(reqwest::Client::new())
        .no_rate_limit()
}
