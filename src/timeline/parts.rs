//! The same picture for `concbench run --timeline DIR`: when each part of one repetition ran.
//!
//! The thread and process strategies already stamp every part of every stage with its start and
//! end on the shared monotonic clock ([`PartRecord`]); this module draws one lane per part, stages
//! in their own colours, and hatches the time a part spent waiting at a stage barrier for the
//! slowest one, so a reader sees parallel parts start and finish at different times and where
//! the combine waits. [`parts_svg`] gives the Gantt chart, [`parts_trace`] the Chrome trace.

use serde_json::{json, Value};

use super::render::{us, Bar, Lane, LegendItem, SvgFrame};
use super::Span;
use crate::strategy::{Execution, PartRecord};
use crate::text::format_seconds;
use crate::workload::{Stage, StageKind};

/// One chart row: the part records of one repetition of one strategy at one core count.
#[derive(Debug, Clone, PartialEq)]
pub struct PartsRow {
    /// What the row is, e.g. "multi-process ×4".
    pub(crate) label: String,
    /// Start of the execution (first spawn), ns on `CLOCK_MONOTONIC`.
    pub(crate) start_ns: u64,
    /// Wall time of the execution, ns.
    pub(crate) wall_ns: u64,
    /// Every part of every stage.
    pub(crate) parts: Vec<PartRecord>,
    /// The workload's stages for this part count (names and kinds); may be empty, then stages
    /// are called "stage N".
    pub(crate) stages: Vec<Stage>,
}

impl PartsRow {
    /// A row from an [`Execution`] and the workload's stages (`workload.stages(parts)`).
    pub fn from_execution(
        label: impl Into<String>,
        exec: &Execution,
        stages: &[Stage],
    ) -> PartsRow {
        PartsRow {
            label: label.into(),
            start_ns: exec.start_ns,
            wall_ns: (exec.wall_s * 1e9).round() as u64,
            parts: exec.parts.clone(),
            stages: stages.to_vec(),
        }
    }

    fn stage_name(&self, stage: usize) -> String {
        self.stages
            .get(stage)
            .map(|s| s.name.to_string())
            .unwrap_or_else(|| format!("stage {stage}"))
    }

    fn stage_kind(&self, stage: usize) -> Option<StageKind> {
        self.stages.get(stage).map(|s| s.kind)
    }

    fn rel(&self, t: u64) -> u64 {
        t.saturating_sub(self.start_ns)
    }

    /// Part indices present, ascending.
    fn part_ids(&self) -> Vec<usize> {
        let mut ids: Vec<usize> = self.parts.iter().map(|p| p.part).collect();
        ids.sort_unstable();
        ids.dedup();
        ids
    }

    /// Where each part waited at a stage barrier: from its end of stage s to the latest end of
    /// stage s over all parts (relative ns).
    fn waits(&self, part: usize) -> Vec<Span> {
        self.parts
            .iter()
            .filter(|p| p.part == part)
            .filter_map(|p| {
                let slowest = self
                    .parts
                    .iter()
                    .filter(|q| q.stage == p.stage)
                    .map(|q| q.end_ns)
                    .max()?;
                (slowest > p.end_ns).then(|| [self.rel(p.end_ns), self.rel(slowest)])
            })
            .collect()
    }
}

const COMPUTE_COLOURS: [&str; 3] = ["#4e79a7", "#59a14f", "#76b7b2"];
const COMBINE_COLOURS: [&str; 3] = ["#f28e2b", "#b07aa1", "#edc948"];

/// The colour of stage `stage` of a row: blues and greens for compute stages, oranges and
/// purples for combine stages.
fn stage_colour(row: &PartsRow, stage: usize) -> &'static str {
    match row.stage_kind(stage) {
        Some(StageKind::Combine) => COMBINE_COLOURS[stage % COMBINE_COLOURS.len()],
        _ => COMPUTE_COLOURS[stage % COMPUTE_COLOURS.len()],
    }
}

