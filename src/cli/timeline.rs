//! `concbench timeline`: record when each of K pinned workers ran, and draw it.

use std::path::PathBuf;

use clap::ValueEnum;

use super::{commit_results, print_stdout, CliError};
use concbench::output::{prepare_out_dir, ResultSet};
use concbench::timeline::{parse_placement, render, Timeline, TimelineConfig};

/// Output formats of `timeline`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum TimelineFormat {
    /// Summary table and strip charts for the terminal.
    Table,
    /// One JSON document: intervals of every worker and the figures.
    Json,
}

/// Options of `concbench timeline`.
#[derive(Debug, clap::Args)]
pub struct TimelineArgs {
    /// Number of workers K (threads, processes with `--kind process`, or tasks with `--kind
    /// task`): the same flag as `run --cores`. `--threads`/`-t` is an alias kept for old commands.
    #[arg(
        long,
        short,
        visible_alias = "threads",
        short_alias = 't',
        allow_negative_numbers = true
    )]
    pub cores: i64,
    /// `one-core`: all workers pinned to one CPU (they take turns); `spread`: one per physical
    /// core (they run at the same time; wraps around, flagged oversubscribed, past the cores).
    /// Needed for threads and processes; tasks are always on one core.
    #[arg(long, short)]
    pub placement: Option<String>,
    /// `thread`, `process` or `task` (async tasks on one thread: they switch only where they
    /// yield).
    #[arg(long, short, default_value = "thread")]
    pub kind: String,
    /// `--kind task`: a yield point after every this many µs of a task's work (0, the default:
    /// none, so the tasks run back to back).
    #[arg(long, default_value_t = 0, allow_negative_numbers = true)]
    pub yield_every_us: i64,
    /// How long the workers record, in ms (1 to 60000).
    #[arg(long, short, default_value_t = 500, allow_negative_numbers = true)]
    pub duration_ms: i64,
    /// Output format on stdout.
    #[arg(long, short, value_enum, default_value_t = TimelineFormat::Table)]
    pub format: TimelineFormat,
    /// Also write timeline.json, timeline.svg (Gantt chart), trace.json (Chrome trace, opens
    /// in Perfetto), timeline.md, workers.csv, timeline.tex and report.html to this directory.
    #[arg(long, short, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// No notes on stderr, and no line naming the files written.
    #[arg(long, short)]
    pub quiet: bool,
}

/// Run `concbench timeline` with parsed options.
pub fn cmd_timeline(args: TimelineArgs) -> Result<(), CliError> {
    let kind: concbench::strategy::WorkerKind = args.kind.parse().map_err(CliError::Usage)?;
    let placement = match (&args.placement, kind) {
        (Some(p), _) => parse_placement(p).map_err(CliError::Usage)?,
        (None, concbench::strategy::WorkerKind::Task) => concbench::strategy::Placement::OneCore,
        (None, _) => {
            return Err(CliError::Usage(
                "--placement is needed for threads and processes: one-core or spread".into(),
            ))
        }
    };
    let config = TimelineConfig::new(args.cores, placement, kind, args.duration_ms)
        .and_then(|c| c.with_yield_every_us(args.yield_every_us))
        .map_err(CliError::Usage)?;
    if let Some(dir) = &args.out {
        prepare_out_dir(dir).map_err(CliError::Usage)?;
    }
    let mut watch = concbench::machine::Watch::start();
    let mut timeline = Timeline::record(&config)
        .map_err(|e| CliError::Failed(anyhow::Error::new(e).context("recording the timeline")))?;
    watch.finish(&mut timeline.machine);
    if let Some(w) = timeline.machine.busy_warning("the recording") {
        eprintln!("{w}");
    }
    let json = serde_json::to_string_pretty(&timeline).expect("timeline serializes") + "\n";
    if let Some(dir) = &args.out {
        let mut files = vec![
            ("timeline.json".to_string(), json.clone()),
            ("trace.json".to_string(), render::trace(&timeline)),
        ];
        // timeline.md, workers.csv, timeline.tex, timeline.svg and report.html.
        files.extend(render::document(&timeline).files("timeline"));
        let mut set = ResultSet::new();
        for (name, contents) in files {
            set.add(dir, &name, contents);
        }
        commit_results(set)?;
    }
    match args.format {
        TimelineFormat::Json => print_stdout(&json)?,
        TimelineFormat::Table => {
            let mut text = render::table(&timeline, render::terminal_width());
            if let (Some(dir), false) = (&args.out, args.quiet) {
                text.push_str(&format!(
                    "wrote {0}/timeline.json, {0}/timeline.svg, {0}/report.html and {0}/trace.json (open it in https://ui.perfetto.dev)\n",
                    dir.display()
                ));
            }
            print_stdout(&text)?;
        }
    }
    Ok(())
}
