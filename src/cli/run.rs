//! `concbench run`: sweep a workload over strategies and core counts, print a speedup table.

use std::io::IsTerminal;

use clap::ValueEnum;

use super::{commit_results, print_stdout, CliError, Repetitions};
use concbench::child::{Fault, FaultKind};
use concbench::output::{prepare_out_dir, ResultSet};
use concbench::plan::{RawRun, RunPlan};
use concbench::report::{
    add_out_files, csv::CsvReporter, json::JsonReporter, latex::LatexReporter,
    markdown::MarkdownReporter, table::TerminalReporter, Reporter, RunReport,
};
use concbench::runner;
use concbench::strategy::STRATEGIES;
use concbench::sweep::{CeilingSource, PartialRun, Sweep, SweepError, SwitchCost};
use concbench::workload;

/// Output formats of `run`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// Aligned table for the terminal.
    Table,
    /// One JSON document (the complete result).
    Json,
    /// Markdown report: header, table, a reading of the numbers (report.md).
    Markdown,
    /// One CSV line per row, the JSON fields flattened (results.csv).
    Csv,
    /// A LaTeX table float (booktabs, with a caption naming the machine; results.tex).
    Latex,
}

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
    #[arg(long, short, value_enum, default_value_t = Format::Table)]
    pub format: Format,
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
/// [`concbench::plan::default_strategies`], whose rules it states).
fn strategy_help() -> String {
    let names: Vec<&str> = STRATEGIES.iter().map(|d| d.name).collect();
    let default: Vec<String> = concbench::plan::default_strategies()
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

/// [`concbench::plan::default_workers`] for this machine, as a `--cores` value.
fn default_cores_here() -> String {
    let physical = concbench::topology::Topology::get().physical_core_count();
    let cores: Vec<String> = concbench::plan::default_workers(physical)
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
        concbench::topology::Topology::get().physical_core_count(),
        default_cores_here()
    )
}

/// Run `concbench run` with parsed options. One pipeline: the arguments become a plan (once),
/// the plan a subject (the workload built once, or a service's configuration), the sweep a
/// complete report (switch cost, slow CPUs and ceilings included, see
/// [`concbench::sweep::Sweep`]), and the report is rendered to stdout and written to `--out`.
pub fn cmd_run(args: RunArgs) -> Result<(), CliError> {
    let plan = plan_of(&args)?;
    let options = options_of(&args)?;
    let subject = Subject::of(&plan, args.timeline.is_some())?;
    let reporter = reporter_of(args.format);
    let (report, measurements) = match measure(&plan, &subject, &options, !args.quiet) {
        Ok(done) => done,
        Err(failed) => return Err(show_partial(&*reporter, failed)?),
    };
    warn_about(&report);
    // The files first: a reader that closes stdout early (`| head`) must not cost the run.
    write_sets(&args, &subject, &report, &measurements)?;
    print_stdout(&reporter.render(&report))
}

/// The validated plan of `args`, with the directories it will write checked before any work.
fn plan_of(args: &RunArgs) -> Result<RunPlan, CliError> {
    let raw = RawRun {
        workload: args.workload.clone(),
        cores: args.cores.clone().unwrap_or_else(default_cores_here),
        strategy: args.strategy.clone(),
        size: args.size,
        reps: args.repetitions.reps,
        warmup: args.repetitions.warmup,
        seed: args.repetitions.seed,
        params: args.params.0.clone(),
    };
    let plan = RunPlan::from_raw(&raw).map_err(|e| CliError::Usage(e.0))?;
    for dir in args.out.iter().chain(&args.timeline) {
        prepare_out_dir(dir).map_err(CliError::Usage)?;
    }
    Ok(plan)
}

/// How the sweep runs, beside the plan: the deadline floor, a test fault, where the ceilings
/// come from.
struct RunOptions {
    stuck_after: Option<std::time::Duration>,
    fault: Option<Fault>,
    ceilings: CeilingSource,
}

fn options_of(args: &RunArgs) -> Result<RunOptions, CliError> {
    if let Some(s) = args.stuck_after {
        if !(s.is_finite() && s > 0.0 && s <= 86_400.0) {
            return Err(CliError::Usage(format!(
                "--stuck-after {s} must be more than 0 and at most 86400 seconds"
            )));
        }
    }
    let fault = match args.fault_part {
        None => None,
        Some(part) => Some(Fault {
            part,
            kind: match args.fault_kind.as_str() {
                "crash" => FaultKind::Crash,
                "wrong-answer" => FaultKind::WrongAnswer,
                "hang" => FaultKind::Hang,
                other => return Err(CliError::Usage(format!("unknown fault kind '{other}'"))),
            },
        }),
    };
    Ok(RunOptions {
        stuck_after: args.stuck_after.map(std::time::Duration::from_secs_f64),
        fault,
        ceilings: if args.limits {
            CeilingSource::Measure
        } else {
            CeilingSource::Cached
        },
    })
}

