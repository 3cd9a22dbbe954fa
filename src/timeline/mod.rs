//! Time slicing and simultaneity, seen from user space: when did each worker actually run?
//!
//! `concbench timeline` starts K CPU-bound workers (threads or processes) pinned to one CPU or
//! spread over physical cores, lets each read the monotonic clock after every small chunk of
//! work, and turns the gaps in those readings into run intervals (`record`, `analyze`). On one
//! core the workers take turns — slices of a few milliseconds, `overlap_share` ≈ 0; spread, they
//! run at the same time — `overlap_share` ≈ 1. `render` draws it for the terminal, as an SVG
//! Gantt chart and as a Chrome trace (the [`Timeline`] renders and writes its files through
//! [`crate::report::Render`]); `parts` draws the part records of `concbench run` the same way.
//!
//! [`Timeline::record`] is `concbench timeline` as one call: a [`TimelineRequest`] holds the
//! options as given, checked before anything runs (a bad one is [`TimelineError::Request`]).
//!
//! Kind `task` records K async tasks on ONE thread (tokio's `current_thread` runtime, pinned to
//! one CPU), each spinning for its share (duration / K) of the recording. Nothing preempts a
//! task, so without yield points they run back to back; with `yield_every_us` each yields after
//! that much work and they interleave at their yield points — with no time slice anywhere.
//!
//! ```no_run
//! use concbench::report::{Format, Render};
//! use concbench::timeline::{Timeline, TimelineRequest};
//!
//! // Three threads taking turns on one core for 200 ms.
//! let request = TimelineRequest {
//!     cores: 3,
//!     duration_ms: 200,
//!     ..TimelineRequest::default()
//! };
//! let timeline = Timeline::record(&request, &mut |note| eprintln!("{note}")).unwrap();
//! println!("overlap {:.3}", timeline.overlap_share);
//! print!("{}", timeline.render(Format::Markdown));
//! ```

use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::child::WorkerCommand;
use crate::machine::{Machine, Watch};
use crate::strategy::Placement;
use crate::topology::{Topology, TopologyError};

pub(crate) mod analyze;
pub(crate) mod parts;
pub(crate) mod record;
pub(crate) mod render;

pub(crate) use analyze::KernelSlice;
#[cfg(test)]
use analyze::WorkerReadings;

/// Longest recording `timeline` accepts, ms.
pub(crate) const MAX_DURATION_MS: u64 = 60_000;

/// Most workers `timeline` accepts.
pub(crate) const MAX_WORKERS: usize = 512;

/// Threads of this process, or worker processes (one type for the whole crate).
pub(crate) use crate::strategy::WorkerKind as Kind;

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Kind {
    type Err = String;
    fn from_str(s: &str) -> Result<Kind, String> {
        match s {
            "thread" | "threads" => Ok(Kind::Thread),
            "process" | "processes" => Ok(Kind::Process),
            "task" | "tasks" => Ok(Kind::Task),
            _ => Err(format!("unknown kind '{s}' (known: thread, process, task)")),
        }
    }
}

/// The CLI name of a placement.
pub(crate) fn placement_name(p: Placement) -> &'static str {
    match p {
        Placement::OneCore => "one-core",
        Placement::Spread => "spread",
    }
}

/// Parse a placement name (`one-core` or `spread`).
pub(crate) fn parse_placement(s: &str) -> Result<Placement, String> {
    match s {
        "one-core" => Ok(Placement::OneCore),
        "spread" => Ok(Placement::Spread),
        _ => Err(format!("unknown placement '{s}' (known: one-core, spread)")),
    }
}

/// Errors recording a timeline.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TimelineError {
    /// The request cannot be recorded as asked (an unknown kind or placement, a count or a
    /// length out of range, an output directory that cannot be written): refused before any
    /// worker starts. The line names the bad value.
    #[error("{0}")]
    Request(String),
    /// The result files could not be written (the request's `out`).
    #[error("writing the result files: {0}")]
    Write(#[source] std::io::Error),
    /// A worker could not be pinned.
    #[error("worker {worker}: {source}")]
    Pin {
        /// The worker.
        worker: usize,
        /// What the kernel said.
        source: TopologyError,
    },
    /// A worker thread or process could not be started.
    #[error("{0}")]
    Spawn(String),
    /// No concbench binary to run worker processes.
    #[error("{0}")]
    NoWorkerBinary(String),
    /// A worker process died or broke the protocol.
    #[error("timeline worker {worker} failed: {reason}")]
    WorkerDied {
        /// The worker.
        worker: usize,
        /// What happened, with its stderr.
        reason: String,
    },
}

