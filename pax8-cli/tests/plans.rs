//! `pax8 renewals plan|pending|cancel|run` as real processes against a simulator on 127.0.0.1:
//! plans made, listed, refused and cancelled; a run refused without confirmation; one run killed
//! after claiming and two more at the same time: every plan applied exactly once.

use std::process::{Command, Stdio};
use std::time::Duration;

use pax8_sandbox::{Faults, Sandbox, SandboxConfig};

fn pax8(config: &tempfile::TempDir, sandbox: &Sandbox) -> Command {
    let mut c = Command::new(assert_cmd::cargo::cargo_bin("pax8"));
    c.env("PAX8_CONFIG_DIR", config.path())
        .env("PAX8_KEYRING", "off")
        .env("PAX8_CLIENT_ID", sandbox.client_id())
        .env("PAX8_CLIENT_SECRET", sandbox.client_secret())
        .env("PAX8_BASE_URL", sandbox.base_url())
        .env("PAX8_DB", format!("sqlite://{}", config.path().join("mirror.db").display()))
        .env_remove("PAX8_TODAY")
        .env("NO_COLOR", "1")
        .stdin(Stdio::null());
    c
}

fn ok(mut command: Command) -> String {
    let out = command.output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

async fn states(config: &tempfile::TempDir) -> Vec<String> {
    sqlx::any::install_default_drivers();
    let url = format!("sqlite://{}", config.path().join("mirror.db").display());
    let mut conn = <sqlx::AnyConnection as sqlx::Connection>::connect(&url).await.unwrap();
    let rows = sqlx::query("SELECT state FROM renewal_plans ORDER BY id").fetch_all(&mut conn).await.unwrap();
    rows.iter().map(|r| sqlx::Row::get::<String, _>(r, "state")).collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn plans_are_applied_exactly_once_by_concurrent_runs_after_one_is_killed() {
    let sandbox = Sandbox::start(SandboxConfig {
        companies: 12,
        // Slow enough that a run is caught between its claim and its answer.
        faults: Faults { latency: Duration::from_millis(40), ..Faults::default() },
        ..SandboxConfig::default()
    })
    .await
    .unwrap();
    let config = tempfile::tempdir().unwrap();
    let subs: Vec<(String, u64)> = sandbox.with_world(|w| {
        w.subscriptions
            .iter()
            .filter(|s| s.status.as_ref().is_some_and(|st| st.to_string() == "Active"))
            .filter_map(|s| Some((s.id?.to_string(), s.quantity? as u64)))
            .take(7)
            .collect()
    });
    assert_eq!(subs.len(), 7);
    let (cancelled, planned) = subs.split_first().unwrap();
    // Increases may be planned for today (a plan's default day is the commitment's end); each
    // plan is listed as pending.
    let today = chrono::Utc::now().date_naive().to_string();
    for (id, quantity) in subs.iter() {
        let up = (quantity + 1).to_string();
        ok({
            let mut c = pax8(&config, &sandbox);
            c.args(["renewals", "plan", id, "--quantity", &up, "--on", &today]);
            c
        });
    }
    let pending: serde_json::Value = serde_json::from_str(&ok({
        let mut c = pax8(&config, &sandbox);
        c.args(["--json", "renewals", "pending"]);
        c
    }))
    .unwrap();
    assert_eq!(pending.as_array().unwrap().len(), 7);
    let first = pending.as_array().unwrap().iter().find(|p| p["subscription_id"] == cancelled.0.as_str()).unwrap();
    assert_eq!((first["action"].as_str(), first["state"].as_str()), (Some("quantity"), Some("pending")));
    // A second plan for the same subscription is refused; a plan can be cancelled.
    let second = pax8(&config, &sandbox).args(["renewals", "plan", &cancelled.0, "--cancel"]).output().unwrap();
    assert_eq!(second.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&second.stderr).contains("already has an open plan"));
    let plan_id = first["id"].as_str().unwrap().to_string();
    ok({
        let mut c = pax8(&config, &sandbox);
        c.args(["renewals", "cancel", &plan_id]);
        c
    });
    // Without a terminal and without --yes, nothing is applied.
    let refused = pax8(&config, &sandbox).args(["renewals", "run"]).output().unwrap();
    assert_eq!(refused.status.code(), Some(2), "{}", String::from_utf8_lossy(&refused.stderr));
    assert!(String::from_utf8_lossy(&refused.stderr).contains("not confirmed"));

    let changes = |id: &str| {
        let id = uuid::Uuid::parse_str(id).unwrap();
        sandbox.with_world(|w| w.history.get(&id).map_or(0, Vec::len))
    };
    assert!(planned.iter().all(|(id, _)| changes(id) == 0));
    // A run killed once it has claimed a plan.
    let mut killed = pax8(&config, &sandbox).args(["renewals", "run", "--yes"]).spawn().unwrap();
    for _ in 0..500 {
        if states(&config).await.iter().any(|s| s == "applying") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    killed.kill().unwrap();
    killed.wait().unwrap();
    let left = states(&config).await;
    assert!(left.iter().any(|s| s == "applying" || s == "pending"), "killed before it finished: {left:?}");
    tokio::time::sleep(Duration::from_millis(1200)).await;
    // Two runs at once, taking over what the killed one left once its lease (1 s) is over.
    let runs: Vec<_> = (0..2)
        .map(|_| {
            pax8(&config, &sandbox)
                .args(["--json", "renewals", "run", "--yes", "--lease", "1s"])
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let mut applied = 0;
    for run in runs {
        let out = run.wait_with_output().unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        applied += report["applied"].as_array().unwrap().len() + report["settled"].as_array().unwrap().len();
        assert!(report["failed"].as_array().unwrap().is_empty() && report["held"].as_array().unwrap().is_empty());
    }
    assert!(applied <= planned.len(), "the killed run may have recorded some itself");

    for (id, quantity) in planned {
        assert_eq!(changes(id), 1, "{id}: sent exactly once");
        let now = sandbox.with_world(|w| w.subscription(uuid::Uuid::parse_str(id).unwrap()).unwrap().quantity);
        assert_eq!(now, Some((quantity + 1) as f64));
    }
    assert_eq!(changes(&cancelled.0), 0, "the cancelled plan was not applied");
    let mut done = states(&config).await;
    done.sort();
    assert_eq!(done, ["applied", "applied", "applied", "applied", "applied", "applied", "cancelled"]);
    // Nothing is due any more.
    let again = ok({
        let mut c = pax8(&config, &sandbox);
        c.args(["renewals", "run", "--yes"]);
        c
    });
    assert!(again.contains("Nothing due on"), "{again}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_decrease_before_the_commitment_ends_is_refused_and_planned_for_its_end() {
    let sandbox = Sandbox::start(SandboxConfig { companies: 12, ..SandboxConfig::default() }).await.unwrap();
    let config = tempfile::tempdir().unwrap();
    let today = chrono::Utc::now().date_naive();
    let (id, quantity, ends) = sandbox
        .with_world(|w| {
            w.subscriptions.iter().find_map(|s| {
                let ends = s.commitment.as_ref()?.end_date?.date().0;
                (s.status.as_ref()?.to_string() == "Active"
                    && s.quantity? >= 2.0
                    && ends > today + chrono::Duration::days(2))
                .then(|| (s.id.unwrap().to_string(), s.quantity.unwrap() as u64, ends))
            })
        })
        .expect("a committed subscription");
    let down = (quantity - 1).to_string();
    let tomorrow = (today + chrono::Duration::days(1)).to_string();
    let early = pax8(&config, &sandbox)
        .args(["renewals", "plan", &id, "--quantity", &down, "--on", &tomorrow])
        .output()
        .unwrap();
    assert_eq!(early.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&early.stderr);
    assert!(stderr.contains(&format!("Pax8 refuses this before the commitment ends on {ends}")), "{stderr}");
    // The manual change is refused the same way, before anything is sent.
    let manual =
        pax8(&config, &sandbox).args(["subscriptions", "update", &id, "--quantity", &down, "--yes"]).output().unwrap();
    assert_eq!(manual.status.code(), Some(2));
    let said = String::from_utf8_lossy(&manual.stderr);
    assert!(said.contains(&format!("commitment ends on {ends}")), "{said}");
    assert!(said.contains(&format!("hint: plan it for then: pax8 renewals plan {id} --quantity {down}")), "{said}");
    let planned = ok({
        let mut c = pax8(&config, &sandbox);
        c.args(["renewals", "plan", &id, "--quantity", &down]);
        c
    });
    assert!(planned.contains(&format!("Planned quantity {down} for {ends}")), "{planned}");
}
