//! Reading result files as untrusted input: what `compare` and `collect` read goes through here.
//!
//! An instructor collects students' `results.json` and `lab.json` files; any of them may be cut
//! short, edited by hand, written by another program or a newer concbench, or not a file at all.
//! Reading one ([`read_document`], then [`parse_run`], or [`read_run`] for both) either gives a
//! document whose every figure is plausible or a [`LoadError`]: one line that names the file
//! and says what it is instead. It never panics, never blocks and never reads without bound:
//!
//! - the path's type is checked *before* it is opened (opening a FIFO for reading waits for a
//!   writer): a directory, a FIFO, a socket or a device is refused, and the file is opened
//!   without blocking and checked again, in case it was swapped after the check;
//! - at most [`MAX_RESULT_BYTES`] + 1 bytes are read (`/dev/zero` never ends; a sparse file
//!   claims any size);
//! - the text must be UTF-8 and JSON, nested at most 128 levels (serde_json's recursion limit,
//!   which returns an error rather than overflowing the stack); a number beyond a 64-bit float
//!   (`1e999`) is named as such;
//! - the document must be an object with a `schema_version` no larger than
//!   [`SCHEMA_VERSION`] (a file without one is an older concbench's and is read), and it is
//!   recognised by its keys: a run's results, a lab's results, another concbench document
//!   (limits, ctxswitch, refs, timeline, trace, compare or collect output, named), or another
//!   program's JSON;
//! - after parsing, every time, median, interval, speedup and efficiency of a run is checked
//!   ([`validate_run`]): finite, not negative, medians above 0, below [`ABSURD`], intervals
//!   ordered; the error names the row and the field.
//!
//! [`expand_inputs`] turns the arguments of `collect` into files: a file stays, a directory is
//! walked for [`RESULT_FILE_NAMES`] (symbolic links to directories are followed once, never
//! into a loop; at most [`MAX_WALK_DEPTH`] levels and [`MAX_RESULT_FILES`] files), and a file
//! reached twice is refused, naming both spellings.
//!
//! Lab results are parsed one layer up (`crate::collect::read_results`): `LabReport` belongs to
//! `crate::lab`, which sits above this module.

use std::collections::{HashMap, HashSet};
use std::io::Read;
use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

use super::json::{SCHEMA_KEY, SCHEMA_VERSION};
use super::RunReport;
use crate::analysis::Row;
use crate::sys;

/// The largest result file read (a results.json of 4096 rows is a few MiB).
pub(crate) const MAX_RESULT_BYTES: u64 = 64 << 20;

/// How deep JSON may nest: serde_json's recursion limit, past which it returns an error.
pub(crate) const MAX_JSON_DEPTH: usize = 128;

/// No time (seconds), speedup or efficiency of a real run reaches this (a time of 10^7 s is
/// 116 days): a figure at or above it is refused as absurd.
pub(crate) const ABSURD: f64 = 1e7;

/// The file names `collect` looks for in a directory: a run's and a lab's results.
pub(crate) const RESULT_FILE_NAMES: [&str; 2] = ["results.json", "lab.json"];

/// How many directory levels below an argument `collect` walks.
pub(crate) const MAX_WALK_DEPTH: usize = 32;

/// How many result files one invocation of `collect` reads.
pub(crate) const MAX_RESULT_FILES: usize = 10_000;

/// How many directory entries (of any kind) the walk of one argument looks at.
pub(crate) const MAX_DIR_ENTRIES: usize = 1_000_000;

