//! The spec pipeline of pax8-rs: reads the six upstream Pax8 OpenAPI documents, normalizes them
//! (generic rules in [`normalize`], named data patches from `spec/patches/` in [`patch`]) and
//! generates the `pax8-api` modules with progenitor. Same input, same bytes.
//!
//! ```no_run
//! let out = pax8_api_gen::run(std::path::Path::new("."), std::path::Path::new("spec/upstream"))?;
//! for file in &out.files {
//!     println!("{} ({} bytes)", file.path.display(), file.contents.len());
//! }
//! # Ok::<(), pax8_api_gen::GenError>(())
//! ```
#![forbid(unsafe_code)]

pub mod endpoint;
pub mod error;
pub mod generate;
pub mod normalize;
pub mod patch;
pub mod pointer;
pub mod report;
pub mod sources;
pub mod surface;

use std::path::{Path, PathBuf};

use serde_json::Value;

pub use error::{GenError, Result};
pub use normalize::OpenEnum;
pub use patch::Patch;
pub use report::{DocReport, Report};
pub use sources::{Source, Sources};

/// Where the pipeline reads and writes, relative to the workspace root.
pub mod layout {
    /// The source list.
    pub const SOURCES: &str = "spec/sources.toml";
    /// Patch files.
    pub const PATCHES: &str = "spec/patches";
    /// Downloaded upstream documents (git-ignored).
    pub const UPSTREAM: &str = "spec/upstream";
    /// Patched documents (committed).
    pub const SPEC: &str = "spec";
    /// The change report (committed, for review).
    pub const REPORT: &str = "spec/patch-report.txt";
    /// Generated modules (committed).
    pub const GENERATED: &str = "pax8-api/src/generated";
}

/// One file the pipeline produces.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutputFile {
    /// Path relative to the workspace root.
    pub path: PathBuf,
    /// Its full contents.
    pub contents: String,
}

/// A normalized document.
#[derive(Debug, Clone)]
pub struct Normalized {
    /// The source entry.
    pub source: Source,
    /// The patched OpenAPI 3.0 document.
    pub document: Value,
    /// String enums generated as open enums.
    pub enums: Vec<OpenEnum>,
}

/// Everything the pipeline produces.
#[derive(Debug, Clone)]
pub struct Output {
    /// Files to write (patched documents, report, generated modules).
    pub files: Vec<OutputFile>,
    /// The change report.
    pub report: Report,
    /// The normalized documents.
    pub documents: Vec<Normalized>,
}

/// Applies the patches and every normalization rule to one upstream document.
pub fn normalize_document(
    name: &str,
    mut doc: Value,
    patches: &[Patch],
    report: &mut DocReport,
) -> Result<(Value, Vec<OpenEnum>)> {
    if !doc.is_object() || doc.get("paths").and_then(Value::as_object).is_none() {
        return Err(GenError::invalid(name, "no `paths` object"));
    }
    match doc.get("openapi").and_then(Value::as_str) {
        Some(v) if v.starts_with("3.0") || v.starts_with("3.1") => {}
        other => {
            return Err(GenError::invalid(name, format!("unsupported openapi version {other:?}")));
        }
    }
    normalize::downgrade_to_30(&mut doc, report)?;
    for p in patches.iter().filter(|p| p.document == name) {
        patch::apply(&mut doc, p, report)?;
    }
    normalize::fill_operation_ids(name, &mut doc, report)?;
    normalize::normalize_content_types(&mut doc, report)?;
    normalize::integer_paging_params(&mut doc, report)?;
    normalize::drop_non_string_enums(&mut doc, report)?;
    normalize::drop_undeclared_required(&mut doc, report)?;
    normalize::drop_patterns(&mut doc, report)?;
    normalize::shared_error_responses(name, &mut doc, report)?;
    normalize::lenient_dates(name, &mut doc, report)?;
    normalize::secret_fields(name, &mut doc, report)?;
    let enums = normalize::hoist_string_enums(&mut doc, report)?;
    Ok((doc, enums))
}

