#!/usr/bin/env bash
# The floor of the C10K target, shown with the smallest program that has it: a bare tokio
# current_thread server (src/main.rs, no concbench code) and concbench's event-loop server, each
# pinned to CPU 0, loaded by the same wrk on CPU 1 — at 64 connections without a wait (the cap)
# and at 10,000 connections with a 100 ms wait (C10K). Beside each figure: the server's CPU time
# per request (from /proc/PID/stat) and wrk's, so the line says which side ran out of CPU.
# Needs wrk (apt-get install wrk).
#   bash scripts/c10k-floor/run.sh
set -euo pipefail
cd "$(dirname "$0")"
cargo build --release -q
(cd ../.. && cargo build --release -q)
floor=target/release/c10k-floor
concbench=../../target/release/concbench
ulimit -n 20000
secs=4
tick=$(getconf CLK_TCK)
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
# load NAME PID CONNECTIONS PORT: one wrk run against the server PID, one line of figures
load() {
  local before after rps wrk_cpu out
  out=$(mktemp)
  before=$(cpu_ticks "$2")
  { TIMEFORMAT='%U %S'; time taskset -c 1 wrk -t1 -c"$3" -d${secs}s --timeout 5s "http://127.0.0.1:$4/" > "$out"; } 2> "$out.time"
  after=$(cpu_ticks "$2")
  rps=$(awk '/Requests\/sec/ {print $2}' "$out")
  wrk_cpu=$(awk '{print $1 + $2}' "$out.time")
  rm -f "$out" "$out.time"
  awk -v name="$1" -v c="$3" -v rps="$rps" -v srv=$(( after - before )) -v tick="$tick" -v secs="$secs" \
      -v wrk="$wrk_cpu" 'BEGIN {
    n = rps * secs
    printf "%s, %5d connections: %9.0f requests/s; server CPU %.2f s of %d s (%.2f us/request); wrk CPU %.2f s (%.2f us/request)\n",
      name, c, rps, srv / tick, secs, srv / tick / n * 1e6, wrk, wrk / n * 1e6 }'
}
echo "# $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(nproc) CPUs; server on CPU 0, wrk -t1 on CPU 1, ${secs} s each"
for run in "0 64" "100 10000"; do
  set -- $run
  $floor 18801 "$1" & f=$!
  sleep 0.3
  load "bare tokio server, wait $1 ms" $f "$2" 18801
  kill $f; wait $f 2>/dev/null || true
  taskset -c 0 $concbench server --port 18802 --wait-ms "$1" > /dev/null 2>&1 & c=$!
  sleep 0.5
  load "concbench server,  wait $1 ms" $c "$2" 18802
  kill $c; wait $c 2>/dev/null || true
done