/// Why a file is not a result concbench can read; each is bad input (exit status 2) and its
/// message is one line naming the file.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LoadError {
    /// The file could not be read (missing, no permission, a link that loops).
    #[error("cannot read {file}: {source}")]
    Read {
        /// The file, as named.
        file: String,
        /// What the OS said.
        source: std::io::Error,
    },
    /// A directory, a FIFO, a socket, a device: not a file to read.
    #[error("{file} is {what}, not a results file")]
    NotAFile {
        /// The path, as named.
        file: String,
        /// What it is, in words (`a named pipe (FIFO)`).
        what: &'static str,
    },
    /// Larger than `MAX_RESULT_BYTES`.
    #[error("{file} is larger than {limit_mib} MiB: not a concbench result file")]
    TooBig {
        /// The file.
        file: String,
        /// The limit, MiB.
        limit_mib: u64,
    },
    /// Empty, or only white space.
    #[error("{file} is not a concbench result file: it is empty")]
    Empty {
        /// The file.
        file: String,
    },
    /// Not UTF-8 text.
    #[error("{file} is not a concbench result file: it is not text (not UTF-8 from byte {at})")]
    NotUtf8 {
        /// The file.
        file: String,
        /// The offset of the first byte that is not UTF-8.
        at: usize,
    },
    /// JSON that ends in the middle.
    #[error("{file} is not a concbench result file: its JSON ends early: cut short?")]
    CutShort {
        /// The file.
        file: String,
    },
    /// Not JSON.
    #[error(
        "{file} is not a concbench result file: it is not JSON (from line {line}, character {character})"
    )]
    NotJson {
        /// The file.
        file: String,
        /// Line of the first fault, from 1.
        line: usize,
        /// Character in that line, from 1.
        character: usize,
    },
    /// JSON nested deeper than `MAX_JSON_DEPTH`.
    #[error(
        "{file} is not a concbench result file: its JSON nests deeper than {MAX_JSON_DEPTH} levels"
    )]
    TooDeep {
        /// The file.
        file: String,
    },
    /// A number no 64-bit float holds (`1e999`).
    #[error("{file} holds a number too large for a 64-bit float (such as 1e999) on line {line}: not a figure concbench writes")]
    NumberTooLarge {
        /// The file.
        file: String,
        /// Its line, from 1.
        line: usize,
    },
    /// JSON that no concbench writes.
    #[error("{file} is another program's JSON ({what}), not a concbench result file")]
    NotConcbench {
        /// The file.
        file: String,
        /// What it holds (`an array`, `an object with keys name, version`).
        what: String,
    },
    /// Another concbench document than a run's or a lab's results.
    #[error("{file} is {what}, not a run's results.json or a lab.json")]
    OtherConcbench {
        /// The file.
        file: String,
        /// Which (`a concbench limits report, limits.json`).
        what: &'static str,
    },
    /// Written by a newer concbench, with a larger schema version.
    #[error(
        "{file} was written by a newer concbench (schema {version}; this one reads {SCHEMA_VERSION})"
    )]
    Newer {
        /// The file.
        file: String,
        /// Its schema version.
        version: u64,
    },
    /// A `schema_version` that is not a whole number.
    #[error(
        "{file} has a schema_version that is not a whole number ({what}): not written by concbench"
    )]
    BadSchema {
        /// The file.
        file: String,
        /// What it holds instead (`-1`, `a string`).
        what: String,
    },
    /// A lab's results where a run's were asked for.
    #[error("{file} is a concbench lab report (lab.json), a lab result, not a run's results.json")]
    Lab {
        /// The file.
        file: String,
    },
    /// A run's results where a lab's were asked for.
    #[error("{file} is a concbench run's results.json, not a lab.json")]
    Run {
        /// The file.
        file: String,
    },
    /// Recognised as a concbench document, but its fields do not read as one (missing, of
    /// another type).
    #[error("{file} looks like a concbench {what} but does not read as one: {detail}")]
    Shape {
        /// The file.
        file: String,
        /// What it looked like (`results.json`).
        what: &'static str,
        /// The parser's words, with where.
        detail: String,
    },
    /// A figure no measurement gives: not finite, negative, absurd, an interval upside down.
    #[error("{file} has an impossible figure in {place}: {field} is {value} ({rule})")]
    Figure {
        /// The file.
        file: String,
        /// Where (`row 3 (multi-threaded x2)`).
        place: String,
        /// The field (`median_s`).
        field: &'static str,
        /// Its value, as text.
        value: String,
        /// The rule it breaks.
        rule: &'static str,
    },
    /// The same file (or directory argument) named twice: two arguments, a path and a link to
    /// it.
    #[error("{second} and {first} are the same {what} (reached twice): name each {what} once")]
    Duplicate {
        /// The first spelling.
        first: String,
        /// The second.
        second: String,
        /// `file` or `directory`.
        what: &'static str,
    },
    /// A directory argument without any result file under it.
    #[error("{dir} holds no results.json or lab.json (its subdirectories searched, at most {MAX_WALK_DEPTH} levels deep)")]
    NoResults {
        /// The directory.
        dir: String,
    },
    /// More result files than `MAX_RESULT_FILES`, or a walk past `MAX_DIR_ENTRIES`.
    #[error("{dir} holds more than {limit} {what}: collect reads at most {limit}")]
    TooMany {
        /// The directory argument (or the file argument that went past the limit).
        dir: String,
        /// The limit.
        limit: usize,
        /// Of what (`result files`).
        what: &'static str,
    },
    /// Directories nested deeper than `MAX_WALK_DEPTH` below an argument.
    #[error("{dir} is more than {MAX_WALK_DEPTH} directories below {root}: collect walks at most {MAX_WALK_DEPTH} levels")]
    WalkTooDeep {
        /// The directory too deep.
        dir: String,
        /// The argument it was reached from.
        root: String,
    },
    /// Every file found lies inside the directory the collection is to be written to (`collect
    /// --out DIR`): an earlier collection's output, not an input.
    #[error("nothing to collect: every file found is inside --out {dir}")]
    AllInsideOut {
        /// The output directory.
        dir: String,
    },
}

