#!/usr/bin/env bash
# The battery a careful user runs against `cargo xtask reproduce` before trusting it with days of work:
# kills at random moments, concurrent processes on one output directory, a disk that fills up, and bad
# input. After each trial: nothing left behind (no lock, checkpoint or temporary file of a finished
# run), the tables equal a clean run's cell by cell, and no input accepted with exit status 0.
#
#   tests/battery.sh [KILLS] [CONCURRENT] [DISK_FULL]     # defaults 50 10 20; as root (it mounts tmpfs)
#
# Needs MNIST in $SPECREG_DATA_DIR and target/release/xtask (cargo build --release -p xtask). Takes
# about 20 minutes with the defaults on two cores. Prints one line per trial and a tally; exit status 1
# on any finding.
set -uo pipefail
cd "$(dirname "$0")/.."
XTASK=${XTASK:-$PWD/target/release/xtask}
: "${SPECREG_DATA_DIR:?set SPECREG_DATA_DIR (MNIST is needed)}"
KILLS=${1:-50}
CONCURRENT=${2:-10}
DISK_FULL=${3:-20}
ONLY=E1,E2-MLP,E3-MLP,S1,T2
WORK=$(mktemp -d /tmp/specreg-battery.XXXXXX)
findings=0
finding() { echo "FINDING: $*"; findings=$((findings + 1)); }
ARGS=(reproduce --profile smoke --offline --only "$ONLY" --lock-timeout 10)
run() { "$XTASK" "${ARGS[@]}" --out "$1" > "$2" 2>&1; }

# What a finished output directory must not contain, and what it must equal.
leftovers() {
  find "$1" \( -name '*.lock' -o -name '.*.tmp-*' -o -path '*/checkpoints/*' \) 2>/dev/null | head -5
}
check() {
  local out=$1 what=$2
  local left
  left=$(leftovers "$out")
  [ -z "$left" ] || finding "$what: left behind: $left"
  "$XTASK" compare "$WORK/reference" "$out" > "$WORK/compare.out" 2>&1 || finding "$what: tables differ from the clean run: $(head -3 "$WORK/compare.out")"
}

