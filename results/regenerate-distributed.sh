#!/usr/bin/env bash
# Regenerate the `distributed` strategy's reference results from the repository root:
#   bash results/regenerate-distributed.sh      # about 4 minutes on 2 cores
# Needs Open MPI with its headers and libclang (`apt-get install libopenmpi-dev openmpi-bin
# libclang-dev`) for `cargo build --features mpi`, and root for the network-namespace hosts of
# scripts/local-cluster. Run it on a quiet machine, like results/regenerate.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release -q --features mpi
bin=target/release/concbench
out=results/distributed
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_gds=^ds12

echo "== one host: threads, processes and ranks in one table"
# --bind-to none: rank 0 keeps the whole host for the shared-memory strategies; each rank pins
# itself to a core by its local rank when its distributed part runs.
mkdir -p $out/one-host
for w in mergesort matmul io; do
  mpirun -q -n 2 --bind-to none $bin run --workload $w \
    --strategy sequential,multi-threaded,multi-process,distributed --cores 1,2 --quiet \
    --out $out/one-host/$w
done
echo "== one host: the lab's claims about ranks"
mkdir -p $out/lab
mpirun -q -n 2 --bind-to none $bin lab --claim message-passing-cost,scaling-across-ranks --quiet \
  --out $out/lab > $out/lab/verdicts.txt
echo "== one host: message ceilings (ranks bound to distinct cores)"
mpirun -q -n 2 --bind-to core $bin limits --quiet --out $out/one-host/limits > /dev/null

echo "== two hosts: network namespaces on a bridge, messages over TCP"
scripts/local-cluster down > /dev/null 2>&1 || true
opts=$(scripts/local-cluster up 2 2> /dev/null)
trap 'scripts/local-cluster down > /dev/null' EXIT
rankfile=$(scripts/local-cluster rankfile 2)
mkdir -p $out/two-hosts
for w in mergesort matmul io; do
  # shellcheck disable=SC2086 # the options are words
  mpirun -q -n 2 $opts --rankfile "$rankfile" $bin run --workload $w \
    --strategy sequential,distributed --cores 1,2 --quiet --out $out/two-hosts/$w
done
# shellcheck disable=SC2086
mpirun -q -n 2 $opts --rankfile "$rankfile" $bin limits --quiet --out $out/two-hosts/limits > /dev/null
echo "done: $(date -u +%FT%TZ)"