/// A path for one line of text: lossy where it is not UTF-8, control characters (a newline in a
/// file name) escaped, so that a message naming it stays one line.
pub(crate) fn show_path(path: &Path) -> String {
    one_line(&path.to_string_lossy())
}

/// Text from a file for one line of a message: control characters escaped, at most 200
/// characters (then `...`).
pub(crate) fn one_line(s: &str) -> String {
    let mut out = String::with_capacity(s.len().min(256));
    for (i, c) in s.chars().enumerate() {
        if i == 200 {
            out.push_str("...");
            break;
        }
        if c.is_control() {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    out
}

/// Which results a document holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum DocKind {
    /// A run's `results.json` (`concbench run --out`, `--format json`).
    Run,
    /// A lab's `lab.json` (`concbench lab --out`, `--format json`).
    Lab,
}

/// A result file read and recognised, not yet parsed into its type.
#[derive(Debug, Clone)]
pub(crate) struct Document {
    /// The file, as [`show_path`] shows it.
    pub(crate) file: String,
    /// What it holds.
    pub(crate) kind: DocKind,
    /// Its schema version; `None` in files written before the key was.
    pub(crate) schema_version: Option<u64>,
    text: String,
}

impl Document {
    /// The JSON text.
    pub(crate) fn text(&self) -> &str {
        &self.text
    }
}

/// Read `path` as a result file: checked, bounded, UTF-8, JSON, not newer, recognised as a run
/// or a lab (see the module doc).
pub(crate) fn read_document(path: &Path) -> Result<Document, LoadError> {
    let file = show_path(path);
    let bytes = read_bounded(path, &file)?;
    recognise(file, bytes)
}

/// [`read_document`] of bytes already in memory; `file` names them in errors.
#[cfg(test)]
pub(crate) fn parse_document(file: &str, bytes: &[u8]) -> Result<Document, LoadError> {
    if bytes.len() as u64 > MAX_RESULT_BYTES {
        return Err(LoadError::TooBig {
            file: file.to_string(),
            limit_mib: MAX_RESULT_BYTES >> 20,
        });
    }
    recognise(file.to_string(), bytes.to_vec())
}

/// Read a run's `results.json`, refusing a lab's and anything else (see the module doc).
pub(crate) fn read_run(path: &Path) -> Result<RunReport, LoadError> {
    let doc = read_document(path)?;
    match doc.kind {
        DocKind::Run => parse_run(&doc),
        DocKind::Lab => Err(LoadError::Lab { file: doc.file }),
    }
}

/// Parse a document recognised as a run into a [`RunReport`] and check its figures
/// ([`validate_run`]).
pub(crate) fn parse_run(doc: &Document) -> Result<RunReport, LoadError> {
    if doc.kind != DocKind::Run {
        return Err(LoadError::Lab {
            file: doc.file.clone(),
        });
    }
    let report: RunReport = serde_json::from_str(doc.text()).map_err(|e| LoadError::Shape {
        file: doc.file.clone(),
        what: "results.json",
        detail: one_line(&e.to_string()),
    })?;
    validate_run(&doc.file, &report)?;
    Ok(report)
}

/// Check the path, then read at most [`MAX_RESULT_BYTES`] + 1 bytes of it.
fn read_bounded(path: &Path, file: &str) -> Result<Vec<u8>, LoadError> {
    let read_err = |source| LoadError::Read {
        file: file.to_string(),
        source,
    };
    let too_big = || LoadError::TooBig {
        file: file.to_string(),
        limit_mib: MAX_RESULT_BYTES >> 20,
    };
    // What the path is, from its metadata: nothing is opened yet.
    let meta = std::fs::metadata(path).map_err(read_err)?;
    regular_file(file, &meta)?;
    if meta.len() > MAX_RESULT_BYTES {
        return Err(too_big());
    }
    let f = sys::open_for_reading_nonblocking(path).map_err(read_err)?;
    // The path may have been swapped between the check and the open: check what was opened.
    let meta = f.metadata().map_err(read_err)?;
    regular_file(file, &meta)?;
    let mut bytes = Vec::with_capacity(meta.len().min(MAX_RESULT_BYTES) as usize);
    f.take(MAX_RESULT_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(read_err)?;
    if bytes.len() as u64 > MAX_RESULT_BYTES {
        return Err(too_big());
    }
    Ok(bytes)
}

/// Refuse what is not a regular file.
fn regular_file(file: &str, meta: &std::fs::Metadata) -> Result<(), LoadError> {
    if meta.is_file() {
        return Ok(());
    }
    let what = if meta.is_dir() {
        "a directory"
    } else {
        sys::special_file_kind(meta).unwrap_or("something other than a regular file")
    };
    Err(LoadError::NotAFile {
        file: file.to_string(),
        what,
    })
}

/// The file's bytes as UTF-8 text and its JSON value (bounded depth), or the one-line reason
/// they are not.
fn parse_json(file: &str, mut bytes: Vec<u8>) -> Result<(String, Value), LoadError> {
    let file = file.to_string();
    // A byte-order mark (some editors write one) is not part of the JSON.
    if bytes.starts_with(b"\xEF\xBB\xBF") {
        bytes.drain(..3);
    }
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(LoadError::Empty { file });
    }
    let text = match String::from_utf8(bytes) {
        Ok(t) => t,
        Err(e) => {
            let at = e.utf8_error().valid_up_to();
            return Err(LoadError::NotUtf8 { file, at });
        }
    };
    match serde_json::from_str(&text) {
        Ok(v) => Ok((text, v)),
        Err(e) => Err(json_error(file, &e)),
    }
}

/// Any JSON file concbench wrote (a limits or ctxswitch report, say), read as untrusted input
/// with the same checks as [`read_document`] but for the kind: its text and its JSON value,
/// for the caller to parse into its type.
pub(crate) fn read_json(path: &Path) -> Result<(String, Value), LoadError> {
    let file = show_path(path);
    let bytes = read_bounded(path, &file)?;
    parse_json(&file, bytes)
}

/// Text, JSON, schema, kind.
fn recognise(file: String, bytes: Vec<u8>) -> Result<Document, LoadError> {
    let (text, value) = parse_json(&file, bytes)?;
    let Value::Object(map) = &value else {
        return Err(LoadError::NotConcbench {
            what: json_type(&value).to_string(),
            file,
        });
    };
    let schema_version = match map.get(SCHEMA_KEY) {
        None => None,
        Some(v) => match v.as_u64() {
            Some(n) if n > u64::from(SCHEMA_VERSION) => {
                return Err(LoadError::Newer { file, version: n })
            }
            Some(n) => Some(n),
            None => {
                let what = match v {
                    Value::Number(n) => n.to_string(),
                    other => json_type(other).to_string(),
                };
                return Err(LoadError::BadSchema { file, what });
            }
        },
    };
    let kind = match kind_of(map) {
        Kind::Run => DocKind::Run,
        Kind::Lab => DocKind::Lab,
        Kind::Other(what) => return Err(LoadError::OtherConcbench { file, what }),
        Kind::Unknown => {
            return Err(LoadError::NotConcbench {
                what: describe_object(map),
                file,
            })
        }
    };
    drop(value);
    Ok(Document {
        file,
        kind,
        schema_version,
        text,
    })
}

/// A parse error in the user's words.
fn json_error(file: String, e: &serde_json::Error) -> LoadError {
    use serde_json::error::Category;
    let message = e.to_string();
    match e.classify() {
        Category::Eof => LoadError::CutShort { file },
        _ if message.starts_with("recursion limit exceeded") => LoadError::TooDeep { file },
        _ if message.starts_with("number out of range") => LoadError::NumberTooLarge {
            file,
            line: e.line(),
        },
        _ => LoadError::NotJson {
            file,
            line: e.line(),
            character: e.column(),
        },
    }
}

/// `an array`, `a number`, ...
fn json_type(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// `an object with keys name, version` (a few keys, shortened, control characters escaped).
fn describe_object(map: &Map<String, Value>) -> String {
    if map.is_empty() {
        return "an empty object".into();
    }
    let keys: Vec<String> = map
        .keys()
        .take(4)
        .map(|k| {
            let short: String = k.chars().take(24).collect();
            show_path(Path::new(&short))
        })
        .collect();
    let more = if map.len() > 4 { ", ..." } else { "" };
    format!("an object with keys {}{more}", keys.join(", "))
}

/// What a JSON object is, by the keys concbench's documents have.
enum Kind {
    Run,
    Lab,
    Other(&'static str),
    Unknown,
}

/// Recognise a document by its keys. A run's or a lab's results with a key deleted still count
/// as one (then parsing says which field is missing), so the order of the tests matters: the
/// other documents' signatures first.
fn kind_of(map: &Map<String, Value>) -> Kind {
    let has = |k: &str| map.contains_key(k);
    if has("traceEvents") {
        Kind::Other("a Chrome trace (trace.json of `run --timeline` or `timeline`)")
    } else if has("workers") && has("overlap_share") {
        Kind::Other("a concbench timeline, timeline.json")
    } else if has("ratios") && has("rows") {
        Kind::Other("a concbench refs report")
    } else if has("rows") && has("a") && has("b") {
        Kind::Other("the output of concbench compare --format json")
    } else if has("machines") && has("runs") && has("labs") {
        Kind::Other("the output of concbench collect")
    } else if has("claims") || (has("rule") && has("quick")) {
        Kind::Lab
    } else if has("method")
        && has("rows")
        && has("machine")
        && !has("workload")
        && !has("amdahl_serial_fraction")
    {
        Kind::Other("a concbench ctxswitch report, ctxswitch.json")
    } else if has("machine")
        && ["workload", "method", "rows", "amdahl_serial_fraction"]
            .iter()
            .filter(|k| has(k))
            .count()
            >= 2
    {
        Kind::Run
    } else if (has("ceilings") || has("messages")) && has("machine") {
        // Under mpirun with rank 0 bound, limits writes the message ceilings alone.
        Kind::Other("a concbench limits report, limits.json")
    } else {
        Kind::Unknown
    }
}

/// A number for a message: `-1`, `inf`, `1e300`.
fn show_number(v: f64) -> String {
    if v.is_finite() && v != 0.0 && (v.abs() >= ABSURD || v.abs() < 1e-4) {
        format!("{v:e}")
    } else {
        format!("{v}")
    }
}

/// Checks of one place's figures, stopping at the first broken rule.
struct Checker<'a> {
    file: &'a str,
    place: String,
}

impl Checker<'_> {
    fn fail(&self, field: &'static str, value: String, rule: &'static str) -> LoadError {
        LoadError::Figure {
            file: self.file.to_string(),
            place: self.place.clone(),
            field,
            value,
            rule,
        }
    }

    /// A time, speedup or rate: finite, at least 0, below [`ABSURD`].
    fn non_negative(&self, field: &'static str, v: f64) -> Result<(), LoadError> {
        if (0.0..ABSURD).contains(&v) {
            Ok(())
        } else {
            Err(self.fail(
                field,
                show_number(v),
                "it must be a finite number, at least 0 and below 1e7",
            ))
        }
    }

    /// A median time or a speedup: finite, above 0, below [`ABSURD`].
    fn positive(&self, field: &'static str, v: f64) -> Result<(), LoadError> {
        if v.is_finite() && v > 0.0 && v < ABSURD {
            Ok(())
        } else {
            Err(self.fail(
                field,
                show_number(v),
                "it must be a finite number above 0 and below 1e7",
            ))
        }
    }

    /// Any finite number (a serial fraction may be negative).
    fn finite(&self, field: &'static str, v: f64) -> Result<(), LoadError> {
        if v.is_finite() && v.abs() < ABSURD {
            Ok(())
        } else {
            Err(self.fail(
                field,
                show_number(v),
                "it must be a finite number between -1e7 and 1e7",
            ))
        }
    }

    /// A probability.
    fn probability(&self, field: &'static str, v: f64) -> Result<(), LoadError> {
        if (0.0..=1.0).contains(&v) {
            Ok(())
        } else {
            Err(self.fail(
                field,
                show_number(v),
                "a coverage is a probability, between 0 and 1",
            ))
        }
    }

    /// An interval: both ends as [`Checker::non_negative`], low end not above the high end.
    fn interval(&self, field: &'static str, range: Option<[f64; 2]>) -> Result<(), LoadError> {
        let Some([lo, hi]) = range else {
            return Ok(());
        };
        self.non_negative(field, lo)?;
        self.non_negative(field, hi)?;
        if lo > hi {
            return Err(self.fail(
                field,
                format!("[{}, {}]", show_number(lo), show_number(hi)),
                "an interval's low end must not be above its high end",
            ));
        }
        Ok(())
    }
}

/// Check every figure of a run (see the module doc); the error names the row and the field.
pub(crate) fn validate_run(file: &str, report: &RunReport) -> Result<(), LoadError> {
    let method = Checker {
        file,
        place: "method".into(),
    };
    if let Some(c) = report.method.switch_cost_ns {
        method.non_negative("switch_cost_ns", c)?;
    }
    for (i, r) in report.rows.iter().enumerate() {
        validate_row(
            &Checker {
                file,
                place: format!("row {} ({} x{})", i + 1, r.strategy, r.cores),
            },
            r,
        )?;
    }
    for fit in &report.amdahl_serial_fraction {
        let c = Checker {
            file,
            place: format!("the Amdahl fit of {}", show_path(Path::new(&fit.strategy))),
        };
        if let Some(f) = fit.serial_fraction {
            c.finite("serial_fraction", f)?;
        }
        if let Some(f) = fit.fitted {
            c.finite("fitted", f)?;
        }
    }
    Ok(())
}

/// The checks of one row.
fn validate_row(c: &Checker, r: &Row) -> Result<(), LoadError> {
    if r.cores == 0 {
        return Err(c.fail("cores", "0".into(), "a row has at least one worker"));
    }
    c.positive("median_s", r.median_s)?;
    c.non_negative("min_s", r.min_s)?;
    c.non_negative("max_s", r.max_s)?;
    c.non_negative("mean_s", r.mean_s)?;
    if r.min_s > r.max_s {
        return Err(c.fail(
            "min_s",
            show_number(r.min_s),
            "the fastest repetition must not be slower than the slowest (max_s)",
        ));
    }
    if r.median_s < r.min_s || r.median_s > r.max_s {
        return Err(c.fail(
            "median_s",
            show_number(r.median_s),
            "a median lies between the fastest and the slowest repetition (min_s, max_s)",
        ));
    }
    c.interval("median_ci_s", r.median_ci_s)?;
    if let Some(p) = r.ci_coverage {
        c.probability("ci_coverage", p)?;
    }
    c.positive("speedup", r.speedup)?;
    c.interval("speedup_ci", r.speedup_ci)?;
    if let Some(p) = r.speedup_ci_coverage {
        c.probability("speedup_ci_coverage", p)?;
    }
    if let Some(e) = r.efficiency {
        c.non_negative("efficiency", e)?;
    }
    if let Some(f) = r.serial_fraction {
        c.finite("serial_fraction", f)?;
    }
    if !(r.workers_per_core.is_finite() && r.workers_per_core > 0.0) {
        return Err(c.fail(
            "workers_per_core",
            show_number(r.workers_per_core),
            "it must be a finite number above 0",
        ));
    }
    for &s in &r.samples_s {
        c.non_negative("samples_s", s)?;
    }
    c.non_negative("user_s", r.user_s)?;
    c.non_negative("sys_s", r.sys_s)?;
    c.non_negative("phases.spawn_s", r.phases.spawn_s)?;
    c.non_negative("phases.setup_s", r.phases.setup_s)?;
    c.non_negative("phases.compute_s", r.phases.compute_s)?;
    c.non_negative("phases.combine_s", r.phases.combine_s)?;
    c.non_negative("phases.collect_s", r.phases.collect_s)?;
    c.finite("switches_per_s", r.switches_per_s)?;
    c.finite("switch_overhead", r.switch_overhead)?;
    if !(r.throughput.is_finite() && r.throughput >= 0.0) {
        return Err(c.fail(
            "throughput",
            show_number(r.throughput),
            "it must be a finite number, at least 0",
        ));
    }
    if let Some(w) = &r.web {
        if !(w.requests_per_s.is_finite() && w.requests_per_s >= 0.0) {
            return Err(c.fail(
                "requests_per_s",
                show_number(w.requests_per_s),
                "it must be a finite number, at least 0",
            ));
        }
        let l = &w.latency;
        c.non_negative("latency.p50_s", l.p50_s)?;
        c.non_negative("latency.p90_s", l.p90_s)?;
        c.non_negative("latency.p99_s", l.p99_s)?;
        c.non_negative("latency.p999_s", l.p999_s)?;
        c.non_negative("latency.max_s", l.max_s)?;
        c.non_negative("wait_achieved_s", w.wait_achieved_s)?;
        c.non_negative("cpu_per_request_s", w.cpu_per_request_s)?;
    }
    Ok(())
}

/// What identifies a file for [`expand_inputs`]: its inode where the platform gives one, else
/// its canonical path.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum FileId {
    Inode(u64, u64),
    Path(PathBuf),
}

