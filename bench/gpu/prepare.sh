#!/usr/bin/env bash
# Packs what an offline GPU node needs to measure specreg's GPU roads, in one folder of at most 64 MiB:
# xtask built with libtorch (`tch`, CPU and CUDA) and Vulkan, stripped; MNIST; the profiles; the PyTorch
# reference script; bench/gpu/run.sh. Run it in a checkout, on a build machine with network (PyPI).
#
#   bash bench/gpu/prepare.sh [--torch-version 2.11.0] [--torch-index URL] [--venv DIR]
#                             [--no-vulkan] [--data-dir DIR] [--out DIR]
#
# The binary links the libtorch of a PyTorch in a venv (LIBTORCH_USE_PYTORCH); at run time it uses the
# node's own PyTorch of the same version (run.sh checks it), so nothing large travels and nothing is
# downloaded there. --venv reuses a venv that has torch instead of making one; --torch-index is pip's
# index for the wheel's CUDA flavour (e.g. https://download.pytorch.org/whl/cu130).
set -euo pipefail
cd "$(dirname "$0")/../.."

torch_version=2.11.0
torch_index=""
venv=""
features="tch,vulkan"
data_dir="${SPECREG_DATA_DIR:-datasets}"
out=target/gpu-pack
limit=$((64 * 1024 * 1024))

while [ $# -gt 0 ]; do
  case "$1" in
    --torch-version) torch_version="$2"; shift 2 ;;
    --torch-index) torch_index="$2"; shift 2 ;;
    --venv) venv="$2"; shift 2 ;;
    --no-vulkan) features="tch"; shift ;;
    --data-dir) data_dir="$2"; shift 2 ;;
    --out) out="$2"; shift 2 ;;
    -h|--help) sed -n '2,12p' "$0"; exit 0 ;;
    *) echo "prepare.sh: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
done

fail() { echo "prepare.sh: $*" >&2; exit 1; }
step() { echo "== $*"; }

for f in train-images-idx3-ubyte.gz train-labels-idx1-ubyte.gz t10k-images-idx3-ubyte.gz t10k-labels-idx1-ubyte.gz; do
  [ -f "$data_dir/mnist/$f" ] || fail "$data_dir/mnist/$f is missing: run \`cargo xtask data fetch mnist\` or pass --data-dir DIR"
done

# 1. A Python with the asked PyTorch.
if [ -z "$venv" ]; then
  venv="target/gpu-venv-$torch_version"
  if [ ! -x "$venv/bin/python" ]; then
    step "making $venv with torch==$torch_version (a few GB from PyPI)"
    python3 -m venv "$venv" || fail "python3 -m venv $venv failed (install python3-venv)"
    "$venv/bin/pip" install --quiet --upgrade pip
    "$venv/bin/pip" install --quiet ${torch_index:+--index-url "$torch_index"} "torch==$torch_version" numpy \
      || fail "pip could not install torch==$torch_version${torch_index:+ from $torch_index}"
  fi
fi
python="$venv/bin/python"
[ -x "$python" ] || fail "$python not found (--venv must name a venv)"
read -r found cuda < <("$python" -c 'import torch; print(torch.__version__.split("+")[0], torch.version.cuda or "none")') \
  || fail "$python cannot import torch"
[ "$found" = "$torch_version" ] || fail "$venv has torch $found, not $torch_version (pass --torch-version $found, or another --venv)"
step "libtorch: PyTorch $found (CUDA $cuda) from $venv"

# 2. The build. torch-sys checks for the PyTorch it was written for; other versions share its C API in
# practice and are accepted with the check bypassed (the run's sanity checks still apply).
expected=$(sed -n 's/^const TORCH_VERSION: &str = "\(.*\)";/\1/p' "$(find "${CARGO_HOME:-$HOME/.cargo}/registry/src" -maxdepth 2 -name 'torch-sys-0.22*' | sort | tail -1)/build.rs" 2>/dev/null || true)
if [ -n "$expected" ] && [ "$expected" != "$found" ]; then
  echo "   torch-sys expects PyTorch $expected; building against $found with LIBTORCH_BYPASS_VERSION_CHECK=1"
  export LIBTORCH_BYPASS_VERSION_CHECK=1
fi
step "cargo build --release -p xtask --features $features"
started=$(date +%s)
# torch-sys asks `python` for libtorch when VIRTUAL_ENV is set and LIBTORCH_USE_PYTORCH is.
VIRTUAL_ENV="$(cd "$venv" && pwd)" PATH="$(cd "$venv" && pwd)/bin:$PATH" LIBTORCH_USE_PYTORCH=1 \
  cargo build --release -p xtask --features "$features"
echo "   built in $(( $(date +%s) - started )) s"

# 3. The folder.
step "packing $out"
rm -rf "$out"
mkdir -p "$out/bin" "$out/datasets/mnist" "$out/bench"
strip -o "$out/bin/xtask" target/release/xtask
cp "$data_dir"/mnist/*.gz "$out/datasets/mnist/"
cp -r profiles "$out/profiles"
cp bench/pytorch_steps.py "$out/bench/"
cp bench/gpu/run.sh "$out/run.sh"
chmod +x "$out/run.sh" "$out/bin/xtask"
{
  echo "torch_version=$found"
  echo "torch_cuda=$cuda"
  echo "features=$features"
  echo "built=$(date -u +%Y-%m-%dT%H:%M:%SZ) on $(uname -m)"
} > "$out/BUILD"
rev=$(git rev-parse --short=12 HEAD 2>/dev/null || echo unknown)
[ -z "$(git status --porcelain 2>/dev/null)" ] || rev="$rev+dirty"
echo "$rev" > "$out/REVISION"

size() { du -sb "$1" | cut -f1; }
if [ "$(size "$out")" -gt "$limit" ]; then
  # xz -9 takes the stripped binary to about a fifth; run.sh unpacks it on first use.
  xz -T0 -9 "$out/bin/xtask"
fi
total=$(size "$out")
[ "$total" -le "$limit" ] || fail "$out is $total bytes, over the 64 MiB limit"
echo "$out: $total bytes ($(( total / 1024 / 1024 )) MiB); binary $(ls "$out"/bin/) $(size "$out"/bin/*) bytes"
echo "Copy it to the node and run: bash $(basename "$out")/run.sh   (see run.sh --help)"
