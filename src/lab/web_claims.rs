//! The lab's claims about servers: the course's web server, measured with real requests over
//! loopback sockets (the `web` workload, its rows measured by `runner::run_service`).
//!
//! Every model takes its inputs from the rows it judges: the wait each request actually got
//! (`wait_achieved_s`, the server's clock: tokio's timer rounds a 10 ms wait up to 11 ms), the
//! server's CPU time per request and the load generator's, and the memory the server used. Each
//! prediction can fail: an event loop that serialised the waits, processes that did not add
//! their cores, threads that cost no more than tasks would each refute one.

use serde_json::{json, Map, Value};

use super::{fmt_num, Claim, ClaimResult, Expect, Figure, Lab, Negation, Verdict};
use crate::measure::stats::median;
use crate::plan::RunPlan;
use crate::runner::{self, Measurement};
use crate::strategy::{ExecOptions, Strategy};
use crate::topology::Topology;
use crate::workload::web::{CpuWork, WebConfig, WebRun};
use crate::workload::WorkloadSpec;

/// The server claims, in the course's order (after those of [`super::distributed_claims`]).
pub(crate) static ALL: [Claim; 3] = [
    Claim {
        id: "web-server-concurrency",
        kind: super::Kind::Claim,
        statement: "A server handles many requests at once even on ONE core: while one request waits (a database), the core serves the others, so a concurrent server on one core outserves an iterative one by about the number of clients.",
        model: "on one core, C clients whose requests each wait W and need c_req of CPU are served at min(C/W, 1/c_req) requests per second by a concurrent server (an event loop with a task per connection), and at 1/(W + c_req) by the iterative server; W and c_req are each row's own (achieved wait, server CPU per request)",
        refuted_by: "the event loop's requests per second outside [1/(1 + value margin), 1 + bound margin] of min(C/W, 1/c_req), a capacity: below, the waits did not overlap; above, the model misses a cost",
        unit: "x (measured / model)",
        margins: &[crate::lab::VALUE_MARGIN, crate::lab::BOUND_MARGIN],
        run: web_server_concurrency,
    },
    Claim {
        id: "combined-concurrency-parallelism",
        kind: super::Kind::Claim,
        statement: "With CPU-heavy requests an event loop on one core is capped by that core; serving the same clients on more cores (worker processes) lifts the cap by their count, up to the CPU the load generator itself takes.",
        model: "CPU-bound requests of c_req each, a wait W: the event loop on one core serves min(C/W, 1/c_req) per second (the generator on another core); C pre-forked processes, one connection each, over all P physical cores serve min(C/(W + c_req), P/(c_req + g)) when the generator's g per request shares those cores, so the lift is the ratio of the two (the CPU work per request calibrated once, for both rows alike); C = max(32, 8P) keeps the cores the bound. c_req is each row's server CPU time per request, so where a row is CPU-bound the model says its cores stayed busy with that work and nothing else: a lift below it means cores left idle, above it work that shrank. The two rows alternate repetition by repetition (which goes first alternates too), so that repetition i of each ran adjacent in time; the lift is predicted in each repetition from that repetition's inputs (c_req, g and W of both rows), and the figure is the median of measured lift / predicted lift over the repetitions",
        refuted_by: "measured lift / predicted lift outside [1/(1 + value margin), 1 + bound margin]",
        unit: "x (measured lift / predicted lift)",
        margins: &[crate::lab::VALUE_MARGIN, crate::lab::BOUND_MARGIN],
        run: combined_concurrency_parallelism,
    },
    Claim {
        id: "c10k-memory",
        kind: super::Kind::Claim,
        statement: "A thread per connection costs more memory than a task per connection: each thread has a stack of its own (and a kernel stack), a task only its state.",
        model: "per connection under load, threads use b + s and tasks b + t, where s is an idle connection of the thread-per-connection server (its thread's stack as deep as the server's code touched it, its 16 KiB kernel stack, its buffers), t an idle connection of the event loop (its task's state, its buffers), and b what the load adds to either; s and t are measured on the real servers, each connection served one request and left waiting, and b = m_task - t from the event loop's row under load (near 0 where the load grows nothing), so threads / tasks = (m_task - t + s) / m_task = 1 + (s - t) / m_task. Each repetition measures its four inputs (s, t, and both rows under load, one untimed and one timed run) each in a fresh process, so that heap freed by earlier claims, or by another measurement, cannot absorb their allocations, the threads' and the tasks' processes alternating in which goes first; the figure is the median of measured ratio / the ratio predicted from the same repetition's inputs",
        refuted_by: "threads' memory per connection / tasks', over its prediction from the same repetition's inputs, outside 1 -+ the value margin",
        unit: "x (measured ratio / predicted ratio)",
        // The lab's value margin, declared alike for every value model. Resident memory is
        // counted in 4 KiB pages and the heap grows in 128 KiB steps, but over the 1000 or 4000
        // connections of a run that is at most 4 and 131 bytes per connection, far below 10% of
        // a connection's kilobytes: no wider margin is needed for the counting.
        margins: &[crate::lab::VALUE_MARGIN],
        run: c10k_memory,
    },
];

