"""Reference sgemm GFLOPS through numpy (OpenBLAS), measured like the C# harness measures Gemm.Multiply.

Usage: numpy_gemm.py --shapes JSON --samples N --budget SECONDS
JSON: a list of {"name", "ta", "tb", "m", "n", "k"}: C[m,n] = op(A)·op(B), op = transpose when ta / tb is true.
Threads: set OPENBLAS_NUM_THREADS (and OMP_NUM_THREADS) before starting; the harness does.
Prints one 'PEER {json}' line describing the BLAS, then one per shape with the median GFLOPS.
"""
import argparse
import json
import math
import time

from peer_common import blas_info, describe_blas, emit, fail

try:
    import numpy as np
except ImportError:
    fail("numpy is not installed (apt-get install python3-numpy)")


def measure(call, flops, samples, budget):
    """Warm up for 0.1 s, size a sample to at least 10 ms, then time up to `samples` samples within `budget`
    seconds (at least 3); returns the median GFLOPS and the sample count."""
    start = time.perf_counter()
    calls = 0
    while calls < 3 or time.perf_counter() - start < 0.1:
        call()
        calls += 1
    per_call = (time.perf_counter() - start) / calls
    reps = max(1, math.ceil(0.01 / per_call))
    results = []
    begin = time.perf_counter()
    while len(results) < samples and (len(results) < 3 or time.perf_counter() - begin < budget):
        t0 = time.perf_counter()
        for _ in range(reps):
            call()
        results.append(flops * reps / (time.perf_counter() - t0) / 1e9)
    results.sort()
    mid = len(results) // 2
    median = results[mid] if len(results) % 2 else 0.5 * (results[mid - 1] + results[mid])
    return median, len(results)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--shapes", required=True)
    parser.add_argument("--samples", type=int, default=15)
    parser.add_argument("--budget", type=float, default=2.0)
    args = parser.parse_args()

    rng = np.random.default_rng(1)
    first = True
    for shape in json.loads(args.shapes):
        m, n, k, ta, tb = shape["m"], shape["n"], shape["k"], shape["ta"], shape["tb"]
        # Stored as the C# harness stores them (row-major); a transposed operand is a transposed view, which
        # numpy hands to sgemm as a transpose flag without copying.
        a = rng.uniform(-1, 1, (k, m) if ta else (m, k)).astype(np.float32)
        b = rng.uniform(-1, 1, (n, k) if tb else (k, n)).astype(np.float32)
        c = np.empty((m, n), dtype=np.float32)
        op_a = a.T if ta else a
        op_b = b.T if tb else b
        np.matmul(op_a, op_b, out=c)
        if first:  # OpenBLAS is loaded lazily by the first product
            info = blas_info()
            info.update({"kind": "blas", "numpy": np.__version__})
            emit(info)
            print(f"numpy {np.__version__}: {describe_blas(info)}", flush=True)
            first = False
        gflops, count = measure(lambda: np.matmul(op_a, op_b, out=c), 2.0 * m * n * k, args.samples, args.budget)
        emit({"kind": "gemm", "name": shape["name"], "gflops": gflops, "samples": count})


if __name__ == "__main__":
    main()