fn file_id(path: &Path) -> FileId {
    if let Some((dev, ino)) = std::fs::metadata(path)
        .ok()
        .and_then(|m| sys::file_identity(&m))
    {
        return FileId::Inode(dev, ino);
    }
    FileId::Path(std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf()))
}

/// The files `collect` reads for `args`, in order: a file (or anything not a directory: the
/// reader refuses what is not a file) stays; a directory is walked for [`RESULT_FILE_NAMES`],
/// its entries in name order. Symbolic links to directories are followed, each directory
/// walked once (by its canonical path), so a link that loops ends the walk there. Errors: a
/// path that cannot be read, a directory with no result file under it, more than
/// [`MAX_WALK_DEPTH`] levels, [`MAX_RESULT_FILES`] files or [`MAX_DIR_ENTRIES`] entries, and a
/// file (or directory argument) reached twice, naming both spellings.
pub(crate) fn expand_inputs(args: &[PathBuf]) -> Result<Vec<PathBuf>, LoadError> {
    let mut files: Vec<PathBuf> = Vec::new();
    let mut dir_args: HashMap<PathBuf, &PathBuf> = HashMap::new();
    for arg in args {
        let meta = std::fs::metadata(arg).map_err(|source| LoadError::Read {
            file: show_path(arg),
            source,
        })?;
        if meta.is_dir() {
            let canonical = std::fs::canonicalize(arg).unwrap_or_else(|_| arg.clone());
            if let Some(first) = dir_args.insert(canonical, arg) {
                return Err(LoadError::Duplicate {
                    first: show_path(first),
                    second: show_path(arg),
                    what: "directory",
                });
            }
            let before = files.len();
            let mut walk = Walk {
                root: arg,
                visited: HashSet::new(),
                entries: 0,
                files: &mut files,
            };
            walk.dir(arg, 0)?;
            if files.len() == before {
                return Err(LoadError::NoResults {
                    dir: show_path(arg),
                });
            }
        } else {
            files.push(arg.clone());
        }
        if files.len() > MAX_RESULT_FILES {
            return Err(LoadError::TooMany {
                dir: show_path(arg),
                limit: MAX_RESULT_FILES,
                what: "result files",
            });
        }
    }
    let mut seen: HashMap<FileId, &PathBuf> = HashMap::new();
    for f in &files {
        if let Some(first) = seen.insert(file_id(f), f) {
            return Err(LoadError::Duplicate {
                first: show_path(first),
                second: show_path(f),
                what: "file",
            });
        }
    }
    Ok(files)
}