fn figures(pairs: Vec<(&str, Value)>) -> Map<String, Value> {
    pairs.into_iter().map(|(k, v)| (k.to_string(), v)).collect()
}

/// The web runs of a row's repetitions.
fn webs(m: &Measurement) -> Vec<&WebRun> {
    m.runs.iter().filter_map(|r| r.web.as_deref()).collect()
}

/// Requests per second of each repetition.
fn rps(m: &Measurement) -> Vec<f64> {
    webs(m)
        .iter()
        .map(|w| w.load.requests as f64 / w.load.elapsed_s)
        .collect()
}

/// The server's CPU seconds per request in each repetition.
fn c_req(m: &Measurement) -> Vec<f64> {
    m.runs
        .iter()
        .filter_map(|r| {
            r.web
                .as_ref()
                .map(|w| (r.usage.user_s + r.usage.sys_s) / w.load.requests.max(1) as f64)
        })
        .collect()
}

/// Measure the rows of `strategies` × `cores` of a web spec.
fn measure(
    lab: &Lab,
    spec: WorkloadSpec,
    strategies: Vec<Strategy>,
    cores: usize,
) -> Result<Vec<Measurement>, String> {
    measure_with_work(lab, spec, strategies, cores, None, lab.reps())
}

/// [`measure`], every row's requests doing `work` (calibrated once by the caller) instead of
/// each server's own calibration of `cpu_us`, `reps` repetitions per row.
fn measure_with_work(
    lab: &Lab,
    spec: WorkloadSpec,
    strategies: Vec<Strategy>,
    cores: usize,
    work: Option<CpuWork>,
    reps: usize,
) -> Result<Vec<Measurement>, String> {
    let mut config = WebConfig::from_spec(&spec).map_err(|e| e.to_string())?;
    config.cpu_work = work;
    crate::service::make_room_for(config.connections).map_err(|e| e.to_string())?;
    let plan = RunPlan {
        spec,
        cores: vec![cores],
        strategies,
        reps,
        warmup: 1,
    };
    runner::run_service(
        &config,
        &plan,
        &ExecOptions::default(),
        lab.context(),
        &mut |_| {},
    )
    .map_err(|e| e.error.to_string())
}

/// The row of `strategy` among rows that `measure` returned for it.
fn row(rows: &[Measurement], strategy: Strategy) -> &Measurement {
    rows.iter()
        .find(|m| m.strategy == strategy)
        .expect("every strategy asked for is measured")
}