/// What `concbench timeline` is asked, as given (the CLI's flags, unchecked);
/// [`Timeline::record`] checks it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TimelineRequest {
    /// Number of workers K, 1 to 512.
    pub cores: i64,
    /// `one-core` (all workers pinned to one CPU: they take turns) or `spread` (one per
    /// physical core: they run at the same time). Needed for threads and processes; tasks are
    /// always on one core (`None` means `one-core` for them).
    pub placement: Option<String>,
    /// `thread`, `process` or `task` (async tasks on one thread: they switch only where they
    /// yield).
    pub kind: String,
    /// Kind `task`: a yield point after every this many µs of a task's work; 0: none.
    pub yield_every_us: i64,
    /// How long the workers record, ms (1 to 60000).
    pub duration_ms: i64,
    /// Write the timeline's files here (`--out`; [`crate::report::Render::files`]) after the
    /// recording: checked ([`crate::output::prepare_out_dir`]) after the options and before any
    /// worker starts.
    pub out: Option<PathBuf>,
}

/// Two threads on one core for 500 ms, no files: the smallest picture of time slicing.
/// `concbench timeline` takes its defaults (`--kind`, `--yield-every-us`, `--duration-ms`) from
/// here; it asks for `--cores` and, for threads and processes, `--placement` itself.
impl Default for TimelineRequest {
    fn default() -> TimelineRequest {
        TimelineRequest {
            cores: 2,
            placement: Some("one-core".into()),
            kind: "thread".into(),
            yield_every_us: 0,
            duration_ms: 500,
            out: None,
        }
    }
}

impl TimelineRequest {
    /// The recording `self` asks for, checked in the order of the flags' meaning: kind,
    /// placement, counts and lengths, then the output directory. The error is one line naming
    /// the bad value.
    pub(crate) fn config(&self) -> Result<TimelineConfig, String> {
        let kind: Kind = self.kind.parse()?;
        let placement = match (&self.placement, kind) {
            (Some(p), _) => parse_placement(p)?,
            (None, Kind::Task) => Placement::OneCore,
            (None, _) => {
                return Err(
                    "--placement is needed for threads and processes: one-core or spread".into(),
                )
            }
        };
        let config = TimelineConfig::new(self.cores, placement, kind, self.duration_ms)?
            .with_yield_every_us(self.yield_every_us)?;
        if let Some(dir) = &self.out {
            crate::output::prepare_out_dir(dir)?;
        }
        Ok(config)
    }
}

/// A validated timeline request.
#[derive(Debug, Clone)]
pub(crate) struct TimelineConfig {
    /// Number of workers, 1..=[`MAX_WORKERS`].
    pub(crate) workers: usize,
    /// Where they are pinned.
    pub(crate) placement: Placement,
    /// Threads or processes.
    pub(crate) kind: Kind,
    /// How long they record, ns.
    pub(crate) duration_ns: u64,
    /// How to start worker processes (default: [`WorkerCommand::locate_concbench`]).
    pub(crate) worker_command: Option<WorkerCommand>,
    /// Kind `task` only: ns of work between a task's yield points; 0: none (each task runs its
    /// share to the end).
    pub(crate) yield_every_ns: u64,
}

impl TimelineConfig {
    /// Check the request; the error is one line naming the bad value.
    pub(crate) fn new(
        workers: i64,
        placement: Placement,
        kind: Kind,
        duration_ms: i64,
    ) -> Result<TimelineConfig, String> {
        if workers < 1 || workers > MAX_WORKERS as i64 {
            return Err(format!(
                "--cores {workers}: need 1 to {MAX_WORKERS} workers"
            ));
        }
        if duration_ms < 1 || duration_ms > MAX_DURATION_MS as i64 {
            return Err(format!(
                "--duration-ms {duration_ms}: need 1 to {MAX_DURATION_MS} ms"
            ));
        }
        if kind == Kind::Task && placement != Placement::OneCore {
            return Err(format!(
                "--kind task --placement {}: tasks all run on one thread, so on one core (use --placement one-core)",
                placement_name(placement)
            ));
        }
        if placement == Placement::OneCore
            && kind != Kind::Task
            && !crate::topology::placement_enforced()
        {
            return Err(crate::sys::no_pinning_reason("--placement one-core"));
        }
        Ok(TimelineConfig {
            workers: workers as usize,
            placement,
            kind,
            duration_ns: duration_ms as u64 * 1_000_000,
            worker_command: None,
            yield_every_ns: 0,
        })
    }

