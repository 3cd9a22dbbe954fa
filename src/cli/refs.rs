//! `concbench refs`: time the references a user could pick instead (std and rayon sorts,
//! matrixmultiply dgemm) beside concbench's own kernels in the same run, with the ratios.

use std::io::IsTerminal;

use super::{print_stdout, CliError, PlainFormat as Format, Repetitions};
use concbench::refs::{run_refs, Origin, RefsPlan, RefsReport};
use concbench::report::format_seconds;
use concbench::report::table::{Align, Table};

/// Options of `concbench refs`.
#[derive(Debug, clap::Args)]
pub struct RefsArgs {
    /// Workload: mergesort (std and rayon sorts) or matmul (matrixmultiply dgemm).
    #[arg(long, short)]
    pub workload: String,
    /// Comma list of thread counts P (default: 1 and the physical core count).
    #[arg(long, short, allow_hyphen_values = true)]
    pub cores: Option<String>,
    /// Problem size: keys (mergesort, default 4000000) or matrix order n (matmul, default 1024).
    #[arg(long, allow_negative_numbers = true)]
    pub size: Option<i64>,
    /// Repetitions, warm-up and seed.
    #[command(flatten)]
    pub repetitions: Repetitions,
    /// Output format on stdout.
    #[arg(long, short, value_enum, default_value_t = Format::Table)]
    pub format: Format,
    /// Also write WORKLOAD.txt (the tables) and WORKLOAD.json (mergesort.txt, matmul.json, ...)
    /// to this directory (atomically).
    #[arg(long, short, value_name = "DIR")]
    pub out: Option<std::path::PathBuf>,
    /// No progress lines or notes on stderr.
    #[arg(long, short)]
    pub quiet: bool,
}

/// Run `concbench refs` with parsed options.
pub fn cmd_refs(args: RefsArgs) -> Result<(), CliError> {
    let plan = RefsPlan::new(
        &args.workload,
        args.cores.as_deref(),
        args.size,
        args.repetitions.reps,
        args.repetitions.warmup,
        args.repetitions.seed,
    )
    .map_err(|e| CliError::Usage(e.0))?;
    super::prepare_out(args.out.as_deref())?;
    let show = !args.quiet && std::io::stderr().is_terminal();
    let report = run_refs(&plan, &mut |what| {
        if show {
            eprintln!("timing {what} ...");
        }
    })
    .map_err(|e| {
        CliError::Failed(anyhow::Error::new(e).context(format!("refs for {}", plan.workload)))
    })?;
    let mut json = serde_json::to_string_pretty(&report).expect("report serialises");
    json.push('\n');
    let table = render_table(&report);
    print_stdout(match args.format {
        Format::Json => &json,
        Format::Table => &table,
    })?;
    if let Some(dir) = &args.out {
        let files = vec![
            (format!("{}.txt", plan.workload), table),
            (format!("{}.json", plan.workload), json),
        ];
        super::write_out(dir, files, args.quiet)?;
    }
    Ok(())
}

/// The terminal rendering of a refs report: the rows, then the ratios.
pub fn render_table(r: &RefsReport) -> String {
    let matmul = r.workload == "matmul";
    let mut s = format!(
        "concbench refs — {}\n{} {}, median of {} (warm-up {}), seed {}\n\n",
        r.machine.summary(),
        r.workload,
        if matmul {
            format!("f64 n = {}", r.size)
        } else {
            format!("{} random u64 keys", r.size)
        },
        r.reps,
        r.warmup,
        r.seed
    );
    let mut headers = vec!["implementation", "threads", "median", "min", "max"];
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
                format_seconds(x.median_s),
                format_seconds(x.min_s),
                format_seconds(x.max_s),
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
    s.push_str(
        &Table {
            headers: headers.into_iter().map(String::from).collect(),
            align,
            rows,
        }
        .to_terminal(),
    );
    if r.rows.iter().any(|x| x.oversubscribed) {
        s.push_str("* more threads than physical cores (oversubscribed)\n");
    }
    s.push_str("\nratios: reference time / concbench time (above 1: concbench is faster)\n");
    let scaling = r.ratios.iter().any(|x| x.bandwidth_scaling.is_some());
    let mut headers = vec!["concbench", "against", "speed ratio"];
    if scaling {
        headers.push("copy-bandwidth scaling");
    }
    s.push_str(
        &Table {
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
        }
        .to_terminal(),
    );
    match &r.ceilings {
        Some(c) => s.push_str(&format!("{c} (`concbench limits` refreshes them)\n")),
        None => s.push_str(
            "no ceilings cached: run `concbench limits` for peak shares and bandwidth scaling\n",
        ),
    }
    s
}
