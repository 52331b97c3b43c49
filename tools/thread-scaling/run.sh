#!/usr/bin/env bash
# Issue 15's thread-scaling sweep on the device machine (16 cores, no .NET, no network), from the repository root:
# unpacks the carry that tools/thread-scaling/publish.sh built, describes the machine, and runs the harness's scaling
# section (ours and PyTorch at 1, 2, 4, 8 and 16 threads, batch 128, 512 and 2048) within a time budget. The whole
# output goes to "$OUT/scaling.txt" (./out when OUT is unset); the exit status is non-zero when anything failed.
#
#   run(command="bash tools/thread-scaling/run.sh", carry=["tools/thread-scaling/dist/carry"], timeout_s=540)
#
# Environment: SCALING_TIME_BUDGET seconds for the section (default 420, data loading included), SCALING_THREADS
# (e.g. 1,2; default the harness's 1,2,4,8,16 clipped to the cores), SCALING_BATCHES (default 128,512,2048),
# SCALING_ARGS (more harness options, e.g. --quick or --no-peers).
set -euo pipefail
cd "$(dirname "$0")/../.."
out="${OUT:-./out}"
mkdir -p "$out"
log="$out/scaling.txt"

sweep() {
    local carry=tools/thread-scaling/dist/carry budget="${SCALING_TIME_BUDGET:-420}"
    echo "== thread-scaling sweep (issue 15), $(date -u '+%Y-%m-%d %H:%M:%S UTC'), commit $(git rev-parse --short HEAD 2>/dev/null || echo '?')"
    if [ ! -f "$carry/harness.tar.gz" ] || [ ! -d "$carry/data" ]; then
        echo "run.sh: no carry in $carry: run tools/thread-scaling/publish.sh and carry tools/thread-scaling/dist/carry"
        return 1
    fi
    if command -v sha256sum > /dev/null && [ -f "$carry/SHA256SUMS" ]; then
        (cd "$carry" && sha256sum --quiet -c SHA256SUMS) || { echo "run.sh: the carry is damaged (SHA256SUMS)"; return 1; }
    fi
    local harness
    # (errexit does not hold in a function run left of ||: every step that can fail says so itself)
    harness="$(mktemp -d "${TMPDIR:-/tmp}/mlnmb-scaling.XXXXXX")" || { echo "run.sh: mktemp failed"; return 1; }
    trap 'rm -rf "$harness"' EXIT
    tar -C "$harness" -xzf "$carry/harness.tar.gz" || { echo "run.sh: unpacking $carry/harness.tar.gz failed"; return 1; }

    echo "== machine"
    if command -v lscpu > /dev/null; then lscpu; else grep -m1 'model name' /proc/cpuinfo || true; fi
    echo "nproc: $(nproc)   load average: $(cut -d' ' -f1-3 /proc/loadavg)"
    if command -v free > /dev/null; then free -g; fi
    # The harness looks for torch the same way (python3 on PATH, then /usr/bin/python3) and skips the peer without it.
    local python found=""
    for python in python3 /usr/bin/python3; do
        if "$python" -c 'import sys, torch; print("PyTorch", torch.__version__, "in", sys.executable, "on", torch.get_num_threads(), "threads by default")' \
            2>/dev/null; then found=1; break; fi
    done
    [ -n "$found" ] || echo "PyTorch: neither python3 nor /usr/bin/python3 imports torch: the PyTorch peer is skipped"

    local -a args=(--only scaling --data "$carry/data" --time-budget "$budget")
    [ -n "${SCALING_THREADS:-}" ] && args+=(--thread-list "$SCALING_THREADS")
    [ -n "${SCALING_BATCHES:-}" ] && args+=(--batches "$SCALING_BATCHES")
    # shellcheck disable=SC2206 # SCALING_ARGS is a list of options, split on purpose
    [ -n "${SCALING_ARGS:-}" ] && args+=(${SCALING_ARGS})
    echo "== $harness/MlNetMiniBatch.Benchmarks ${args[*]}"
    local status=0
    timeout --signal=TERM --kill-after=10 $((budget + 60)) "$harness/MlNetMiniBatch.Benchmarks" "${args[@]}" || status=$?
    echo "== harness exit status $status, load average $(cut -d' ' -f1-3 /proc/loadavg), $SECONDS s since run.sh started"
    [ "$status" -eq 0 ] || return "$status"
}

status=0
sweep 2>&1 | tee "$log" || status=$?
[ "$status" -eq 0 ] && ! grep -q '"section":"scaling","case":"summary"' "$log" && { echo "run.sh: the section printed no summary" | tee -a "$log"; status=1; }
echo "output: $log"
exit "$status"