    /// Kind `task`: a yield point after every `us` µs of a task's work (0: none). Anything up to
    /// the recording's length; negative is an error naming the value.
    pub(crate) fn with_yield_every_us(mut self, us: i64) -> Result<TimelineConfig, String> {
        if us < 0 || us as u64 > self.duration_ns / 1000 {
            return Err(format!(
                "--yield-every-us {us}: need 0 (no yield points) to the recording's {} µs",
                self.duration_ns / 1000
            ));
        }
        if us > 0 && self.kind != Kind::Task {
            return Err(format!(
                "--yield-every-us applies to --kind task only ({} workers are preempted by the kernel)",
                self.kind.name()
            ));
        }
        self.yield_every_ns = us as u64 * 1000;
        Ok(self)
    }

    /// Whether the workers outnumber the physical cores they are spread over (they wrap around
    /// and share cores). A one-core placement shares one core on purpose and is never flagged.
    pub(crate) fn oversubscribed(&self) -> bool {
        self.placement == Placement::Spread && self.workers > Topology::get().physical_core_count()
    }
}

/// A stretch of time, `[start_ns, end_ns]` from the common start.
pub(crate) type Span = [u64; 2];

/// What the timeline shows about one worker.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct WorkerTimeline {
    /// Worker index.
    pub(crate) id: usize,
    /// CPU it was pinned to.
    pub(crate) cpu: usize,
    /// CPU it was on when it finished (`sched_getcpu`): evidence of the pin.
    pub(crate) cpu_seen: usize,
    /// Its thread id (thread workers) or process id (process workers).
    pub(crate) os_id: u32,
    /// When it ran: `[start_ns, end_ns]` from the common start, sorted, disjoint.
    pub(crate) intervals: Vec<Span>,
    /// Share of the wall time it ran: the intervals' total length / `wall_ns`.
    pub(crate) run_share: f64,
    /// Stretches of running between switches (interrupt gaps do not end one).
    pub(crate) slices: usize,
    /// Median length of its slices ended by a switch, ms (`null` if none: it was never switched
    /// out for a sibling).
    pub(crate) median_slice_ms: Option<f64>,
    /// 10th percentile of those slices, ms.
    pub(crate) p10_slice_ms: Option<f64>,
    /// 90th percentile of those slices, ms.
    pub(crate) p90_slice_ms: Option<f64>,
    /// Gaps during which a sibling on its CPU ran.
    pub(crate) switch_gaps: usize,
    /// Involuntary context switches, from getrusage of the worker itself (thread or process):
    /// should roughly match `switch_gaps`, plus preemptions by other programs.
    pub(crate) involuntary_switches: u64,
    /// Voluntary context switches (the worker never blocks on purpose while recording).
    pub(crate) voluntary_switches: u64,
    /// Gaps with no sibling running: interrupts, the hypervisor, other programs.
    pub(crate) interrupt_gaps: usize,
    /// Their total length, ms.
    pub(crate) interrupt_gap_ms: f64,
    /// Where they were, `[start_ns, end_ns]`.
    pub(crate) interrupt_gap_spans: Vec<Span>,
    /// Its gap buffer filled up and it stopped recording early.
    pub(crate) truncated: bool,
}

/// How much of one CPU the workers pinned to it got.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct CpuShare {
    /// The CPU.
    pub(crate) cpu: usize,
    /// Workers pinned to it.
    pub(crate) workers: Vec<usize>,
    /// Share of the wall time at least one of them ran on it; the rest went to other programs,
    /// interrupts, the kernel or the hypervisor.
    pub(crate) workers_share: f64,
}

