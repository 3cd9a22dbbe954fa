//! The lab's claims about message passing: what moving the data between ranks that share no
//! memory costs against sharing it, and how scaling across ranks follows the ratio of
//! computation to communication.
//!
//! Both run the `distributed` strategy, so both need a concbench built with the cargo feature
//! `mpi` and launched by an MPI launcher with at least two ranks:
//!
//! ```text
//! mpirun -n 2 --bind-to none concbench lab --claim message-passing-cost,scaling-across-ranks
//! ```
//!
//! Anywhere else they are not-testable, with the reason in one line. `--bind-to none` because
//! `message-passing-cost` sets distributed against `multi-process` workers that rank 0 starts:
//! under `--bind-to core` rank 0's own affinity mask is one core, its two workers would share
//! it, and that claim says so and is not-testable (unbound ranks pin themselves, one core each,
//! when their part runs). `scaling-across-ranks` runs ranks only, so ranks the launcher bound to
//! cores of their own are fine for it. Ranks that share cores (more ranks on a host than it has
//! cores) make both not-testable.
//!
//! Each prediction can fail: message passing could cost no more than shared memory (a transport
//! that maps the other process's pages, a shared-memory side slowed by its own costs), and merge
//! sort could scale across ranks as well as matmul (a network so fast that moving bytes costs
//! nothing beside sorting them).

use serde_json::json;

use super::claims::{conclude, figures, one_rep_in, row};
use super::{fmt_num, Claim, ClaimResult, Expect, Figure, Kind, Lab, Negation};
use crate::analysis::{DistributedRow, Row};
use crate::cluster;
use crate::machine::RunContext;
use crate::measure::stats::median;
use crate::strategy::Strategy;
use crate::workload::WorkloadSpec;

/// The message-passing claims, in the course's order (after those of [`super::async_claims`]).
pub(crate) static ALL: [Claim; 2] = [
    Claim {
        id: "message-passing-cost",
        kind: Kind::Claim,
        statement: "Message passing costs more than shared memory for the same decomposition: ranks that share no memory must send every byte a part reads or writes, where worker processes over shared memory read and write it in place.",
        model: "the same two-part merge sort, both sides with their workers already started: distributed time = shared-memory time + the time its messages take, at least rank 0's bytes sent plus received at the message bandwidth measured between the ranks (ping-pong, this run): with MPI over shared memory rank 0's CPU does the copies of both directions, one after another; so distributed / multi-process >= 1 + (rank 0's bytes / bandwidth) / multi-process time",
        refuted_by: "distributed / multi-process (paired per repetition) below the model's lower bound x (1 - margin) (where that bound allows 1, the model is not testable by design); the statement alone, below 1 + the effect margin: moving the data as messages cost no more than sharing it",
        unit: "x (distributed / multi-process)",
        margins: &[crate::lab::BOUND_MARGIN],
        run: message_passing_cost,
    },
    Claim {
        id: "scaling-across-ranks",
        kind: Kind::Claim,
        statement: "Scaling across ranks follows the ratio of computation to communication: matmul (O(n^3) work on O(n^2) data) scales across ranks, merge sort (O(n log n) work on O(n) data) much less.",
        model: "on P ranks, speedup = P / (1 + P x C / T1), with T1 the time on one rank and C the communication the ranks cannot overlap with computing; C / T1 falls as 1/n for matmul (2n^3 flops, about 16n^2 bytes moved) and only as 1/log n for merge sort (n log2 n comparisons, about 12n bytes moved), so at sizes where matmul does many times merge sort's work per byte moved it scales better. Taking C as each workload's rank-0 bytes (sent + received) at the message bandwidth measured between the ranks, and T1 as its one-rank time, both measured in the run, the model predicts matmul's speedup / merge sort's = [P / (1 + P C_mm / T1_mm)] / [P / (1 + P C_ms / T1_ms)]. Sizes: matmul n = 1536 (quick) or 2048 (full) and 2M keys, chosen on the 2-vCPU development VM after n = 1024 had scaled like merge sort, so that matmul computes about twice merge sort's time per byte moved; the choice sets how far apart the two workloads are, and the verdict judges the model's ratio at those sizes, not the gap",
        refuted_by: "matmul's speedup on 2 ranks / merge sort's (paired per repetition) outside the model's ratio x (1 +- margin)",
        unit: "x (matmul speedup / merge sort speedup)",
        margins: &[crate::lab::VALUE_MARGIN],
        run: scaling_across_ranks,
    },
];

