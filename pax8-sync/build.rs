//! Rebuilds the crate when a migration is added: `sqlx::migrate!` embeds the directory's files
//! at compile time but does not watch the directory for new ones.

fn main() {
    println!("cargo:rerun-if-changed=migrations");
}
