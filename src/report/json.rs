//! The JSON report: `{"as_of": "YYYY-MM-DD", "calls": [...]}`, the contract for scripts.

use super::{Report, ReportFormatter};

pub struct JsonFormatter;

impl ReportFormatter for JsonFormatter {
    fn format(&self, report: &Report) -> String {
        // Plain structs with string keys: serialising cannot fail.
        let mut out = serde_json::to_string_pretty(report).expect("report serialises to JSON");
        out.push('\n');
        out
    }
}
