#!/usr/bin/env bash
# The floor of single-thread-async with 10,000 io parts of 100 ms: a bare tokio program
# (src/main.rs, no concbench code) with a bare sleep's future and with one of concbench's part
# task's size, then concbench's own row, each on CPU 0.
#   bash scripts/tokio-spawn-floor/run.sh
set -euo pipefail
cd "$(dirname "$0")"
cargo build --release -q
(cd ../.. && cargo build --release -q)
taskset -c 0 target/release/tokio-spawn-floor
../../target/release/concbench run --workload io --size 10000 --wait-ms 100 --cores 10000 \
    --strategy single-thread-async --reps 5 --warmup 1 --format json --quiet |
    python3 -c 'import json, sys
r = json.load(sys.stdin)["rows"][0]
m, spawn = r["median_s"], r["phases"]["spawn_s"]
print("concbench single-thread-async, 10000 io parts x 100 ms: median %.1f ms = %.3fx the wait (spawn phase %.1f ms)" % (m * 1e3, m / 0.1, spawn * 1e3))'
