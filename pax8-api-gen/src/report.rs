//! What the pipeline changed, and where: rendered as text for review and for snapshots.

use std::fmt;

/// One change made to one document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    /// The normalization rule or the patch that made the change.
    pub rule: String,
    /// JSON pointer into the document where it was made.
    pub pointer: String,
    /// A short human description.
    pub detail: String,
}

/// Changes per document, in the order they were made (deterministic for a given input).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Report {
    /// `(document name, changes)` in `sources.toml` order.
    pub documents: Vec<(String, Vec<Change>)>,
}

/// Collects the changes made to a single document.
#[derive(Debug, Default)]
pub struct DocReport {
    pub(crate) changes: Vec<Change>,
}

impl DocReport {
    pub(crate) fn add(&mut self, rule: &str, pointer: impl Into<String>, detail: impl Into<String>) {
        self.changes.push(Change { rule: rule.to_string(), pointer: pointer.into(), detail: detail.into() });
    }

    /// The changes recorded so far.
    pub fn changes(&self) -> &[Change] {
        &self.changes
    }
}

impl Report {
    /// The report of one document.
    pub fn document(&self, name: &str) -> Option<&[Change]> {
        self.documents.iter().find(|(n, _)| n == name).map(|(_, c)| c.as_slice())
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (name, changes) in &self.documents {
            writeln!(f, "# {name} ({} changes)", changes.len())?;
            for c in changes {
                writeln!(f, "{:<28} {}  {}", c.rule, c.pointer, c.detail)?;
            }
        }
        Ok(())
    }
}
