//! The floor of `single-thread-async` at 10,000 io parts of 100 ms, shown with the smallest
//! program that has it: 10,000 tasks, each sleeping 100 ms, spawned on one `current_thread`
//! runtime pinned nowhere, the wall time from before the first spawn to the last task's end.
//! The task's future holds `PAD` bytes across its await, so the same program runs with a bare
//! sleep's future, with one as large as concbench's part task held its timer inline (368 bytes
//! with tokio 1.54), and with that task's timer boxed, as concbench now does: the time grows
//! with the task's cell (allocated, written and read back at spawn, first poll, wake-up and
//! join), and a boxed timer keeps the cell small.
use std::time::{Duration, Instant};

const TASKS: usize = 10_000;
const WAIT: Duration = Duration::from_millis(100);

async fn task<const PAD: usize>() -> u8 {
    let pad = [1u8; PAD];
    tokio::time::sleep(WAIT).await;
    std::hint::black_box(&pad)[PAD - 1]
}

/// [`task`] with its timer boxed, as concbench's part task holds it.
async fn task_boxed<const PAD: usize>() -> u8 {
    let pad = [1u8; PAD];
    Box::pin(tokio::time::sleep(WAIT)).await;
    std::hint::black_box(&pad)[PAD - 1]
}

/// Six runs (the first a warm-up), printed with their median.
fn measure<F: std::future::Future<Output = u8> + Send + 'static>(
    rt: &tokio::runtime::Runtime,
    what: &str,
    make: fn() -> F,
) {
    let mut ms: Vec<f64> = (0..6)
        .map(|_| {
            rt.block_on(async {
                let t0 = Instant::now();
                let handles: Vec<_> = (0..TASKS).map(|_| tokio::spawn(make())).collect();
                for h in handles {
                    h.await.expect("a sleeping task cannot fail");
                }
                t0.elapsed().as_secs_f64() * 1e3
            })
        })
        .skip(1)
        .collect();
    ms.sort_by(f64::total_cmp);
    println!(
        "{TASKS} tasks x {} ms, {what}, future of {} bytes: median {:.1} ms = {:.3}x the wait (runs {:?})",
        WAIT.as_millis(),
        std::mem::size_of_val(&make()),
        ms[ms.len() / 2],
        ms[ms.len() / 2] / WAIT.as_secs_f64() / 1e3,
        ms.iter().map(|m| format!("{m:.1}")).collect::<Vec<_>>()
    );
}

fn main() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .expect("a current_thread runtime");
    measure(&rt, "bare sleep", task::<1>);
    measure(&rt, "sleep + 264 bytes", task::<265>);
    measure(&rt, "boxed sleep + 264 bytes", task_boxed::<265>);
}
