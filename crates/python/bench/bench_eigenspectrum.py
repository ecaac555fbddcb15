"""specreg.eigenspectrum against numpy, side by side in one run.

    python crates/python/bench/bench_eigenspectrum.py [--rows 60000] [--cols 2000] [--repeats 3]

Times `specreg.eigenspectrum(X)` and `np.linalg.eigvalsh(np.cov(X.T))` on the same float32 matrix,
alternating, best of `--repeats`, with numpy's BLAS on as many threads as it takes by default; prints
the processor, numpy's BLAS, each time, the ratio and the installed extension's size.
"""

import argparse
import os
import platform
import time

import numpy as np

import specreg


def processor() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            info = f.read()
        name = next(line.split(":", 1)[1].strip() for line in info.splitlines() if line.startswith("model name"))
        family = next(line.split(":", 1)[1].strip() for line in info.splitlines() if line.startswith("cpu family"))
        model = next(line.split(":", 1)[1].strip() for line in info.splitlines() if line.startswith("model\t"))
        flags = next(line for line in info.splitlines() if line.startswith("flags"))
        simd = "avx512f" if "avx512f" in flags else "avx2" if "avx2" in flags else "sse"
        return f"{name} (family {family}, model {model}, {simd}), {os.cpu_count()} logical CPUs"
    except (OSError, StopIteration):
        return platform.processor() or "unknown processor"


def blas() -> str:
    try:
        config = np.show_config(mode="dicts")
        b = config["Build Dependencies"]["blas"]
        return f"{b.get('name')} {b.get('version')}"
    except Exception:
        return "unknown BLAS"


def best_of(repeats, f):
    best, result = float("inf"), None
    for _ in range(repeats):
        start = time.perf_counter()
        result = f()
        best = min(best, time.perf_counter() - start)
    return best, result


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=60_000)
    parser.add_argument("--cols", type=int, default=2_000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    x = (np.random.default_rng(1).standard_normal((args.rows, args.cols), dtype=np.float32) * np.arange(1, args.cols + 1, dtype=np.float32) ** -0.5 + 0.3).astype(np.float32)
    print(f"eigenspectrum of {args.rows} x {args.cols} float32; {processor()}; numpy {np.__version__} with {blas()}")
    ours, theirs = [], []
    values = reference = None
    for _ in range(args.repeats):
        t, values = best_of(1, lambda: specreg.eigenspectrum(x))
        ours.append(t)
        t, reference = best_of(1, lambda: np.linalg.eigvalsh(np.cov(x.T))[::-1])
        theirs.append(t)
    agreement = np.max(np.abs(values - reference)) / reference[0]
    print(f"specreg.eigenspectrum            {min(ours):8.2f} s")
    print(f"np.linalg.eigvalsh(np.cov(X.T))  {min(theirs):8.2f} s")
    print(f"ratio (ours / numpy)             {min(ours) / min(theirs):8.2f}   (largest difference {agreement:.1e} of λ_1)")
    native = specreg._native.__file__
    print(f"extension module: {native} ({os.path.getsize(native) / 2**20:.1f} MiB)")


if __name__ == "__main__":
    main()