/// How to get a concbench that can run these claims.
const NO_MPI: &str =
    "this concbench was built without MPI: cargo build --release --features mpi (with libopenmpi-dev, openmpi-bin and libclang-dev installed), then run the lab under mpirun -n 2 --bind-to none";

/// How to launch the lab so that these claims run.
const LAUNCH: &str = "run the lab under mpirun -n 2 --bind-to none concbench lab ... (under Slurm, srun --mpi=pmix -n 2 --cpu-bind=none concbench lab ...)";

/// Ranks and workers of both experiments.
const P: usize = 2;

/// Why the distributed claims cannot run here, if they cannot: the binary has no MPI, the
/// process is not a rank of an MPI job (`ranks` is `None`), the job has one rank, or its first
/// two ranks share cores (`ranks_per_core` above 1).
pub(crate) fn why_not_testable(
    has_mpi: bool,
    ranks: Option<usize>,
    ranks_per_core: f64,
) -> Option<String> {
    if !has_mpi {
        return Some(NO_MPI.to_string());
    }
    match ranks {
        None => Some(format!(
            "this concbench was not launched by an MPI launcher, so it has no other rank to send to: {LAUNCH}"
        )),
        Some(n) if n < P => Some(format!(
            "this MPI job has {n} rank: distributed x{P} needs {P}; {LAUNCH}"
        )),
        Some(_) if ranks_per_core > 1.0 => Some(format!(
            "ranks 0 and 1 share cores ({} ranks per core on the busiest host), so they would take turns instead of running at once: give each rank a core of its own ({LAUNCH} on a machine with at least {P} cores)",
            fmt_num(ranks_per_core)
        )),
        Some(_) => None,
    }
}

/// [`why_not_testable`] for this process, in the lab's MPI job.
fn unavailable(lab: &Lab) -> Option<String> {
    why_not_testable(
        cluster::HAS_MPI,
        cluster::world().map(|w| w.size),
        crate::runner::workers_per_core(Strategy::Distributed, P, lab.context()),
    )
}

/// Why `multi-process` x2 cannot run beside the ranks: rank 0 may use only `cores` physical
/// cores; `bound_by` names the launcher that bound it (`mpirun`, `srun`), if one did, and
/// `in_slurm` says whether the job is a Slurm job (whose allocation may be what narrowed it).
pub(crate) fn why_not_side_by_side(
    cores: usize,
    bound_by: Option<&str>,
    in_slurm: bool,
) -> Option<String> {
    (cores < P).then(|| {
        let share = format!("so the {P} multi-process workers it starts would share it");
        let pin = "(each rank then pins itself to a core of its own when its part runs)";
        match (bound_by, in_slurm) {
            (Some("srun"), _) => format!(
                "rank 0 may use {cores} physical core (Slurm bound it: srun binds every task to CPUs of its own unless told --cpu-bind=none), {share}: launch with srun --mpi=pmix -n {P} --cpu-bind=none {pin}"
            ),
            (Some(_), true) => format!(
                "rank 0 may use {cores} physical core (the job's allocation on its node, or mpirun --bind-to core, narrowed it), {share}: give the job {P} CPUs on rank 0's node (sbatch or salloc -c {P}, or --exclusive) and launch with mpirun -n {P} --bind-to none {pin}"
            ),
            (Some(_), false) => format!(
                "rank 0 may use {cores} physical core (the launcher bound it, as mpirun --bind-to core does), {share}: launch with mpirun -n {P} --bind-to none {pin}"
            ),
            (None, _) => format!(
                "this process may use {cores} physical core: {P} multi-process workers would share it"
            ),
        }
    })
}

