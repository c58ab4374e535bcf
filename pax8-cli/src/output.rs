//! Rendering: readable tables on a terminal, `--json` (one document, stable field names),
//! `--csv`, `--quiet`.

use std::io::{IsTerminal, Write};

use serde_json::{Map, Value};

/// How results are printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Table,
    Json,
    Csv,
    Quiet,
    /// Lists: the `id` column only; records and notes as in `Quiet`.
    Ids,
}

/// Where and how to print.
#[derive(Debug, Clone, Copy)]
pub struct Printer {
    pub format: Format,
    pub colour: bool,
}

impl Printer {
    pub fn new(format: Format, no_colour_flag: bool) -> Self {
        let colour = !no_colour_flag
            && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
            && std::io::stdout().is_terminal();
        Self { format, colour }
    }
}

/// A column: JSON/CSV key and table title.
#[derive(Debug, Clone, Copy)]
pub struct Column {
    pub key: &'static str,
    pub title: &'static str,
    /// Shown as a whole number (seats, units).
    pub whole: bool,
}

pub const fn col(key: &'static str, title: &'static str) -> Column {
    Column { key, title, whole: false }
}

/// A column of whole numbers.
pub const fn whole(key: &'static str, title: &'static str) -> Column {
    Column { key, title, whole: true }
}

/// A list result.
#[derive(Debug, Clone)]
pub struct Table {
    pub columns: Vec<Column>,
    pub rows: Vec<Vec<Value>>,
    /// A line printed under the table (not in JSON/CSV).
    pub footer: Option<String>,
    /// What `--json` prints instead of the columns: the whole summaries (pax8-ext's views,
    /// the same the MCP tools return).
    pub documents: Option<Vec<Value>>,
}

impl Table {
    pub fn new(columns: &[Column]) -> Self {
        Self { columns: columns.to_vec(), rows: Vec::new(), footer: None, documents: None }
    }

    /// A table of summaries: the columns pick fields by name; `--json` prints every field.
    pub fn of<S: serde::Serialize>(columns: &[Column], summaries: &[S]) -> Self {
        let mut t = Table::new(columns);
        let mut documents = Vec::with_capacity(summaries.len());
        for summary in summaries {
            let value = serde_json::to_value(summary).unwrap_or(Value::Null);
            let row = columns
                .iter()
                .map(|c| {
                    let field = value.get(c.key).cloned().unwrap_or(Value::Null);
                    // (`as` saturates: an absurd quantity shows as the largest number, never wraps.)
                    if c.whole { field.as_f64().map_or(Value::Null, |f| Value::from(f.round() as i64)) } else { field }
                })
                .collect();
            t.rows.push(row);
            documents.push(value);
        }
        t.documents = Some(documents);
        t
    }

    pub fn push(&mut self, row: Vec<Value>) {
        debug_assert_eq!(row.len(), self.columns.len());
        self.rows.push(row);
    }

    fn objects(&self) -> Value {
        Value::Array(
            self.rows
                .iter()
                .map(|r| {
                    let mut m = Map::new();
                    for (c, v) in self.columns.iter().zip(r) {
                        m.insert(c.key.to_string(), v.clone());
                    }
                    Value::Object(m)
                })
                .collect(),
        )
    }
}

/// Money with two decimals.
pub fn money(x: f64) -> Value {
    Value::from((x * 100.0).round() / 100.0)
}

/// An optional string.
pub fn text(s: Option<impl ToString>) -> Value {
    s.map_or(Value::Null, |s| Value::String(s.to_string()))
}

fn cell(v: &Value) -> String {
    match v {
        Value::Null => "-".into(),
        Value::String(s) => s.clone(),
        Value::Number(n) => match n.as_f64() {
            Some(f) if n.is_f64() => format!("{f:.2}"),
            _ => n.to_string(),
        },
        other => other.to_string(),
    }
}

fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) { format!("\"{}\"", s.replace('"', "\"\"")) } else { s.to_string() }
}