fn web_server_concurrency(c: &Claim, lab: &Lab) -> Result<ClaimResult, String> {
    let (conns, wait_ms) = (64usize, 10.0);
    let tol = c.margin(1);
    let spec = |size: usize| {
        WorkloadSpec::new("web", size, 1)
            .with("wait_ms", wait_ms)
            .with("connections", conns)
    };
    // The iterative server serves about 1/W a second: 100 a second at 10 ms.
    let iterative = measure(lab, spec(lab.pick(40, 80)), vec![Strategy::Sequential], 1)?;
    let concurrent = measure(
        lab,
        spec(lab.pick(1600, 3200)),
        vec![Strategy::SingleCoreThreaded, Strategy::SingleThreadAsync],
        conns,
    )?;
    let (threads, tasks) = (
        row(&concurrent, Strategy::SingleCoreThreaded),
        row(&concurrent, Strategy::SingleThreadAsync),
    );
    let concurrent_model = |m: &Measurement| -> Vec<f64> {
        webs(m)
            .iter()
            .zip(c_req(m))
            .map(|(w, c)| (conns as f64 / w.load.wait_achieved_s).min(1.0 / c))
            .collect()
    };
    let iterative_model: Vec<f64> = webs(&iterative[0])
        .iter()
        .zip(c_req(&iterative[0]))
        .map(|(w, c)| 1.0 / (w.load.wait_achieved_s + c))
        .collect();
    let (task_rps, task_model) = (rps(tasks), concurrent_model(tasks));
    let ratio = |a: &[f64], b: &[f64]| median(a) / median(b);
    let wait = |m: &Measurement| {
        median(
            &webs(m)
                .iter()
                .map(|w| w.load.wait_achieved_s)
                .collect::<Vec<_>>(),
        )
    };
    let figs = figures(vec![
        ("connections", json!(conns)),
        ("wait_ms", json!(wait_ms)),
        ("async_requests_per_s", json!(median(&task_rps))),
        ("async_model_per_s", json!(median(&task_model))),
        ("async_wait_achieved_s", json!(wait(tasks))),
        ("async_cpu_per_request_s", json!(median(&c_req(tasks)))),
        ("threads_requests_per_s", json!(median(&rps(threads)))),
        (
            "threads_model_per_s",
            json!(median(&concurrent_model(threads))),
        ),
        (
            "threads_over_model",
            json!(ratio(&rps(threads), &concurrent_model(threads))),
        ),
        ("threads_wait_achieved_s", json!(wait(threads))),
        (
            "iterative_requests_per_s",
            json!(median(&rps(&iterative[0]))),
        ),
        ("iterative_model_per_s", json!(median(&iterative_model))),
        (
            "iterative_over_model",
            json!(ratio(&rps(&iterative[0]), &iterative_model)),
        ),
        ("iterative_wait_achieved_s", json!(wait(&iterative[0]))),
    ]);
    let expect = Expect::Between([1.0 / (1.0 + c.margin(0)), 1.0 + tol]);
    // Under the negation the event loop's waits do not overlap: it serves 1/(W + c_req), as the
    // iterative server does, which is this figure over its model.
    let one_at_a_time = 1.0 / (wait(tasks) + median(&c_req(tasks)));
    let negation = Negation::new(
        one_at_a_time / median(&task_model),
        "one core serves one request at a time (1/(W + c_req) requests a second)",
    );
    let prediction = format!(
        "{conns} clients, {wait_ms} ms waits, one core: the event loop at min(C/W, 1/c_req) = {} requests/s with its achieved wait W = {} ms: measured / model between {} and {}",
        fmt_num(median(&task_model)),
        fmt_num(wait(tasks) * 1e3),
        fmt_num(1.0 / (1.0 + c.margin(0))),
        fmt_num(1.0 + tol)
    );
    Ok(ClaimResult::judge(
        c,
        prediction,
        Figure::paired(&task_rps, &task_model),
        expect,
        negation,
        figs,
        |m, v| {
            format!(
                "On one core, the event loop served {} requests/s to {conns} clients whose requests each waited {} ms ({}x its model min(C/W, 1/c_req)); {conns} threads on the same core served {} ({}x the same model), and the iterative server, one connection at a time, {} ({}x its model 1/(W + c_req)). {}",
                fmt_num(median(&task_rps)),
                fmt_num(wait(tasks) * 1e3),
                fmt_num(m),
                fmt_num(median(&rps(threads))),
                fmt_num(ratio(&rps(threads), &concurrent_model(threads))),
                fmt_num(median(&rps(&iterative[0]))),
                fmt_num(ratio(&rps(&iterative[0]), &iterative_model)),
                match v {
                    Verdict::NotTestable => "",
                    Verdict::Supported => "The waits overlapped: one core served the clients concurrently, as the model says.",
                    Verdict::NotSupported => "The event loop missed its model: see the figures for which input moved.",
                    _ => "The spread does not decide.",
                }
            )
        },
    ))
}