/// message-passing-cost's model: at least the model's ratio within the bound margin. Where that
/// allows 1 (no cost), the model is not testable by design; the statement ("costs more") is
/// judged alone against the effect margin ([`message_passing_statement`]).
pub(crate) fn message_passing_expect(model: f64, tol: f64) -> Expect {
    Expect::AtLeast(model * (1.0 - tol))
}

/// message-passing-cost's statement: messages cost more than sharing by at least the effect
/// margin, whatever the model says.
pub(crate) fn message_passing_statement() -> Expect {
    Expect::AtLeast(1.0 + crate::lab::EFFECT_MARGIN.rel)
}

/// The model of message-passing-cost: the shared-memory time plus the messages' time at the
/// bandwidth, over the shared-memory time.
pub(crate) fn message_passing_model(shared_s: f64, at_bandwidth_s: f64) -> f64 {
    (shared_s + at_bandwidth_s) / shared_s
}

/// scaling-across-ranks: matmul's speedup over merge sort's at the model's ratio, within the
/// margin.
pub(crate) fn scaling_expect(model: f64, tol: f64) -> Expect {
    Expect::Between([model * (1.0 - tol), model * (1.0 + tol)])
}

/// The speedup on `p` ranks of a workload that takes `t1_s` on one rank and must communicate for
/// `c_s` that no computation overlaps: `t1 / (t1 / p + c)`.
pub(crate) fn rank_speedup(t1_s: f64, c_s: f64, p: usize) -> f64 {
    t1_s / (t1_s / p as f64 + c_s)
}

/// The distributed part of a distributed row.
fn dist(r: &Row) -> Result<&DistributedRow, String> {
    r.distributed.as_ref().ok_or_else(|| {
        format!(
            "the {} x{} row says nothing of its ranks",
            r.strategy, r.cores
        )
    })
}

/// The message bandwidth measured from rank 0 to rank 1 with its largest messages (bytes/s:
/// past the caches, what bulk transfers meet) and the 8-byte latency (s), as `context` recorded
/// them.
fn message_ceiling(context: &RunContext) -> Option<(f64, f64)> {
    context
        .message_ceilings()?
        .iter()
        .find(|m| m.peer == 1)
        .map(|m| (m.bulk_bandwidth_bytes_per_s(), m.latency_ns * 1e-9))
}

/// The model's floor: rank 0's bytes sent plus received at the message bandwidth. With MPI over
/// shared memory, rank 0's CPU does the copies of both directions one after another (it sends
/// the parts and receives them back), so both count.
fn rank0_both_directions_s(d: &DistributedRow, context: &RunContext) -> Option<f64> {
    let (bw, _) = message_ceiling(context)?;
    let r = d.ranks.iter().find(|r| r.rank == 0)?;
    Some((r.bytes_sent + r.bytes_received) as f64 / bw)
}

/// Where the ranks ran, for explanations: `vm:0, vm:1` (host:cpu).
fn placement(d: &DistributedRow) -> String {
    d.ranks
        .iter()
        .map(|r| format!("{}:{}", r.host, r.cpu))
        .collect::<Vec<_>>()
        .join(", ")
}

