#!/usr/bin/env bash
# On an offline GPU node, in the folder bench/gpu/prepare.sh packed: measures specreg's GPU roads
# against PyTorch CUDA in the same invocations, prints one table and writes JSON. Nothing is downloaded:
# the node's own PyTorch (same version as the build's, see BUILD) provides libtorch.
#
#   bash run.sh [--backend tch-cuda|tch] [--python PYTHON] [--out DIR] [--images N]
#               [--e1-profile quick|smoke] [--no-vulkan]
#
# Steps: bench train (steps only) and bench attacks on the libtorch backend, the same on Vulkan when the
# node has a Vulkan loader, then the E1 experiment of the quick profile on the libtorch backend, timed.
# `--backend tch` runs the same flow on the CPU (a dry run; with --e1-profile smoke it takes minutes).
# Meant to finish within 10 minutes on one H100/H200-class GPU (not yet measured on one).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"

backend=tch-cuda
python=python3
out="$here/results-$(hostname -s)-$(date -u +%Y%m%dT%H%M%SZ)"
images=10000
e1_profile=quick
vulkan=yes
while [ $# -gt 0 ]; do
  case "$1" in
    --backend) backend="$2"; shift 2 ;;
    --python) python="$2"; shift 2 ;;
    --out) out="$2"; shift 2 ;;
    --images) images="$2"; shift 2 ;;
    --e1-profile) e1_profile="$2"; shift 2 ;;
    --no-vulkan) vulkan=no; shift ;;
    -h|--help) sed -n '2,12p' "$0"; exit 0 ;;
    *) echo "run.sh: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
done
case "$backend" in tch|tch-cuda|tch-cuda:*) ;; *) echo "run.sh: --backend must be tch or tch-cuda[:N], not $backend" >&2; exit 2 ;; esac

fail() { echo "run.sh: $*" >&2; exit 1; }
step() { echo; echo "== $* ($(date -u +%H:%M:%S))"; }
[ -f "$here/BUILD" ] || fail "$here/BUILD is missing: run this script from the folder bench/gpu/prepare.sh made"
built_torch=$(sed -n 's/^torch_version=//p' "$here/BUILD")
features=$(sed -n 's/^features=//p' "$here/BUILD")

# The binary (unpacked once if prepare.sh compressed it).
bin="$here/bin/xtask"
if [ ! -x "$bin" ]; then
  [ -f "$bin.xz" ] || fail "neither $bin nor $bin.xz is there"
  command -v xz >/dev/null || fail "$bin.xz needs xz to unpack (or unpack it elsewhere: xz -dk xtask.xz)"
  xz -dk "$bin.xz" && chmod +x "$bin"
fi

# The node's PyTorch: its libtorch is the one the binary loads.
info=$("$python" -c 'import os, torch; print(torch.__version__.split("+")[0], torch.version.cuda or "none", int(torch.cuda.is_available()), os.path.join(os.path.dirname(torch.__file__), "lib"))' 2>&1) \
  || fail "$python cannot import torch ($info); pass --python PATH to a Python with PyTorch $built_torch"
read -r torch_version torch_cuda cuda_ok torch_lib <<<"$info"
[ "$torch_version" = "$built_torch" ] || fail "the node's PyTorch is $torch_version but the binary was built against $built_torch: run prepare.sh --torch-version $torch_version on the build machine (libtorch's C++ ABI changes between versions)"
export LD_LIBRARY_PATH="$torch_lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
missing=$(ldd "$bin" | grep 'not found' || true)
[ -z "$missing" ] || fail "$bin cannot find some libraries with LD_LIBRARY_PATH=$torch_lib: $missing"
if [ "$backend" != tch ]; then
  [ -f "$torch_lib/libtorch_cuda.so" ] || fail "$torch_lib has no libtorch_cuda.so: this PyTorch is a CPU build (torch $torch_version, CUDA $torch_cuda); install a CUDA build or use --backend tch"
  ldd "$bin" | grep -q libtorch_cuda.so || fail "the binary does not load libtorch_cuda.so (it was linked against a CPU libtorch): rebuild with prepare.sh from a CUDA PyTorch"
  [ "$cuda_ok" = 1 ] || fail "PyTorch $torch_version (CUDA $torch_cuda) sees no GPU: check nvidia-smi and CUDA_VISIBLE_DEVICES"
fi
export SPECREG_ROOT="$here" SPECREG_DATA_DIR="$here/datasets" SPECREG_TORCH_PYTHON="$python"
mkdir -p "$out"
echo "specreg $(cat "$here/REVISION") (features $features), PyTorch $torch_version (CUDA $torch_cuda) from $torch_lib; results in $out"
command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader | tee "$out/gpu.txt" || true

ran=()
bench() { # bench NAME BACKEND ARGS...: one benchmark, its output kept
  local name=$1 b=$2; shift 2
  step "$name on $b"
  "$bin" bench "$name" --backend "$b" --json "$out/$name-$b.json" "$@" 2>&1 | tee "$out/$name-$b.log"
  ran+=("$name-$b")
}
bench train "$backend" --steps-only
bench attacks "$backend" --images "$images"
if [ "$backend" != tch ] && [ "$vulkan" = yes ]; then
  if [[ "$features" != *vulkan* ]]; then
    echo "(no Vulkan in this build: prepare.sh was run with --no-vulkan)"
  elif ! PATH="$PATH:/sbin:/usr/sbin" ldconfig -p 2>/dev/null | grep -q libvulkan.so.1; then
    echo "(no Vulkan loader libvulkan.so.1 on this node: the Vulkan road is not measured)"
  else
    bench train vulkan --steps-only
    bench attacks vulkan --images "$images"
  fi
fi

step "E1 of the $e1_profile profile on $backend"
started=$(date +%s)
"$bin" reproduce --profile "$e1_profile" --only E1 --backend "$backend" --offline --out "$out/$e1_profile-E1" 2>&1 | tee "$out/reproduce.log"
e1_seconds=$(( $(date +%s) - started ))

step "summary"
"$python" - "$out" "$e1_profile" "$e1_seconds" "${ran[@]}" <<'EOF' | tee "$out/summary.txt"
import json, sys
out, profile, seconds, names = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4:]
rows, header = [], None
for name in names:
    with open(f"{out}/{name}.json") as f:
        report = json.load(f)
    header = header or report.get("processor")
    for r in report["rows"]:
        rows.append((report["backend"], r["name"], r["ours_s"], r.get("reference_s"), r.get("ratio"), report.get("reference") or "none"))
print(f"{'backend':<44} {'measurement':<48} {'ours (s)':>9} {'ref. (s)':>9} {'ratio':>6}")
for backend, name, ours, ref, ratio, _ in rows:
    print(f"{backend[:44]:<44} {name[:48]:<48} {ours:>9.4f} {('-' if ref is None else f'{ref:.4f}'):>9} {('-' if ratio is None else f'{ratio:.2f}'):>6}")
print(f"reference: {rows[0][5] if rows else 'none'}")
print(f"E1 of the {profile} profile: {seconds} s wall")
json.dump({"rows": [dict(zip(["backend", "name", "ours_s", "reference_s", "ratio", "reference"], r)) for r in rows],
           "e1_profile": profile, "e1_seconds": seconds}, open(f"{out}/summary.json", "w"), indent=1)
EOF
echo "written: $out/summary.json"
