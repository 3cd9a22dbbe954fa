#!/usr/bin/env bash
# The full sweep on a larger machine: every workload at --cores 1,2,4,8,16, the ceilings, the
# switch cost and the whole lab, each folder with its machine description inside its JSON.
#   bash results/regenerate-16-cores.sh [BINARY] [OUT_DIR]
# BINARY defaults to target/release/concbench (built when missing), OUT_DIR to results/16-cores.
# It runs in about six minutes on 16 cores. Every step has its own time limit, so one stuck step
# costs its limit and the rest still run; a step that fails is listed at the end and the script
# exits 1.
set -uo pipefail
cd "$(dirname "$0")/.."
bin=${1:-target/release/concbench}
out=${2:-results/16-cores}
if [ ! -x "$bin" ]; then cargo build --release -q || exit 1; fi
mkdir -p "$out"
failed=()
step() {
  local limit=$1 name=$2; shift 2
  local t0=$SECONDS
  echo "== $name"
  if ! timeout "$limit" "$@"; then failed+=("$name"); fi
  echo "   $name: $((SECONDS - t0)) s"
}

{ nproc; lscpu; } > "$out/machine.txt" 2>&1
mkdir -p "$out/lab"
step 120 limits "$bin" limits --quiet --out "$out/limits"
step 60 ctxswitch "$bin" ctxswitch --quiet --out "$out/ctxswitch"
for w in mergesort matmul io; do
  step 150 "$w" "$bin" run --workload "$w" --cores 1,2,4,8,16 --quiet --out "$out/$w"
done
if "$bin" list 2>/dev/null | grep -q '^ *web'; then
  step 150 web "$bin" run --workload web --cores 1,2,4,8,16 --quiet --out "$out/web"
fi
step 300 lab sh -c "'$bin' lab --quiet --out '$out/lab' > '$out/lab/verdicts.txt'"
echo "done: $(date -u +%FT%TZ)"
if [ ${#failed[@]} -gt 0 ]; then
  echo "failed: ${failed[*]}"
  exit 1
fi
