//! `concbench limits`: measure this machine's ceilings (copy bandwidth for 1..P threads, peak
//! FLOP/s per core and on all cores), print them and refresh the cache other commands read.

use std::io::IsTerminal;

use super::{CliError, PlainFormat as Format};
use concbench::experiment::ceilings::{CacheOutcome, Ceilings, LimitsOptions};
use concbench::experiment::limits::{document, LimitsResult};
use concbench::machine::Machine;
use concbench::report::document::Document;

/// Options of `concbench limits`.
#[derive(Debug, clap::Args)]
pub struct LimitsArgs {
    /// A quick look (smaller buffer, shorter loops, 3 repetitions): about a second.
    #[arg(long)]
    pub quick: bool,
    /// Output format on stdout.
    #[arg(long, short, value_enum, default_value_t = Format::Table)]
    pub format: Format,
    /// Also write the result set to this directory (atomically): limits.txt (the tables), limits.json, limits.md, one CSV per table, limits.tex and report.html.
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
    let machine = Machine::describe(&concbench::cluster::context());
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
    let mut doc = serde_json::json!({ "machine": machine, "ceilings": ceilings });
    // Whether the figures were cached, in the JSON too: `concbench render` draws the set from it.
    if let Some(note) = &cached {
        doc["note"] = serde_json::Value::String(note.clone());
    }
    let mut json = serde_json::to_string_pretty(&doc).expect("ceilings serialise");
    json.push('\n');
    let result = LimitsResult {
        machine: &machine,
        ceilings: Some(&ceilings),
        messages: &[],
        notes: cached.into_iter().collect(),
    };
    print_and_write(&args, &document(&result), json)
}

/// Print the chosen rendering, then write the result set to `--out`.
fn print_and_write(args: &LimitsArgs, doc: &Document, json: String) -> Result<(), CliError> {
    super::print_and_write_document(
        doc,
        json,
        "limits",
        args.format,
        args.out.as_deref(),
        args.quiet,
    )
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
    // The machine block shows the job with the ceilings just measured.
    let mut context = concbench::cluster::context();
    context.record_message_ceilings(measured.iter().map(|(c, _)| c.clone()).collect());
    let bound = world.info.ranks.first().is_some_and(|r| r.bound);
    let machine = Machine::describe(&context);
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
    let result = LimitsResult {
        machine: &machine,
        ceilings: ceilings.as_ref(),
        messages: &measured,
        notes: skipped.into_iter().collect(),
    };
    print_and_write(&args, &document(&result), json)
}