/// What the plan measures, built once: a job's workload, or a service (whose configuration the
/// sweep reads from the plan's spec).
enum Subject {
    Job(Box<dyn workload::Workload>),
    Service,
}

impl Subject {
    /// Build the workload of `plan`, or check its service configuration and make room for its
    /// connections (saying so when the open-files limit is raised).
    fn of(plan: &RunPlan, timeline: bool) -> Result<Subject, CliError> {
        let usage = |e: workload::WorkloadError| CliError::Usage(e.to_string());
        if !workload::registry::find(&plan.spec.name).is_some_and(|d| d.service) {
            return Ok(Subject::Job(workload::build(&plan.spec).map_err(usage)?));
        }
        if timeline {
            return Err(CliError::Usage(format!(
                "--timeline draws the parts of a job; {} is a service, whose rows have none (its latency is in every row)",
                plan.spec.name
            )));
        }
        let config = workload::web::WebConfig::from_spec(&plan.spec).map_err(usage)?;
        if let Some(note) = concbench::service::make_room_for(config.connections)
            .map_err(|e| CliError::Usage(e.to_string()))?
        {
            eprintln!("concbench: {note}");
        }
        Ok(Subject::Service)
    }

    /// How long the sequential twin takes per repetition, when the subject knows.
    fn sequential_s(&self, plan: &RunPlan) -> Option<f64> {
        match self {
            Subject::Job(w) => w.expected_sequential_s(),
            Subject::Service => workload::web::WebConfig::from_spec(&plan.spec)
                .ok()
                .map(|c| c.expected_sequential_s()),
        }
    }
}

fn reporter_of(format: Format) -> Box<dyn Reporter> {
    match format {
        Format::Table => Box::new(TerminalReporter),
        Format::Json => Box::new(JsonReporter),
        Format::Markdown => Box::new(MarkdownReporter),
        Format::Csv => Box::new(CsvReporter),
        Format::Latex => Box::new(LatexReporter),
    }
}

/// A run that failed part-way: the rows measured before the failure (if any) and the error.
type Failed = (Option<Box<PartialRun>>, CliError);

/// The rows measured before a failure go to stdout (never to `--out`: a directory holds one
/// complete run); the error that comes back says they are incomplete.
fn show_partial(reporter: &dyn Reporter, (partial, error): Failed) -> Result<CliError, CliError> {
    let Some(partial) = partial else {
        return Ok(error);
    };
    print_stdout(&reporter.render(&partial.report))?;
    let rows = partial.report.rows.len();
    Ok(match error {
        CliError::Failed(e) => CliError::Failed(e.context(format!(
            "the run is incomplete: the {rows} row(s) on stdout were measured before the failure"
        ))),
        other => other,
    })
}

/// What stderr should say about a finished run: a busy machine, a missing switch cost,
/// Windows' timer, CPUs of different kinds.
fn warn_about(report: &RunReport) {
    if let Some(w) = report.machine.busy_warning("the run") {
        eprintln!("{w}");
    }
    if let Some(note) = &report.method.switch_cost_note {
        eprintln!("concbench: warning: {note}");
    }
    if cfg!(windows) {
        // Sleep rounds up to the 15.6 ms tick on Windows: say what the waits really took.
        let w = concbench::workload::io::achieved_waits();
        if w.count > 0 {
            eprintln!(
                "concbench: io waits in this process (high-resolution waitable timer): {} waits, asked {:.3} ms, took {:.3} ms on average",
                w.count,
                w.asked.as_secs_f64() * 1e3 / w.count as f64,
                w.achieved.as_secs_f64() * 1e3 / w.count as f64
            );
        }
    }
    let most = report.rows.iter().map(|r| r.cores).max().unwrap_or(1);
    if let Some(w) = report.machine.core_types_warning(most) {
        eprintln!("concbench: warning: {w}");
    }
}

/// Write `--out` and `--timeline` as one result set, and say so unless quiet.
fn write_sets(
    args: &RunArgs,
    subject: &Subject,
    report: &RunReport,
    measurements: &[runner::Measurement],
) -> Result<(), CliError> {
    let mut set = ResultSet::new();
    if let (Some(dir), Subject::Job(workload)) = (&args.timeline, subject) {
        add_parts_timeline(&mut set, dir, &**workload, measurements);
    }
    if let Some(dir) = &args.out {
        add_out_files(&mut set, dir, report);
    }
    let written = commit_results(set)?;
    if let (Some(dir), false) = (&args.out, args.quiet) {
        eprintln!(
            "concbench: wrote {} files to {}",
            written.iter().filter(|p| p.starts_with(dir)).count(),
            dir.display()
        );
    }
    Ok(())
}

