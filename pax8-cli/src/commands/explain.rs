//! `pax8 explain [TERM]`: the billing vocabulary (pax8-ext's glossary), offline.

use pax8_ext::glossary;
use serde_json::Value;

use crate::fail::Failure;
use crate::output::{Printer, Table, col};

pub fn explain(words: &[String], printer: &Printer) -> Result<(), Failure> {
    let name = words.join(" ");
    if name.trim().is_empty() {
        let mut t = Table::new(&[col("term", "TERM"), col("aliases", "ALSO"), col("meaning", "MEANING")]);
        for e in glossary::ENTRIES {
            t.push(vec![Value::from(e.term), Value::from(e.aliases.join(", ")), Value::from(e.meaning)]);
        }
        t.footer = Some("`pax8 explain TERM` for one".into());
        printer.table(&t);
        return Ok(());
    }
    let Some(entry) = glossary::find(&name) else {
        let similar = glossary::similar(&name);
        let hint = if similar.is_empty() { String::new() } else { format!(" (did you mean: {}?)", similar.join(", ")) };
        return Err(Failure::usage(format!("`{name}` is not a term pax8 explains{hint}; `pax8 explain` lists them")));
    };
    printer.record(&[
        ("term", "Term", Value::from(entry.term)),
        ("aliases", "Also", Value::from(entry.aliases.join(", "))),
        ("meaning", "Meaning", Value::from(entry.meaning)),
    ]);
    Ok(())
}
