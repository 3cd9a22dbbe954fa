#!/usr/bin/env bash
# Regenerate the committed web results from the repository root (about twelve minutes on 2 cores):
#   bash results/regenerate-web.sh
# Run it on a quiet machine. Each folder holds report.md, results.csv, results.json, results.tex
# and speedup.svg, with the machine and the full command inside results.json.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release -q
bin=target/release/concbench
out=results
# Start from empty folders, so no file of an older run stays.
rm -rf $out/{web,web-cpu,web-cpu-parallel,web-c10k,web-open-loop,lab-web}

echo "== web: threads, processes and the event loop, on one core and on all cores (10 ms waits, 64 clients)"
$bin run --workload web --wait-ms 10 --connections 64 --size 1000 --cores 8,64 --quiet --out $out/web
echo "== web with CPU-heavy requests (500 µs of merge sort each, 1 ms waits): concurrency and parallelism combined"
$bin run --workload web --wait-ms 1 --cpu-us 500 --connections 32 --size 2000 --cores 1,2,32 \
  --strategy sequential,multi-threaded,multi-process,single-thread-async --quiet --out $out/web-cpu
$bin run --workload web --wait-ms 1 --cpu-us 500 --cpu-parallel --connections 32 --size 2000 --cores 32 \
  --strategy single-thread-async --quiet --out $out/web-cpu-parallel
echo "== C10K: 10,000 connections waiting 100 ms, threads on one core vs one event loop"
$bin run --workload web --connections 10000 --wait-ms 100 --size 100000 --cores 10000 \
  --strategy single-core-threaded,single-thread-async --reps 3 --warmup 1 --quiet --out $out/web-c10k
echo "== open loop: 2,000 requests a second at fixed intended times, latency from those times"
$bin run --workload web --rate 2000 --size 10000 --connections 64 --wait-ms 10 --cores 64 \
  --strategy single-core-threaded,multi-process,single-thread-async --reps 3 --warmup 1 --quiet --out $out/web-open-loop
echo "== the lab's claims about servers"
mkdir -p $out/lab-web
$bin lab --quiet --claim web-server-concurrency,combined-concurrency-parallelism,c10k-memory \
  --out $out/lab-web > $out/lab-web/verdicts.txt
if command -v wrk > /dev/null; then
  echo "== the C10K floor and the generator against wrk (scripts/c10k-floor, scripts/generator-vs-wrk.sh)"
  bash scripts/c10k-floor/run.sh > $out/web-c10k/floor.txt
  bash scripts/generator-vs-wrk.sh > $out/web/generator-vs-wrk.txt
else
  echo "wrk is not installed (apt-get install wrk): web-c10k/floor.txt and web/generator-vs-wrk.txt not made" >&2
  exit 1
fi
echo "done: $(date -u +%FT%TZ)"
