#!/usr/bin/env bash
# concbench's load generator against wrk on the same event-loop server (pinned to CPU 0, the load
# on CPU 1), at two points: requests with no work, where wrk -t1 runs out of its own CPU before the
# server does (its CPU time is printed: ~1 s per second of wall), and requests of 50 us of merge
# sort, where the server's CPU is the bottleneck under both (the server's CPU per request is
# printed for each: the two figures differ by what the server spends per request under each).
# Needs wrk (apt-get install wrk).
#   bash scripts/generator-vs-wrk.sh
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release -q
bin=target/release/concbench
secs=4
tick=$(getconf CLK_TCK)
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
echo "# $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(nproc) CPUs; event loop on CPU 0, 64 keep-alive connections"
for cpu_us in 0 50; do
  taskset -c 0 $bin server --port 18803 --wait-ms 0 --cpu-us $cpu_us > /dev/null 2>&1 & s=$!
  sleep 0.5
  before=$(cpu_ticks $s)
  { TIMEFORMAT='%U %S'; time taskset -c 1 wrk -t1 -c64 -d${secs}s "http://127.0.0.1:18803/" > /tmp/wrk.$$; } 2> /tmp/wrk.$$.time
  after=$(cpu_ticks $s)
  kill $s; wait $s 2>/dev/null || true
  awk -v c=$cpu_us -v srv=$(( after - before )) -v tick=$tick -v secs=$secs -v wrk="$(awk '{print $1 + $2}' /tmp/wrk.$$.time)" \
    '/Requests\/sec/ { printf "cpu-us %2d  wrk -t1:            %9.0f requests/s; server CPU %.2f s of %d s, wrk CPU %.2f s\n", c, $2, srv / tick, secs, wrk }' /tmp/wrk.$$
  rm -f /tmp/wrk.$$ /tmp/wrk.$$.time
  $bin run --workload web --strategy single-thread-async --cores 64 --connections 64 --wait-ms 0 --cpu-us $cpu_us \
    --size $(( cpu_us == 0 ? 400000 : 40000 )) --reps 3 --quiet --format json > /tmp/gen.$$.json
  python3 -c '
import json, sys
doc = json.load(open(sys.argv[1]))
r = [r for r in doc["rows"] if r["strategy"] == "single-thread-async"][0]
print("cpu-us %2s  concbench generator: %9.0f requests/s; server CPU %.2f us/request" % (
    sys.argv[2], r["requests_per_s"], r["cpu_per_request_s"] * 1e6))
' /tmp/gen.$$.json $cpu_us
  rm -f /tmp/gen.$$.json
done
