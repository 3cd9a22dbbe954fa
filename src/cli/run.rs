//! `concbench run`: sweep a workload over strategies and core counts, print a speedup table.

use std::io::IsTerminal;

use super::{print_stdout, CliError, OutputFormat, Repetitions};
use concbench::report::{self, Render};
use concbench::strategy::Strategy;
use concbench::sweep::RunRequest;
use concbench::sweep::{run_request, RunEvent, SweepError};
use concbench::workload;

/// Options of `concbench run`.
#[derive(Debug, clap::Args)]
pub struct RunArgs {
    /// Workload: one of the registry's (see `concbench list`).
    #[arg(long, short, help = workload_help())]
    pub workload: String,
    /// Comma list of core counts N to sweep (default from the machine; see the help).
    #[arg(long, short, allow_hyphen_values = true, help = cores_help())]
    pub cores: Option<String>,
    /// Comma list of strategies (default: every one that can run here).
    #[arg(long, short, help = strategy_help())]
    pub strategy: Option<String>,
    /// Problem size, in each workload's unit (default: the workload's own).
    #[arg(long, allow_negative_numbers = true, help = size_help())]
    pub size: Option<i64>,
    /// Repetitions, warm-up and seed.
    #[command(flatten)]
    pub repetitions: Repetitions,
    /// The workloads' parameters (`--wait-ms`, `--cpu-share`, `--kernel`), one flag each, from
    /// their descriptors.
    #[command(flatten)]
    pub params: super::params::WorkloadParams,
    /// Output format on stdout.
    #[arg(long, short, value_enum, default_value_t = OutputFormat::Table)]
    pub format: OutputFormat,
    /// Also write report.md, results.csv, samples.csv (one line per repetition), results.json,
    /// results.tex and speedup.svg into DIR (created if missing; each file written atomically).
    #[arg(long, value_name = "DIR")]
    pub out: Option<std::path::PathBuf>,
    /// Also draw when each part of each row ran (one repetition per row, the one with the median
    /// time): writes timeline.svg (a Gantt chart) and trace.json (Chrome trace) into DIR.
    #[arg(long, value_name = "DIR")]
    pub timeline: Option<std::path::PathBuf>,
    /// Measure the machine's ceilings (quick `concbench limits`) in this invocation and show each
    /// row beside them (and cache them, unless a full `concbench limits` is cached); without it,
    /// ceilings cached by an earlier `concbench limits` are used.
    #[arg(long)]
    pub limits: bool,
    /// No progress display on stderr.
    #[arg(long, short)]
    pub quiet: bool,
    /// Testing aid: make the worker of this part fail (multi-process and thread strategies).
    #[arg(long, hide = true)]
    pub fault_part: Option<usize>,
    /// Testing aid: how the faulty part fails (crash, wrong-answer or hang).
    #[arg(long, hide = true, default_value = "crash")]
    pub fault_kind: String,
    /// Seconds after which a repetition counts as stuck, on top of 20 times the slowest
    /// repetition so far (default 30): stuck worker processes are killed and named, a stuck
    /// thread is named and concbench exits with status 1.
    #[arg(long, value_name = "SECONDS")]
    pub stuck_after: Option<f64>,
}

/// `a`, `a or b`, `a, b or c`.
fn one_of(items: &[String]) -> String {
    match items {
        [] => String::new(),
        [one] => one.clone(),
        [rest @ .., last] => format!("{} or {last}", rest.join(", ")),
    }
}

/// Help of `--workload`, from the registry.
fn workload_help() -> String {
    let names: Vec<String> = workload::BUILT_IN
        .iter()
        .map(|d| d.name.to_string())
        .collect();
    format!("Workload: {} (see `concbench list`)", one_of(&names))
}

/// Help of `--size`: each workload's unit and default size, from the registry.
fn size_help() -> String {
    let sizes: Vec<String> = workload::BUILT_IN
        .iter()
        .map(|d| format!("{} ({}, default {})", d.size_unit, d.name, d.default_size))
        .collect();
    format!("Problem size: {}", sizes.join(", "))
}

/// Help of `--strategy`: every name, and exactly what the default measures here (from
/// [`concbench::sweep::default_strategies`], whose rules it states).
fn strategy_help() -> String {
    let names: Vec<&str> = Strategy::ALL.iter().map(|s| s.name()).collect();
    let default: Vec<String> = concbench::sweep::default_strategies()
        .iter()
        .map(|s| s.to_string())
        .collect();
    format!(
        "Comma list of strategies: {}. Default: every one that can run here, which is {} \
         (distributed only under mpirun or srun with two ranks or more; single-core-threaded \
         only where threads can be pinned, so not on macOS)",
        names.join(", "),
        default.join(", ")
    )
}

