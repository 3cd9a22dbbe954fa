#!/usr/bin/env bash
# The floor of the C10K target, shown with the smallest program that has it: a bare tokio
# current_thread server (src/main.rs, no concbench code) and concbench's event-loop server, each
# pinned to CPU 0, loaded by the same wrk on CPU 1 — at 64 connections without a wait (the cap)
# and at 10,000 connections with a 100 ms wait (C10K). Needs wrk (apt-get install wrk).
#   bash scripts/c10k-floor/run.sh
set -euo pipefail
cd "$(dirname "$0")"
cargo build --release -q
(cd ../.. && cargo build --release -q)
floor=target/release/c10k-floor
concbench=../../target/release/concbench
ulimit -n 20000
load() { taskset -c 1 wrk -t1 -c"$1" -d4s --timeout 5s "http://127.0.0.1:$2/" | awk '/Requests\/sec/ {print $2}'; }
for run in "0 64" "100 10000"; do
  set -- $run
  $floor 18801 "$1" & f=$!
  sleep 0.3
  echo "bare tokio server, wait $1 ms, $2 connections: $(load "$2" 18801) requests/s"
  kill $f; wait $f 2>/dev/null || true
  $concbench server --port 18802 --wait-ms "$1" > /dev/null 2>&1 & c=$!
  sleep 0.5
  echo "concbench server,  wait $1 ms, $2 connections: $(load "$2" 18802) requests/s"
  kill $c; wait $c 2>/dev/null || true
done
