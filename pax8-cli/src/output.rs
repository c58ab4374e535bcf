//! Rendering: readable tables on a terminal, `--json` (one document, stable field names),
//! `--csv`, `--quiet`.

use std::io::{IsTerminal, Write};

use serde_json::{Map, Value};

mod stream;

pub use stream::{TableStream, csv_io};

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

/// The last document printed (or that would have been, outside `--json`): a write's outcome,
/// kept under its idempotency key.
static LAST_DOCUMENT: std::sync::Mutex<Option<Value>> = std::sync::Mutex::new(None);

/// The last document [`Printer::document`] was given.
pub fn last_document() -> Option<Value> {
    LAST_DOCUMENT.lock().unwrap_or_else(std::sync::PoisonError::into_inner).clone()
}

/// Where and how to print.
#[derive(Debug, Clone, Copy)]
pub struct Printer {
    pub format: Format,
    pub colour: bool,
    /// Tables fit this width (stdout's terminal; none for pipes and files).
    pub width: Option<u16>,
}

impl Printer {
    pub fn new(format: Format, no_colour_flag: bool) -> Self {
        let terminal = std::io::stdout().is_terminal();
        let colour = !no_colour_flag && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()) && terminal;
        let width = if terminal { comfy_table::Table::new().width() } else { None };
        Self { format, colour, width }
    }
}

/// A column: JSON/CSV key and table title.
#[derive(Debug, Clone, Copy)]
pub struct Column {
    pub key: &'static str,
    pub title: &'static str,
    /// Shown as a whole number (seats, units).
    pub whole: bool,
    /// An amount: tables show it with its row's currency (`19.80 USD`).
    pub money: bool,
    /// Shown in tables (CSV and JSON show every column).
    pub in_table: bool,
}

pub const fn col(key: &'static str, title: &'static str) -> Column {
    Column { key, title, whole: false, money: false, in_table: true }
}

/// A column of whole numbers.
pub const fn whole(key: &'static str, title: &'static str) -> Column {
    Column { key, title, whole: true, money: false, in_table: true }
}

/// A column of amounts in the row's currency.
pub const fn amount(key: &'static str, title: &'static str) -> Column {
    Column { key, title, whole: false, money: true, in_table: true }
}

impl Column {
    /// Left out of tables (kept in CSV): ids that a name beside them already explains.
    pub const fn csv_only(self) -> Self {
        Column { in_table: false, ..self }
    }
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
    /// Where a single page sits among all (lists without `--all`): `--json` then prints
    /// `{"items": [...], "paging": {...}}`.
    pub paging: Option<Value>,
    /// Each row's currency (from its summary's `currency`), shown beside its amounts.
    pub currencies: Vec<Option<String>>,
}

