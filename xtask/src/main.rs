//! Workspace tasks: `cargo xtask fetch`, `cargo xtask gen`, `cargo xtask gen --check`,
//! `cargo xtask evolve-check`.
#![forbid(unsafe_code)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

use pax8_api_gen::pointer::{operation_pointer, operations};
use pax8_api_gen::sources::sha256_hex;
use pax8_api_gen::{Sources, layout};
use serde_json::Value;

mod evolve;
mod schema_diff;

use schema_diff::Change;

const USAGE: &str = "\
usage:
  cargo xtask fetch [--from DIR] [--accept]   download the upstream documents into spec/upstream/
                                              (--from copies them from DIR instead; --accept records
                                              new sha256 values in spec/sources.toml)
  cargo xtask gen [--check] [--upstream DIR]  patch + generate (default upstream: spec/upstream);
                                              --check writes nothing and fails if anything is stale
  cargo xtask evolve-check                    apply a fixed additive change to a scratch copy of the
                                              upstream documents, regenerate it, cargo check it";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let root = workspace_root();
    let result = match args.first().map(String::as_str) {
        Some("fetch") => fetch(&root, &args[1..]),
        Some("gen") => gen_cmd(&root, &args[1..]),
        Some("evolve-check") if args.len() == 1 => evolve::run(&root),
        _ => Err(USAGE.to_string()),
    };
    match result {
        Ok(code) => code,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::from(2)
        }
    }
}

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("xtask is inside the workspace").to_path_buf()
}

fn value_of<'a>(args: &'a [String], flag: &str) -> Result<Option<&'a str>, String> {
    match args.iter().position(|a| a == flag) {
        None => Ok(None),
        Some(i) => args.get(i + 1).map(|s| Some(s.as_str())).ok_or_else(|| format!("{flag} needs a value\n{USAGE}")),
    }
}

fn check_flags(args: &[String], known: &[&str], with_value: &[&str]) -> Result<(), String> {
    let mut i = 0;
    while i < args.len() {
        let a = args[i].as_str();
        if with_value.contains(&a) {
            i += 2;
        } else if known.contains(&a) {
            i += 1;
        } else {
            return Err(format!("unknown argument `{a}`\n{USAGE}"));
        }
    }
    Ok(())
}

fn fetch(root: &Path, args: &[String]) -> Result<ExitCode, String> {
    check_flags(args, &["--accept"], &["--from"])?;
    let from = value_of(args, "--from")?.map(PathBuf::from);
    let accept = args.iter().any(|a| a == "--accept");
    let sources_path = root.join(layout::SOURCES);
    let mut sources = Sources::load(&sources_path).map_err(|e| e.to_string())?;

    // Obtain every document first: a failure leaves spec/upstream/ untouched.
    let mut fetched = Vec::new();
    for s in &sources.documents {
        let bytes = match &from {
            Some(dir) => {
                let path = dir.join(format!("{}.json", s.name));
                std::fs::read(&path).map_err(|e| format!("{}: {e}", path.display()))?
            }
            None => download(&s.url)?,
        };
        serde_json::from_slice::<Value>(&bytes).map_err(|e| {
            format!("{} ({}): not JSON: {e}", s.name, from.as_ref().map_or(s.url.clone(), |d| d.display().to_string()))
        })?;
        fetched.push(bytes);
    }

    let upstream = root.join(layout::UPSTREAM);
    std::fs::create_dir_all(&upstream).map_err(|e| format!("{}: {e}", upstream.display()))?;
    let mut changed = Vec::new();
    for (s, bytes) in sources.documents.iter_mut().zip(&fetched) {
        let tmp = upstream.join(format!(".{}.json.tmp", s.name));
        let dest = upstream.join(format!("{}.json", s.name));
        std::fs::write(&tmp, bytes)
            .and_then(|_| std::fs::rename(&tmp, &dest))
            .map_err(|e| format!("{}: {e}", dest.display()))?;
        let hash = sha256_hex(bytes);
        if hash != s.sha256 {
            changed.push((s.name.clone(), s.sha256.clone(), hash.clone()));
            if accept {
                s.sha256 = hash;
            }
        }
    }
    println!("fetched {} documents into {}", fetched.len(), layout::UPSTREAM);
    if changed.is_empty() {
        println!("all documents match spec/sources.toml");
        return Ok(ExitCode::SUCCESS);
    }
    for (name, old, new) in &changed {
        println!("\nupstream change: {name}\n  sha256 {old} -> {new}");
        for line in operation_diff(root, name, &upstream.join(format!("{name}.json"))) {
            println!("  {line}");
        }
    }
    if accept {
        let text = std::fs::read_to_string(&sources_path).map_err(|e| e.to_string())?;
        let header: String =
            text.lines().take_while(|l| l.starts_with('#') || l.is_empty()).map(|l| format!("{l}\n")).collect();
        std::fs::write(&sources_path, sources.to_toml(&header)).map_err(|e| e.to_string())?;
        println!("\nrecorded the new hashes in {}; now run `cargo xtask gen` and review the diff", layout::SOURCES);
        Ok(ExitCode::SUCCESS)
    } else {
        println!("\nreview the change, then run `cargo xtask fetch --accept` (and `cargo xtask gen`)");
        Ok(ExitCode::from(1))
    }
}