fn message_passing_cost(c: &Claim, lab: &Lab) -> Result<ClaimResult, String> {
    if let Some(reason) = unavailable(lab).or_else(|| {
        let info = lab
            .context()
            .cluster
            .as_ref()
            .filter(|i| i.bound_by_launcher);
        why_not_side_by_side(
            lab.cores(),
            info.map(|i| i.launcher.as_str()),
            std::env::var_os("SLURM_JOB_ID").is_some(),
        )
    }) {
        return Ok(ClaimResult::not_testable(c, Expect::AtLeast(1.0), reason));
    }
    let tol = c.margin(0);
    // Tens of milliseconds per execution: the workers' pipe hand-offs and a scheduler tick stay
    // small beside the sort (with 1M keys one late hand-off decided a quick run).
    let n = lab.pick(2_000_000, 4_000_000);
    let spec = WorkloadSpec::new("mergesort", n, 8);
    let (mut dist_s, mut shm_s, mut start_s) = (Vec::new(), Vec::new(), Vec::new());
    let (mut at_bw, mut comm) = (Vec::new(), Vec::new());
    let mut phases: [Vec<f64>; 4] = Default::default();
    let (mut bytes, mut where_ran) = (0u64, String::new());
    let context = lab.context_with_messages();
    for _ in 0..lab.reps() {
        let rows = one_rep_in(
            context,
            &spec,
            &[Strategy::MultiProcess, Strategy::Distributed],
            &[P],
            None,
        )?;
        let mp = row(&rows, Strategy::MultiProcess, P);
        let d = row(&rows, Strategy::Distributed, P);
        let dr = dist(d)?;
        // The ranks were started once, by the launcher, before any row; the workers are
        // started by every execution: leave their start out so that both sides begin with
        // their workers running and the keys in rank 0's (the parent's) memory.
        let start = mp.phases.spawn_s + mp.phases.setup_s;
        start_s.push(start);
        shm_s.push((mp.median_s - start).max(1e-9));
        dist_s.push(d.median_s);
        comm.push(dr.communication_s);
        at_bw.push(
            rank0_both_directions_s(dr, context)
                .ok_or("no message bandwidth was measured between the ranks")?,
        );
        for (k, v) in [
            dr.phases.distribute_s,
            dr.phases.compute_s,
            dr.phases.exchange_s,
            dr.phases.collect_s,
        ]
        .into_iter()
        .enumerate()
        {
            phases[k].push(v);
        }
        bytes = dr.bytes_moved;
        where_ran = placement(dr);
    }
    let (shm, dis, bw_s) = (median(&shm_s), median(&dist_s), median(&at_bw));
    let model = message_passing_model(shm, bw_s);
    let expect = message_passing_expect(model, tol);
    let (bandwidth, latency) = message_ceiling(context).unwrap_or((f64::NAN, f64::NAN));
    let ms = |s: f64| fmt_num(s * 1e3);
    let ph: Vec<f64> = phases.iter().map(|p| median(p)).collect();
    let prediction = format!(
        "merge sort of {n} keys in {P} parts, distributed x{P} (the ranks send {} MB) against multi-process x{P} over shared memory, paired per repetition, workers' start left out: ratio >= (1 + {} ms at {} GB/s / {} ms) x (1 - margin {}) = {}; the statement alone: ratio >= 1 + effect margin",
        fmt_num(bytes as f64 / 1e6),
        ms(bw_s),
        fmt_num(bandwidth / 1e9),
        ms(shm),
        fmt_num(tol),
        fmt_num(model * (1.0 - tol))
    );
    let figs = figures(vec![
        ("keys", json!(n)),
        ("ranks", json!(where_ran)),
        ("distributed_ms", json!(dis * 1e3)),
        ("multi_process_ms", json!(shm * 1e3)),
        (
            "multi_process_start_ms_left_out",
            json!(median(&start_s) * 1e3),
        ),
        ("bytes_moved", json!(bytes)),
        ("bytes_moved_per_key", json!(bytes as f64 / n as f64)),
        ("communication_ms", json!(median(&comm) * 1e3)),
        ("communication_at_bandwidth_ms", json!(bw_s * 1e3)),
        ("message_bandwidth_gb_s", json!(bandwidth / 1e9)),
        ("message_latency_us", json!(latency * 1e6)),
        ("distributed_distribute_ms", json!(ph[0] * 1e3)),
        ("distributed_compute_ms", json!(ph[1] * 1e3)),
        ("distributed_exchange_ms", json!(ph[2] * 1e3)),
        ("distributed_collect_ms", json!(ph[3] * 1e3)),
        ("model_ratio", json!(model)),
        ("margin", json!(tol)),
    ]);
    let negation = Negation::new(
        1.0,
        "messages cost nothing over shared memory (the ranks take the workers' time)",
    );
    let judged = ClaimResult::judge(
        c,
        prediction,
        Figure::paired(&dist_s, &shm_s),
        expect,
        negation,
        figs,
        |m, v| {
            format!(
                "Sorting {n} keys in {P} parts took {} ms on {P} MPI ranks ({where_ran}, host:cpu) and {} ms in {P} worker processes over shared memory once they were running (starting and mapping them took another {} ms, left out as the ranks' start is): {}x. The ranks sent {} MB ({} bytes per key: scatter, exchange, gather); rank 0 spent {} ms of its time moving data (distribute {}, exchange {}, collect {} ms; computing {} ms), where rank 0's bytes sent and received need {} ms at the {} GB/s measured between the ranks, so the model's lower bound was {}x. {}",
                ms(dis), ms(shm), ms(median(&start_s)), fmt_num(m),
                fmt_num(bytes as f64 / 1e6), fmt_num(bytes as f64 / n as f64),
                ms(median(&comm)), ms(ph[0]), ms(ph[2]), ms(ph[3]), ms(ph[1]),
                ms(bw_s), fmt_num(bandwidth / 1e9), fmt_num(model),
                conclude(v, "Moving the data as messages cost more than sharing it, by at least what its bytes take at the message bandwidth (rank 0's exchange also holds its wait for the other rank's sort).", "Here message passing cost less than the shared-memory time plus its bytes at the measured bandwidth, the model's lower bound: either the ping-pong understates what the ranks' transport moves, or the shared-memory workers paid costs the ranks did not; this run did not measure which (workers that map the shared pages anew at every execution are one hypothesis).")
            )
        },
    );
    Ok(judged.with_statement_test(
        "distributed / multi-process",
        Figure::paired(&dist_s, &shm_s),
        message_passing_statement(),
    ))
}

