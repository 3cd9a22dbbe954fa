//! `concbench limits`: measure this machine's ceilings (copy bandwidth for 1..P threads, peak
//! FLOP/s per core and on all cores), print them and refresh the cache other commands read.

use std::io::IsTerminal;

use super::{print_stdout, CliError, PlainFormat as Format};
use concbench::experiment::ceilings::{CacheOutcome, Ceilings, LimitsOptions};
use concbench::machine::Machine;
use concbench::report::table::{Align, Table};

/// Options of `concbench limits`.
#[derive(Debug, clap::Args)]
pub struct LimitsArgs {
    /// A quick look (smaller buffer, shorter loops, 3 repetitions): about a second.
    #[arg(long)]
    pub quick: bool,
    /// Output format on stdout.
    #[arg(long, short, value_enum, default_value_t = Format::Table)]
    pub format: Format,
    /// Also write limits.txt (the tables) and limits.json to this directory (atomically).
    #[arg(long, short, value_name = "DIR")]
    pub out: Option<std::path::PathBuf>,
    /// No progress lines or notes on stderr.
    #[arg(long, short)]
    pub quiet: bool,
}

/// Run `concbench limits`: measure, cache (a cache that cannot be written is a warning on
/// stderr, not a failure), print. Under mpirun with two or more ranks it measures the message
/// ceilings between rank 0 and every other rank too, and skips this host's ceilings when the
/// launcher bound rank 0 to fewer CPUs than the host has (they would be one core's).
pub fn cmd_limits(args: LimitsArgs) -> Result<(), CliError> {
    super::prepare_out(args.out.as_deref())?;
    if let Some(world) = concbench::cluster::world().filter(|w| w.size > 1) {
        return cmd_limits_in_job(world, args);
    }
    let options = if args.quick {
        LimitsOptions::quick()
    } else {
        LimitsOptions::full()
    };
    if !args.quiet && std::io::stderr().is_terminal() {
        eprintln!("measuring copy bandwidth and peak FLOP/s ...");
    }
    let machine = Machine::describe();
    let ceilings = Ceilings::measure(&options)
        .map_err(|e| CliError::Failed(anyhow::Error::new(e).context("measuring the ceilings")))?;
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
            eprintln!("concbench: warning: could not cache the ceilings: {e}");
            None
        }
    };
    let doc = serde_json::json!({ "machine": machine, "ceilings": ceilings });
    let mut json = serde_json::to_string_pretty(&doc).expect("ceilings serialise");
    json.push('\n');
    let table = render_table(&machine, &ceilings, cached.as_deref());
    print_and_write(&args, table, json)
}

/// Print the chosen rendering, then write both to `--out`.
fn print_and_write(args: &LimitsArgs, table: String, json: String) -> Result<(), CliError> {
    print_stdout(match args.format {
        Format::Table => &table,
        Format::Json => &json,
    })?;
    if let Some(dir) = &args.out {
        let files = vec![("limits.txt".into(), table), ("limits.json".into(), json)];
        super::write_out(dir, files, args.quiet)?;
    }
    Ok(())
}

/// The terminal rendering of measured ceilings.
pub fn render_table(machine: &Machine, c: &Ceilings, cache_note: Option<&str>) -> String {
    let mut s = format!(
        "concbench limits — {}\nmeasured {}{}{}\n\n",
        machine.summary(),
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
    );
    s.push_str(&format!(
        "copy bandwidth: {} MiB buffer, read + written, one pinned thread per physical core, median of {}\n",
        c.copy.buffer_bytes >> 20,
        c.copy.reps
    ));
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
                    concbench::topology::format_cpu_list(&p.cpus),
                    format!("{:.1}", p.gb_s),
                    format!("{:.1}", p.min_gb_s),
                    format!("{:.1}", p.max_gb_s),
                    format!("x{:.2}", c.bandwidth_scaling(p.threads).unwrap_or(f64::NAN)),
                ]
            })
            .collect(),
    };
    s.push_str(&bw.to_terminal());
    s.push_str(&format!(
        "\npeak double-precision FLOP/s: FMA loop (portable: multiply + add), median of {}\n",
        c.flops.reps
    ));
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
    s.push_str(&fl.to_terminal());
    s.push_str(&format!(
        "\npeak per core: {:.1} GFLOP/s ({}); all {} core{} at once: {:.1} GFLOP/s (x{:.2})\n",
        c.flops.per_core_gflops,
        c.flops.isa,
        c.flops.all_cores,
        if c.flops.all_cores == 1 { "" } else { "s" },
        c.flops.all_cores_gflops,
        c.flops.all_cores_gflops / c.flops.per_core_gflops
    ));
    if let Some(note) = cache_note {
        s.push_str(note);
        s.push('\n');
    }
    s
}

/// `limits` as rank 0 of an MPI job: the message ceilings, and this host's ceilings unless rank
/// 0 was bound.
fn cmd_limits_in_job(world: &concbench::cluster::World, args: LimitsArgs) -> Result<(), CliError> {
    let plan = if args.quick {
        concbench::cluster::PingPongPlan::quick()
    } else {
        concbench::cluster::PingPongPlan::full()
    };
    eprintln!(
        "concbench: measuring message latency and bandwidth between rank 0 and {} other rank{}...",
        world.size - 1,
        if world.size == 2 { "" } else { "s" }
    );
    let measured = concbench::cluster::measure_messages(world, &plan);
    concbench::machine::set_message_ceilings(measured.iter().map(|(c, _)| c.clone()).collect());
    let bound = world.info.ranks.first().is_some_and(|r| r.bound);
    let machine = Machine::describe();
    let ceilings = if bound {
        None
    } else {
        let options = if args.quick {
            LimitsOptions::quick()
        } else {
            LimitsOptions::full()
        };
        Some(Ceilings::measure(&options).map_err(|e| {
            CliError::Failed(anyhow::Error::new(e).context("measuring the ceilings"))
        })?)
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
    let json = {
        let mut doc = serde_json::json!({ "machine": machine, "messages": messages });
        if let Some(c) = &ceilings {
            doc["ceilings"] = serde_json::to_value(c).expect("ceilings serialise");
        }
        if let Some(note) = &skipped {
            doc["note"] = serde_json::Value::String(note.clone());
        }
        let mut s = serde_json::to_string_pretty(&doc).expect("limits serialise");
        s.push('\n');
        s
    };
    let table = {
        let mut s = match &ceilings {
            Some(c) => render_table(&machine, c, None),
            None => format!("concbench limits — {}\n", machine.summary()),
        };
        s.push_str(&render_messages(&measured));
        if let Some(note) = &skipped {
            s.push_str(note);
            s.push('\n');
        }
        s
    };
    print_and_write(&args, table, json)
}

/// The message ceilings as a table: one row per peer and message size.
fn render_messages(
    measured: &[(
        concbench::machine::MessageCeiling,
        Vec<concbench::cluster::MessagePoint>,
    )],
) -> String {
    let mut rows = Vec::new();
    for (c, points) in measured {
        for p in points {
            rows.push(vec![
                c.hosts.clone(),
                format!("0 -> {}", c.peer),
                concbench::text::format_bytes(p.bytes as u64),
                format!("{:.2}", p.half_round_trip_ns / 1e3),
                format!("{:.2}", p.bandwidth_bytes_per_s / 1e9),
            ]);
        }
    }
    let t = Table {
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
    };
    format!(
        "\nmessages between ranks: ping-pong, half a round trip, fastest of the trials (as OSU's osu_latency and osu_bw)\n{}",
        t.to_terminal()
    )
}
