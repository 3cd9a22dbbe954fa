//! The floor of `single-thread-async` at 10,000 io parts of 100 ms, shown with the smallest
//! program that has it: 10,000 tasks, each sleeping 100 ms, spawned on one `current_thread`
//! runtime pinned nowhere, the wall time from before the first spawn to the last task's end.
//! The task's future holds `PAD` bytes across its await, so the same program runs with a bare
//! sleep's future and with one as large as concbench's part task (368 bytes with tokio 1.54):
//! the time grows with the future's size (each task's cell is allocated, written and read back
//! at spawn, first poll, wake-up and join), which is most of what concbench's row adds.
use std::time::{Duration, Instant};

const TASKS: usize = 10_000;
const WAIT: Duration = Duration::from_millis(100);

async fn task<const PAD: usize>() -> u8 {
    let pad = [1u8; PAD];
    tokio::time::sleep(WAIT).await;
    std::hint::black_box(&pad)[PAD - 1]
}

/// Six runs (the first a warm-up), printed with their median.
fn measure<const PAD: usize>(rt: &tokio::runtime::Runtime) {
    let mut ms: Vec<f64> = (0..6)
        .map(|_| {
            rt.block_on(async {
                let t0 = Instant::now();
                let handles: Vec<_> = (0..TASKS).map(|_| tokio::spawn(task::<PAD>())).collect();
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
        "{TASKS} tasks x {} ms, future of {} bytes: median {:.1} ms = {:.3}x the wait (runs {:?})",
        WAIT.as_millis(),
        std::mem::size_of_val(&task::<PAD>()),
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
    measure::<1>(&rt);
    measure::<265>(&rt);
}
