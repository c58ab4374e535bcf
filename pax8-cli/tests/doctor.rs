//! `pax8 doctor` against a simulator on 127.0.0.1 that paces requests and reports its
//! rate-limit headroom.

use assert_cmd::Command;

fn doctor(config: &std::path::Path, url: &str, secret: &str) -> (i32, String, String) {
    let out = Command::cargo_bin("pax8")
        .unwrap()
        .env("PAX8_CONFIG_DIR", config)
        .env("NO_COLOR", "1")
        .env("PAX8_KEYRING", "off")
        .env("PAX8_CLIENT_ID", "sandbox-client")
        .env("PAX8_CLIENT_SECRET", secret)
        .env("PAX8_BASE_URL", url)
        .arg("doctor")
        .output()
        .unwrap();
    (out.status.code().unwrap_or(-1), String::from_utf8(out.stdout).unwrap(), String::from_utf8(out.stderr).unwrap())
}

fn line<'a>(report: &'a str, check: &str) -> &'a str {
    report.lines().find(|l| l.starts_with(check)).unwrap_or_else(|| panic!("no `{check}` line in:\n{report}"))
}

#[tokio::test(flavor = "multi_thread")]
async fn doctor_checks_token_apis_clock_and_headroom_and_names_what_fails() {
    let faults = pax8_sandbox::Faults { rate_limit_per_minute: Some(1000), ..Default::default() };
    let sandbox =
        pax8_sandbox::Sandbox::start(pax8_sandbox::SandboxConfig { faults, ..Default::default() }).await.unwrap();
    let url = sandbox.base_url().to_string();
    tokio::task::spawn_blocking(move || {
        let config = tempfile::tempdir().unwrap();
        let (code, report, stderr) = doctor(config.path(), &url, "sandbox-secret");
        assert_eq!(code, 0, "{report}{stderr}");
        assert!(line(&report, "credentials").contains("environment (PAX8_CLIENT_ID"), "{report}");
        assert!(line(&report, "token").contains("ok"), "{report}");
        assert!(line(&report, "partner API").contains("partner API answers (25 companies)"), "{report}");
        assert!(line(&report, "quoting API").contains("ok"), "{report}");
        assert!(line(&report, "webhooks API").contains("ok"), "{report}");
        assert!(line(&report, "clock").contains("ok") && line(&report, "clock").contains("the server"), "{report}");
        let rate = line(&report, "rate limit");
        assert!(rate.contains("requests left of 1000 in the server's window"), "{report}");
        assert!(report.trim_end().ends_with("Ready."), "{report}");

        // A token file others can read is a failure, named with its fix.
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let tokens = config.path().join("tokens.json");
            std::fs::set_permissions(&tokens, std::fs::Permissions::from_mode(0o644)).unwrap();
            let (code, report, stderr) = doctor(config.path(), &url, "sandbox-secret");
            assert_eq!(code, 4, "{report}");
            assert!(report.contains("is mode 644: others can read it (chmod 600 it)"), "{report}");
            assert!(stderr.contains("1 check failed"), "{stderr}");
            std::fs::remove_file(&tokens).unwrap();
        }

        // A wrong secret: the token check fails and says why; nothing after it pretends to pass.
        let (code, report, stderr) = doctor(config.path(), &url, "wrong-secret");
        assert_eq!(code, 4, "{report}{stderr}");
        assert!(line(&report, "token").contains("FAIL"), "{report}");
        assert!(!report.contains("partner API answers"), "{report}");
        assert!(!report.contains("wrong-secret"), "{report}");
    })
    .await
    .unwrap();
}
