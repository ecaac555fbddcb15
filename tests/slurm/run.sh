#!/usr/bin/env bash
# The Slurm path tested on a real Slurm (Debian's slurm-wlm and munge), started here on this machine:
# the smoke profile as an array of 4 tasks running cluster/slurm/reproduce.sbatch, then
# collect.sbatch as a dependent job, and the tables compared cell by cell (wall times aside) with those
# of a single-process smoke run.
#
#   tests/slurm/run.sh            # needs root (it installs and starts the daemons) and MNIST in
#                                 # $SPECREG_DATA_DIR; uses target/release/xtask (built by the
#                                 # README's test command, cargo test --release)
#
# One node (this machine), no systemd, cgroup v1: proctrack/linuxproc and task/none.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
XTASK=${XTASK:-$ROOT/target/release/xtask}
[ -x "$XTASK" ] || { echo "no $XTASK: build it first (cargo build --release -p xtask)" >&2; exit 1; }
: "${SPECREG_DATA_DIR:?set SPECREG_DATA_DIR (MNIST is needed)}"
export SPECREG_DATA_DIR
started=$(date +%s)

if ! command -v slurmctld >/dev/null || ! command -v munged >/dev/null; then
  [ "$(id -u)" -eq 0 ] || { echo "slurm-wlm and munge are not installed, and installing them needs root" >&2; exit 1; }
  echo "installing slurm-wlm and munge (apt-get)"
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y -qq slurm-wlm munge >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq slurm-wlm munge >/dev/null; }
fi

WORK=$(mktemp -d /tmp/specreg-slurm.XXXXXX)
HOST=$(hostname -s)
cleanup() {
  [ -f "$WORK/slurmd.pid" ] && kill "$(cat "$WORK/slurmd.pid")" 2>/dev/null || true
  [ -f "$WORK/slurmctld.pid" ] && kill "$(cat "$WORK/slurmctld.pid")" 2>/dev/null || true
  [ -f "$WORK/munged.pid" ] && kill "$(cat "$WORK/munged.pid")" 2>/dev/null || true
  sleep 1
  rm -rf "$WORK"
}
trap cleanup EXIT

# munge: a key and a daemon of our own (socket in $WORK).
mkdir -p "$WORK/munge"
chmod 700 "$WORK/munge"
dd if=/dev/urandom of="$WORK/munge/munge.key" bs=1024 count=1 status=none
chmod 400 "$WORK/munge/munge.key"
munged --force --key-file="$WORK/munge/munge.key" --socket="$WORK/munge/socket" \
  --pid-file="$WORK/munged.pid" --log-file="$WORK/munge/munged.log" --seed-file="$WORK/munge/seed"

CPUS=$(nproc)
MEMORY=$(( $(awk '/MemTotal/ {print $2}' /proc/meminfo) / 1024 - 1024 ))
cat > "$WORK/slurm.conf" <<EOF
ClusterName=specreg-test
SlurmctldHost=$HOST
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
AuthInfo=socket=$WORK/munge/socket
CredType=cred/munge
StateSaveLocation=$WORK/state
SlurmdSpoolDir=$WORK/spool
SlurmctldPidFile=$WORK/slurmctld.pid
SlurmdPidFile=$WORK/slurmd.pid
SlurmctldLogFile=$WORK/slurmctld.log
SlurmdLogFile=$WORK/slurmd.log
SlurmctldPort=16817
SlurmdPort=16818
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
SchedulerType=sched/backfill
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
MpiDefault=none
ReturnToService=2
SlurmctldParameters=enable_configless
NodeName=$HOST CPUs=$CPUS RealMemory=$MEMORY State=UNKNOWN
PartitionName=debug Nodes=$HOST Default=YES MaxTime=INFINITE State=UP OverSubscribe=FORCE:4
EOF
mkdir -p "$WORK/state" "$WORK/spool"
export SLURM_CONF=$WORK/slurm.conf
slurmctld -f "$SLURM_CONF"
slurmd -f "$SLURM_CONF"
for _ in $(seq 1 30); do
  sinfo -h -o %T 2>/dev/null | grep -Eq 'idle|mixed' && break
  sleep 1
done
sinfo

# The array: 4 tasks of the smoke profile into one shared output directory, then the collect job.
OUT=$WORK/out
array=$(sbatch --parsable --array=1-4 --cpus-per-task=1 --mem=2G --time=00:20:00 \
  --output="$WORK/array-%a.out" \
  --export=ALL,SPECREG_DIR="$ROOT",PROFILE=smoke,OUT="$OUT",XTASK="$XTASK" \
  cluster/slurm/reproduce.sbatch)
collect=$(sbatch --parsable --dependency=afterany:"$array" --cpus-per-task=1 --mem=2G --time=00:20:00 \
  --output="$WORK/collect.out" \
  --export=ALL,SPECREG_DIR="$ROOT",PROFILE=smoke,OUT="$OUT",XTASK="$XTASK" \
  cluster/slurm/collect.sbatch)
echo "submitted array job $array (4 tasks) and collect job $collect"

# The single-process reference, meanwhile (`--workers 1`: no helper processes, so that every run it
# trains is in its output). Without CIFAR-10 here its exit status is 1 (not everything asked for was
# produced), and it must say why.
status=0
"$XTASK" reproduce --workers 1 --profile smoke --out "$WORK/single" --offline > "$WORK/single.out" 2>&1 || status=$?
if [ "$status" -ne 0 ] && ! { [ "$status" -eq 1 ] && grep -q "not run for missing data: .*cifar10" "$WORK/single.out"; }; then
  echo "FAILED: the single-process run exited with $status"; tail -20 "$WORK/single.out"; exit 1
fi

for _ in $(seq 1 600); do
  squeue -h -j "$array,$collect" 2>/dev/null | grep -q . || break
  sleep 1
done
for f in "$WORK"/array-*.out "$WORK/collect.out"; do
  echo "=== $(basename "$f")"
  grep -E "^shard|: done in|reused|left to it|collected|done in|summary" "$f" || cat "$f"
done
state=$(sacct -n -j "$collect" -o State 2>/dev/null | head -1 || true)
[ -f "$OUT/SUMMARY.md" ] || { echo "FAILED: the collect job wrote no SUMMARY.md ($state)"; cat "$WORK/collect.out" "$WORK/slurmctld.log" | tail -40; exit 1; }

# Every run trained once across the array, and the tables equal the single-process run's.
trained=$(cat "$WORK"/array-*.out | grep -c ": done in" || true)
expected=$(grep -c ": done in" "$WORK/single.out" || true)
echo "runs trained across the 4 tasks: $trained (single process: $expected)"
[ "$trained" -eq "$expected" ] || { echo "FAILED: a run was trained twice or not at all"; exit 1; }
"$XTASK" compare "$WORK/single" "$OUT"
echo "slurm test passed in $(( $(date +%s) - started )) s"