fn combined_concurrency_parallelism(c: &Claim, lab: &Lab) -> Result<ClaimResult, String> {
    let cores = Topology::get().physical_core_count();
    // Enough clients that the cores, not the clients' own waits, bound the processes:
    // C / (W + c_req) is 8x P / c_req at W = c_req.
    let conns = (8 * cores).max(32);
    let tol = c.margin(1);
    let expect_placeholder = Expect::Between([1.0 / (1.0 + c.margin(0)), 1.0 + tol]);
    if cores < 2 {
        return Ok(ClaimResult::not_testable(
            c,
            expect_placeholder,
            "one physical core: no second core to lift the cap".into(),
        ));
    }
    let cpu_us = lab.pick(500.0, 1000.0);
    let spec = WorkloadSpec::new("web", lab.pick(400, 800), 1)
        .with("wait_ms", 1)
        .with("cpu_us", cpu_us)
        .with("connections", conns);
    // One calibration for both rows, so that their requests do the same work: each server's
    // own calibration at its start moved the work per request by up to a third between rows.
    let work = crate::service::server::calibrate_on(
        Topology::get().first_cpu(),
        &WebConfig::from_spec(&spec).map_err(|e| e.to_string())?,
    );
    // The rows alternate repetition by repetition, so that each pair ran adjacent in time;
    // which goes first alternates too, so that neither always follows the other.
    let mut procs = Vec::with_capacity(lab.reps());
    let mut event_loop = Vec::with_capacity(lab.reps());
    for i in 0..lab.reps() {
        let mut order = vec![Strategy::MultiProcess, Strategy::SingleThreadAsync];
        if i % 2 == 1 {
            order.reverse();
        }
        let rows = measure_with_work(lab, spec.clone(), order, conns, Some(work), 1)?;
        procs.push(row(&rows, Strategy::MultiProcess).clone());
        event_loop.push(row(&rows, Strategy::SingleThreadAsync).clone());
    }
    let per_rep = |rows: &[Measurement], f: &dyn Fn(&Measurement) -> Vec<f64>| -> Vec<f64> {
        rows.iter().flat_map(f).collect()
    };
    let generator = |m: &Measurement| -> Vec<f64> {
        webs(m)
            .iter()
            .map(|w| w.load.generator_cpu_s / w.load.requests.max(1) as f64)
            .collect()
    };
    let wait =
        |m: &Measurement| -> Vec<f64> { webs(m).iter().map(|w| w.load.wait_achieved_s).collect() };
    let shares = procs
        .iter()
        .any(|m| webs(m).iter().any(|w| w.generator_shares_cpu));
    let (c_loop, c_procs) = (per_rep(&event_loop, &c_req), per_rep(&procs, &c_req));
    let (w_loop, w_procs) = (per_rep(&event_loop, &wait), per_rep(&procs, &wait));
    let g = per_rep(&procs, &generator);
    let (p_rps, l_rps) = (per_rep(&procs, &rps), per_rep(&event_loop, &rps));
    if [&c_loop, &c_procs, &w_loop, &w_procs, &g, &p_rps, &l_rps]
        .iter()
        .any(|v| v.len() != lab.reps())
    {
        return Err("a repetition of the web rows came back without its load figures".into());
    }
    let lifts: Vec<f64> = (0..lab.reps())
        .map(|i| {
            let g_i = if shares { g[i] } else { 0.0 };
            let model_loop = (conns as f64 / w_loop[i]).min(1.0 / c_loop[i]);
            let model_procs =
                (conns as f64 / (w_procs[i] + c_procs[i])).min(cores as f64 / (c_procs[i] + g_i));
            model_procs / model_loop
        })
        .collect();
    let lift = median(&lifts);
    let measured_lifts: Vec<f64> = p_rps.iter().zip(&l_rps).map(|(p, l)| p / l).collect();
    let measured_lift = median(&measured_lifts);
    let (c_loop, c_procs) = (median(&c_loop), median(&c_procs));
    let g = if shares { median(&g) } else { 0.0 };
    let figs = figures(vec![
        ("physical_cores", json!(cores)),
        ("connections", json!(conns)),
        ("cpu_us_asked", json!(cpu_us)),
        ("cpu_units_per_request", json!(work.units)),
        ("cpu_unit_us", json!(work.unit_s * 1e6)),
        ("event_loop_requests_per_s", json!(median(&l_rps))),
        ("event_loop_cpu_per_request_s", json!(c_loop)),
        ("processes_requests_per_s", json!(median(&p_rps))),
        ("processes_cpu_per_request_s", json!(c_procs)),
        ("generator_cpu_per_request_s", json!(g)),
        ("generator_shares_cores", json!(shares)),
        ("measured_lift", json!(measured_lift)),
        ("measured_lift_per_rep", json!(measured_lifts)),
        ("predicted_lift", json!(lift)),
        ("predicted_lift_per_rep", json!(lifts)),
    ]);
    let expect = Expect::Between([1.0 / (1.0 + c.margin(0)), 1.0 + tol]);
    let negation = Negation::new(
        1.0 / lift,
        "more cores lift nothing (the processes serve what the event loop does: a measured lift of 1)",
    );
    let prediction = format!(
        "requests of {} µs of CPU ({} units of the kernel, calibrated once for both rows) and a 1 ms wait, {conns} clients: {conns} processes over {cores} cores / the event loop on one core = min(C/(W + c_req), {cores}/(c_req + g)) / min(C/W, 1/c_req), predicted in each repetition from its inputs (median {}; c_req {} µs and {} µs, g {} µs{}): measured lift / predicted lift between {} and {}",
        fmt_num(cpu_us),
        work.units,
        fmt_num(lift),
        fmt_num(c_procs * 1e6),
        fmt_num(c_loop * 1e6),
        fmt_num(g * 1e6),
        if shares { ", the generator sharing the cores" } else { "" },
        fmt_num(1.0 / (1.0 + c.margin(0))),
        fmt_num(1.0 + tol)
    );
    Ok(ClaimResult::judge(
        c,
        prediction,
        Figure::paired(&measured_lifts, &lifts),
        expect,
        negation,
        figs,
        |m, v| {
            format!(
                "With {} µs of CPU per request, the event loop on one core served {} requests/s ({} µs of server CPU each: its cap); {conns} worker processes spread over the {cores} physical cores served {}: {}x, against a predicted {}x{} ({}x the prediction, repetition by repetition). {}",
                fmt_num(cpu_us),
                fmt_num(median(&l_rps)),
                fmt_num(c_loop * 1e6),
                fmt_num(median(&p_rps)),
                fmt_num(measured_lift),
                fmt_num(lift),
                if shares {
                    format!(" (the load generator's {} µs per request ran on the same cores)", fmt_num(g * 1e6))
                } else {
                    String::new()
                },
                fmt_num(m),
                match v {
                    Verdict::NotTestable => "",
                    Verdict::Supported => "Concurrency hid the waits; the extra cores lifted the CPU cap.",
                    Verdict::NotSupported => "The cores did not lift the cap as predicted: see the CPU per request of each row.",
                    _ => "The spread does not decide.",
                }
            )
        },
    ))
}

