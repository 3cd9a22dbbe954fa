#!/usr/bin/env bash
# Regenerate results/slurm/ from the repository root: concbench under Slurm, on the cluster of
# scripts/local-slurm (a controller and two nodes, each a network-namespace host of this machine):
#   bash results/regenerate-slurm.sh       # about 6 minutes on 2 cores
# Needs root, slurm-wlm and munge, and what results/regenerate-distributed.sh needs (Open MPI with
# its headers, libclang). Run it on a quiet machine. Every file written starts with the command
# that wrote it; failures.txt holds the lines each failure a cluster user meets leaves.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release -q --features mpi
cargo build -q   # a binary without MPI, for the last failure
bin=target/release/concbench   # relative, as the commands in the other results: every node shares this checkout
nompi=target/debug/concbench
out=results/slurm

scripts/local-slurm down > /dev/null 2>&1 || true
scripts/local-slurm up 2
trap 'scripts/local-slurm down' EXIT
eval "$(scripts/local-slurm env)"
export CONCBENCH=$bin
rm -rf "$out"
mkdir -p "$out"
work=$(mktemp -d)
chmod 755 "$work"

# Job $1's state and exit code once it has left the states $3 (a regular expression), at most $2 s.
wait_job() {
  local id=$1 within=$2 busy=$3 state deadline
  deadline=$((SECONDS + within))
  while [ "$SECONDS" -lt "$deadline" ]; do
    state=$(scontrol -o show job "$id" | grep -o 'JobState=[A-Z_]*' | cut -d= -f2)
    [[ $state =~ ^($busy)$ ]] || { echo "$state $(scontrol -o show job "$id" | grep -o 'ExitCode=[0-9:]*' | cut -d= -f2)"; return; }
    sleep 0.2
  done
  echo "still $state after $within s"
}
busy='PENDING|CONFIGURING|RUNNING|COMPLETING|SUSPENDED'
# Wait until file $1 holds $2 (at most 60 s).
wait_line() {
  local deadline=$((SECONDS + 60))
  until grep -q "$2" "$1" 2>/dev/null; do
    [ "$SECONDS" -lt "$deadline" ] || { echo "no '$2' in $1" >&2; return 1; }
    sleep 0.1
  done
}
# Run a command, writing "$ COMMAND" and its stdout to $1 (stderr passes through).
record() {
  local file=$1; shift
  { echo "\$ $*"; "$@"; } > "$file"
}

echo "== the cluster"
record "$out/cluster.txt" sinfo -N -o '%N %T %c'
grep '^NodeName' "$SLURM_CONF" >> "$out/cluster.txt"

echo "== sbatch: the job script across two nodes, every workload, default sizes"
id=$(CONCBENCH_OUT=$out/sbatch sbatch --parsable -o "$work/sbatch.out" -e "$work/sbatch.err" examples/slurm-job.sh)
state=$(wait_job "$id" 900 "$busy")
{ echo "\$ sbatch examples/slurm-job.sh    # job $id: $state"; cat "$work/sbatch.out"; } > "$out/sbatch.txt"
cat "$work/sbatch.err" >&2

echo "== srun --mpi=pmix on one node, beside threads on rank 0's CPUs"
record "$out/srun-one-node.txt" srun --mpi=pmix -N 1 -n 2 "$bin" run --workload matmul \
  --strategy sequential,multi-threaded,distributed --cores 1,2 --quiet --out "$out/srun-one-node"
echo "== srun --mpi=pmix across two nodes"
record "$out/srun-two-nodes.txt" srun --mpi=pmix -N 2 -n 2 "$bin" run --workload matmul \
  --strategy distributed --cores 1,2 --quiet --out "$out/srun-two-nodes"
echo "== salloc + mpirun across two nodes"
record "$out/salloc.txt" salloc -N 2 --ntasks-per-node=1 mpirun -q "$bin" run --workload mergesort \
  --strategy distributed --cores 1,2 --quiet --out "$out/salloc"
echo "== the lab's claims about ranks, under srun"
mkdir -p "$out/lab"
record "$out/lab/verdicts.txt" srun --mpi=pmix -N 1 -n 2 --cpu-bind=none "$bin" lab \
  --claim message-passing-cost,scaling-across-ranks --quiet --out "$out/lab"

echo "== failures"
long=(--workload io --size 16 --wait-ms 10 --reps 10000 --warmup 0)
f=$out/failures.txt
: > "$f"
# The lines a failed job left in its error file, without the progress line.
lines() { grep -v 'this run will take' "$1" || true; }

