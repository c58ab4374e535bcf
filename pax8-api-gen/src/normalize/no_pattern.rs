//! Rule `no-pattern`.

use serde_json::Value;

use super::visit::visit_schemas;
use crate::error::Result;
use crate::report::DocReport;

/// Rule `no-pattern`: string `pattern`s are dropped. typify enforces them while decoding, so one
/// company whose country the server writes differently (`United States` where the pattern wants
/// `US`) would fail a whole page; validating values is the server's job.
pub fn drop_patterns(doc: &mut Value, report: &mut DocReport) -> Result<()> {
    visit_schemas(doc, &mut |schema, _context, at| {
        if let Some(map) = schema.as_object_mut()
            && let Some(pattern) = map.shift_remove("pattern")
        {
            report.add("no-pattern", format!("{at}/pattern"), format!("removed {pattern}"));
        }
        false
    });
    Ok(())
}
