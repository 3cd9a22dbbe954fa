#!/usr/bin/env bash
# Regenerate every committed reference result from the repository root:
#   bash results/regenerate.sh            # full set (about 5 minutes on 2 cores)
# Run it on a quiet machine: nothing else compiling or benchmarking. Each folder gets the
# machine description inside its JSON (CPU model, cores, mask, memory, kernel, date, command).
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release -q
bin=target/release/concbench
out=results
# Start from empty folders, so no file of an older run (a picture a claim no longer draws) stays.
rm -rf $out/{limits,mergesort,matmul,io,matmul-naive,io-cpu-share-0.5,io-cpu-share-1.0,oversubscription,io-1024-tasks,io-async,refs,ctxswitch,timeline,lab}

echo "== ceilings first (cached, so the run tables show their rows beside them)"
$bin limits --quiet --out $out/limits > /dev/null

for w in mergesort matmul io; do
  echo "== $w"
  $bin run --workload $w --cores 1,2,4,8 --quiet --out $out/$w --timeline $out/$w
done
echo "== matmul with the naive kernel (memory-bound)"
$bin run --workload matmul --kernel naive --size 512 --cores 1,2,4 --quiet --out $out/matmul-naive
echo "== io across the CPU share"
for share in 0.5 1.0; do
  $bin run --workload io --size 32 --cpu-share $share --cores 1,2,8 --quiet --out $out/io-cpu-share-$share
done
echo "== oversubscription on one core"
$bin run --workload io --size 256 --wait-ms 4 --cpu-share 1 --strategy sequential,single-core-threaded \
  --cores 1,4,16,64,256 --quiet --out $out/oversubscription

echo "== 1024 I/O tasks on one core: what creating threads costs when waits overlap"
$bin run --workload io --size 1024 --wait-ms 10 --strategy single-core-threaded \
  --cores 16,64,256,1024 --quiet --out $out/io-1024-tasks

echo "== io up to 10,000 waits: threads on one core vs async tasks on one thread"
$bin run --workload io --size 10000 --wait-ms 100 --cores 100,1000,10000 \
  --strategy single-core-threaded,single-thread-async --reps 3 --warmup 1 --quiet --out $out/io-async

echo "== references (one set per workload: WORKLOAD.txt, .json, .md, .csv, .tex, report.html)"
for w in mergesort matmul; do
  $bin refs --workload $w --quiet --out $out/refs/$w > /dev/null
done

echo "== context switches"
$bin ctxswitch --quiet --out $out/ctxswitch > /dev/null

echo "== timelines"
mkdir -p $out/timeline
for p in one-core spread; do
  for k in thread process; do
    threads=3; [ $p = spread ] && threads=2
    $bin timeline --cores $threads --placement $p --kind $k --duration-ms 300 --out $out/timeline/$p-$k > $out/timeline/$p-$k.txt
  done
done

echo "== lab"
mkdir -p $out/lab/quick $out/lab/full $out/timeline
$bin lab --quick --quiet --out $out/lab/quick > $out/lab/quick/verdicts.txt
$bin lab --quiet --out $out/lab/full > $out/lab/full/verdicts.txt
echo "done: $(date -u +%FT%TZ)"