/// A recorded and analysed timeline: what `concbench timeline --format json` prints.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Timeline {
    /// `one-core` or `spread`.
    pub(crate) placement: String,
    /// `thread` or `process`.
    pub(crate) kind: String,
    /// Duration asked for, ms.
    pub(crate) duration_ms: u64,
    /// From the common start to the last reading of any worker, ns.
    pub(crate) wall_ns: u64,
    /// Median time of one chunk of work plus its clock reading, ns.
    pub(crate) chunk_ns: u64,
    /// A gap between readings longer than this means the worker did not run, ns.
    pub(crate) gap_threshold_ns: u64,
    /// Share of wall time with two or more workers running: ≈ 0 on one core, ≈ 1 spread.
    pub overlap_share: f64,
    /// Jain's fairness index of the run shares: 1 when equal, 1/K when one worker got all.
    pub(crate) fairness: f64,
    /// Median slice over all workers, ms (`null` if no worker was switched out for a sibling).
    pub(crate) observed_slice_ms: Option<f64>,
    /// The kernel's slice setting, if readable.
    pub(crate) kernel_slice: KernelSlice,
    /// More workers than physical cores with `spread`: they share cores.
    pub(crate) oversubscribed: bool,
    /// Physical cores this process may use.
    pub(crate) physical_cores: usize,
    /// One per worker.
    pub(crate) workers: Vec<WorkerTimeline>,
    /// One per CPU the workers were pinned to: how much of the wall time they had it.
    pub(crate) cpus: Vec<CpuShare>,
    /// Where it was measured.
    pub machine: Machine,
}

fn ms(ns: f64) -> f64 {
    ns / 1e6
}

impl Timeline {
    /// Record what `request` asks, as `concbench timeline` does: check it (a bad option or an
    /// output directory that cannot be written is [`TimelineError::Request`], before any worker
    /// starts), record with the machine watched for other programs' load
    /// (`crate::machine::Watch`; a busy machine is said in a line for stderr, given to
    /// `on_note`), analyse the recording, and write its files into `out`
    /// ([`TimelineError::Write`] when that fails).
    pub fn record(
        request: &TimelineRequest,
        on_note: &mut dyn FnMut(&str),
    ) -> Result<Timeline, TimelineError> {
        let config = request.config().map_err(TimelineError::Request)?;
        let mut watch = Watch::start();
        let mut timeline = Timeline::record_config(&config)?;
        watch.finish(&mut timeline.machine);
        if let Some(line) = timeline.machine.busy_warning("the recording") {
            on_note(&line);
        }
        if let Some(dir) = &request.out {
            crate::report::Render::write(&timeline, dir).map_err(TimelineError::Write)?;
        }
        Ok(timeline)
    }

    /// Record `config` and analyse it.
    pub(crate) fn record_config(config: &TimelineConfig) -> Result<Timeline, TimelineError> {
        let recording = record::record(config)?;
        Ok(Timeline::from_recording(
            config,
            &recording,
            Machine::describe(&crate::cluster::context()),
        ))
    }