/// The SVG Gantt chart of `rows`: a panel per row on one shared time scale, one lane per part,
/// stages coloured (compute blue/green, combine orange/purple), barrier waits hatched.
pub fn parts_svg(rows: &[PartsRow]) -> String {
    let mut f = SvgFrame::new();
    f.axis_title = "time since the execution started (ms)".into();
    let longest = rows.iter().map(|r| r.wall_ns).max().unwrap_or(1).max(1);
    f.title(
        "concbench run: when each part ran",
        "one lane per part (worker); times from the start of each execution, on one scale for all rows",
    );
    let mut legend: Vec<(String, &'static str)> = Vec::new();
    for row in rows {
        let lanes: Vec<Lane> = row
            .part_ids()
            .into_iter()
            .map(|part| {
                let records: Vec<&PartRecord> =
                    row.parts.iter().filter(|p| p.part == part).collect();
                let busy: u64 = records.iter().map(|p| p.end_ns - p.start_ns).sum();
                let cpu = records.last().map(|p| p.cpu).unwrap_or(0);
                Lane {
                    label: format!("part {part} · cpu {cpu}"),
                    right: format!("busy {}", format_seconds(busy as f64 / 1e9)),
                    bars: records
                        .iter()
                        .map(|p| Bar {
                            start: row.rel(p.start_ns),
                            end: row.rel(p.end_ns),
                            fill: stage_colour(row, p.stage).into(),
                            text: Some(row.stage_name(p.stage)),
                        })
                        .collect(),
                    hatched: row.waits(part),
                    marks: Vec::new(),
                }
            })
            .collect();
        for p in &row.parts {
            let kind = match row.stage_kind(p.stage) {
                Some(StageKind::Combine) => " (combine)",
                Some(StageKind::Compute) => " (compute)",
                None => "",
            };
            let entry = (
                format!("{}{kind}", row.stage_name(p.stage)),
                stage_colour(row, p.stage),
            );
            if !legend.contains(&entry) {
                legend.push(entry);
            }
        }
        f.panel(
            &format!(
                "{}: wall {}",
                row.label,
                format_seconds(row.wall_ns as f64 / 1e9)
            ),
            &lanes,
            0,
            longest,
        );
    }
    let mut items: Vec<LegendItem> = legend
        .into_iter()
        .map(|(name, c)| LegendItem::Swatch(c.into(), name))
        .collect();
    items.push(LegendItem::Hatch(
        "waiting at the stage barrier for the slowest part".into(),
    ));
    f.legend(&items);
    f.note(
        "Before a part's first bar its worker is being started and set up (threads: spawn and pin; processes: fork, exec, map shared memory); \
         plain grey between bars: the barrier has passed but the part is not running yet (its core is busy, e.g. with its siblings on one core); \
         after its last bar, the parts are collected. Stage times are read on CLOCK_MONOTONIC inside each worker.",
    );
    f.finish()
}

/// The Chrome Trace Event document of `rows`: one process per row, one thread per part, one
/// complete event per part and stage (µs from the start of its execution).
pub fn parts_trace(rows: &[PartsRow]) -> String {
    let mut events: Vec<Value> = Vec::new();
    for (i, row) in rows.iter().enumerate() {
        let pid = i + 1;
        events.push(
            json!({"name": "process_name", "ph": "M", "pid": pid, "tid": 0,
            "args": {"name": row.label}}),
        );
        events.push(
            json!({"name": "process_sort_index", "ph": "M", "pid": pid, "tid": 0,
            "args": {"sort_index": i}}),
        );
        for part in row.part_ids() {
            let cpu = row
                .parts
                .iter()
                .rfind(|p| p.part == part)
                .map(|p| p.cpu)
                .unwrap_or(0);
            events.push(
                json!({"name": "thread_name", "ph": "M", "pid": pid, "tid": part + 1,
                "args": {"name": format!("part {part} (cpu {cpu})")}}),
            );
            events.push(
                json!({"name": "thread_sort_index", "ph": "M", "pid": pid, "tid": part + 1,
                "args": {"sort_index": part}}),
            );
        }
        for p in &row.parts {
            let kind = match row.stage_kind(p.stage) {
                Some(StageKind::Combine) => "combine",
                Some(StageKind::Compute) => "compute",
                None => "stage",
            };
            events.push(
                json!({"name": row.stage_name(p.stage), "cat": kind, "ph": "X",
                "ts": us(row.rel(p.start_ns)), "dur": us(p.end_ns.saturating_sub(p.start_ns)),
                "pid": pid, "tid": p.part + 1,
                "args": {"stage": p.stage, "part": p.part, "cpu": p.cpu}}),
            );
        }
    }
    let doc = json!({"traceEvents": events, "displayTimeUnit": "ms",
        "otherData": {"tool": "concbench run --timeline",
            "time_origin": "the start of each execution (CLOCK_MONOTONIC)"}});
    serde_json::to_string(&doc).expect("trace serializes")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row() -> PartsRow {
        let r = |stage, part, cpu, s: u64, e: u64| PartRecord {
            stage,
            part,
            cpu,
            start_ns: 1_000_000 + s,
            end_ns: 1_000_000 + e,
        };
        PartsRow {
            label: "multi-threaded ×2".into(),
            start_ns: 1_000_000,
            wall_ns: 10_000_000,
            parts: vec![
                r(0, 0, 0, 100_000, 5_000_000),
                r(0, 1, 1, 200_000, 4_000_000),
                r(1, 0, 0, 5_100_000, 9_000_000),
                r(1, 1, 1, 5_100_000, 8_000_000),
            ],
            stages: vec![
                Stage {
                    name: "sort",
                    kind: StageKind::Compute,
                },
                Stage {
                    name: "merge",
                    kind: StageKind::Combine,
                },
            ],
        }
    }

    #[test]
    fn waits_run_to_the_slowest_part_of_each_stage() {
        let r = row();
        assert_eq!(r.waits(0), Vec::<Span>::new());
        assert_eq!(
            r.waits(1),
            vec![[4_000_000, 5_000_000], [8_000_000, 9_000_000]]
        );
    }

    #[test]
    fn the_trace_has_one_complete_event_per_record() {
        let doc: Value = serde_json::from_str(&parts_trace(&[row()])).unwrap();
        let evs = doc["traceEvents"].as_array().unwrap();
        let x: Vec<&Value> = evs.iter().filter(|e| e["ph"] == "X").collect();
        assert_eq!(x.len(), 4);
        assert_eq!(x[0]["name"], "sort");
        assert_eq!(x[0]["ts"], 100.0);
        assert_eq!(x[0]["dur"], 4900.0);
        assert_eq!(x[2]["cat"], "combine");
        assert!(evs
            .iter()
            .any(|e| e["ph"] == "M" && e["args"]["name"] == "part 1 (cpu 1)"));
    }

    #[test]
    fn the_svg_names_stages_and_is_well_formed_enough() {
        let svg = parts_svg(&[row()]);
        assert!(svg.starts_with("<?xml") && svg.trim_end().ends_with("</svg>"));
        assert!(svg.contains("merge (combine)") && svg.contains("sort (compute)"));
        assert!(svg.contains("multi-threaded ×2: wall 10.00 ms"));
    }
}
