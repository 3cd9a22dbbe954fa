//! JSON rendering: the complete document, the source every other rendering is drawn from.

use super::{Reporter, RunReport};

/// Pretty-printed JSON of the whole [`RunReport`].
#[derive(Debug, Default, Clone, Copy)]
pub struct JsonReporter;

impl Reporter for JsonReporter {
    fn name(&self) -> &'static str {
        "json"
    }
    fn file_name(&self) -> &'static str {
        "results.json"
    }
    fn render(&self, report: &RunReport) -> String {
        let mut s = serde_json::to_string_pretty(report).expect("report serialises");
        s.push('\n');
        s
    }
}
