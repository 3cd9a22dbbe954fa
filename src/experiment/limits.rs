//! `concbench limits` as a library pipeline ([`measure_limits`]): measure this machine's
//! ceilings (copy bandwidth for 1..P threads, peak FLOP/s per core and on all cores) and,
//! inside an MPI job, the message ceilings between ranks; cache the host's ceilings; lay the
//! result out as a [`Document`] for every text format and the HTML page, beside its JSON.

use super::ceilings::CeilingError;
use super::ceilings::{CacheOutcome, Ceilings, LimitsOptions};
use crate::cluster::{MessagePoint, World};
use crate::machine::{Machine, MessageCeiling};
use crate::report::document::{Block, Document};
use crate::report::table::{Align, Table};

/// What `concbench limits` measured, ready to print and write (through
/// [`crate::report::Render`]): its JSON document (`--format json`, `limits.json`) and its tables
/// (every other format and `report.html`).
pub struct LimitsRun {
    /// The result set's JSON, one document ending in a newline.
    json: String,
    /// The tables and remarks.
    document: Document,
}

impl crate::report::Render for LimitsRun {
    fn render(&self, format: crate::report::Format) -> String {
        crate::report::document::render(&self.document, &self.json, format)
    }

    /// `limits.txt`, `limits.json`, `limits.md`, `limits.tex`, a CSV per table and
    /// `report.html`.
    fn files(&self) -> Vec<(String, String)> {
        crate::report::document::set_files(&self.document, "limits", self.json.clone())
    }
}

/// Measure, cache and lay out what `concbench limits` shows (`quick`: a smaller buffer and
/// shorter loops, about a second). `progress` gets one line before each measurement; `warn`
/// gets what went wrong without stopping the run (a cache that could not be written).
///
/// As rank 0 of an MPI job of two or more ranks it measures the message ceilings between rank
/// 0 and every other rank too, and skips this host's ceilings when the launcher bound rank 0 to
/// fewer CPUs than the host has (they would be one core's).
pub fn measure_limits(
    quick: bool,
    progress: &mut dyn FnMut(&str),
    warn: &mut dyn FnMut(&str),
) -> Result<LimitsRun, CeilingError> {
    let options = if quick {
        LimitsOptions::quick()
    } else {
        LimitsOptions::full()
    };
    if let Some(world) = crate::cluster::world().filter(|w| w.size > 1) {
        return measure_in_job(world, quick, &options, progress);
    }
    progress("measuring copy bandwidth and peak FLOP/s ...");
    let machine = Machine::describe(&crate::cluster::context());
    let ceilings = Ceilings::measure(&options)?;
    let cached = match ceilings.save_cached() {
        Ok(CacheOutcome::Saved(path)) => Some(format!("cached in {}", path.display())),
        Ok(CacheOutcome::KeptBetter(old)) => Some(format!(
            "not cached: the {} measurement of {} stays (quiet beats disturbed, full beats --quick, then the higher peak)",
            if old.quick { "quick" } else { "full" },
            old.date
        )),
        Ok(CacheOutcome::Disturbed) => Some(
            "not cached: other programs competed for the CPUs while it was measured, so these figures are low; run `concbench limits` again when the machine is quiet".into(),
        ),
        Err(e) => {
            warn(&format!("could not cache the ceilings: {e}"));
            None
        }
    };
    let mut json = serde_json::json!({ "machine": machine, "ceilings": ceilings });
    // Whether the figures were cached, in the JSON too: `concbench render` draws the set from it.
    if let Some(note) = &cached {
        json["note"] = serde_json::Value::String(note.clone());
    }
    let result = LimitsResult {
        machine: &machine,
        ceilings: Some(&ceilings),
        messages: &[],
        notes: cached.into_iter().collect(),
    };
    Ok(LimitsRun {
        json: crate::report::json::pretty(&json),
        document: document(&result),
    })
}