/// What one idle connection of a server cost, as a child of `idle_cost` reports it.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub(crate) struct IdleCost {
    /// Resident memory and kernel stacks added per idle connection, bytes.
    pub(crate) bytes: f64,
    /// What a connection holds by construction, bytes: its read chunk, on its thread's stack or
    /// in its task's future across the await. A measured cost below it is wrong.
    pub(crate) floor: usize,
}

/// Resident memory plus the kernel's stacks, bytes.
fn resident_and_kernel_stacks() -> Option<u64> {
    Some(
        crate::sys::process_rss_bytes(None)?
            + crate::sys::meminfo_bytes("KernelStack").unwrap_or(0),
    )
}

/// The memory an idle connection of the server costs: the server of the thread-per-connection
/// row (or, with `tasks`, the event loop's) started in this process with `n` workers, `n`
/// clients connected, each sent one request and read its answer, and left open; the memory
/// added since before the server started, per connection. Each connection has run the server's
/// own code once (its thread's or task's deepest call chain, its buffers grown), as the rows'
/// connections have: an imitation of a connection (a thread touching a 4 KiB buffer) left out a
/// page of stack that the server's call chain touches.
fn idle_connections(n: usize, tasks: bool) -> Result<IdleCost, String> {
    use std::io::{Read, Write};
    let spec = WorkloadSpec::new("web", n, 1)
        .with("wait_ms", 0)
        .with("connections", n);
    let config = WebConfig::from_spec(&spec).map_err(|e| e.to_string())?;
    crate::service::make_room_for(2 * n).map_err(|e| e.to_string())?;
    let (body, strategy) = (config.body(), c10k_strategy(tasks));
    let sum = crate::workload::web::checksum(&body);
    let before = resident_and_kernel_stacks().ok_or("no resident memory readable here")?;
    let loopback = std::net::SocketAddr::from(([127, 0, 0, 1], 0));
    let server = crate::service::server::Server::start(strategy, n, &config, loopback, None)
        .map_err(|e| e.to_string())?;
    let measured = (|| {
        let request = b"GET / HTTP/1.1\r\nHost: lab\r\n\r\n";
        let mut clients = Vec::with_capacity(n);
        for _ in 0..n {
            let mut c = std::net::TcpStream::connect(server.addr())
                .map_err(|e| format!("connecting to the idle server: {e}"))?;
            c.set_read_timeout(Some(std::time::Duration::from_secs(10)))
                .map_err(|e| e.to_string())?;
            c.write_all(request)
                .map_err(|e| format!("sending the idle server a request: {e}"))?;
            clients.push(c);
        }
        let mut buf = Vec::new();
        let mut chunk = [0u8; 4096];
        for c in &mut clients {
            buf.clear();
            loop {
                match crate::workload::web::check_response(&buf, body.len(), sum) {
                    Ok(Some(_)) => break,
                    Ok(None) => {}
                    Err(e) => return Err(format!("the idle server answered wrongly: {e}")),
                }
                match c.read(&mut chunk) {
                    Ok(0) => return Err("the idle server closed a connection".into()),
                    Ok(k) => buf.extend_from_slice(&chunk[..k]),
                    Err(e) => return Err(format!("reading the idle server's answer: {e}")),
                }
            }
        }
        let with_connections = resident_and_kernel_stacks().unwrap_or(before);
        drop(clients);
        Ok(with_connections.saturating_sub(before) as f64 / n as f64)
    })();
    let stopped = server.stop().map_err(|e| e.to_string());
    let bytes = measured?;
    stopped?;
    Ok(IdleCost {
        bytes,
        floor: crate::service::conn::READ_CHUNK,
    })
}