echo "reference run"
run "$WORK/reference" "$WORK/reference.log" || { echo "the reference run failed"; tail "$WORK/reference.log"; exit 1; }
reference_seconds=$(cat "$WORK/reference.log" "$WORK"/reference/workers/*.log 2>/dev/null | grep -o "done in [0-9.]* s" | awk '{s += $3} END {print s}')

echo "kill -9 at a random moment, then run to the end ($KILLS trials)"
for k in $(seq 1 "$KILLS"); do
  out=$WORK/kill-$k
  "$XTASK" "${ARGS[@]}" --out "$out" > "$WORK/kill.log" 2>&1 &
  pid=$!
  sleep "$(awk -v r="$RANDOM" 'BEGIN {printf "%.2f", 0.2 + r / 32767 * 9}')"
  kill -9 "$pid" 2>/dev/null
  wait "$pid" 2>/dev/null
  run "$out" "$WORK/kill-rerun.log"
  status=$?
  [ "$status" -eq 0 ] || finding "kill $k: the rerun exited with $status: $(tail -2 "$WORK/kill-rerun.log")"
  check "$out" "kill $k"
  rm -rf "$out"
done

echo "2–3 processes on one output directory ($CONCURRENT trials)"
for k in $(seq 1 "$CONCURRENT"); do
  out=$WORK/concurrent-$k
  n=$((2 + k % 2))
  pids=()
  for p in $(seq 1 "$n"); do
    "$XTASK" "${ARGS[@]}" --out "$out" > "$WORK/concurrent-$p.log" 2>&1 &
    pids+=($!)
  done
  for p in "${pids[@]}"; do
    wait "$p" || finding "concurrent $k: a process exited with $?"
  done
  # Each process starts a helper (--workers' default) that prints into OUT/workers/.
  trained=$(cat "$WORK"/concurrent-*.log "$out"/workers/*.log 2>/dev/null | grep -c ": done in")
  expected=$(cat "$WORK/reference.log" "$WORK"/reference/workers/*.log 2>/dev/null | grep -c ": done in")
  [ "$trained" -eq "$expected" ] || finding "concurrent $k: $trained runs trained across $n processes, $expected planned"
  check "$out" "concurrent $k"
  rm -rf "$out" "$WORK"/concurrent-*.log
done

echo "a disk that fills up ($DISK_FULL trials on a small tmpfs)"
filled=0
for k in $(seq 1 "$DISK_FULL"); do
  mnt=$WORK/disk-$k
  mkdir -p "$mnt"
  size=$((256 + RANDOM % 4096))
  mount -t tmpfs -o size=${size}k tmpfs "$mnt" || { echo "cannot mount tmpfs (root needed): disk-full trials skipped"; break; }
  run "$mnt/out" "$WORK/full.log"
  status=$?
  if [ "$status" -eq 0 ]; then
    : # it fitted
  elif grep -q "No space left on device" "$WORK/full.log"; then
    filled=$((filled + 1))
  fi
  if [ "$status" -eq 0 ]; then
    :
  elif ! grep -q "No space left on device" "$WORK/full.log"; then
    finding "disk $k (${size} KiB): exit $status without saying the disk is full: $(grep error "$WORK/full.log" | tail -1)"
  elif ! grep "error:" "$WORK/full.log" | grep -q "$mnt"; then
    finding "disk $k: the message does not name the path: $(grep error "$WORK/full.log" | tail -1)"
  fi
  # Whatever was written must be whole: every table readable (compare reads them all; 2: none yet).
  "$XTASK" compare "$mnt/out" "$mnt/out" > "$WORK/readable.log" 2>&1
  readable=$?
  [ "$readable" -eq 0 ] || [ "$readable" -eq 2 ] || finding "disk $k: a table cannot be read: $(tail -1 "$WORK/readable.log")"
  # Room again: the same command finishes what it started.
  mkdir -p "$WORK/roomy-$k" && cp -r "$mnt/out" "$WORK/roomy-$k/" 2>/dev/null
  umount "$mnt"
  run "$WORK/roomy-$k/out" "$WORK/full-rerun.log" || finding "disk $k: the rerun with room failed: $(tail -2 "$WORK/full-rerun.log")"
  check "$WORK/roomy-$k/out" "disk $k"
  rm -rf "$WORK/roomy-$k" "$mnt"
done

echo "bad input: each must exit non-zero with a message"
bad() {
  local what=$1 expected=$2
  shift 2
  "$@" > "$WORK/bad.log" 2>&1
  local status=$?
  [ "$status" -eq "$expected" ] || finding "$what: exit $status, expected $expected: $(tail -1 "$WORK/bad.log")"
}
profile() {
  python3 - "$1" "$2" "$3" > "$WORK/bad.json" <<'EOF'
import json, sys
p = json.load(open("profiles/smoke.json"))
section, setting, value = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
if value is None:
    p[section].pop(setting)
else:
    p[section][setting] = value
print(json.dumps(p))
EOF
}
out=$WORK/bad
profile e1 attack_examples 500 && bad "attack_examples above test_examples" 2 "$XTASK" reproduce --profile "$WORK/bad.json" --offline --out "$out"
profile e1 learning_rate 1e30 && bad "a learning rate that diverges" 1 "$XTASK" reproduce --profile "$WORK/bad.json" --offline --only E1 --out "$out-lr"
profile e1 seeds '[0, 0]' && bad "a seed listed twice" 2 "$XTASK" reproduce --profile "$WORK/bad.json" --offline --out "$out"
profile e1 betas '[]' && bad "no β for E1" 2 "$XTASK" reproduce --profile "$WORK/bad.json" --offline --out "$out"
profile e1 train_per_class 100000 && bad "more per class than MNIST has" 2 "$XTASK" reproduce --profile "$WORK/bad.json" --offline --out "$out"
bad "--lock-timeout 0" 2 "$XTASK" reproduce --profile smoke --lock-timeout 0 --out "$out"
bad "--calibration missing" 2 "$XTASK" reproduce --profile smoke --plan --calibration "$WORK/missing.json"
bad "--collect with runs missing" 1 "$XTASK" reproduce --profile smoke --only E1 --collect --out "$out-collect"
mkdir -p "$WORK/empty-a" "$WORK/empty-b"
bad "compare of empty directories" 2 "$XTASK" compare "$WORK/empty-a" "$WORK/empty-b"
bad "a data directory that does not exist" 1 "$XTASK" reproduce --profile smoke --only E1 --offline --data-dir "$WORK/nowhere" --out "$out-nodata"
[ -e "$out-nodata/E1" ] && finding "a data directory that does not exist: E1/ written"
python3 -c "import numpy" 2>/dev/null && {
  python3 -c "import numpy as np; np.save('$WORK/constant.npy', np.ones((50, 5)))"
  bad "spectrum of a constant matrix" 1 "$XTASK" spectrum --input "$WORK/constant.npy"
}

echo
echo "battery: $KILLS kills, $CONCURRENT concurrent trials, $DISK_FULL disk-full trials (${filled:-0} ran out of space), bad inputs; reference run ${reference_seconds} s of training"
echo "findings: $findings"
rm -rf "$WORK"
[ "$findings" -eq 0 ]