fn scaling_across_ranks(c: &Claim, lab: &Lab) -> Result<ClaimResult, String> {
    if let Some(reason) = unavailable(lab) {
        return Ok(ClaimResult::not_testable(c, Expect::AtLeast(1.0), reason));
    }
    let tol = c.margin(0);
    // Computation per byte moved, in time: a flop costs far less than a comparison, so matmul
    // must be large for its computation per byte to dwarf merge sort's. On the 2-vCPU VM (about
    // 100 GFLOP/s per core) matmul n = 1024 computes 1.3 ns per byte it moves and merge sort of
    // 2M keys 0.9 ns: both scaled 1.4x when the ranks' messages ran at 14 GB/s. At n = 1536 and
    // 2048 matmul computes 2 and 2.6 ns per byte and scaled 1.56x and 1.70x, merge sort 1.2x to
    // 1.4x (2M keys) and less with more keys.
    let (order, keys) = (lab.pick(1536, 2048), 2_000_000);
    let specs = [
        WorkloadSpec::new("matmul", order, 8),
        WorkloadSpec::new("mergesort", keys, 8),
    ];
    // Per workload (0: matmul, 1: merge sort): speedups, one-rank and two-rank times,
    // communication shares of the two-rank time, measured and at the bandwidth.
    let mut speedup: [Vec<f64>; 2] = Default::default();
    let mut t1: [Vec<f64>; 2] = Default::default();
    let mut t2: [Vec<f64>; 2] = Default::default();
    let mut comm: [Vec<f64>; 2] = Default::default();
    let mut at_bw: [Vec<f64>; 2] = Default::default();
    let mut bytes = [0u64; 2];
    let context = lab.context_with_messages();
    for _ in 0..lab.reps() {
        for (k, spec) in specs.iter().enumerate() {
            let rows = one_rep_in(context, spec, &[Strategy::Distributed], &[1, P], None)?;
            let (one, two) = (
                row(&rows, Strategy::Distributed, 1),
                row(&rows, Strategy::Distributed, P),
            );
            let d = dist(two)?;
            speedup[k].push(one.median_s / two.median_s);
            t1[k].push(one.median_s);
            t2[k].push(two.median_s);
            comm[k].push(d.communication_s);
            at_bw[k].push(d.communication_at_bandwidth_s.unwrap_or(f64::NAN));
            bytes[k] = d.bytes_moved;
        }
    }
    let med = |v: &[Vec<f64>; 2]| [median(&v[0]), median(&v[1])];
    let (s, one, two, cm, bw) = (med(&speedup), med(&t1), med(&t2), med(&comm), med(&at_bw));
    // Work per byte moved: flops for matmul, about n log2 n comparisons for merge sort.
    let work = [
        2.0 * (order as f64).powi(3),
        keys as f64 * (keys as f64).log2(),
    ];
    let per_byte = [
        work[0] / bytes[0].max(1) as f64,
        work[1] / bytes[1].max(1) as f64,
    ];
    let share = |k: usize| cm[k] / two[k];
    let model_s = [
        rank_speedup(one[0], bw[0], P),
        rank_speedup(one[1], bw[1], P),
    ];
    let model = model_s[0] / model_s[1];
    let expect = scaling_expect(model, tol);
    // Under the negation both workloads scale alike across ranks: a band that holds 1 cannot
    // be told from it (decided here, before the figure is read).
    let negation = Negation::new(
        1.0,
        "the ranks speed both workloads up alike, whatever each computes per byte it moves",
    );
    let prediction = format!(
        "distributed x{P} over distributed x1, paired per repetition: speedup of matmul n = {order} ({} flop per byte moved) / speedup of merge sort of {keys} keys ({} comparisons per byte moved) = the model's {} / {} = {} within the margin {}",
        fmt_num(per_byte[0]),
        fmt_num(per_byte[1]),
        fmt_num(model_s[0]),
        fmt_num(model_s[1]),
        fmt_num(model),
        fmt_num(tol)
    );
    let mut figs = figures(vec![
        ("ranks", json!(P)),
        ("matmul_order", json!(order)),
        ("mergesort_keys", json!(keys)),
        (
            "message_bandwidth_gb_s",
            json!(message_ceiling(context).map(|(b, _)| b / 1e9)),
        ),
        ("model_ratio", json!(model)),
        ("margin", json!(tol)),
    ]);
    for (k, name) in [(0, "matmul"), (1, "mergesort")] {
        for (what, value) in [
            ("speedup", json!(s[k])),
            ("one_rank_ms", json!(one[k] * 1e3)),
            ("two_ranks_ms", json!(two[k] * 1e3)),
            ("bytes_moved", json!(bytes[k])),
            ("work_per_byte_moved", json!(per_byte[k])),
            ("communication_ms", json!(cm[k] * 1e3)),
            ("communication_share", json!(share(k))),
            ("communication_at_bandwidth_ms", json!(bw[k] * 1e3)),
            (
                "speedup_if_only_its_bytes_at_bandwidth",
                json!(rank_speedup(one[k], bw[k], P)),
            ),
        ] {
            figs.insert(format!("{name}_{what}"), value);
        }
    }
    let pct = |x: f64| fmt_num(x * 100.0);
    Ok(ClaimResult::judge(
        c,
        prediction,
        Figure::paired(&speedup[0], &speedup[1]),
        expect,
        negation,
        figs,
        |m, v| {
            format!(
                "On {P} ranks matmul n = {order} ran at {}x its speed on one rank ({} ms to {} ms) and merge sort of {keys} keys at {}x ({} ms to {} ms): matmul's speedup was {}x merge sort's. Matmul did {} flop per byte it moved, merge sort about {} comparisons; rank 0 spent {}% of matmul's two-rank time moving data and {}% of merge sort's, where their bytes alone need {}% and {}% at the measured message bandwidth{}. {}",
                fmt_num(s[0]), fmt_num(one[0] * 1e3), fmt_num(two[0] * 1e3),
                fmt_num(s[1]), fmt_num(one[1] * 1e3), fmt_num(two[1] * 1e3),
                fmt_num(m), fmt_num(per_byte[0]), fmt_num(per_byte[1]),
                pct(share(0)), pct(share(1)), pct(bw[0] / two[0]), pct(bw[1] / two[1]),
                if cm.iter().zip(&bw).any(|(c, b)| c > &(1.5 * b)) {
                    " (a rank's communication also holds its wait for the other rank to reach the same exchange)"
                } else {
                    ""
                },
                conclude(v, "The workload with more computation per byte moved scaled better across ranks, by the ratio its bytes at the message bandwidth predict.", "The two speedups' ratio is not what their bytes at the message bandwidth predict: the ranks' communication is not only their bytes at that bandwidth (waiting for each other is one hypothesis this run did not test).")
            )
        },
    ))
}

