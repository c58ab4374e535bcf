//! The servers as an operator runs them, as real processes: health and readiness, `/metrics`
//! scraped after known traffic, SIGTERM under load (no request in flight fails, exit 0), and
//! where the MCP server may listen.

use std::io::BufRead;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use pax8_sandbox::{Sandbox, SandboxConfig};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const TOKEN: &str = "serve-token-0123456789abcdef";

fn pax8(config: &tempfile::TempDir) -> Command {
    let mut c = Command::new(assert_cmd::cargo::cargo_bin("pax8"));
    c.env("PAX8_CONFIG_DIR", config.path())
        .env_remove("PAX8_CLIENT_ID")
        .env_remove("PAX8_CLIENT_SECRET")
        .env_remove("PAX8_MASTER_KEY")
        .env_remove("PAX8_ADMIN_LISTEN")
        .env("NO_COLOR", "1");
    c
}

/// A started server: its stderr lines arrive on `lines`.
struct Server {
    child: Child,
    lines: mpsc::Receiver<String>,
    seen: Vec<String>,
}

impl Server {
    fn start(mut command: Command) -> Server {
        let mut child = command.stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
        let stderr = child.stderr.take().unwrap();
        let (send, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in std::io::BufReader::new(stderr).lines().map_while(Result::ok) {
                let _ = send.send(line);
            }
        });
        Server { child, lines, seen: Vec::new() }
    }

    /// The address in the stderr line that starts with `prefix` (`… on http://ADDR…`).
    fn address(&mut self, prefix: &str) -> String {
        loop {
            if let Some(line) = self.seen.iter().find(|l| l.starts_with(prefix)) {
                let at = line.find("http://").expect("an address") + "http://".len();
                let rest = &line[at..];
                return rest[..rest.find(['/', ' ']).unwrap_or(rest.len())].to_string();
            }
            match self.lines.recv_timeout(Duration::from_secs(30)) {
                Ok(line) => self.seen.push(line),
                Err(_) => panic!("no `{prefix}` line; stderr so far: {:?}", self.seen),
            }
        }
    }

    fn terminate(&self) {
        let pid = self.child.id().to_string();
        assert!(Command::new("kill").args(["-TERM", &pid]).status().unwrap().success());
    }

    /// Waits (bounded) for the exit; its status and the rest of stderr.
    fn exit(mut self) -> (std::process::ExitStatus, String) {
        for _ in 0..300 {
            if let Some(status) = self.child.try_wait().unwrap() {
                std::thread::sleep(Duration::from_millis(50));
                self.seen.extend(self.lines.try_iter());
                return (status, self.seen.join("\n"));
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = self.child.kill();
        panic!("still running 30 s after SIGTERM; stderr: {:?}", self.seen);
    }
}

/// The value of the sample of `name` whose labels include every one of `labels`.
fn sample(scraped: &str, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    scraped.lines().find_map(|line| {
        let (series, value) = line.rsplit_once(' ')?;
        let (metric, set) = match series.split_once('{') {
            Some((metric, set)) => (metric, set.trim_end_matches('}')),
            None => (series, ""),
        };
        let all = labels.iter().all(|(k, v)| set.split(',').any(|pair| pair == format!("{k}=\"{v}\"")));
        (metric == name && all).then(|| value.parse().ok()).flatten()
    })
}

async fn scrape(http: &reqwest::Client, admin: &str) -> String {
    let r = http.get(format!("http://{admin}/metrics")).send().await.unwrap();
    assert_eq!(r.status(), 200);
    r.text().await.unwrap()
}

fn event(id: &str) -> serde_json::Value {
    serde_json::json!({"id": id, "webhookTopic": {"topic": "ORDER_CREATED"}, "payloadData": {"orderId": id}})
}

#[tokio::test(flavor = "multi_thread")]
async fn the_receiver_counts_its_events_and_drains_on_sigterm() {
    let config = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", config.path().join("mirror.db").display());
    let mut command = pax8(&config);
    command
        .args(["webhooks", "serve", "--listen", "127.0.0.1:0", "--db", &db, "--admin-listen", "127.0.0.1:0"])
        .args(["--grace", "10s"])
        .env("PAX8_WEBHOOK_TOKEN", TOKEN);
    let mut server = Server::start(command);
    let admin = server.address("admin on ");
    let public = server.address("receiving Pax8 webhooks on ");
    let url = format!("http://{public}/webhooks/pax8");
    let http = reqwest::Client::new();
    let post = |body: serde_json::Value, token: &str| {
        http.post(&url).header("authorization", format!("Bearer {token}")).json(&body).send()
    };

    // Health on the public listener (names only) and on the admin one.
    let ready: serde_json::Value =
        http.get(format!("http://{public}/readyz")).send().await.unwrap().json().await.unwrap();
    assert_eq!(ready, serde_json::json!({"ready": true, "checks": {"database": "ok"}}));
    assert_eq!(http.get(format!("http://{admin}/readyz")).send().await.unwrap().status(), 200);
    assert_eq!(
        http.get(format!("http://{public}/metrics")).send().await.unwrap().status(),
        404,
        "not on the public listener"
    );

    // Known traffic, then the counters.
    for n in 0..3 {
        assert_eq!(post(event(&format!("known-{n}")), TOKEN).await.unwrap().status(), 200);
    }
    assert_eq!(post(event("known-0"), TOKEN).await.unwrap().status(), 200, "a duplicate");
    let no_topic = serde_json::json!({"id": "bad-1", "payloadData": {}});
    assert_eq!(post(no_topic, TOKEN).await.unwrap().status(), 422);
    assert_eq!(post(event("x"), "wrong-token").await.unwrap().status(), 401);
    let scraped = scrape(&http, &admin).await;
    let events = |topic: &str, outcome: &str| {
        sample(&scraped, "pax8_webhook_events_total", &[("topic", topic), ("outcome", outcome)])
    };
    assert_eq!(events("ORDER_CREATED", "stored"), Some(3.0), "{scraped}");
    assert_eq!(events("ORDER_CREATED", "duplicate"), Some(1.0));
    assert_eq!(events("none", "rejected"), Some(1.0));
    assert_eq!(events("none", "unauthorized"), Some(1.0));
    assert_eq!(sample(&scraped, "pax8_webhook_apply_duration_seconds_count", &[("outcome", "stored")]), Some(3.0));

    // Under load: three requests half sent, four senders posting as fast as they can.
    let mut half_sent = Vec::new();
    for n in 0..3 {
        let body = event(&format!("slow-{n}")).to_string();
        let mut s = tokio::net::TcpStream::connect(&public).await.unwrap();
        let head = format!(
            "POST /webhooks/pax8 HTTP/1.1\r\nhost: x\r\nauthorization: Bearer {TOKEN}\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n",
            body.len()
        );
        s.write_all(head.as_bytes()).await.unwrap();
        s.write_all(&body.as_bytes()[..10]).await.unwrap();
        half_sent.push((s, body));
    }
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mut senders = Vec::new();
    for sender in 0..4 {
        let (url, stop) = (url.clone(), stop.clone());
        senders.push(tokio::spawn(async move {
            let http = reqwest::Client::new();
            let (mut answered, mut failed_5xx, mut n) = (0u32, Vec::new(), 0u32);
            while !stop.load(std::sync::atomic::Ordering::SeqCst) && n < 5_000 {
                n += 1;
                let body = event(&format!("load-{sender}-{n}"));
                match http.post(&url).header("authorization", format!("Bearer {TOKEN}")).json(&body).send().await {
                    Ok(r) if r.status().is_server_error() => failed_5xx.push(r.status().as_u16()),
                    Ok(r) => {
                        assert_eq!(r.status(), 200);
                        answered += 1;
                    }
                    // Refused once the listener closed: never accepted, so never in flight.
                    Err(_) => break,
                }
            }
            (answered, failed_5xx)
        }));
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    server.terminate();
    tokio::time::sleep(Duration::from_millis(300)).await;
    for (mut s, body) in half_sent {
        s.write_all(&body.as_bytes()[10..]).await.unwrap();
        let mut answer = String::new();
        s.read_to_string(&mut answer).await.unwrap();
        assert!(answer.starts_with("HTTP/1.1 200"), "a request in flight at SIGTERM: {answer}");
    }
    stop.store(true, std::sync::atomic::Ordering::SeqCst);
    let mut answered = 0;
    for sender in senders {
        let (ok, failed) = sender.await.unwrap();
        assert!(failed.is_empty(), "5xx answers during the shutdown: {failed:?}");
        answered += ok;
    }
    assert!(answered > 0, "the load ran");
    let (status, stderr) = server.exit();
    assert_eq!(status.code(), Some(0), "{stderr}");
    assert!(stderr.contains("stopped: every event in flight answered"), "{stderr}");
    // Every event answered 200 is stored: 3 known, 1 rejected, 3 half sent, the load's.
    let store = pax8_sync::Store::open(&db).await.unwrap();
    assert_eq!(store.count("webhook_events").await.unwrap(), 3 + 1 + 3 + i64::from(answered));
}

/// A JSON-RPC request to the MCP endpoint; the one message of its answer (JSON or an SSE event).
async fn rpc(
    http: &reqwest::Client,
    url: &str,
    session: Option<&str>,
    body: serde_json::Value,
) -> (Option<String>, serde_json::Value) {
    let mut r = http
        .post(url)
        .header("authorization", format!("Bearer {TOKEN}"))
        .header("accept", "application/json, text/event-stream")
        .json(&body);
    if let Some(id) = session {
        r = r.header("mcp-session-id", id).header("mcp-protocol-version", "2025-06-18");
    }
    let answer = r.send().await.unwrap();
    assert!(answer.status().is_success(), "{}", answer.status());
    let session = answer.headers().get("mcp-session-id").map(|v| v.to_str().unwrap().to_string());
    let text = answer.text().await.unwrap();
    let json = text
        .lines()
        .filter_map(|l| l.strip_prefix("data:"))
        .map(str::trim)
        .find(|d| d.starts_with('{'))
        .map(|d| serde_json::from_str(d).unwrap())
        .unwrap_or_else(|| serde_json::from_str(&text).unwrap_or(serde_json::Value::Null));
    (session, json)
}

#[tokio::test(flavor = "multi_thread")]
async fn the_mcp_server_reports_tool_calls_and_pax8_requests_and_stops_on_sigterm() {
    let config = tempfile::tempdir().unwrap();
    // Beyond loopback only when told, and refused before the token is printed.
    let refused = pax8(&config).args(["--sandbox", "mcp", "--http", "0.0.0.0:0"]).output().unwrap();
    let said = String::from_utf8_lossy(&refused.stderr);
    assert_eq!(refused.status.code(), Some(2), "{said}");
    assert!(said.contains("not a loopback address") && said.contains("--listen-public"), "{said}");
    assert!(!said.contains("bearer token"), "{said}");

    let mut command = pax8(&config);
    command
        .args(["--sandbox", "mcp", "--http", "127.0.0.1:0", "--admin-listen", "127.0.0.1:0"])
        .env("PAX8_MCP_TOKEN", TOKEN);
    let mut server = Server::start(command);
    let admin = server.address("admin on ");
    let public = server.address("pax8 MCP server on ");
    let http = reqwest::Client::new();
    // Health needs no token; the tools do.
    assert_eq!(http.get(format!("http://{public}/healthz")).send().await.unwrap().status(), 200);
    let ready: serde_json::Value =
        http.get(format!("http://{public}/readyz")).send().await.unwrap().json().await.unwrap();
    assert_eq!(ready, serde_json::json!({"ready": true, "checks": {"pax8_credentials": "ok"}}));
    let url = format!("http://{public}/mcp");
    assert_eq!(http.post(&url).json(&serde_json::json!({})).send().await.unwrap().status(), 401);

    let init = serde_json::json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "serve-test", "version": "1"}}});
    let (session, _) = rpc(&http, &url, None, init).await;
    let session = session.expect("a session id");
    let initialized = serde_json::json!({"jsonrpc": "2.0", "method": "notifications/initialized"});
    rpc(&http, &url, Some(&session), initialized).await;
    for id in 2..4 {
        let call = serde_json::json!({"jsonrpc": "2.0", "id": id, "method": "tools/call",
            "params": {"name": "companies_list", "arguments": {"size": 2}}});
        let (_, answer) = rpc(&http, &url, Some(&session), call).await;
        assert_eq!(answer["result"]["structuredContent"]["items"].as_array().map(Vec::len), Some(2), "{answer}");
    }
    let scraped = scrape(&http, &admin).await;
    let calls = [("tool", "companies_list"), ("outcome", "ok"), ("decision", "auto")];
    assert_eq!(sample(&scraped, "pax8_mcp_tool_calls_total", &calls), Some(2.0), "{scraped}");
    // pax8-ext's request metrics, by the OpenTelemetry HTTP client names.
    let requests =
        [("pax8_operation", "findCompanies"), ("http_request_method", "GET"), ("http_response_status_code", "200")];
    assert_eq!(sample(&scraped, "http_client_request_duration_seconds_count", &requests), Some(2.0), "{scraped}");
    assert_eq!(sample(&scraped, "pax8_client_token_fetches_total", &[("outcome", "ok")]), Some(1.0), "{scraped}");

    server.terminate();
    let (status, stderr) = server.exit();
    assert_eq!(status.code(), Some(0), "{stderr}");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_worker_reports_each_tenants_syncs_and_stops_on_sigterm() {
    let config = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", config.path().join("platform.db").display());
    let key = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
    let s = Sandbox::start(SandboxConfig {
        companies: 3,
        client_id: "serve-client".into(),
        client_secret: "serve-secret-0123456789".into(),
        today: Some(chrono::NaiveDate::from_ymd_opt(2026, 11, 23).unwrap()),
        ..SandboxConfig::default()
    })
    .await
    .unwrap();
    let added = pax8(&config)
        .args(["tenants", "add", "acme", "--client-id", s.client_id(), "--base-url", s.base_url(), "--db", &db])
        .env("PAX8_CLIENT_SECRET", "serve-secret-0123456789")
        .env("PAX8_MASTER_KEY", key)
        .output()
        .unwrap();
    assert!(added.status.success(), "{}", String::from_utf8_lossy(&added.stderr));

    let mut command = pax8(&config);
    command
        .args(["--json", "worker", "--db", &db, "--interval", "6h", "--admin-listen", "127.0.0.1:0"])
        .env("PAX8_MASTER_KEY", key);
    let mut server = Server::start(command);
    let admin = server.address("admin on ");
    let http = reqwest::Client::new();
    let ready: serde_json::Value =
        http.get(format!("http://{admin}/readyz")).send().await.unwrap().json().await.unwrap();
    assert_eq!(ready, serde_json::json!({"ready": true, "checks": {"vault": "ok"}}));
    let done = [("tenant", "acme"), ("outcome", "ok")];
    let mut scraped = String::new();
    for _ in 0..300 {
        scraped = scrape(&http, &admin).await;
        if sample(&scraped, "pax8_sync_runs_total", &done).is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(sample(&scraped, "pax8_sync_runs_total", &done), Some(1.0), "{scraped}");
    assert_eq!(sample(&scraped, "pax8_sync_duration_seconds_count", &[("tenant", "acme")]), Some(1.0));
    let lag = sample(&scraped, "pax8_sync_lag_seconds", &[("tenant", "acme")]).expect("a lag");
    assert!((0.0..60.0).contains(&lag), "due at its adding, claimed at once: {lag}");
    let companies = [("pax8_operation", "findCompanies"), ("http_response_status_code", "200")];
    assert!(sample(&scraped, "http_client_request_duration_seconds_count", &companies).is_some_and(|n| n >= 1.0));

    server.terminate();
    let stdout = server.child.stdout.take().unwrap();
    let (status, stderr) = server.exit();
    assert_eq!(status.code(), Some(0), "{stderr}");
    let report: serde_json::Value = serde_json::from_reader(stdout).unwrap();
    assert_eq!((report["synced"].as_u64(), report["failed"].as_u64()), (Some(1), Some(0)), "{report}");
}

#[tokio::test(flavor = "multi_thread")]
async fn with_an_oauth_issuer_no_token_is_generated_and_clients_are_sent_to_log_in() {
    let config = tempfile::tempdir().unwrap();
    let issuer = "http://127.0.0.1:9/realms/msp";
    let mut command = pax8(&config);
    command
        .args(["--sandbox", "mcp", "--http", "127.0.0.1:0", "--admin-listen", "127.0.0.1:0"])
        .args(["--oauth-issuer", issuer, "--oauth-write-scope", "msp:orders"])
        .env_remove("PAX8_MCP_TOKEN");
    let mut server = Server::start(command);
    let public = server.address("pax8 MCP server on ");
    let http = reqwest::Client::new();
    let url = format!("http://{public}/mcp");
    let bare = http.post(&url).json(&serde_json::json!({})).send().await.unwrap();
    assert_eq!(bare.status(), 401);
    let metadata_url = format!("http://{public}/.well-known/oauth-protected-resource");
    let challenge = bare.headers()["www-authenticate"].to_str().unwrap().to_string();
    assert_eq!(challenge, format!("Bearer resource_metadata=\"{metadata_url}\""));
    let metadata: serde_json::Value = http.get(&metadata_url).send().await.unwrap().json().await.unwrap();
    assert_eq!(metadata["authorization_servers"], serde_json::json!([issuer]));
    assert_eq!(metadata["resource"], serde_json::json!(url));
    assert_eq!(metadata["scopes_supported"], serde_json::json!(["pax8:read", "msp:orders"]));
    // A token that is no JWT is refused as one; no static token exists to be guessed.
    let guessed = http.post(&url).bearer_auth(TOKEN).json(&serde_json::json!({})).send().await.unwrap();
    assert_eq!(guessed.status(), 401);

    server.terminate();
    let (status, stderr) = server.exit();
    assert_eq!(status.code(), Some(0), "{stderr}");
    assert!(stderr.contains(&format!("OAuth access tokens of {issuer} accepted")), "{stderr}");
    assert!(!stderr.contains("bearer token"), "no static token when OAuth is configured: {stderr}");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_config_file_sets_what_the_command_line_and_the_environment_do_not() {
    let config = tempfile::tempdir().unwrap();
    let from_env = config.path().join("env.db");
    let from_file = config.path().join("file.db");
    // No file yet: doctor says where it would be.
    let out = pax8(&config).args(["--sandbox", "doctor"]).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let expected = format!("none ({} is not there)", config.path().join("config.toml").display());
    assert!(stdout.lines().any(|l| l.contains("server config") && l.contains(&expected)), "{stdout}");
    // The default place: config.toml beside the stored credentials.
    std::fs::write(
        config.path().join("config.toml"),
        format!(
            "log-format = \"json\"\n[webhooks]\nlisten = \"127.0.0.1:0\"\ndb = \"sqlite://{}\"\n\
             admin-listen = \"127.0.0.1:1\"\ngrace = \"3s\"\n",
            from_file.display()
        ),
    )
    .unwrap();
    let mut command = pax8(&config);
    command
        .args(["-vvv", "webhooks", "serve", "--admin-listen", "127.0.0.1:0"])
        .env("PAX8_DB", format!("sqlite://{}", from_env.display()))
        .env("PAX8_WEBHOOK_TOKEN", TOKEN);
    let mut server = Server::start(command);
    // The command line's admin address (port 0), not the file's (port 1).
    let admin = server.address("admin on ");
    assert!(!admin.ends_with(":1"), "{admin}");
    let public = server.address("receiving Pax8 webhooks on ");
    let http = reqwest::Client::new();
    let posted = http
        .post(format!("http://{public}/webhooks/pax8"))
        .bearer_auth(TOKEN)
        .json(&event("config-1"))
        .send()
        .await
        .unwrap();
    assert_eq!(posted.status(), 200);
    server.terminate();
    let (status, stderr) = server.exit();
    assert_eq!(status.code(), Some(0), "{stderr}");
    // The environment's database, not the file's; the file's log format.
    assert!(from_env.exists() && !from_file.exists(), "{stderr}");
    assert!(stderr.lines().any(|l| l.starts_with('{') && l.contains("\"level\"")), "json logs: {stderr}");

    // A bad file stops the server before it listens, naming the file and the key.
    std::fs::write(config.path().join("config.toml"), "[webhooks]\nlisten = \"127.0.0.1:0\"\ntoken = \"x\"\n").unwrap();
    let out = pax8(&config).args(["webhooks", "serve"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("config.toml: [webhooks] `token` looks like a secret"), "{stderr}");
    // `pax8 doctor` says so too, and fails; other commands do not read the file.
    let out = pax8(&config).args(["--sandbox", "doctor"]).output().unwrap();
    assert_ne!(out.status.code(), Some(0));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let line = stdout.lines().find(|l| l.contains("server config")).unwrap_or_default();
    assert!(line.contains("FAIL") && line.contains("looks like a secret"), "{stdout}");
    assert!(pax8(&config).args(["--sandbox", "companies", "list"]).output().unwrap().status.success());
    std::fs::write(config.path().join("config.toml"), "[worker]\nconcurrency = 8\n").unwrap();
    let out = pax8(&config).args(["--sandbox", "doctor"]).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let line = stdout.lines().find(|l| l.contains("server config")).unwrap_or_default();
    assert!(line.contains("ok") && line.contains("[worker] concurrency"), "{stdout}");
}
