//! The receiver under hundreds of slow or unauthenticated clients: header and lifetime timeouts
//! close them, connections past the cap are refused, unauthenticated bodies are never read,
//! memory stays bounded, and a real event still gets through afterwards.

use std::time::{Duration, Instant};

use pax8_sync::listener::{ServerLimits, serve_on};
use pax8_sync::receiver::{Receiver, router};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Resident memory of this process (Linux), in KiB.
fn rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// Reads until the server closes the connection (or `limit` passes); returns what it sent.
async fn until_closed(stream: &mut TcpStream, limit: Duration) -> Option<Vec<u8>> {
    let mut seen = Vec::new();
    let mut buf = [0u8; 1024];
    let deadline = Instant::now() + limit;
    loop {
        let left = deadline.checked_duration_since(Instant::now())?;
        match tokio::time::timeout(left, stream.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => return Some(seen),
            Ok(Ok(n)) => seen.extend_from_slice(&buf[..n]),
            Err(_) => return None,
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_and_unauthenticated_clients_are_let_go_and_memory_stays_bounded() {
    let dir = tempfile::tempdir().unwrap();
    let store = pax8_sync::Store::open(&format!("sqlite://{}", dir.path().join("flood.db").display())).await.unwrap();
    let receiver = Receiver::new(store.clone(), "flood-token-0123456789");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let limits = ServerLimits {
        max_connections: 400,
        header_timeout: Duration::from_millis(400),
        connection_lifetime: Duration::from_secs(3),
        ..ServerLimits::default()
    };
    tokio::spawn(serve_on(listener, router(receiver), limits));
    let before = rss_kib();

    // 300 clients that never finish their headers (slowloris) ...
    let mut slow = Vec::new();
    for _ in 0..300 {
        let mut s = TcpStream::connect(addr).await.unwrap();
        s.write_all(b"POST /webhooks/pax8 HTTP/1.1\r\nHost: x\r\nX-Slow: ").await.unwrap();
        slow.push(s);
    }
    // ... and 100 unauthenticated senders announcing 1 MiB bodies (300 + 100 = the cap).
    let mut unauthenticated = Vec::new();
    for _ in 0..100 {
        let mut s = TcpStream::connect(addr).await.unwrap();
        s.write_all(b"POST /webhooks/pax8 HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer wrong\r\nContent-Length: 1048576\r\n\r\n")
            .await
            .unwrap();
        s.write_all(&[b'x'; 64 * 1024]).await.unwrap();
        unauthenticated.push(s);
    }
    // Past the cap: closed on arrival.
    let mut extra = TcpStream::connect(addr).await.unwrap();
    let _ = extra.write_all(b"POST /webhooks/pax8 HTTP/1.1\r\nHost: x\r\n").await;
    let refused = until_closed(&mut extra, Duration::from_secs(2)).await;
    assert_eq!(refused.as_deref(), Some(&b""[..]), "the connection past the cap is closed without an answer");

    let during = rss_kib();
    // The unauthenticated get 401 from their headers alone; the body is not read.
    for s in &mut unauthenticated {
        let answer = until_closed(s, Duration::from_secs(5)).await.expect("closed after the 401");
        assert!(answer.starts_with(b"HTTP/1.1 401"), "{}", String::from_utf8_lossy(&answer));
    }
    // The slow ones are cut off by the header timeout (hyper answers 408 or just closes).
    let started = Instant::now();
    for s in &mut slow {
        let answer = until_closed(s, Duration::from_secs(5)).await.expect("closed by the header timeout");
        assert!(answer.is_empty() || answer.starts_with(b"HTTP/1.1 408"), "{}", String::from_utf8_lossy(&answer));
    }
    assert!(started.elapsed() < Duration::from_secs(4), "all let go within the timeouts");
    if let (Some(before), Some(during)) = (before, during) {
        let grown_mib = during.saturating_sub(before) / 1024;
        eprintln!("400 hostile connections: resident memory {before} KiB -> {during} KiB");
        assert!(grown_mib < 64, "400 hostile connections grew memory by {grown_mib} MiB");
    }

    // Every permit is back: a real event gets through.
    tokio::time::sleep(Duration::from_millis(100)).await;
    let event = serde_json::json!({"id": "evt-after", "webhookTopic": {"topic": "ORDER_CREATED"}, "payloadData": {}});
    let answer = reqwest::Client::new()
        .post(format!("http://{addr}/webhooks/pax8"))
        .bearer_auth("flood-token-0123456789")
        .json(&event)
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 200);
    assert_eq!(store.count("webhook_events").await.unwrap(), 1, "nothing of the flood was stored");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idle_kept_alive_connection_is_closed_and_none_outlives_its_lifetime() {
    let dir = tempfile::tempdir().unwrap();
    let store = pax8_sync::Store::open(&format!("sqlite://{}", dir.path().join("idle.db").display())).await.unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let limits = ServerLimits {
        max_connections: 10,
        header_timeout: Duration::from_millis(300),
        connection_lifetime: Duration::from_millis(1500),
        ..ServerLimits::default()
    };
    tokio::spawn(serve_on(listener, router(Receiver::new(store, "idle-token-0123456789")), limits));
    // One answered request, then silence on the kept-alive connection.
    let mut s = TcpStream::connect(addr).await.unwrap();
    s.write_all(b"POST /webhooks/pax8 HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n").await.unwrap();
    let started = Instant::now();
    let answer = until_closed(&mut s, Duration::from_secs(3)).await.expect("closed while idle");
    assert!(answer.starts_with(b"HTTP/1.1 401"), "{}", String::from_utf8_lossy(&answer));
    assert!(started.elapsed() < Duration::from_millis(1400), "closed by the idle header timeout, not the lifetime");
    // A client trickling one header byte at a time still meets the header timeout.
    let mut trickle = TcpStream::connect(addr).await.unwrap();
    let closed = tokio::spawn(async move {
        let started = Instant::now();
        for byte in b"POST /webhooks/pax8 HTTP/1.1\r\nHost: x\r\nX-Pad: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa".iter() {
            if trickle.write_all(&[*byte]).await.is_err() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        started.elapsed()
    });
    let took = closed.await.unwrap();
    assert!(took < Duration::from_millis(1600), "the trickling client was cut off ({took:?})");
}