impl Table {
    pub fn new(columns: &[Column]) -> Self {
        Self {
            columns: columns.to_vec(),
            rows: Vec::new(),
            footer: None,
            documents: None,
            paging: None,
            currencies: Vec::new(),
        }
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
            t.currencies.push(value.get("currency").and_then(Value::as_str).map(str::to_string));
            documents.push(value);
        }
        t.documents = Some(documents);
        t
    }

    pub fn push(&mut self, row: Vec<Value>) {
        debug_assert_eq!(row.len(), self.columns.len());
        self.rows.push(row);
        self.currencies.push(None);
    }

    /// Puts each company's name beside its id: a `company_name` column after `company_id`,
    /// which tables then leave out (CSV keeps both). Ids without a known name show the id.
    pub fn name_companies(&mut self, names: &std::collections::HashMap<uuid::Uuid, String>) {
        let Some(at) = self.columns.iter().position(|c| c.key == "company_id") else { return };
        self.columns[at] = Column { title: "COMPANY ID", ..self.columns[at] }.csv_only();
        self.columns.insert(at + 1, col("company_name", "COMPANY"));
        for row in &mut self.rows {
            let id = row.get(at).and_then(Value::as_str).and_then(|s| uuid::Uuid::parse_str(s).ok());
            let name = match id {
                Some(id) => names.get(&id).cloned().map_or_else(|| Value::from(id.to_string()), Value::from),
                None => Value::Null,
            };
            row.insert(at + 1, name);
        }
    }

    /// Whether the table has a `company_id` column to put names beside.
    pub fn has_company_column(&self) -> bool {
        self.columns.iter().any(|c| c.key == "company_id")
    }

    /// The ids in the `company_id` column.
    pub fn company_ids(&self) -> Vec<Option<uuid::Uuid>> {
        let Some(at) = self.columns.iter().position(|c| c.key == "company_id") else { return Vec::new() };
        self.rows
            .iter()
            .map(|r| r.get(at).and_then(Value::as_str).and_then(|s| uuid::Uuid::parse_str(s).ok()))
            .collect()
    }

    /// The JSON of each row: the summaries when the table has them, else its columns.
    pub(crate) fn row_documents(&self) -> Vec<Value> {
        match &self.documents {
            Some(documents) => documents.clone(),
            None => match self.objects() {
                Value::Array(rows) => rows,
                _ => Vec::new(),
            },
        }
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

/// An amount, rounded to cents (computed in decimals: `pax8_ext::money`).
pub fn money(x: pax8_ext::money::Decimal) -> Value {
    pax8_ext::money::number(x)
}

/// An amount as the API sent it (a number), rounded to cents; absent is zero.
pub fn api_money(x: Option<f64>) -> Value {
    money(pax8_ext::money::amount(x))
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

pub(crate) fn csv_record(row: &[Value]) -> impl Iterator<Item = String> + '_ {
    row.iter().map(|v| if v.is_null() { String::new() } else { cell(v) })
}

impl Printer {
    /// Prints a list.
    pub fn table(&self, t: &Table) {
        let mut out = std::io::stdout().lock();
        // A closed pipe (`| head`) ends the listing quietly: every write's error is ignored.
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
                let document = Value::Array(t.row_documents());
                let document = match &t.paging {
                    Some(paging) => serde_json::json!({"items": document, "paging": paging}),
                    None => document,
                };
                let _ = writeln!(out, "{}", serde_json::to_string_pretty(&document).unwrap_or_default());
            }
            Format::Csv => {
                let mut csv = csv::Writer::from_writer(out);
                let _ = csv.write_record(t.columns.iter().map(|c| c.key));
                for r in &t.rows {
                    let _ = csv.write_record(csv_record(r));
                }
                let _ = csv.flush();
            }
            Format::Table => {
                let _ = write!(out, "{}", self.layout(t));
                if let Some(f) = &t.footer {
                    let _ = writeln!(out, "{f}");
                }
            }
        }
    }

    /// The table laid out by comfy-table: no borders, numbers right-aligned, fitted to the
    /// terminal's width (long cells cut with `…`; pipes get every character).
    fn layout(&self, t: &Table) -> String {
        let mut table = comfy_table::Table::new();
        table.load_style(comfy_table::presets::NOTHING);
        if let Some(width) = self.width {
            table.set_content_arrangement(comfy_table::ContentArrangement::Dynamic);
            table.set_width(width);
            table.set_truncation_indicator("…");
        }
        if self.colour {
            table.enforce_styling();
        }
        let shown: Vec<usize> = (0..t.columns.len()).filter(|&i| t.columns[i].in_table).collect();
        table.set_header(shown.iter().map(|&i| {
            let title = comfy_table::Cell::new(t.columns[i].title);
            if self.colour { title.add_attribute(comfy_table::Attribute::Bold) } else { title }
        }));
        for (n, r) in t.rows.iter().enumerate() {
            let currency = t.currencies.get(n).and_then(Option::as_deref);
            let mut row = comfy_table::Row::from(shown.iter().map(|&i| match (&r[i], currency) {
                (Value::Number(_), Some(currency)) if t.columns[i].money => format!("{} {currency}", cell(&r[i])),
                (v, _) => cell(v),
            }));
            row.max_height(1);
            table.add_row(row);
        }
        for (column, &i) in table.column_iter_mut().zip(&shown) {
            column.set_padding((0, 2));
            // Numbers right-aligned; a column of nothing but blanks is not a number column.
            let numeric =
                t.rows.iter().any(|r| r[i].is_number()) && t.rows.iter().all(|r| r[i].is_number() || r[i].is_null());
            if numeric || t.columns[i].money {
                column.set_cell_alignment(comfy_table::CellAlignment::Right);
            }
        }
        // comfy-table pads every line on both sides; scripts and goldens want no trailing blanks.
        let mut text = String::new();
        for line in table.lines() {
            text.push_str(line.trim_end());
            text.push('\n');
        }
        text
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
                let mut csv = csv::Writer::from_writer(out);
                let _ = csv.write_record(fields.iter().map(|f| f.0));
                let _ = csv.write_record(fields.iter().map(|f| if f.2.is_null() { String::new() } else { cell(&f.2) }));
                let _ = csv.flush();
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
        *LAST_DOCUMENT.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = Some(value.clone());
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
        assert_eq!(cell(&api_money(Some(12.345))), "12.35");
        assert_eq!(cell(&api_money(Some(1.005))), "1.01", "decimal rounding: f64 would say 1.00");
        assert_eq!(cell(&Value::from(3)), "3");
        assert_eq!(cell(&Value::Null), "-");
    }

    fn sample() -> Table {
        let mut t = Table::new(&[col("name", "Name"), whole("seats", "Seats")]);
        t.push(vec![Value::from("Contoso Pharmaceuticals International Holdings"), Value::from(5)]);
        t.push(vec![Value::from("Fabrikam"), Value::from(120)]);
        t
    }

    #[test]
    fn amounts_carry_their_currency_and_names_stand_in_for_ids_in_tables_only() {
        #[derive(serde::Serialize)]
        struct Row {
            company_id: Option<uuid::Uuid>,
            price: f64,
            currency: Option<&'static str>,
        }
        let (known, unknown) = (uuid::Uuid::from_u128(1), uuid::Uuid::from_u128(2));
        let rows = [
            Row { company_id: Some(known), price: 19.8, currency: Some("USD") },
            Row { company_id: Some(unknown), price: 7.0, currency: None },
            Row { company_id: None, price: 1.5, currency: Some("EUR") },
        ];
        let mut t = Table::of(&[col("company_id", "COMPANY"), amount("price", "PRICE")], &rows);
        t.name_companies(&[(known, "Globex".to_string())].into_iter().collect());
        let p = Printer { format: Format::Table, colour: false, width: None };
        let text = p.layout(&t);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0].split_whitespace().collect::<Vec<_>>(), ["COMPANY", "PRICE"], "{text}");
        assert!(lines[1].starts_with("Globex") && lines[1].ends_with("19.80 USD"), "{text}");
        assert!(lines[2].starts_with(&unknown.to_string()) && lines[2].ends_with("7.00"), "{text}");
        assert!(lines[3].starts_with('-') && lines[3].ends_with("1.50 EUR"), "{text}");
        assert_eq!(t.columns.iter().map(|c| c.key).collect::<Vec<_>>(), ["company_id", "company_name", "price"]);
        assert_eq!(t.rows[0][1], "Globex");
    }

    #[test]
    fn tables_align_numbers_right_and_keep_every_character_in_a_pipe() {
        let p = Printer { format: Format::Table, colour: false, width: None };
        let text = p.layout(&sample());
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 3, "{text}");
        assert!(lines[1].contains("Contoso Pharmaceuticals International Holdings"), "{text}");
        // Right-aligned: the seat counts end in the same column.
        assert_eq!(lines[1].len(), lines[2].len(), "{text}");
        assert!(lines[2].ends_with("120") && lines[1].ends_with("  5"), "{text}");
        assert!(lines.iter().all(|l| !l.ends_with(' ')), "{text}");
    }

    #[test]
    fn tables_fit_a_narrow_terminal_cutting_long_cells() {
        let p = Printer { format: Format::Table, colour: false, width: Some(30) };
        let text = p.layout(&sample());
        assert_eq!(text.lines().count(), 3, "one line per row: {text}");
        assert!(text.lines().all(|l| l.chars().count() <= 30), "{text}");
        assert!(text.contains('…'), "{text}");
        assert!(text.contains("120"), "{text}");
    }
}
