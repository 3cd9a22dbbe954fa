//! `concbench timeline`: record when each of K pinned workers ran, and draw it.

use std::path::PathBuf;

use super::{print_stdout, CliError, OutputFormat};
use concbench::report::Render;
use concbench::timeline::{Timeline, TimelineError, TimelineRequest};

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
    #[arg(long, short, default_value_t = TimelineRequest::default().kind)]
    pub kind: String,
    /// `--kind task`: a yield point after every this many µs of a task's work (0, the default:
    /// none, so the tasks run back to back).
    #[arg(long, default_value_t = TimelineRequest::default().yield_every_us, allow_negative_numbers = true)]
    pub yield_every_us: i64,
    /// How long the workers record, in ms (1 to 60000).
    #[arg(long, short, default_value_t = TimelineRequest::default().duration_ms, allow_negative_numbers = true)]
    pub duration_ms: i64,
    /// Output format on stdout.
    #[arg(long, short, value_enum, default_value_t = OutputFormat::Table)]
    pub format: OutputFormat,
    /// Also write timeline.json, timeline.svg (Gantt chart), trace.json (Chrome trace, opens
    /// in Perfetto), timeline.md, workers.csv, timeline.tex and report.html to this directory.
    #[arg(long, short, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// No notes on stderr, and no line naming the files written.
    #[arg(long, short)]
    pub quiet: bool,
}

/// Run `concbench timeline` with parsed options: the flags become a [`TimelineRequest`], the
/// library's [`Timeline::record`] checks and records it, and this prints the timeline in
/// `--format` and, with `--out`, writes its files.
pub fn cmd_timeline(args: TimelineArgs) -> Result<(), CliError> {
    let request = TimelineRequest {
        cores: args.cores,
        placement: args.placement.clone(),
        kind: args.kind.clone(),
        yield_every_us: args.yield_every_us,
        duration_ms: args.duration_ms,
        out: args.out.clone(),
    };
    let timeline =
        Timeline::record(&request, &mut |note| eprintln!("{note}")).map_err(|e| match e {
            TimelineError::Request(line) => CliError::Usage(line),
            e @ TimelineError::Write(_) => CliError::Failed(anyhow::Error::new(e)),
            other => CliError::Failed(anyhow::Error::new(other).context("recording the timeline")),
        })?;
    let mut text = timeline.render(args.format.into());
    if let (OutputFormat::Table, Some(dir), false) = (args.format, &args.out, args.quiet) {
        text.push_str(&format!(
            "wrote {0}/timeline.json, {0}/timeline.svg, {0}/report.html and {0}/trace.json (open it in https://ui.perfetto.dev)\n",
            dir.display()
        ));
    }
    print_stdout(&text)
}
