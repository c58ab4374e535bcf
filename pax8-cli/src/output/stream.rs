//! A listing written a table at a time: `--all` in `--json`, `--csv` or `--ids-only`.

use std::io::Write;

use serde_json::Value;

use super::{Format, Table, csv_record};

/// A listing written a table at a time (`--all` in a machine format): the same bytes
/// [`super::Printer::table`] prints for the whole listing at once (one pretty JSON array, CSV under
/// one header, one id a line), holding only the table being written.
pub struct TableStream {
    format: Format,
    out: std::io::BufWriter<std::io::Stdout>,
    csv: Option<csv::Writer<std::io::Stdout>>,
    rows: u64,
}

impl TableStream {
    /// Starts the output (CSV: the header of `header`'s columns).
    pub fn start(format: Format, header: &Table) -> Self {
        let mut stream = TableStream { format, out: std::io::BufWriter::new(std::io::stdout()), csv: None, rows: 0 };
        if format == Format::Csv {
            let mut csv = csv::Writer::from_writer(std::io::stdout());
            let _ = csv.write_record(header.columns.iter().map(|c| c.key));
            stream.csv = Some(csv);
        }
        stream
    }

    /// Writes `t`'s rows; false when the reader went away (a closed pipe).
    pub fn write(&mut self, t: &Table) -> bool {
        let written = match self.format {
            Format::Json => t.row_documents().iter().try_for_each(|document| {
                // serde_json's pretty array: each element indented one level (strings never hold
                // a raw newline, so indenting every line is exact).
                let text = serde_json::to_string_pretty(document).unwrap_or_default().replace('\n', "\n  ");
                let lead = if self.rows == 0 { "[\n  " } else { ",\n  " };
                self.rows += 1;
                write!(self.out, "{lead}{text}")
            }),
            Format::Csv => match &mut self.csv {
                Some(csv) => t.rows.iter().try_for_each(|r| csv.write_record(csv_record(r)).map_err(csv_io)),
                None => Ok(()),
            },
            Format::Ids => match t.columns.iter().position(|c| c.key == "id") {
                Some(i) => t
                    .rows
                    .iter()
                    .filter_map(|r| r.get(i).and_then(Value::as_str))
                    .try_for_each(|id| writeln!(self.out, "{id}")),
                None => Ok(()),
            },
            Format::Table | Format::Quiet => Ok(()),
        };
        written.is_ok()
    }

    /// Ends the output (JSON: closes the array, `[]` for none) and flushes it.
    pub fn finish(mut self) {
        if self.format == Format::Json {
            let _ = writeln!(self.out, "{}", if self.rows == 0 { "[]" } else { "\n]" });
        }
        let _ = self.out.flush();
        if let Some(mut csv) = self.csv.take() {
            let _ = csv.flush();
        }
    }
}

/// A csv error as the I/O error it wraps (a closed pipe stays a closed pipe).
pub fn csv_io(e: csv::Error) -> std::io::Error {
    match e.into_kind() {
        csv::ErrorKind::Io(e) => e,
        other => std::io::Error::other(format!("{other:?}")),
    }
}