/// Reads a JSON document from disk.
pub fn read_json(name: &str, path: &Path) -> Result<Value> {
    let text = std::fs::read_to_string(path).map_err(|source| GenError::Io { path: path.to_path_buf(), source })?;
    serde_json::from_str(&text).map_err(|e| GenError::invalid(name, format!("{}: {e}", path.display())))
}

/// Normalizes every document listed in `root/spec/sources.toml` from `upstream_dir`.
pub fn normalize_all(root: &Path, upstream_dir: &Path) -> Result<(Vec<Normalized>, Report)> {
    let sources = Sources::load(&root.join(layout::SOURCES))?;
    let patches = patch::load_dir(&root.join(layout::PATCHES))?;
    if let Some(p) = patches.iter().find(|p| !sources.documents.iter().any(|s| s.name == p.document)) {
        return Err(GenError::Config {
            path: root.join(layout::PATCHES).join(format!("{}.json", p.name)),
            reason: format!("names unknown document `{}`", p.document),
        });
    }
    let mut report = Report::default();
    let mut documents = Vec::new();
    for source in sources.documents {
        let upstream = read_json(&source.name, &upstream_dir.join(format!("{}.json", source.name)))?;
        let mut doc_report = DocReport::default();
        let (document, enums) = normalize_document(&source.name, upstream, &patches, &mut doc_report)?;
        report.documents.push((source.name.clone(), doc_report.changes));
        documents.push(Normalized { source, document, enums });
    }
    Ok((documents, report))
}

/// Runs the whole pipeline: normalize, patch, generate. Writes nothing.
pub fn run(root: &Path, upstream_dir: &Path) -> Result<Output> {
    let (documents, report) = normalize_all(root, upstream_dir)?;
    let mut files = Vec::new();
    for n in &documents {
        let spec_path = PathBuf::from(layout::SPEC).join(format!("{}.json", n.source.name));
        let mut json = serde_json::to_string_pretty(&n.document).expect("serialize document");
        json.push('\n');
        files.push(OutputFile { path: spec_path.clone(), contents: json });
    }
    files.push(OutputFile { path: PathBuf::from(layout::REPORT), contents: report.to_string() });
    let generated: Vec<Result<OutputFile>> = std::thread::scope(|scope| {
        let handles: Vec<_> = documents
            .iter()
            .map(|n| {
                scope.spawn(move || {
                    let spec_file = format!("{}/{}.json", layout::SPEC, n.source.name);
                    let code = generate::generate(&n.source.name, &n.source.module, &spec_file, &n.document, &n.enums)?;
                    Ok(OutputFile {
                        path: PathBuf::from(layout::GENERATED).join(format!("{}.rs", n.source.module)),
                        contents: code,
                    })
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().expect("generator thread")).collect()
    });
    for file in generated {
        files.push(file?);
    }
    Ok(Output { files, report, documents })
}

/// Files under `root` whose contents differ from `output` (missing files count as stale).
pub fn stale_files(root: &Path, output: &Output) -> Vec<PathBuf> {
    output
        .files
        .iter()
        .filter(|f| std::fs::read_to_string(root.join(&f.path)).ok().as_deref() != Some(f.contents.as_str()))
        .map(|f| f.path.clone())
        .collect()
}

/// Writes every output file under `root`; returns the ones that changed.
pub fn write(root: &Path, output: &Output) -> Result<Vec<PathBuf>> {
    let stale = stale_files(root, output);
    for f in output.files.iter().filter(|f| stale.contains(&f.path)) {
        let path = root.join(&f.path);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(|source| GenError::Io { path: parent.to_path_buf(), source })?;
        }
        std::fs::write(&path, &f.contents).map_err(|source| GenError::Io { path, source })?;
    }
    Ok(stale)
}
