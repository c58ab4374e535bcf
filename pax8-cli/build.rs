//! Records the commit the binary was built from, for `pax8 --version`.

use std::process::Command;

fn main() {
    println!("cargo:rerun-if-env-changed=PAX8_COMMIT");
    let commit = std::env::var("PAX8_COMMIT").ok().filter(|c| !c.is_empty()).or_else(git_commit);
    if let Some(git_dir) = git(&["rev-parse", "--git-dir"]) {
        // Rebuilt when HEAD moves (a checkout or a commit), not on every build.
        println!("cargo:rerun-if-changed={git_dir}/HEAD");
        println!("cargo:rerun-if-changed={git_dir}/refs/heads");
    }
    println!("cargo:rustc-env=PAX8_COMMIT={}", commit.as_deref().unwrap_or("unknown"));
}

fn git_commit() -> Option<String> {
    git(&["rev-parse", "--short=12", "HEAD"])
}

fn git(args: &[&str]) -> Option<String> {
    let output = Command::new("git").args(args).output().ok()?;
    let text = String::from_utf8(output.stdout).ok()?;
    (output.status.success() && !text.trim().is_empty()).then(|| text.trim().to_string())
}
