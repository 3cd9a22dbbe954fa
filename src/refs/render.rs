//! The `refs` result laid out as a [`Document`]: every timed row (references and concbench's
//! own kernels), then the ratios that matter, for every text format and the HTML page.

use super::{Origin, RefsReport};
use crate::report::document::{Block, Document};
use crate::report::table::{Align, SecondsColumn, Table};

/// The document of a refs report: the machine and input, the rows, then the ratios.
pub(crate) fn document(r: &RefsReport) -> Document {
    let matmul = r.workload == "matmul";
    let mut doc = Document::new(format!(
        "concbench refs: {} against the references",
        r.workload
    ));
    doc.push(Block::Facts(vec![
        ("machine".into(), r.machine.summary()),
        ("command".into(), r.machine.command.clone()),
        (
            "input".into(),
            format!(
                "{} {}, median of {} (warm-up {}), seed {}",
                r.workload,
                if matmul {
                    format!("f64 n = {}", r.size)
                } else {
                    format!("{} random u64 keys", r.size)
                },
                r.reps,
                r.warmup,
                r.seed
            ),
        ),
    ]));
    let seconds = SecondsColumn::new(r.rows.iter().flat_map(|x| [x.median_s, x.min_s, x.max_s]));
    let unit = seconds.unit();
    let (median, min, max) = (
        format!("median ({unit})"),
        format!("min ({unit})"),
        format!("max ({unit})"),
    );
    let mut headers = vec!["implementation", "threads", &median, &min, &max];
    headers.push(if matmul { "GFLOP/s" } else { "Mkeys/s" });
    let peak = r.rows.iter().any(|x| x.peak_share.is_some());
    if peak {
        headers.push("of peak");
    }
    headers.push("note");
    let mut align = vec![Align::Left];
    align.extend(std::iter::repeat(Align::Right).take(headers.len() - 2));
    align.push(Align::Left);
    let rows = r
        .rows
        .iter()
        .map(|x| {
            let mut cells = vec![
                x.implementation.clone(),
                format!("{}{}", x.threads, if x.oversubscribed { "*" } else { "" }),
                seconds.number(x.median_s),
                seconds.number(x.min_s),
                seconds.number(x.max_s),
                format!("{:.1}", x.gflops.or(x.mkeys_s).unwrap_or(f64::NAN)),
            ];
            if peak {
                cells.push(
                    x.peak_share
                        .map(|p| format!("{:.0}%", p * 100.0))
                        .unwrap_or_default(),
                );
            }
            let mut note = x.note.clone().unwrap_or_default();
            if x.origin == Origin::Concbench && note.is_empty() {
                note = "concbench".into();
            }
            cells.push(note);
            cells
        })
        .collect();
    doc.push(Block::Table {
        id: format!("{}-rows", r.workload),
        caption: "Every implementation timed in this run, references first".into(),
        table: Table {
            headers: headers.into_iter().map(String::from).collect(),
            align,
            rows,
        },
    });
    if r.rows.iter().any(|x| x.oversubscribed) {
        doc.push(Block::Notes(vec![
            "* more threads than physical cores (oversubscribed)".into(),
        ]));
    }
    let scaling = r.ratios.iter().any(|x| x.bandwidth_scaling.is_some());
    let mut headers = vec!["concbench", "against", "speed ratio"];
    if scaling {
        headers.push("copy-bandwidth scaling");
    }
    doc.push(Block::Table {
        id: format!("{}-ratios", r.workload),
        caption: "Ratios: reference time / concbench time (above 1: concbench is faster)".into(),
        table: Table {
            align: std::iter::once(Align::Left)
                .chain(std::iter::once(Align::Left))
                .chain(std::iter::repeat(Align::Right).take(headers.len() - 2))
                .collect(),
            headers: headers.into_iter().map(String::from).collect(),
            rows: r
                .ratios
                .iter()
                .map(|x| {
                    let mut c = vec![
                        x.concbench.clone(),
                        x.reference.clone(),
                        format!("{:.2}", x.speed_ratio),
                    ];
                    if scaling {
                        c.push(
                            x.bandwidth_scaling
                                .map(|b| format!("x{b:.2}"))
                                .unwrap_or_default(),
                        );
                    }
                    c
                })
                .collect(),
        },
    });
    doc.push(Block::Notes(vec![match &r.ceilings {
        Some(c) => format!("{c} (`concbench limits` refreshes them)"),
        None => "no ceilings cached: run `concbench limits` for peak shares and bandwidth scaling"
            .into(),
    }]));
    doc
}