/// Serve the lab child `IdleCost`: measure, print the [`IdleCost`] as one JSON line.
pub(crate) fn serve_idle_cost(n: usize, tasks: bool) -> Result<(), String> {
    print_json_line(&idle_connections(n, tasks)?)
}

/// c10k-memory's load: `n` clients whose requests wait 100 ms, `2n` requests a repetition.
fn c10k_spec(n: usize) -> WorkloadSpec {
    WorkloadSpec::new("web", n * 2, 1)
        .with("wait_ms", 100)
        .with("connections", n)
}

/// The row's strategy: the event loop (`tasks`) or a thread per connection on one core.
fn c10k_strategy(tasks: bool) -> Strategy {
    if tasks {
        Strategy::SingleThreadAsync
    } else {
        Strategy::SingleCoreThreaded
    }
}

/// Serve the lab child `LoadedCost`: run the c10k-memory row in this (fresh) process, one
/// untimed and one timed repetition, and print the memory the timed one added per connection
/// (resident memory and kernel stacks) as one JSON line.
pub(crate) fn serve_loaded_cost(n: usize, tasks: bool) -> Result<(), String> {
    let config = WebConfig::from_spec(&c10k_spec(n)).map_err(|e| e.to_string())?;
    crate::service::make_room_for(config.connections).map_err(|e| e.to_string())?;
    let runs = crate::service::measure_row(
        &config,
        c10k_strategy(tasks),
        n,
        1,
        1,
        &crate::service::RowOptions::default(),
        &mut |_| {},
    )
    .map_err(|e| e.to_string())?;
    let w = runs
        .first()
        .and_then(|r| r.web.as_deref())
        .ok_or("the row came back without its web figures")?;
    let rss = w
        .rss_peak_bytes
        .unwrap_or(0)
        .saturating_sub(w.rss_base_bytes.unwrap_or(0));
    let ks = w
        .kernel_stack_peak_bytes
        .unwrap_or(0)
        .saturating_sub(w.kernel_stack_base_bytes.unwrap_or(0));
    print_json_line(&((rss + ks) as f64 / w.connections.max(1) as f64))
}

fn print_json_line(value: &impl serde::Serialize) -> Result<(), String> {
    println!(
        "{}",
        serde_json::to_string(value).map_err(|e| e.to_string())?
    );
    Ok(())
}