#[cfg(test)]
mod tests {
    use super::super::claims::test_support::verdict_at;
    use super::*;
    use crate::lab::Verdict;

    #[test]
    fn not_testable_without_mpi_or_a_second_rank() {
        let no_mpi = why_not_testable(false, Some(2), 1.0).unwrap();
        assert!(no_mpi.contains("--features mpi"), "{no_mpi}");
        let alone = why_not_testable(true, None, 1.0).unwrap();
        assert!(alone.contains("mpirun -n 2 --bind-to none"), "{alone}");
        let one = why_not_testable(true, Some(1), 1.0).unwrap();
        assert!(
            one.contains("1 rank") && one.contains("mpirun -n 2"),
            "{one}"
        );
        let shared = why_not_testable(true, Some(2), 2.0).unwrap();
        assert!(shared.contains("share cores"), "{shared}");
        assert_eq!(why_not_testable(true, Some(2), 1.0), None);
        assert_eq!(why_not_testable(true, Some(3), 1.0), None);
        // Multi-process beside the ranks needs rank 0's mask to hold two cores.
        let bound = why_not_side_by_side(1, Some("mpirun"), false).unwrap();
        assert!(bound.contains("--bind-to none"), "{bound}");
        assert!(why_not_side_by_side(1, None, false).is_some());
        assert_eq!(why_not_side_by_side(2, Some("mpirun"), false), None);
        // Under Slurm: srun's binding, or the job's allocation, with Slurm's remedies.
        let srun = why_not_side_by_side(1, Some("srun"), true).unwrap();
        assert!(
            srun.contains("srun --mpi=pmix -n 2 --cpu-bind=none"),
            "{srun}"
        );
        let alloc = why_not_side_by_side(1, Some("mpirun"), true).unwrap();
        assert!(
            alloc.contains("-c 2") && alloc.contains("--bind-to none"),
            "{alloc}"
        );
    }

