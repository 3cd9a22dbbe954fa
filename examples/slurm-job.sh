#!/bin/bash
# concbench's `distributed` strategy as a Slurm batch job: one MPI rank per Slurm task, started by
# mpirun, which takes the ranks and their nodes from the job's allocation (no -n, no hostfile).
#
#   sbatch examples/slurm-job.sh                               # every workload, default sizes
#   sbatch -N 4 examples/slurm-job.sh --workload matmul --size 2048
#
# Arguments are added to `concbench run --strategy distributed --cores 1,2,4,...,TASKS` (a
# workload and its parameters, --reps, --format ...; a --strategy or --cores of their own
# replaces the script's); without them every workload runs. The
# tables go to the job's output file, the result files to concbench-JOBID/ (or $CONCBENCH_OUT).
# $CONCBENCH names the binary when `concbench` is not on the PATH of every node; it must be built
# with `--features mpi` against the MPI library whose mpirun this job finds.
#SBATCH --job-name=concbench
#SBATCH --nodes=2
#SBATCH --ntasks-per-node=1
#SBATCH --time=00:15:00
#SBATCH --output=concbench-%j.out
set -euo pipefail

concbench=${CONCBENCH:-concbench}
out=${CONCBENCH_OUT:-concbench-$SLURM_JOB_ID}
# 1, 2, 4, ... and the job's task count: a row per rank count.
cores=1
for ((n = 2; n < SLURM_NTASKS; n *= 2)); do cores+=",$n"; done
[ "$SLURM_NTASKS" -eq 1 ] || cores+=",$SLURM_NTASKS"

echo "Slurm job $SLURM_JOB_ID: $SLURM_NTASKS ranks on $SLURM_JOB_NUM_NODES nodes ($SLURM_JOB_NODELIST)"
run() {
  local own=()
  case " $* " in *" --strategy"*) ;; *) own+=(--strategy distributed) ;; esac
  case " $* " in *" --cores"*) ;; *) own+=(--cores "$cores") ;; esac
  # --bind-to core: each rank on a core of its own (the rows then say the launcher bound them);
  # -q: a rank's error is its own one line, without mpirun's banner about it.
  mpirun -q --bind-to core "$concbench" run "${own[@]}" "$@"
}
if [ $# -gt 0 ]; then
  run --out "$out" "$@"
else
  for workload in mergesort matmul io; do
    run --workload "$workload" --out "$out/$workload"
  done
fi