impl Printer {
    /// Prints a list.
    pub fn table(&self, t: &Table) {
        let mut out = std::io::stdout().lock();
        match self.format {
            Format::Quiet => {}
            Format::Ids => {
                if let Some(i) = t.columns.iter().position(|c| c.key == "id") {
                    for r in &t.rows {
                        if let Some(Value::String(id)) = r.get(i) {
                            let _ = writeln!(out, "{id}");
                        }
                    }
                }
            }
            Format::Json => {
                let document = match &t.documents {
                    Some(documents) => Value::Array(documents.clone()),
                    None => t.objects(),
                };
                let _ = writeln!(out, "{}", serde_json::to_string_pretty(&document).unwrap_or_default());
            }
            Format::Csv => {
                let _ = writeln!(out, "{}", t.columns.iter().map(|c| c.key).collect::<Vec<_>>().join(","));
                for r in &t.rows {
                    let line: Vec<String> =
                        r.iter().map(|v| csv_field(&if v.is_null() { String::new() } else { cell(v) })).collect();
                    let _ = writeln!(out, "{}", line.join(","));
                }
            }
            Format::Table => {
                let cells: Vec<Vec<String>> = t.rows.iter().map(|r| r.iter().map(cell).collect()).collect();
                let widths: Vec<usize> = t
                    .columns
                    .iter()
                    .enumerate()
                    .map(|(i, c)| cells.iter().map(|r| r[i].chars().count()).chain([c.title.len()]).max().unwrap_or(0))
                    .collect();
                let numeric: Vec<bool> = (0..t.columns.len())
                    .map(|i| !t.rows.is_empty() && t.rows.iter().all(|r| r[i].is_number() || r[i].is_null()))
                    .collect();
                let line = |values: Vec<String>| -> String {
                    values
                        .iter()
                        .enumerate()
                        .map(|(i, v)| {
                            if numeric[i] {
                                format!("{v:>w$}", w = widths[i])
                            } else {
                                format!("{v:<w$}", w = widths[i])
                            }
                        })
                        .collect::<Vec<_>>()
                        .join("  ")
                        .trim_end()
                        .to_string()
                };
                let header = line(t.columns.iter().map(|c| c.title.to_string()).collect());
                let _ = if self.colour { writeln!(out, "\x1b[1m{header}\x1b[0m") } else { writeln!(out, "{header}") };
                for r in cells {
                    let _ = writeln!(out, "{}", line(r));
                }
                if let Some(f) = &t.footer {
                    let _ = writeln!(out, "{f}");
                }
            }
        }
    }

    /// Prints one record (show, summaries) as `key: value` lines or one JSON object.
    pub fn record(&self, fields: &[(&str, &str, Value)]) {
        let mut out = std::io::stdout().lock();
        match self.format {
            Format::Quiet | Format::Ids => {}
            Format::Json => {
                let mut m = Map::new();
                for (key, _, v) in fields {
                    m.insert((*key).to_string(), v.clone());
                }
                let _ = writeln!(out, "{}", serde_json::to_string_pretty(&Value::Object(m)).unwrap_or_default());
            }
            Format::Csv => {
                let _ = writeln!(out, "{}", fields.iter().map(|f| f.0).collect::<Vec<_>>().join(","));
                let _ =
                    writeln!(out, "{}", fields.iter().map(|f| csv_field(&cell(&f.2))).collect::<Vec<_>>().join(","));
            }
            Format::Table => {
                let width = fields.iter().map(|f| f.1.len()).max().unwrap_or(0);
                for (_, title, v) in fields {
                    let title = format!("{title:<width$}");
                    let _ = if self.colour {
                        writeln!(out, "\x1b[1m{title}\x1b[0m  {}", cell(v))
                    } else {
                        writeln!(out, "{title}  {}", cell(v))
                    };
                }
            }
        }
    }

    /// A human message on stdout (tables only).
    /// Prints one JSON document in `--json` mode (nothing otherwise). On a closed pipe the
    /// document goes to stderr, so the result of a write is not lost.
    pub fn document(&self, value: &Value) {
        if self.format == Format::Json {
            let text = serde_json::to_string_pretty(value).unwrap_or_default();
            if writeln!(std::io::stdout().lock(), "{text}").is_err() {
                let _ = writeln!(std::io::stderr().lock(), "{text}");
            }
        }
    }

    pub fn note(&self, message: &str) {
        if self.format == Format::Table {
            // A closed pipe (`| head`) is no reason to panic; the message (an order placed, say)
            // then goes to stderr so it is not lost.
            if writeln!(std::io::stdout().lock(), "{message}").is_err() {
                let _ = writeln!(std::io::stderr().lock(), "{message}");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_escapes_and_cells_format() {
        assert_eq!(csv_field("a,b"), "\"a,b\"");
        assert_eq!(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(cell(&money(12.345)), "12.35");
        assert_eq!(cell(&Value::from(3)), "3");
        assert_eq!(cell(&Value::Null), "-");
    }
}