    /// Analyse a finished recording (split from [`Timeline::record_config`] so it can be tested with
    /// synthetic readings).
    pub(crate) fn from_recording(
        config: &TimelineConfig,
        recording: &record::Recording,
        machine: Machine,
    ) -> Timeline {
        let a = analyze::analyze(recording.start_ns, &recording.workers);
        let mut all_slices = Vec::new();
        let workers = recording
            .workers
            .iter()
            .zip(&a.workers)
            .map(|(r, w)| {
                let lens = w.measured_slice_lengths();
                all_slices.extend_from_slice(&lens);
                let (interrupt_gaps, interrupt_ns) = w.interrupt_gaps();
                WorkerTimeline {
                    id: r.id,
                    cpu: r.cpu,
                    cpu_seen: r.cpu_seen,
                    os_id: r.os_id,
                    intervals: w.intervals.iter().map(|&(s, e)| [s, e]).collect(),
                    run_share: w.run_share,
                    slices: w.slices.len(),
                    median_slice_ms: analyze::percentile(&lens, 0.5).map(ms),
                    p10_slice_ms: analyze::percentile(&lens, 0.1).map(ms),
                    p90_slice_ms: analyze::percentile(&lens, 0.9).map(ms),
                    switch_gaps: w.switch_gaps(),
                    involuntary_switches: r.involuntary_switches,
                    voluntary_switches: r.voluntary_switches,
                    interrupt_gaps,
                    interrupt_gap_ms: ms(interrupt_ns as f64),
                    interrupt_gap_spans: w
                        .gaps
                        .iter()
                        .filter(|g| !g.switch)
                        .map(|g| [g.start_ns, g.end_ns])
                        .collect(),
                    truncated: r.truncated,
                }
            })
            .collect();
        all_slices.sort_by(f64::total_cmp);
        let mut cpu_ids: Vec<usize> = recording.workers.iter().map(|r| r.cpu).collect();
        cpu_ids.sort_unstable();
        cpu_ids.dedup();
        let cpus = cpu_ids
            .into_iter()
            .map(|cpu| {
                let on: Vec<usize> = (0..recording.workers.len())
                    .filter(|&i| recording.workers[i].cpu == cpu)
                    .collect();
                let intervals: Vec<(u64, u64)> = on
                    .iter()
                    .flat_map(|&i| a.workers[i].intervals.iter().copied())
                    .collect();
                CpuShare {
                    cpu,
                    workers: on.iter().map(|&i| recording.workers[i].id).collect(),
                    workers_share: if a.wall_ns == 0 {
                        0.0
                    } else {
                        analyze::union_length(&intervals) as f64 / a.wall_ns as f64
                    },
                }
            })
            .collect();
        Timeline {
            placement: placement_name(config.placement).into(),
            kind: config.kind.name().into(),
            duration_ms: config.duration_ns / 1_000_000,
            wall_ns: a.wall_ns,
            chunk_ns: recording.calibration.chunk_ns,
            gap_threshold_ns: recording.calibration.threshold_ns,
            overlap_share: a.overlap_share,
            fairness: a.fairness,
            observed_slice_ms: analyze::percentile(&all_slices, 0.5).map(ms),
            kernel_slice: analyze::kernel_slice(),
            oversubscribed: config.oversubscribed(),
            physical_cores: Topology::get().physical_core_count(),
            workers,
            cpus,
            machine,
        }
    }