/// [`measure_limits`] as rank 0 of an MPI job: the message ceilings, and this host's ceilings
/// unless rank 0 was bound.
fn measure_in_job(
    world: &World,
    quick: bool,
    options: &LimitsOptions,
    progress: &mut dyn FnMut(&str),
) -> Result<LimitsRun, CeilingError> {
    let plan = if quick {
        crate::cluster::PingPongPlan::quick()
    } else {
        crate::cluster::PingPongPlan::full()
    };
    progress(&format!(
        "measuring message latency and bandwidth between rank 0 and {} other rank{} ...",
        world.size - 1,
        if world.size == 2 { "" } else { "s" }
    ));
    let measured = crate::cluster::measure_messages(world, &plan);
    // The machine block shows the job with the ceilings just measured.
    let mut context = crate::cluster::context();
    context.record_message_ceilings(measured.iter().map(|(c, _)| c.clone()).collect());
    let bound = world.info.ranks.first().is_some_and(|r| r.bound);
    let machine = Machine::describe(&context);
    let ceilings = if bound {
        None
    } else {
        progress("measuring copy bandwidth and peak FLOP/s ...");
        Some(Ceilings::measure(options)?)
    };
    let skipped = bound.then(|| {
        format!(
            "this host's bandwidth and FLOP/s are not measured here: the launcher bound rank 0 to CPU(s) {} (run `concbench limits` without mpirun, or launch with --bind-to none)",
            world.info.ranks[0].affinity_mask
        )
    });
    let messages: Vec<serde_json::Value> = measured
        .iter()
        .map(|(c, points)| {
            let mut v = serde_json::to_value(c).expect("ceilings serialise");
            v["by_size"] = serde_json::to_value(points).expect("points serialise");
            v
        })
        .collect();
    let mut json = serde_json::json!({ "machine": machine, "messages": messages });
    if let Some(c) = &ceilings {
        json["ceilings"] = serde_json::to_value(c).expect("ceilings serialise");
    }
    if let Some(note) = &skipped {
        json["note"] = serde_json::Value::String(note.clone());
    }
    let result = LimitsResult {
        machine: &machine,
        ceilings: ceilings.as_ref(),
        messages: &measured,
        notes: skipped.into_iter().collect(),
    };
    Ok(LimitsRun {
        json: crate::report::json::pretty(&json),
        document: document(&result),
    })
}

/// What `concbench limits` measured: the host's ceilings (absent when rank 0 of an MPI job
/// was bound to fewer CPUs than the host has), the message ceilings per peer (inside an MPI
/// job), and remarks (where the figures were cached, why a part was skipped).
pub(crate) struct LimitsResult<'a> {
    /// Where and when.
    pub machine: &'a Machine,
    /// Bandwidth and FLOP/s, if measured.
    pub ceilings: Option<&'a Ceilings>,
    /// Message latency and bandwidth between rank 0 and each other rank.
    pub messages: &'a [(MessageCeiling, Vec<MessagePoint>)],
    /// One remark a line.
    pub notes: Vec<String>,
}

/// The document of a `limits` result: the machine, then the bandwidth and FLOP/s tables, the
/// message table, and the remarks.
pub(crate) fn document(r: &LimitsResult) -> Document {
    let mut doc = Document::new("concbench limits: this machine's ceilings");
    let mut facts = vec![
        ("machine".to_string(), r.machine.summary()),
        ("command".to_string(), r.machine.command.clone()),
    ];
    if let Some(c) = r.ceilings {
        facts.push((
            "measured".into(),
            format!(
                "{}{}{}",
                c.date,
                if c.quick { " (--quick)" } else { "" },
                match &c.others_load {
                    Some(l) if l.busy() => format!(
                        ", other programs took {:.0}% of the CPUs meanwhile: figures are low",
                        l.others_share * 100.0
                    ),
                    Some(l) => format!(
                        ", other programs took {:.0}% of the CPUs meanwhile",
                        l.others_share * 100.0
                    ),
                    None => String::new(),
                }
            ),
        ));
    }
    doc.push(Block::Facts(facts));
    if let Some(c) = r.ceilings {
        ceiling_blocks(&mut doc, c);
    }
    if !r.messages.is_empty() {
        doc.push(message_block(r.messages));
    }
    if !r.notes.is_empty() {
        doc.push(Block::Notes(r.notes.clone()));
    }
    doc
}