/// The walk of one directory argument.
struct Walk<'a> {
    root: &'a Path,
    visited: HashSet<PathBuf>,
    entries: usize,
    files: &'a mut Vec<PathBuf>,
}

impl Walk<'_> {
    fn dir(&mut self, dir: &Path, depth: usize) -> Result<(), LoadError> {
        if depth > MAX_WALK_DEPTH {
            return Err(LoadError::WalkTooDeep {
                dir: show_path(dir),
                root: show_path(self.root),
            });
        }
        let canonical = std::fs::canonicalize(dir).unwrap_or_else(|_| dir.to_path_buf());
        if !self.visited.insert(canonical) {
            // Reached again through a symbolic link: walked once already.
            return Ok(());
        }
        let read_err = |source| LoadError::Read {
            file: show_path(dir),
            source,
        };
        let mut entries = Vec::new();
        for entry in std::fs::read_dir(dir).map_err(read_err)? {
            entries.push(entry.map_err(read_err)?);
            self.entries += 1;
            if self.entries > MAX_DIR_ENTRIES {
                return Err(LoadError::TooMany {
                    dir: show_path(self.root),
                    limit: MAX_DIR_ENTRIES,
                    what: "directory entries",
                });
            }
        }
        entries.sort_by_key(|e| e.file_name());
        for entry in entries {
            let path = entry.path();
            let file_type = entry.file_type().map_err(read_err)?;
            let is_dir = if file_type.is_symlink() {
                // Follow the link to see what it names; a dangling or looping link is no
                // directory (and, named like a result file, is refused when read).
                std::fs::metadata(&path).is_ok_and(|m| m.is_dir())
            } else {
                file_type.is_dir()
            };
            if is_dir {
                self.dir(&path, depth + 1)?;
            } else if RESULT_FILE_NAMES.iter().any(|n| entry.file_name() == *n) {
                self.files.push(path);
                if self.files.len() > MAX_RESULT_FILES {
                    return Err(LoadError::TooMany {
                        dir: show_path(self.root),
                        limit: MAX_RESULT_FILES,
                        what: "result files",
                    });
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::{fixture, json::JsonReporter, Reporter};

    fn run_text() -> String {
        JsonReporter.render(&fixture::report())
    }

    /// `text` with the first value of `key` replaced by `new`.
    fn with_first(text: &str, key: &str, new: &str) -> String {
        let at = text.find(&format!("\"{key}\": ")).unwrap() + key.len() + 4;
        let end = at + text[at..].find([',', '\n']).unwrap();
        format!("{}{new}{}", &text[..at], &text[end..])
    }

    fn parse(text: &str) -> Result<RunReport, LoadError> {
        parse_run(&parse_document("f.json", text.as_bytes())?)
    }

    #[test]
    fn a_run_reads_back_with_and_without_its_schema_version() {
        let text = run_text();
        assert!(text.starts_with("{\n  \"schema_version\": 1,"), "{text}");
        assert_eq!(parse(&text).unwrap(), fixture::report());
        let old = text.replacen("\"schema_version\": 1,", "", 1);
        assert_eq!(parse(&old).unwrap(), fixture::report());
    }

    #[test]
    fn each_class_of_bad_text_is_one_line_naming_the_file() {
        let text = run_text();
        let deep = "[".repeat(10_000);
        let newer = text.replacen("\"schema_version\": 1", "\"schema_version\": 2", 1);
        let cases: Vec<(String, &str)> = vec![
            ("".into(), "empty"),
            (text[..text.len() / 2].into(), "cut short"),
            ("median 12 ms".into(), "not JSON"),
            (
                "{\"name\": \"x\"}".into(),
                "another program's JSON (an object with keys name)",
            ),
            ("[]".into(), "another program's JSON (an array)"),
            ("42".into(), "another program's JSON (a number)"),
            (deep, "nests deeper than 128"),
            (
                newer,
                "was written by a newer concbench (schema 2; this one reads 1)",
            ),
            (
                with_first(&text, "median_s", "1e999"),
                "too large for a 64-bit float",
            ),
            (
                with_first(&text, "median_s", "-1"),
                "row 1 (sequential x1): median_s is -1",
            ),
            (
                text.replacen("\"workload\"", "\"y\"", 1).replacen(
                    "\"amdahl_serial_fraction\"",
                    "\"z\"",
                    1,
                ),
                "ctxswitch",
            ),
            (
                "{\"machine\": {}, \"ceilings\": {}}".into(),
                "a concbench limits report",
            ),
            (
                "{\"machine\": {}, \"rule\": \"\", \"claims\": []}".into(),
                "lab report",
            ),
        ];
        for (text, what) in cases {
            let e = parse(&text).unwrap_err().to_string();
            assert!(e.starts_with("f.json"), "{e}");
            assert!(e.contains(what), "{what}: {e}");
            assert_eq!(e.lines().count(), 1, "{e}");
        }
        let e = parse_document("f.json", b"{\"a\": \"\xff\"}").unwrap_err();
        assert!(e.to_string().contains("not UTF-8 from byte 7"), "{e}");
    }

    #[test]
    fn impossible_figures_name_row_and_field() {
        let mut r = fixture::report();
        r.rows[2].speedup_ci = Some([2.0, 1.0]);
        let e = validate_run("f.json", &r).unwrap_err().to_string();
        assert!(
            e.contains("row 3") && e.contains("speedup_ci is [2, 1]"),
            "{e}"
        );
        let mut r = fixture::report();
        r.rows[1].speedup = f64::INFINITY;
        let e = validate_run("f.json", &r).unwrap_err().to_string();
        assert!(e.contains("row 2") && e.contains("speedup is inf"), "{e}");
        let mut r = fixture::report();
        r.rows[0].samples_s[0] = 1e300;
        let e = validate_run("f.json", &r).unwrap_err().to_string();
        assert!(e.contains("samples_s is 1e300"), "{e}");
        validate_run("f.json", &fixture::report()).unwrap();
    }

    #[test]
    fn ten_thousand_levels_of_nesting_are_refused_on_a_small_stack() {
        // serde_json stops at 128 levels with an error: 10,000 levels of `[` or `{"a":` do not
        // overflow even a 256 KiB stack.
        let refused = std::thread::Builder::new()
            .stack_size(256 << 10)
            .spawn(|| {
                ["[".repeat(10_000), "{\"a\":".repeat(10_000)]
                    .iter()
                    .map(|t| {
                        parse_document("deep.json", t.as_bytes())
                            .unwrap_err()
                            .to_string()
                    })
                    .collect::<Vec<_>>()
            })
            .unwrap()
            .join()
            .unwrap();
        for e in refused {
            assert!(e.contains("nests deeper than 128 levels"), "{e}");
        }
    }

    #[test]
    fn a_walk_finds_result_files_in_name_order_once_and_stops_where_it_must() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path();
        for d in ["b/x", "a", "c/deeper/still"] {
            std::fs::create_dir_all(root.join(d)).unwrap();
        }
        for f in [
            "b/x/results.json",
            "a/lab.json",
            "c/deeper/still/results.json",
        ] {
            std::fs::write(root.join(f), "{}").unwrap();
        }
        std::fs::write(root.join("a/notes.json"), "{}").unwrap();
        let found = expand_inputs(&[root.to_path_buf()]).unwrap();
        let rel: Vec<String> = found
            .iter()
            .map(|p| p.strip_prefix(root).unwrap().display().to_string())
            .collect();
        assert_eq!(
            rel,
            [
                "a/lab.json",
                "b/x/results.json",
                "c/deeper/still/results.json"
            ]
        );
        // A directory with nothing to read.
        let empty = root.join("empty");
        std::fs::create_dir(&empty).unwrap();
        let e = expand_inputs(&[empty]).unwrap_err().to_string();
        assert!(e.contains("holds no results.json or lab.json"), "{e}");
        // Too deep.
        let mut deep = root.join("deep");
        for _ in 0..=MAX_WALK_DEPTH + 1 {
            deep.push("d");
        }
        std::fs::create_dir_all(&deep).unwrap();
        std::fs::write(deep.join("results.json"), "{}").unwrap();
        let e = expand_inputs(&[root.join("deep")]).unwrap_err().to_string();
        assert!(e.contains("directories below") && e.contains("deep"), "{e}");
        // A path that is not there.
        let e = expand_inputs(&[root.join("missing")])
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with("cannot read ") && e.contains("missing"),
            "{e}"
        );
    }

    #[test]
    fn paths_stay_on_one_line() {
        assert_eq!(show_path(Path::new("a\nb")), "a\\nb");
        assert_eq!(
            show_path(Path::new("plain/results.json")),
            "plain/results.json"
        );
    }
}