    /// One line saying what was run: "3 threads pinned to one CPU (cpu 0)".
    pub(crate) fn headline(&self) -> String {
        let k = self.workers.len();
        let noun = match (self.kind.as_str(), k) {
            ("process", 1) => "process",
            ("process", _) => "processes",
            ("task", 1) => "async task",
            ("task", _) => "async tasks",
            (_, 1) => "thread",
            _ => "threads",
        };
        let mut cpus: Vec<usize> = self.workers.iter().map(|w| w.cpu).collect();
        cpus.sort_unstable();
        cpus.dedup();
        let cpu_list = crate::topology::format_cpu_list(&cpus);
        if self.kind == "task" {
            format!("{k} {noun} on ONE thread pinned to one CPU (cpu {cpu_list}); they switch only where they yield")
        } else if self.placement == "one-core" {
            format!("{k} {noun} pinned to one CPU (cpu {cpu_list})")
        } else {
            format!(
                "{k} {noun} spread over physical cores (cpus {cpu_list}){}",
                if self.oversubscribed {
                    ", oversubscribed: more workers than cores"
                } else {
                    ""
                }
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_requests_name_the_bad_value() {
        let e = TimelineConfig::new(0, Placement::OneCore, Kind::Thread, 100).unwrap_err();
        assert!(e.contains("--cores 0"), "{e}");
        let e = TimelineConfig::new(2, Placement::OneCore, Kind::Thread, 0).unwrap_err();
        assert!(e.contains("--duration-ms 0"), "{e}");
        let e = TimelineConfig::new(2, Placement::OneCore, Kind::Thread, 60_001).unwrap_err();
        assert!(e.contains("60001"), "{e}");
        assert!(TimelineConfig::new(2, Placement::Spread, Kind::Process, 60_000).is_ok());
        assert!(parse_placement("both").unwrap_err().contains("'both'"));
        assert!("fiber".parse::<Kind>().unwrap_err().contains("'fiber'"));
        assert_eq!(parse_placement("one-core").unwrap(), Placement::OneCore);
    }

    fn request(kind: &str, placement: Option<&str>) -> TimelineRequest {
        TimelineRequest {
            cores: 2,
            placement: placement.map(String::from),
            kind: kind.into(),
            yield_every_us: 0,
            duration_ms: 100,
            out: None,
        }
    }

    /// `request` refused by [`Timeline::record`] before any worker starts, with a line holding
    /// `needle` and no note.
    fn refused(request: TimelineRequest, needle: &str) {
        let mut notes = Vec::new();
        match Timeline::record(&request, &mut |n| notes.push(n.to_string())) {
            Err(TimelineError::Request(line)) => assert!(line.contains(needle), "{line}"),
            Err(other) => panic!("{needle}: another error: {other}"),
            Ok(_) => panic!("{needle}: recorded"),
        }
        assert!(notes.is_empty(), "{notes:?}");
    }

    #[test]
    fn the_default_request_is_one_that_records() {
        let config = TimelineRequest::default().config().unwrap();
        assert_eq!(config.placement, Placement::OneCore);
        assert_eq!(config.kind, Kind::Thread);
    }

    #[test]
    fn a_request_that_cannot_be_recorded_is_refused_before_any_worker_starts() {
        refused(request("fiber", Some("spread")), "unknown kind 'fiber'");
        refused(request("thread", Some("both")), "unknown placement 'both'");
        refused(
            request("thread", None),
            "--placement is needed for threads and processes: one-core or spread",
        );
        refused(
            request("process", None),
            "--placement is needed for threads and processes",
        );
        refused(
            TimelineRequest {
                cores: 0,
                ..request("thread", Some("spread"))
            },
            "--cores 0",
        );
        refused(
            TimelineRequest {
                yield_every_us: 10,
                ..request("thread", Some("spread"))
            },
            "--yield-every-us applies to --kind task only",
        );
        refused(
            request("task", Some("spread")),
            "--kind task --placement spread",
        );
        let file = tempfile::NamedTempFile::new().unwrap();
        refused(
            TimelineRequest {
                out: Some(file.path().to_path_buf()),
                ..request("thread", Some("spread"))
            },
            "exists and is not a directory",
        );
        // The kind is checked first, as the flags' meaning goes: one line, the first bad value.
        refused(
            TimelineRequest {
                cores: 0,
                ..request("fiber", None)
            },
            "unknown kind 'fiber'",
        );
    }

    #[test]
    fn tasks_need_no_placement_and_take_one_core() {
        let c = TimelineRequest {
            yield_every_us: 50,
            ..request("task", None)
        }
        .config()
        .unwrap();
        assert_eq!(
            (c.placement, c.kind, c.yield_every_ns, c.workers),
            (Placement::OneCore, Kind::Task, 50_000, 2)
        );
    }

    #[test]
    fn one_core_is_never_oversubscribed() {
        let c = TimelineConfig::new(7, Placement::OneCore, Kind::Thread, 10).unwrap();
        assert!(!c.oversubscribed());
        let n = Topology::get().physical_core_count() as i64;
        let c = TimelineConfig::new(n + 1, Placement::Spread, Kind::Thread, 10).unwrap();
        assert!(c.oversubscribed());
    }

    /// Two workers taking turns on cpu 0 (one interrupt gap), one alone on cpu 1.
    fn synthetic() -> Timeline {
        let w = |id, cpu, first, last, gaps: &[(u64, u64)]| WorkerReadings {
            id,
            cpu,
            cpu_seen: cpu,
            os_id: 100 + id as u32,
            first_ns: Some(first),
            last_ns: last,
            gaps: gaps.to_vec(),
            involuntary_switches: 1,
            ..WorkerReadings::default()
        };
        let recording = record::Recording {
            start_ns: 1_000,
            calibration: record::Calibration {
                chunk_iters: 10,
                chunk_ns: 1_000,
                threshold_ns: 10_000,
            },
            workers: vec![
                w(
                    0,
                    0,
                    1_000,
                    5_001_000,
                    &[(1_001_000, 2_001_000), (3_000_000, 3_020_000)],
                ),
                w(1, 0, 1_001_100, 2_000_900, &[]),
                w(2, 1, 1_000, 5_001_000, &[]),
            ],
        };
        let config = TimelineConfig::new(3, Placement::Spread, Kind::Thread, 5).unwrap();
        Timeline::from_recording(
            &config,
            &recording,
            Machine::describe(&crate::machine::RunContext::default()),
        )
    }

    #[test]
    fn a_synthetic_recording_adds_up() {
        let t = synthetic();
        assert_eq!(t.wall_ns, 5_000_000);
        let w0 = &t.workers[0];
        assert_eq!(
            w0.intervals,
            vec![
                [0, 1_000_000],
                [2_000_000, 2_999_000],
                [3_019_000, 5_000_000]
            ]
        );
        assert_eq!((w0.switch_gaps, w0.interrupt_gaps, w0.slices), (1, 1, 2));
        assert_eq!(w0.interrupt_gap_spans, vec![[2_999_000, 3_019_000]]);
        assert_eq!(w0.median_slice_ms, Some(1.0));
        assert_eq!(t.workers[2].median_slice_ms, None);
        let cpu0 = &t.cpus[0];
        assert_eq!(cpu0.workers, vec![0, 1]);
        assert!((cpu0.workers_share - (4_980_000.0 - 200.0) / 5e6).abs() < 1e-9);
        let doc = serde_json::to_value(&t).unwrap();
        for key in [
            "placement",
            "kind",
            "wall_ns",
            "gap_threshold_ns",
            "overlap_share",
            "fairness",
            "workers",
            "machine",
        ] {
            assert!(doc.get(key).is_some(), "{key}");
        }
        assert_eq!(
            doc["workers"][0]["intervals"][0],
            serde_json::json!([0, 1_000_000])
        );
    }

    #[test]
    fn it_renders_its_document_and_lists_the_files_of_out() {
        use crate::report::{Format, Render};
        let t = synthetic();
        let doc = render::document(&t);
        assert_eq!(t.render(Format::Markdown), doc.to_markdown());
        assert_eq!(t.render(Format::Csv), doc.to_csv());
        assert_eq!(t.render(Format::Latex), doc.to_latex());
        let json = t.render(Format::Json);
        assert!(json.ends_with("}\n"), "{json}");
        let back: Timeline = serde_json::from_str(&json).unwrap();
        assert_eq!(back, t);
        assert!(t
            .render(Format::Terminal)
            .starts_with("concbench timeline: 3 threads spread"));
        let files = t.files();
        let names: Vec<&str> = files.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(
            names,
            [
                "timeline.json",
                "trace.json",
                "timeline.md",
                "timeline.tex",
                "workers.csv",
                "timeline.svg",
                "report.html"
            ]
        );
        assert_eq!(files[0].1, json);
        assert_eq!(files[1].1, render::trace(&t));
    }

    #[test]
    fn the_trace_has_one_complete_event_per_interval() {
        let t = synthetic();
        let doc: serde_json::Value = serde_json::from_str(&render::trace(&t)).unwrap();
        let evs = doc["traceEvents"].as_array().unwrap();
        let runs: Vec<_> = evs
            .iter()
            .filter(|e| e["ph"] == "X" && e["cat"] == "run")
            .collect();
        let n: usize = t.workers.iter().map(|w| w.intervals.len()).sum();
        assert_eq!(runs.len(), n);
        let first = runs[0];
        assert_eq!(
            (first["ts"].as_f64(), first["dur"].as_f64()),
            (Some(0.0), Some(1000.0))
        );
        assert_eq!(first["tid"], 100);
        assert_eq!(first["pid"], std::process::id());
        assert!(evs.iter().any(|e| e["ph"] == "M"
            && e["name"] == "thread_name"
            && e["args"]["name"] == "worker 2 (cpu 1)"));
        assert_eq!(
            evs.iter().filter(|e| e["cat"] == "gap").count(),
            1,
            "the interrupt gap"
        );
    }

    #[test]
    fn the_svg_has_a_legend_and_axes() {
        let svg = render::svg(&synthetic());
        assert!(svg.starts_with("<?xml") && svg.trim_end().ends_with("</svg>"));
        for text in [
            "running on cpu 0",
            "running on cpu 1",
            "switched out",
            "time since the common start (ms)",
            "worker 2 · cpu 1",
        ] {
            assert!(svg.contains(text), "{text}");
        }
    }

    #[test]
    fn two_threads_on_one_cpu_never_overlap() {
        let c = TimelineConfig::new(2, Placement::OneCore, Kind::Thread, 30).unwrap();
        let t = Timeline::record_config(&c).unwrap();
        assert_eq!(t.workers.len(), 2);
        assert!(t.overlap_share < 0.03, "overlap {}", t.overlap_share);
        for w in &t.workers {
            assert_eq!(w.cpu_seen, w.cpu);
            let sum: u64 = w.intervals.iter().map(|[a, b]| b - a).sum();
            assert!((sum as f64 / t.wall_ns as f64 - w.run_share).abs() < 1e-9);
        }
    }
}