fn ceiling_blocks(doc: &mut Document, c: &Ceilings) {
    let bw = Table {
        headers: ["threads", "CPUs", "GB/s", "min", "max", "scaling"]
            .map(String::from)
            .to_vec(),
        align: vec![
            Align::Right,
            Align::Left,
            Align::Right,
            Align::Right,
            Align::Right,
            Align::Right,
        ],
        rows: c
            .copy
            .points
            .iter()
            .map(|p| {
                vec![
                    p.threads.to_string(),
                    crate::topology::format_cpu_list(&p.cpus),
                    format!("{:.1}", p.gb_s),
                    format!("{:.1}", p.min_gb_s),
                    format!("{:.1}", p.max_gb_s),
                    format!("x{:.2}", c.bandwidth_scaling(p.threads).unwrap_or(f64::NAN)),
                ]
            })
            .collect(),
    };
    doc.push(Block::Table {
        id: "bandwidth".into(),
        caption: format!(
            "Copy bandwidth: {} MiB buffer, read + written, one pinned thread per physical core, median of {}",
            c.copy.buffer_bytes >> 20,
            c.copy.reps
        ),
        table: bw,
    });
    let fl = Table {
        headers: [
            "instruction set",
            "lanes",
            "accumulators",
            "GFLOP/s on one core",
            "best rep",
        ]
        .map(String::from)
        .to_vec(),
        align: vec![
            Align::Left,
            Align::Right,
            Align::Right,
            Align::Right,
            Align::Right,
        ],
        rows: c
            .flops
            .by_isa
            .iter()
            .map(|p| {
                vec![
                    p.isa.clone(),
                    p.lanes.to_string(),
                    p.accumulators.to_string(),
                    format!("{:.1}", p.gflops),
                    format!("{:.1}", p.best_gflops),
                ]
            })
            .collect(),
    };
    doc.push(Block::Table {
        id: "flops".into(),
        caption: format!(
            "Peak double-precision FLOP/s: FMA loop (portable: multiply + add), median of {}",
            c.flops.reps
        ),
        table: fl,
    });
    doc.push(Block::Text(format!(
        "peak per core: {:.1} GFLOP/s ({}); all {} core{} at once: {:.1} GFLOP/s (x{:.2})",
        c.flops.per_core_gflops,
        c.flops.isa,
        c.flops.all_cores,
        if c.flops.all_cores == 1 { "" } else { "s" },
        c.flops.all_cores_gflops,
        c.flops.all_cores_gflops / c.flops.per_core_gflops
    )));
}

/// The message ceilings as a table: one row per peer and message size.
fn message_block(measured: &[(MessageCeiling, Vec<MessagePoint>)]) -> Block {
    let mut rows = Vec::new();
    for (c, points) in measured {
        for p in points {
            rows.push(vec![
                c.hosts.clone(),
                format!("0 -> {}", c.peer),
                crate::text::format_bytes(p.bytes as u64),
                format!("{:.2}", p.half_round_trip_ns / 1e3),
                format!("{:.2}", p.bandwidth_bytes_per_s / 1e9),
            ]);
        }
    }
    Block::Table {
        id: "messages".into(),
        caption: "Messages between ranks: ping-pong, half a round trip, fastest of the trials (as OSU's osu_latency and osu_bw)".into(),
        table: Table {
            headers: ["hosts", "ranks", "message", "one way (us)", "GB/s"]
                .map(String::from)
                .to_vec(),
            align: vec![
                Align::Left,
                Align::Left,
                Align::Right,
                Align::Right,
                Align::Right,
            ],
            rows,
        },
    }
}
