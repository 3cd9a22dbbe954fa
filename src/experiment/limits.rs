//! The `limits` result laid out as a [`Document`]: this machine's ceilings (copy bandwidth for
//! 1..P threads, peak FLOP/s per core and on all cores) and, inside an MPI job, the message
//! ceilings between ranks, for every text format and the HTML page.

use super::ceilings::Ceilings;
use crate::cluster::MessagePoint;
use crate::machine::{Machine, MessageCeiling};
use crate::report::document::{Block, Document};
use crate::report::table::{Align, Table};

/// What `concbench limits` measured: the host's ceilings (absent when rank 0 of an MPI job
/// was bound to fewer CPUs than the host has), the message ceilings per peer (inside an MPI
/// job), and remarks (where the figures were cached, why a part was skipped).
pub struct LimitsResult<'a> {
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
pub fn document(r: &LimitsResult) -> Document {
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