/// Run the lab child `mode` (`what` names it in errors) and read the one JSON line it prints.
fn lab_child_answer<T: serde::de::DeserializeOwned>(
    mode: crate::child::jobs::LabMode,
    what: &str,
) -> Result<T, String> {
    use crate::child::{ChildJob, ChildSpec, WorkerCommand};
    let exe = WorkerCommand::locate_concbench()?;
    let spec = ChildSpec {
        parent_pid: std::process::id(),
        cpu: None,
        job: ChildJob::LabChild(mode),
    };
    let out = exe
        .command(&spec)
        .stdin(std::process::Stdio::null())
        .output()
        .map_err(|e| format!("starting the {what} child: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "the {what} child {}: {}",
            crate::child::describe_status(out.status),
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    let text = String::from_utf8_lossy(&out.stdout);
    serde_json::from_str(text.trim())
        .map_err(|e| format!("the {what} child answered '{}': {e}", text.trim()))
}

/// An idle connection's cost ([`idle_connections`]), measured in a fresh child process: in this
/// one, heap that earlier claims freed but left resident would absorb the connections'
/// allocations (the lab read 0 bytes per task after other claims, about 4 KB alone), so the
/// figure would depend on which claims ran before.
fn idle_cost(n: usize, tasks: bool) -> Result<IdleCost, String> {
    let what = if tasks { "idle-tasks" } else { "idle-threads" };
    lab_child_answer(crate::child::jobs::LabMode::IdleCost { n, tasks }, what)
}

/// The c10k-memory row's memory per connection, one untimed and one timed repetition
/// ([`serve_loaded_cost`]), in a fresh child process for the same reason as [`idle_cost`].
fn loaded_cost(n: usize, tasks: bool) -> Result<f64, String> {
    let what = if tasks {
        "loaded-tasks"
    } else {
        "loaded-threads"
    };
    lab_child_answer(crate::child::jobs::LabMode::LoadedCost { n, tasks }, what)
}

/// Why a measured idle cost cannot be used: below what the code holds by construction.
pub(crate) fn below_floor(what: &str, cost: IdleCost) -> Option<String> {
    (cost.bytes < cost.floor as f64).then(|| {
        format!(
            "an idle {what} measured {} bytes, less than the {} bytes it holds by construction (size_of_val of what it keeps), so resident memory did not show its allocations: the model's input is wrong and this run cannot test the claim",
            fmt_num(cost.bytes),
            cost.floor
        )
    })
}

/// c10k-memory's model: threads / tasks memory per connection, (m_task - t + s) / m_task =
/// 1 + (s - t) / m_task, from a task-per-connection server's memory per connection under load
/// `m_task` and the idle connections' `t` (event loop) and `s` (threads) bytes: the load adds
/// the same to either, so the rows differ by what their idle connections differ by.
pub(crate) fn c10k_ratio(m_task: f64, t: f64, s: f64) -> f64 {
    (m_task - t + s) / m_task
}

fn c10k_memory(c: &Claim, lab: &Lab) -> Result<ClaimResult, String> {
    let conns = lab.pick(1000usize, 4000);
    let expect = Expect::Between([1.0 - c.margin(0), 1.0 + c.margin(0)]);
    if crate::sys::process_rss_bytes(None).is_none() {
        return Ok(ClaimResult::not_testable(
            c,
            expect,
            "this platform's resident memory is not read by concbench".into(),
        ));
    }
    // Each repetition measures all four inputs, each in a fresh process (the idle costs s and t,
    // the loaded rows' memory per connection), so that the prediction and the figure it is
    // compared with come from the same repetition; the threads' and the tasks' processes
    // alternate in which goes first.
    let reps = lab.reps();
    let (mut idle_threads, mut idle_tasks) = (Vec::new(), Vec::new());
    let (mut m_threads, mut m_tasks) = (Vec::new(), Vec::new());
    for i in 0..reps {
        let tasks_first = i % 2 == 1;
        let mut idle = [
            idle_cost(conns, tasks_first)?,
            idle_cost(conns, !tasks_first)?,
        ];
        let mut loaded = [
            loaded_cost(conns, tasks_first)?,
            loaded_cost(conns, !tasks_first)?,
        ];
        if tasks_first {
            idle.swap(0, 1);
            loaded.swap(0, 1);
        }
        let [thread, task] = idle;
        if let Some(why) = below_floor("task", task).or_else(|| below_floor("thread", thread)) {
            return Ok(ClaimResult::not_testable(c, expect, why));
        }
        idle_threads.push(thread.bytes);
        idle_tasks.push(task.bytes);
        m_threads.push(loaded[0]);
        m_tasks.push(loaded[1]);
    }
    let predicted: Vec<f64> = (0..reps)
        .map(|i| c10k_ratio(m_tasks[i], idle_tasks[i], idle_threads[i]))
        .collect();
    let measured: Vec<f64> = m_threads.iter().zip(&m_tasks).map(|(a, b)| a / b).collect();
    let load_added: Vec<f64> = m_tasks
        .iter()
        .zip(&idle_tasks)
        .map(|(m, t)| m - t)
        .collect();
    let (s, t, m_task) = (median(&idle_threads), median(&idle_tasks), median(&m_tasks));
    let (ratio_predicted, ratio_measured, b) =
        (median(&predicted), median(&measured), median(&load_added));
    let figs = figures(vec![
        ("connections", json!(conns)),
        ("threads_bytes_per_connection", json!(median(&m_threads))),
        ("tasks_bytes_per_connection", json!(m_task)),
        ("idle_thread_bytes", json!(s)),
        ("idle_task_bytes", json!(t)),
        ("load_added_bytes_per_connection", json!(b)),
        ("idle_floor_bytes", json!(crate::service::conn::READ_CHUNK)),
        ("measured_ratio", json!(ratio_measured)),
        ("predicted_ratio", json!(ratio_predicted)),
        ("threads_bytes_per_rep", json!(m_threads)),
        ("tasks_bytes_per_rep", json!(m_tasks)),
        ("idle_thread_bytes_per_rep", json!(idle_threads)),
        ("idle_task_bytes_per_rep", json!(idle_tasks)),
    ]);
    let negation = Negation::new(
        1.0 / ratio_predicted,
        "a thread per connection costs what a task per connection does (a measured ratio of 1)",
    );
    let prediction = format!(
        "{conns} connections waiting 100 ms, one core: threads / tasks = (m_task - t + s) / m_task, from the four inputs of each repetition (medians: ({} - {} + {}) / {} = {}): measured ratio / predicted ratio between {} and {}",
        fmt_num(m_task),
        fmt_num(t),
        fmt_num(s),
        fmt_num(m_task),
        fmt_num(ratio_predicted),
        fmt_num(1.0 - c.margin(0)),
        fmt_num(1.0 + c.margin(0))
    );
    Ok(ClaimResult::judge(
        c,
        prediction,
        Figure::paired(&measured, &predicted),
        expect,
        negation,
        figs,
        |m, v| {
            format!(
                "{conns} connections cost {} bytes each as a thread per connection (resident memory and kernel stacks) and {} as a task per connection: {}x. Idle (one request served, then waiting), a connection of the threads' server cost {} bytes and one of the event loop {} (no less than the {} bytes of the read buffer each holds), which predicts {}x; the load added {} bytes per connection to an idle task{}. Every figure is a median over {reps} repetitions, each input of a repetition measured in a fresh process; measured / predicted, repetition by repetition: {}. {}",
                fmt_num(median(&m_threads)),
                fmt_num(m_task),
                fmt_num(ratio_measured),
                fmt_num(s),
                fmt_num(t),
                crate::service::conn::READ_CHUNK,
                fmt_num(ratio_predicted),
                fmt_num(b),
                if b < 0.0 {
                    " (less than nothing: resident memory measured the loaded task below the idle one, a difference within what separate processes' memory varies by)"
                } else {
                    ""
                },
                fmt_num(m),
                match v {
                    Verdict::NotTestable => "",
                    Verdict::Supported => "The difference is the thread's stacks: its user stack as deep as the server's code reaches, and its kernel stack.",
                    Verdict::NotSupported => "The rows' memory does not follow from the idle costs: see the figures.",
                    _ => "The spread does not decide.",
                }
            )
        },
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_c10k_ratio_adds_a_stack_in_place_of_a_task() {
        // 10 KB per connection with a 1 KB task; a thread's stacks are 21 KB: (10 - 1 + 21) / 10.
        assert_eq!(c10k_ratio(10_000.0, 1_000.0, 21_000.0), 3.0);
        // The ratio falls as the task-per-connection memory grows.
        assert!(c10k_ratio(20_000.0, 1_000.0, 21_000.0) < c10k_ratio(10_000.0, 1_000.0, 21_000.0));
    }

    #[test]
    fn an_idle_task_below_its_future_is_refused() {
        // The full run's 0 bytes per task: less than the 4 KiB buffer the task holds.
        let zero = IdleCost {
            bytes: 0.0,
            floor: 4112,
        };
        let why = below_floor("task", zero).unwrap();
        assert!(why.contains("0 bytes") && why.contains("4112"), "{why}");
        // Alone it measured 3998 bytes: still below a 4112-byte future, so still refused.
        assert!(below_floor(
            "task",
            IdleCost {
                bytes: 3998.0,
                floor: 4112
            }
        )
        .is_some());
        assert!(below_floor(
            "task",
            IdleCost {
                bytes: 8192.0,
                floor: 4112
            }
        )
        .is_none());
    }

    #[test]
    fn both_servers_answer_their_idle_connections() {
        // Memory is not asserted (other tests allocate in this process); the measurement runs
        // the real servers to the end and names the buffer each connection holds.
        for tasks in [false, true] {
            let cost = idle_connections(8, tasks).unwrap();
            assert_eq!(cost.floor, crate::service::conn::READ_CHUNK);
        }
    }

    #[test]
    fn the_idle_cost_job_round_trips() {
        use crate::child::{jobs::LabMode, ChildJob, ChildSpec};
        let spec = ChildSpec {
            parent_pid: 1,
            cpu: None,
            job: ChildJob::LabChild(LabMode::IdleCost { n: 8, tasks: true }),
        };
        let back: ChildSpec = serde_json::from_str(&serde_json::to_string(&spec).unwrap()).unwrap();
        assert_eq!(back, spec);
    }
}