/// Downloads with curl (no TLS stack to compile into xtask); names the address and the HTTP
/// status or the network error on failure.
fn download(url: &str) -> Result<Vec<u8>, String> {
    let output = Command::new("curl")
        .args(["--silent", "--show-error", "--location", "--max-time", "60", "--write-out", "\n%{http_code}", url])
        .output()
        .map_err(|e| format!("{url}: cannot run curl: {e}"))?;
    if !output.status.success() {
        return Err(format!("{url}: network error: {}", String::from_utf8_lossy(&output.stderr).trim()));
    }
    let mut body = output.stdout;
    let split = body.iter().rposition(|&b| b == b'\n').unwrap_or(0);
    let status = String::from_utf8_lossy(&body[split..]).trim().to_string();
    body.truncate(split);
    if status != "200" {
        return Err(format!("{url}: HTTP status {status}"));
    }
    Ok(body)
}

/// Which operations appeared, disappeared or changed, comparing the newly fetched upstream
/// document (normalized with the current patches) with the committed patched document.
fn operation_diff(root: &Path, name: &str, new_upstream: &Path) -> Vec<String> {
    let committed = match pax8_api_gen::read_json(name, &root.join(layout::SPEC).join(format!("{name}.json"))) {
        Ok(v) => v,
        Err(e) => {
            return vec![format!("(no committed patched document to compare with: {e})")];
        }
    };
    let patches = match pax8_api_gen::patch::load_dir(&root.join(layout::PATCHES)) {
        Ok(p) => p,
        Err(e) => return vec![format!("(patches unreadable: {e})")],
    };
    let fresh = match pax8_api_gen::read_json(name, new_upstream)
        .and_then(|doc| pax8_api_gen::normalize_document(name, doc, &patches, &mut pax8_api_gen::DocReport::default()))
    {
        Ok((doc, _)) => doc,
        Err(e) => {
            return vec![format!("the current patches do not apply to the new version: {e}")];
        }
    };
    let ops = |doc: &Value| -> BTreeMap<String, Value> {
        operations(doc)
            .into_iter()
            .map(|(p, m)| {
                (
                    format!("{} {p}", m.to_uppercase()),
                    doc.pointer(&operation_pointer(&p, &m)).cloned().unwrap_or_default(),
                )
            })
            .collect()
    };
    let (old, new) = (ops(&committed), ops(&fresh));
    let mut changes = Vec::new();
    for (k, v) in &new {
        match old.get(k) {
            None => changes.push(Change { breaking: false, text: format!("operation {k} added") }),
            Some(o) if o != v => {
                let params = schema_diff::parameter_changes(k, o, v);
                if params.is_empty() {
                    // Descriptions, responses or examples: read the document diff.
                    changes
                        .push(Change { breaking: false, text: format!("operation {k} changed (not its parameters)") });
                }
                changes.extend(params);
            }
            _ => {}
        }
    }
    changes.extend(
        old.keys()
            .filter(|k| !new.contains_key(*k))
            .map(|k| Change { breaking: true, text: format!("operation {k} removed") }),
    );
    changes.extend(schema_diff::schema_changes(&committed, &fresh));
    if changes.is_empty() {
        return vec!["no operation or schema changed (descriptions may have)".into()];
    }
    let breaking = changes.iter().filter(|c| c.breaking).count();
    let mut lines: Vec<String> = changes.iter().map(Change::line).collect();
    lines.push(format!("{} changes, {breaking} breaking", changes.len()));
    lines
}

