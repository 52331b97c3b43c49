"""Shared helpers of the benchmark peers: result lines and a description of the BLAS that is loaded."""
import json
import os
import sys


def emit(record):
    """One machine-readable result line, read by the C# harness."""
    print("PEER " + json.dumps(record), flush=True)


def blas_info():
    """Which BLAS library and kernel this process runs (threadpoolctl when installed, else /proc/self/maps)."""
    info = {"OPENBLAS_CORETYPE": os.environ.get("OPENBLAS_CORETYPE"),
            "OPENBLAS_NUM_THREADS": os.environ.get("OPENBLAS_NUM_THREADS")}
    try:
        import threadpoolctl
        for pool in threadpoolctl.threadpool_info():
            if pool.get("user_api") == "blas":
                info.update({"blas": pool.get("internal_api"), "version": pool.get("version"),
                             "kernel": pool.get("architecture"), "threading": pool.get("threading_layer"),
                             "threads": pool.get("num_threads"), "library": pool.get("filepath")})
                break
    except ImportError:
        info["note"] = "threadpoolctl not installed (apt-get install python3-threadpoolctl): kernel unknown"
    if "library" not in info:
        try:
            with open("/proc/self/maps") as maps:
                libs = sorted({line.split()[-1] for line in maps if "blas" in line.lower() and "/" in line})
            info["library"] = ",".join(libs)
        except OSError:
            pass
    return info


def describe_blas(info):
    return (f"{info.get('blas', 'BLAS')} {info.get('version', '')} kernel={info.get('kernel', '?')} "
            f"threading={info.get('threading', '?')} library={info.get('library', '?')}")


def fail(message, code=3):
    print(message, file=sys.stderr, flush=True)
    sys.exit(code)