/// [`concbench::sweep::default_workers`] for this machine, as a `--cores` value.
fn default_cores_here() -> String {
    let cores: Vec<String> = concbench::sweep::default_workers()
        .iter()
        .map(|c| c.to_string())
        .collect();
    cores.join(",")
}

/// Help of `--cores`: the rule of the default and its value on this machine.
fn cores_help() -> String {
    format!(
        "Comma list of core counts N to sweep; each row splits the work into N parts run by N \
         workers. Counts above the physical cores run anyway and are marked oversubscribed. \
         Default: the powers of two up to this machine's physical cores, then the physical \
         count if it is not one, then twice it (oversubscribed); here {} physical cores: {}",
        concbench::strategy::physical_cores(),
        default_cores_here()
    )
}

/// Run `concbench run` with parsed options: the flags become a [`RunRequest`], the library's
/// [`run_request`] does the rest (validate once, measure, write `--out`/`--timeline`), and this
/// shows its events on stderr and prints the report in `--format`.
pub fn cmd_run(args: RunArgs) -> Result<(), CliError> {
    let request = request_of(&args);
    let bar = progress_bar(!args.quiet);
    let mut on_event = |event: RunEvent| match (event, &bar) {
        (RunEvent::Progress(p), Some(bar)) => {
            bar.set_length(p.total as u64);
            bar.set_position(p.done as u64);
            bar.set_message(format!("{} x{}", p.strategy, p.cores));
        }
        (RunEvent::Note(line), Some(bar)) => bar.println(line),
        (RunEvent::Note(line), None) => eprintln!("{line}"),
        _ => {}
    };
    let result = run_request(&request, &mut on_event);
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    let format = args.format.into();
    let outcome = match result {
        Ok(outcome) => outcome,
        Err(e) => return Err(failed(&args.workload, format, e)?),
    };
    if let Some(dir) = &args.out {
        super::say_written(&outcome.written, dir, args.quiet);
    }
    print_stdout(&outcome.report.render(format))
}

/// The request `args` make: the text of the options, checked by the library.
fn request_of(args: &RunArgs) -> RunRequest {
    RunRequest {
        workload: args.workload.clone(),
        cores: args.cores.clone(),
        strategy: args.strategy.clone(),
        size: args.size,
        reps: args.repetitions.reps,
        warmup: args.repetitions.warmup,
        seed: args.repetitions.seed,
        params: args.params.0.clone(),
        out: args.out.clone(),
        timeline: args.timeline.clone(),
        measure_ceilings: args.limits,
        stuck_after_s: args.stuck_after,
        fault: args.fault_part.map(|part| (part, args.fault_kind.clone())),
    }
}

/// The error of a run that did not finish: bad usage (exit status 2), or a failure while
/// measuring (1). The rows measured before a failure go to stdout (never to `--out`: a
/// directory holds one complete run), and the error says they are incomplete.
fn failed(workload: &str, format: report::Format, e: SweepError) -> Result<CliError, CliError> {
    let context = format!("running {workload}");
    match e {
        SweepError::Plan(e) => Ok(CliError::Usage(e.0)),
        SweepError::Run {
            source,
            partial: Some(partial),
        } => {
            print_stdout(&partial.report.render(format))?;
            let rows = partial.report.rows.len();
            Ok(CliError::Failed(anyhow::Error::new(source).context(context).context(
                format!(
                    "the run is incomplete: the {rows} row(s) on stdout were measured before the failure"
                ),
            )))
        }
        SweepError::Run {
            source,
            partial: None,
        } => Ok(CliError::Failed(
            anyhow::Error::new(source).context(context),
        )),
        other => Ok(CliError::Failed(anyhow::Error::new(other).context(context))),
    }
}

fn progress_bar(enabled: bool) -> Option<indicatif::ProgressBar> {
    if !enabled || !std::io::stderr().is_terminal() {
        return None;
    }
    let bar = indicatif::ProgressBar::new(1);
    bar.set_style(
        indicatif::ProgressStyle::with_template(
            "{bar:30} {pos}/{len} runs  {msg}  ({elapsed}, about {eta} left)",
        )
        .expect("valid template"),
    );
    bar.enable_steady_tick(std::time::Duration::from_millis(200));
    Some(bar)
}