fn gen_cmd(root: &Path, args: &[String]) -> Result<ExitCode, String> {
    check_flags(args, &["--check"], &["--upstream"])?;
    let check = args.iter().any(|a| a == "--check");
    let upstream = value_of(args, "--upstream")?.map(PathBuf::from).unwrap_or_else(|| root.join(layout::UPSTREAM));
    if !upstream.is_dir() {
        return Err(format!(
            "{} does not exist: run `cargo xtask fetch` (or `cargo xtask fetch --from ../shared/pax8-openapi`) first",
            upstream.display()
        ));
    }
    let sources = Sources::load(&root.join(layout::SOURCES)).map_err(|e| e.to_string())?;
    for s in &sources.documents {
        let path = upstream.join(format!("{}.json", s.name));
        if let Ok(bytes) = std::fs::read(&path)
            && sha256_hex(&bytes) != s.sha256
        {
            eprintln!("warning: {} differs from the sha256 in {}", path.display(), layout::SOURCES);
        }
    }
    let output = pax8_api_gen::run(root, &upstream).map_err(|e| e.to_string())?;
    if check {
        let stale = pax8_api_gen::stale_files(root, &output);
        if stale.is_empty() {
            println!("gen --check: {} files up to date", output.files.len());
            return Ok(ExitCode::SUCCESS);
        }
        for path in &stale {
            eprintln!("stale: {} (run `cargo xtask gen`)", path.display());
        }
        return Ok(ExitCode::from(1));
    }
    let written = pax8_api_gen::write(root, &output).map_err(|e| e.to_string())?;
    for path in &written {
        println!("wrote {}", path.display());
    }
    println!("gen: {} files, {} changed", output.files.len(), written.len());
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read, Write};

    /// Serves one request on 127.0.0.1 with `status` and `body`; returns the URL.
    fn serve_once(status: &'static str, body: &'static str) -> String {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}/doc.json", listener.local_addr().unwrap());
        std::thread::spawn(move || {
            let (mut stream, _) = listener.accept().unwrap();
            let mut buf = [0u8; 1024];
            let _ = stream.read(&mut buf);
            let _ = write!(
                stream,
                "HTTP/1.1 {status}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            );
        });
        url
    }

    #[test]
    fn download_returns_the_body() {
        let url = serve_once("200 OK", r#"{"openapi": "3.0.1"}"#);
        assert_eq!(download(&url).unwrap(), br#"{"openapi": "3.0.1"}"#);
    }

    #[test]
    fn a_failed_download_names_the_address_and_the_status() {
        let url = serve_once("404 Not Found", "gone");
        let err = download(&url).unwrap_err();
        assert!(err.contains(&url) && err.contains("HTTP status 404"), "{err}");
    }

    #[test]
    fn a_network_error_names_the_address() {
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let url = format!("http://127.0.0.1:{port}/doc.json");
        let err = download(&url).unwrap_err();
        assert!(err.contains(&url) && err.contains("network error"), "{err}");
    }

    #[test]
    fn an_upstream_change_is_reported_per_operation() {
        let root = std::env::temp_dir().join(format!("pax8-xtask-diff-{}", std::process::id()));
        std::fs::create_dir_all(root.join("spec/patches")).unwrap();
        let doc = |paths: serde_json::Value| serde_json::json!({"openapi": "3.0.1", "info": {"title": "t", "version": "1"}, "paths": paths, "components": {"schemas": {}}});
        let old = doc(serde_json::json!({
            "/a": {"get": {"operationId": "getA", "responses": {"200": {"description": "ok"}}}},
            "/b": {"get": {"operationId": "getB", "responses": {"200": {"description": "ok"}}}}
        }));
        let (committed, _) = pax8_api_gen::normalize_document("demo", old, &[], &mut Default::default()).unwrap();
        std::fs::write(root.join("spec/demo.json"), serde_json::to_string(&committed).unwrap()).unwrap();
        let new = doc(serde_json::json!({
            "/a": {"get": {"operationId": "getA", "summary": "changed", "responses": {"200": {"description": "ok"}}}},
            "/c": {"post": {"operationId": "postC", "responses": {"200": {"description": "ok"}}}}
        }));
        let new_path = root.join("new.json");
        std::fs::write(&new_path, serde_json::to_string(&new).unwrap()).unwrap();
        let lines = operation_diff(&root, "demo", &new_path);
        assert_eq!(
            lines,
            [
                "+ additive: operation GET /a changed (not its parameters)",
                "+ additive: operation POST /c added",
                "! breaking: operation GET /b removed",
                "3 changes, 1 breaking"
            ]
        );
        std::fs::remove_dir_all(root).ok();
    }

    #[test]
    fn flags_are_checked() {
        let args = vec!["--from".to_string()];
        assert!(value_of(&args, "--from").is_err());
        assert!(check_flags(&["--bogus".to_string()], &["--check"], &[]).is_err());
        assert!(
            check_flags(&["--check".to_string(), "--upstream".into(), "x".into()], &["--check"], &["--upstream"])
                .is_ok()
        );
    }
}
