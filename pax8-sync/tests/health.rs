//! The receiver's `/readyz` and its answers while PostgreSQL is unreachable: the database is
//! reached through a TCP gate the test closes (every connection cut, new ones dropped) and opens
//! again, so the receiver meets what it meets when the server stops and comes back.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

/// A TCP forwarder to `upstream` that can cut the database off.
struct Gate {
    addr: std::net::SocketAddr,
    down: Arc<AtomicBool>,
    /// While down, hold new connections without a byte (a server that hangs) instead of closing.
    hang: Arc<AtomicBool>,
    links: Arc<std::sync::Mutex<Vec<JoinHandle<()>>>>,
}

impl Gate {
    async fn start(upstream: String) -> Gate {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (down, hang) = (Arc::new(AtomicBool::new(false)), Arc::new(AtomicBool::new(false)));
        let links: Arc<std::sync::Mutex<Vec<JoinHandle<()>>>> = Arc::default();
        let (is_down, hangs, held) = (down.clone(), hang.clone(), links.clone());
        tokio::spawn(async move {
            loop {
                let Ok((mut client, _)) = listener.accept().await else { continue };
                if is_down.load(Ordering::SeqCst) {
                    if hangs.load(Ordering::SeqCst) {
                        held.lock().unwrap().push(tokio::spawn(async move {
                            tokio::time::sleep(Duration::from_secs(120)).await;
                            drop(client);
                        }));
                    }
                    continue;
                }
                let upstream = upstream.clone();
                held.lock().unwrap().push(tokio::spawn(async move {
                    if let Ok(mut server) = TcpStream::connect(&upstream).await {
                        let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
                    }
                }));
            }
        });
        Gate { addr, down, hang, links }
    }

    /// The database is gone: every open connection is cut and new ones are closed on arrival
    /// (or, with `hang`, held open without an answer).
    fn close(&self, hang: bool) {
        self.hang.store(hang, Ordering::SeqCst);
        self.down.store(true, Ordering::SeqCst);
        for link in self.links.lock().unwrap().drain(..) {
            link.abort();
        }
    }

    fn open(&self) {
        self.down.store(false, Ordering::SeqCst);
        for link in self.links.lock().unwrap().drain(..) {
            link.abort();
        }
    }
}

/// `postgres://user:pw@host:port/db` with `host:port` replaced by `addr`, and the old authority.
fn through(url: &str, addr: std::net::SocketAddr) -> (String, String) {
    let (credentials, rest) = url.rsplit_once('@').unwrap();
    let (authority, path) = rest.split_once('/').unwrap();
    (format!("{credentials}@{addr}/{path}"), authority.to_string())
}

fn event(id: &str) -> Value {
    json!({"id": id, "webhookTopic": {"topic": "ORDER_CREATED"}, "payloadData": {"orderId": "o-1"}})
}

#[tokio::test(flavor = "multi_thread")]
async fn readiness_follows_the_database_and_events_fail_fast_while_it_is_gone() {
    let Some(url) = common::postgres_database().await else { return };
    let (_, upstream) = through(&url, "127.0.0.1:1".parse().unwrap());
    let gate = Gate::start(upstream).await;
    let (gated, _) = through(&url, gate.addr);
    let store = pax8_sync::Store::open(&gated).await.unwrap();
    let receiver = pax8_sync::receiver::Receiver::new(store.clone(), "ready-token-0123456789");
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let shutdown = pax8_serve::Shutdown::new();
    let limits = pax8_sync::listener::ServerLimits::default();
    let server = {
        let shutdown = shutdown.clone();
        tokio::spawn(async move { pax8_sync::receiver::serve_until(receiver, listener, limits, &shutdown).await })
    };
    let http = reqwest::Client::builder().pool_max_idle_per_host(0).build().unwrap();
    let ready = || async {
        let r = http.get(format!("{base}/readyz")).send().await.unwrap();
        (r.status().as_u16(), r.json::<Value>().await.unwrap())
    };
    let post = |body: Value| {
        http.post(format!("{base}/webhooks/pax8"))
            .header("authorization", "Bearer ready-token-0123456789")
            .json(&body)
            .send()
    };

    assert_eq!(http.get(format!("{base}/healthz")).send().await.unwrap().status(), 200);
    assert_eq!(ready().await, (200, json!({"ready": true, "checks": {"database": "ok"}})));
    assert_eq!(post(event("evt-before")).await.unwrap().status(), 200);

    for (round, hang) in [(1, false), (2, true)] {
        // Closed: connections refused at once; hung: a server that accepts and never answers
        // (the pool's bounded acquire, then the 2 s check timeout, answer for it).
        gate.close(hang);
        let started = Instant::now();
        let (status, body) = ready().await;
        assert_eq!((status, &body), (503, &json!({"ready": false, "checks": {"database": "failing"}})), "{hang}");
        assert!(started.elapsed() < Duration::from_secs(4), "readyz took {:?}", started.elapsed());
        // Still alive: only readiness follows the database.
        assert_eq!(http.get(format!("{base}/healthz")).send().await.unwrap().status(), 200);
        let started = Instant::now();
        let during = format!("evt-during-{round}");
        let refused = post(event(&during)).await.unwrap();
        assert_eq!(refused.status(), 503);
        assert!(
            started.elapsed() < Duration::from_secs(4),
            "an event waited {:?} (hang {hang}): Pax8 gives up after 10 s",
            started.elapsed()
        );

        gate.open();
        let mut back = false;
        for _ in 0..50 {
            if ready().await.0 == 200 {
                back = true;
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert!(back, "ready again once the database is back");
        // Pax8's redelivery of the refused event is stored, once.
        assert_eq!(post(event(&during)).await.unwrap().status(), 200);
        assert_eq!(post(event(&during)).await.unwrap().status(), 200);
        assert_eq!(store.count("webhook_events").await.unwrap(), 1 + round);
    }

    shutdown.begin();
    tokio::time::timeout(Duration::from_secs(15), server).await.unwrap().unwrap().unwrap();
}
