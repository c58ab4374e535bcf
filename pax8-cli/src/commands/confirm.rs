//! Before and after a write: its preview shown as a record (or held for `--json`), the question
//! asked (refused without a terminal unless `--yes`), and the outcome printed as the operation's
//! document.

use std::io::IsTerminal;

use serde_json::Value;

use crate::fail::Failure;
use crate::output::{Format, Printer};

/// A write's preview: shown as a record (or, in `--json`, held until the outcome), then asked.
/// On a refusal `--json` prints `{"preview": ..., "done": false}` so scripts can tell.
pub(super) struct Preview {
    fields: Vec<(&'static str, &'static str, Value)>,
}

impl Preview {
    pub fn new(fields: Vec<(&'static str, &'static str, Value)>) -> Self {
        Preview { fields }
    }

    fn json(&self) -> Value {
        Value::Object(self.fields.iter().map(|(k, _, v)| ((*k).to_string(), v.clone())).collect())
    }

    /// Shows the preview and asks `question`.
    pub fn confirm(&self, p: &Printer, question: &str, yes: bool) -> Result<(), Failure> {
        if p.format != Format::Json {
            p.record(&self.fields);
        }
        confirm(question, yes).inspect_err(|_| p.document(&serde_json::json!({"preview": self.json(), "done": false})))
    }

    /// After the write: `--json` prints the preview and the written object under `name`; tables
    /// print `message`. On a closed pipe both go to stderr, so the outcome is never lost.
    pub fn done(&self, p: &Printer, name: &str, written: Value, message: &str) {
        let mut document = serde_json::json!({"preview": self.json(), "done": true});
        document[name] = written;
        p.document(&document);
        p.note(message);
    }
}

/// An operation's preview (from `pax8_ext::ops`): `fields` shown as a record in tables, then
/// `question`; on a refusal `--json` prints the operation's document, `{"preview": ..., "done":
/// false}`.
pub(super) fn ask<P: serde::Serialize>(
    p: &Printer,
    fields: &[(&str, &str, Value)],
    preview: &P,
    question: &str,
    yes: bool,
) -> Result<(), Failure> {
    if p.format != Format::Json {
        p.record(fields);
    }
    confirm(question, yes).inspect_err(|_| p.document(&document(&pax8_ext::ops::Report::<_, ()>::not_done(preview))))
}

/// After an operation: `--json` prints its document, tables print `message`.
pub(super) fn report<T: serde::Serialize>(p: &Printer, report: &T, message: &str) {
    p.document(&document(report));
    p.note(message);
}

/// An operation's document as JSON (plain data: serializing cannot fail).
fn document<T: serde::Serialize>(value: &T) -> Value {
    serde_json::to_value(value).unwrap_or(Value::Null)
}

/// Asks before a write; refuses without a terminal unless `--yes`.
pub(super) fn confirm(question: &str, yes: bool) -> Result<(), Failure> {
    if yes {
        return Ok(());
    }
    if !std::io::stdin().is_terminal() {
        return Err(Failure::usage("not confirmed: nothing was changed (pass --yes to confirm without a prompt)"));
    }
    let confirmed = dialoguer::Confirm::new()
        .with_prompt(question)
        .default(false)
        .interact_on_opt(&dialoguer::console::Term::stderr())
        .map_err(|e| Failure::usage(format!("cannot ask for confirmation: {e}")))?;
    if confirmed == Some(true) { Ok(()) } else { Err(Failure::usage("cancelled: nothing was changed")) }
}
