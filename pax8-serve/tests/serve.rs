//! The listener drains on shutdown, and the admin listener answers health, readiness and metrics.

use std::time::{Duration, Instant};

use axum::Router;
use axum::routing::post;
use pax8_serve::listener::{ServerLimits, serve_until};
use pax8_serve::{Metrics, Readiness, Shutdown};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// A server whose one route answers with the request body's length once the body is read.
async fn start(limits: ServerLimits) -> (std::net::SocketAddr, Shutdown, tokio::task::JoinHandle<std::io::Result<()>>) {
    let router = Router::new().route("/echo", post(|body: axum::body::Bytes| async move { body.len().to_string() }));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let shutdown = Shutdown::new();
    let stop = shutdown.clone();
    let server = tokio::spawn(async move { serve_until(listener, router, limits, &stop).await });
    (addr, shutdown, server)
}

/// Sends the headers and the first half of a 10-byte body: a request in flight.
async fn half_sent(addr: std::net::SocketAddr) -> TcpStream {
    let mut s = TcpStream::connect(addr).await.unwrap();
    s.write_all(b"POST /echo HTTP/1.1\r\nhost: x\r\ncontent-length: 10\r\n\r\n01234").await.unwrap();
    s
}

async fn answer_of(mut s: TcpStream) -> String {
    let mut out = String::new();
    s.read_to_string(&mut out).await.unwrap();
    out
}

#[tokio::test]
async fn requests_in_flight_finish_after_the_shutdown_begins_and_new_ones_are_refused() {
    let (addr, shutdown, server) = start(ServerLimits::default()).await;
    let mut in_flight = Vec::new();
    for _ in 0..5 {
        in_flight.push(half_sent(addr).await);
    }
    // An idle kept-alive connection (a request answered, nothing since) is closed by the drain.
    let mut idle = TcpStream::connect(addr).await.unwrap();
    idle.write_all(b"POST /echo HTTP/1.1\r\nhost: x\r\ncontent-length: 2\r\n\r\nab").await.unwrap();
    let mut first = Vec::new();
    while !first.ends_with(b"\r\n\r\n2") {
        let mut chunk = [0u8; 256];
        let n = idle.read(&mut chunk).await.unwrap();
        assert!(n > 0, "closed before the answer");
        first.extend_from_slice(&chunk[..n]);
    }
    assert!(first.starts_with(b"HTTP/1.1 200"));
    tokio::time::sleep(Duration::from_millis(100)).await;

    shutdown.begin();
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(TcpStream::connect(addr).await.is_err(), "no new connection once the shutdown began");
    for mut s in in_flight {
        s.write_all(b"56789").await.unwrap();
        let answer = answer_of(s).await;
        assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
        assert!(answer.ends_with("10"), "the whole body was read: {answer}");
    }
    let mut rest = Vec::new();
    assert_eq!(idle.read_to_end(&mut rest).await.unwrap(), 0, "the idle connection is closed");
    tokio::time::timeout(Duration::from_secs(5), server).await.unwrap().unwrap().unwrap();
}

#[tokio::test]
async fn the_drain_is_bounded_by_the_grace() {
    let limits = ServerLimits { grace: Duration::from_millis(300), ..ServerLimits::default() };
    let (addr, shutdown, server) = start(limits).await;
    let stuck = half_sent(addr).await; // never finished
    tokio::time::sleep(Duration::from_millis(50)).await;
    let started = Instant::now();
    shutdown.begin();
    tokio::time::timeout(Duration::from_secs(5), server).await.unwrap().unwrap().unwrap();
    let took = started.elapsed();
    assert!(took >= Duration::from_millis(300) && took < Duration::from_secs(3), "{took:?}");
    drop(stuck);
}

#[tokio::test]
async fn the_admin_listener_answers_health_readiness_and_metrics() {
    let metrics = Metrics::install().unwrap();
    assert!(Metrics::install().is_err(), "one recorder per process");
    metrics::counter!("pax8_test_events_total", "outcome" => "applied").increment(3);
    metrics::histogram!("pax8_test_apply_duration_seconds").record(0.02);
    let ready = Readiness::default()
        .check("database", || async { Ok(()) })
        .check("vault", || async { Err("the key opens no secret".to_string()) });
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let shutdown = Shutdown::new();
    let stop = shutdown.clone();
    let admin = tokio::spawn(async move { pax8_serve::admin::serve(listener, ready, Some(metrics), &stop).await });
    let http = reqwest::Client::new();
    assert_eq!(http.get(format!("{base}/healthz")).send().await.unwrap().status(), 200);
    let readyz = http.get(format!("{base}/readyz")).send().await.unwrap();
    assert_eq!(readyz.status(), 503);
    let body: serde_json::Value = readyz.json().await.unwrap();
    // The admin listener says why (a public one only says "failing").
    assert_eq!(body["checks"]["vault"], "the key opens no secret");
    assert_eq!(body["checks"]["database"], "ok");
    let scraped = http.get(format!("{base}/metrics")).send().await.unwrap().text().await.unwrap();
    assert!(scraped.contains("pax8_test_events_total{outcome=\"applied\"} 3"), "{scraped}");
    assert!(scraped.contains("pax8_test_apply_duration_seconds_bucket{le=\"0.025\"} 1"), "{scraped}");
    assert!(scraped.contains("pax8_test_apply_duration_seconds_bucket{le=\"0.01\"} 0"), "{scraped}");
    shutdown.begin();
    tokio::time::timeout(Duration::from_secs(5), admin).await.unwrap().unwrap().unwrap();
}