echo "== a job cancelled mid-run" >> "$f"
id=$(CONCBENCH_OUT=$work/cancel sbatch --parsable -o /dev/null -e "$work/cancel.err" examples/slurm-job.sh "${long[@]}")
wait_line "$work/cancel.err" 'this run will take'
scancel "$id"
state=$(wait_job "$id" 60 "$busy")
{ echo "\$ sbatch examples/slurm-job.sh ${long[*]}; scancel $id"; lines "$work/cancel.err"; echo "(job $id: $state)"; } >> "$f"

echo "== its time limit reached" >> "$f"
id=$(CONCBENCH_OUT=$work/limit sbatch --parsable -N 1 -n 1 --time=1 -o /dev/null -e "$work/limit.err" examples/slurm-job.sh "${long[@]}")
state=$(wait_job "$id" 240 "$busy")
{ echo "\$ sbatch -N 1 -n 1 --time=1 examples/slurm-job.sh ${long[*]}"; lines "$work/limit.err"; echo "(job $id: $state)"; } >> "$f"

echo "== a node lost mid-run" >> "$f"
id=$(CONCBENCH_OUT=$work/lost sbatch --parsable -o /dev/null -e "$work/lost.err" examples/slurm-job.sh "${long[@]}")
wait_line "$work/lost.err" 'this run will take'
scripts/local-slurm kill-node cbslurm2
state=$(wait_job "$id" 60 'PENDING|CONFIGURING|RUNNING')
{ echo "\$ sbatch examples/slurm-job.sh ${long[*]}; scripts/local-slurm kill-node cbslurm2"; lines "$work/lost.err"; echo "(job $id: $state; it completes once Slurm declares the node down)"; } >> "$f"
scripts/local-slurm start-node cbslurm2

echo "== more ranks than the allocation" >> "$f"
id=$(CONCBENCH_OUT=$work/more sbatch --parsable -N 1 --ntasks-per-node=2 -o /dev/null -e "$work/more.err" examples/slurm-job.sh --workload io --size 4 --cores 1,2,3)
state=$(wait_job "$id" 60 "$busy")
{ echo "\$ sbatch -N 1 --ntasks-per-node=2 examples/slurm-job.sh --workload io --size 4 --cores 1,2,3"; lines "$work/more.err"; echo "(job $id: $state)"; } >> "$f"
{ echo "\$ salloc -N 1 -n 2 srun --mpi=pmix -n 3 concbench run --workload io --strategy distributed --cores 3"
  salloc -N 1 -n 2 srun --mpi=pmix -n 3 "$bin" run --workload io --strategy distributed --cores 3 2>&1 || echo "(exit $?)"; } >> "$f"
{ echo "\$ salloc -N 1 -n 2 mpirun -n 3 concbench run --workload io --strategy distributed --cores 3"
  salloc -N 1 -n 2 mpirun -n 3 "$bin" run --workload io --strategy distributed --cores 3 2>&1 || echo "(exit $?)"; } >> "$f"

echo "== srun without PMIx" >> "$f"
{ echo "\$ srun --mpi=none -N 1 -n 2 concbench run --workload io --strategy distributed --cores 1,2"
  srun --mpi=none -N 1 -n 2 "$bin" run --workload io --strategy distributed --cores 1,2 2>&1 || echo "(exit $?)"; } >> "$f"
{ echo "\$ srun --mpi=pmi2 -N 1 -n 2 concbench run --workload io --strategy distributed --cores 1,2"
  srun --mpi=pmi2 -N 1 -n 2 "$bin" run --workload io --strategy distributed --cores 1,2 2>&1 || echo "(exit $?)"; } >> "$f"

echo "== a binary without MPI under srun" >> "$f"
{ echo "\$ srun --mpi=pmix -N 1 -n 2 concbench run --workload io --strategy distributed --cores 1,2    # built without --features mpi"
  srun --mpi=pmix -N 1 -n 2 "$nompi" run --workload io --strategy distributed --cores 1,2 2>&1 || echo "(exit $?)"; } >> "$f"

# Paths of this machine's build out of the committed text: the command is `concbench`.
sed -i "s|$bin|concbench|g; s|$nompi|concbench|g" "$out"/*.txt "$out"/lab/verdicts.txt
rm -rf "$work"
echo "done: $(date -u +%FT%TZ)"