/// Add the parts' Gantt chart and Chrome trace of one repetition per row (the one whose wall
/// time is the row's median) to the result set of `dir`.
fn add_parts_timeline(
    set: &mut ResultSet,
    dir: &std::path::Path,
    workload: &dyn workload::Workload,
    measurements: &[runner::Measurement],
) {
    use concbench::timeline::parts::{parts_svg, parts_trace, PartsRow};
    let rows: Vec<PartsRow> = measurements
        .iter()
        .filter_map(|m| {
            let mut by_time: Vec<_> = m.runs.iter().collect();
            by_time.sort_by(|a, b| a.wall_s.total_cmp(&b.wall_s));
            let exec = by_time.get(by_time.len() / 2)?;
            let parts = if m.strategy.is_sequential() {
                1
            } else {
                m.cores
            };
            let stages = if m.strategy.is_sequential() {
                vec![concbench::workload::Stage {
                    name: "sequential twin",
                    kind: concbench::workload::StageKind::Compute,
                }]
            } else {
                workload.stages(parts)
            };
            let label = format!("{} x{}", m.strategy, m.cores);
            Some(PartsRow::from_execution(label, exec, &stages))
        })
        .collect();
    for (name, text) in [
        ("timeline.svg", parts_svg(&rows)),
        ("trace.json", parts_trace(&rows)),
    ] {
        set.add(dir, name, text);
    }
}

/// Runs longer than this get an estimate of their length on stderr.
const LONG_RUN_S: f64 = 180.0;

/// Sweep the plan with a progress bar on stderr (when it is a terminal and `progress` is on):
/// the complete report and the raw measurements (for timelines), or the rows measured before a
/// failure beside the error.
fn measure(
    plan: &RunPlan,
    subject: &Subject,
    options: &RunOptions,
    progress: bool,
) -> Result<(RunReport, Vec<runner::Measurement>), Failed> {
    let executions = plan.rows().len() * (plan.warmup + plan.reps);
    if let Some(t) = subject
        .sequential_s(plan)
        .filter(|t| *t > LONG_RUN_S / 10.0)
        .filter(|_| plan.strategies.iter().any(|s| s.is_sequential()))
    {
        eprintln!(
            "concbench: the sequential twin alone takes about {} per repetition ({} of its repetitions are planned, {executions} executions in all): this run will be long",
            format_duration(t),
            plan.warmup + plan.reps
        );
    }
    let bar = progress_bar(progress);
    let mut estimated = false;
    let on_progress = |p: runner::Progress| {
        if let Some(bar) = &bar {
            bar.set_length(p.total as u64);
            bar.set_position(p.done as u64);
            bar.set_message(format!("{} x{}", p.strategy, p.cores));
        }
        // After the first execution, say how long the whole run will take if that is long.
        if !estimated && p.done >= 1 && p.done < p.total {
            estimated = true;
            let left = p.elapsed_s / p.done as f64 * (p.total - p.done) as f64;
            if p.elapsed_s + left > LONG_RUN_S {
                let line = format!(
                    "concbench: this run will take about {} more ({} of {} executions done in {})",
                    format_duration(left),
                    p.done,
                    p.total,
                    format_duration(p.elapsed_s)
                );
                match &bar {
                    Some(bar) => bar.println(line),
                    None => eprintln!("{line}"),
                }
            }
        }
    };
    let sweep = match subject {
        Subject::Job(w) => Sweep::from_plan(&**w, plan),
        Subject::Service => Sweep::service(&plan.spec)
            .map_err(|e| (None, CliError::Usage(e.to_string())))?
            .with_plan(plan),
    };
    let mut sweep = sweep
        .on_progress(on_progress)
        .switch_cost(SwitchCost::Measure)
        .ceilings(options.ceilings);
    if let Some(fault) = options.fault {
        sweep = sweep.inject_fault_for_testing(fault);
    }
    if let Some(floor) = options.stuck_after {
        sweep = sweep.stuck_after(floor);
    }
    let result = sweep.run_keeping_measurements();
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    let context = format!("running {}", plan.spec.name);
    result.map_err(|e| match e {
        SweepError::Run { source, partial } => (
            partial,
            CliError::Failed(anyhow::Error::new(source).context(context)),
        ),
        other => (
            None,
            CliError::Failed(anyhow::Error::new(other).context(context)),
        ),
    })
}

/// A duration for an estimate: seconds, minutes, hours or days, two significant digits.
fn format_duration(s: f64) -> String {
    match s {
        s if s < 90.0 => format!("{s:.0} s"),
        s if s < 5400.0 => format!("{:.0} min", s / 60.0),
        s if s < 2.0 * 86400.0 => format!("{:.1} h", s / 3600.0),
        s => format!("{:.0} days", s / 86400.0),
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