    #[test]
    fn models() {
        assert!((message_passing_model(0.01, 0.002) - 1.2).abs() < 1e-12);
        assert_eq!(message_passing_model(0.01, 0.0), 1.0);
        assert_eq!(rank_speedup(1.0, 0.0, 2), 2.0);
        assert!((rank_speedup(1.0, 0.5, 2) - 1.0).abs() < 1e-12);
        // A model whose bound allows 1 predicts no effect; the statement's threshold stays.
        assert!(crate::lab::predicts_no_effect(
            &message_passing_expect(1.01, 0.05),
            1.0
        ));
        assert_eq!(message_passing_statement(), Expect::AtLeast(1.1));
        assert_eq!(
            message_passing_expect(2.0, 0.05),
            Expect::AtLeast(2.0 * 0.95)
        );
    }

    #[test]
    fn each_distributed_verdict_can_go_both_ways() {
        let tol = 0.05;
        // Messages dearer than shared memory by more than their bytes at the bandwidth, or
        // cheaper than it.
        let e = message_passing_expect(message_passing_model(0.01, 0.001), tol);
        assert_eq!(verdict_at(1.5, &e), Verdict::Supported);
        assert_eq!(verdict_at(0.8, &e), Verdict::NotSupported);
        // Dearer, but by less than the bytes alone need.
        let e = message_passing_expect(message_passing_model(0.01, 0.01), tol);
        assert_eq!(verdict_at(1.3, &e), Verdict::NotSupported);
        assert_eq!(verdict_at(2.1, &e), Verdict::Supported);
        // The model's 1.78 / 1.47 = 1.21: 1.19 measured is the model's; merge sort as good
        // (1.0) or matmul far better (1.7) is not.
        let e = scaling_expect(1.78 / 1.47, tol);
        assert_eq!(verdict_at(1.19, &e), Verdict::Supported);
        assert_eq!(verdict_at(1.0, &e), Verdict::NotSupported);
        assert_eq!(verdict_at(1.7, &e), Verdict::NotSupported);
    }
}
