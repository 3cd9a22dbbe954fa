//! JSON rendering: the complete document, the source every other rendering is drawn from, and
//! the schema version every JSON document that concbench reads back carries.
//!
//! `results.json` (a run), `lab.json` (a lab) and the `results.json` of `concbench collect` open
//! with a top-level `"schema_version"` key, [`SCHEMA_VERSION`]. A reader
//! ([`super::load`]) reads a file without the key as an older concbench's (the key was added
//! after results were committed), and refuses a file with a larger version: its fields may mean
//! something this concbench does not know.

use serde::Serialize;

use super::{Reporter, RunReport};

/// The version of the JSON documents concbench writes and reads back (`results.json`,
/// `lab.json`): raised when a field changes meaning or a reader could misread a newer file.
/// Adding a field that older readers may ignore does not raise it.
pub(crate) const SCHEMA_VERSION: u32 = 1;

/// The name of the top-level key holding [`SCHEMA_VERSION`].
pub(crate) const SCHEMA_KEY: &str = "schema_version";

/// A document with the schema version as its first key, its own fields after it in their order.
#[derive(Serialize)]
struct Versioned<'a, T: Serialize> {
    schema_version: u32,
    #[serde(flatten)]
    doc: &'a T,
}

/// Pretty-printed JSON of `doc` (an object) with `"schema_version": SCHEMA_VERSION` as its first
/// key, and a final newline.
pub(crate) fn versioned_json<T: Serialize>(doc: &T) -> String {
    pretty(&Versioned {
        schema_version: SCHEMA_VERSION,
        doc,
    })
}

/// Pretty-printed JSON of `result` ending in a newline: how every result file's JSON is written.
pub(crate) fn pretty(result: &impl Serialize) -> String {
    let mut json = serde_json::to_string_pretty(result).expect("a result serialises");
    json.push('\n');
    json
}

/// Pretty-printed JSON of the whole [`RunReport`], with its schema version.
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
        versioned_json(report)
    }
}
