#!/usr/bin/env bash
# Side-by-side speed of `fitrnn bench` and the PyTorch reference (bench/torch_bench.py).
#
# Usage (from anywhere; runs in the repository root):
#   bench/compare.sh [--workload celltype|neurons|large|all]... [--threads "1 2"]
#                    [--repeats 2] [--steps S] [--warmup W] [--small]
#                    [--fitrnn target/release/fitrnn] [--out FILE]
#
# For every repeat, workload and thread count it runs
#   target/release/fitrnn bench --workload W --threads T --json
#   $PYTHON bench/torch_bench.py --workload W --threads T --json
# one after the other, alternating which goes first from one repeat to the next, so that a
# change in machine load hits both alike. Every JSON line is tagged with "impl" (fitrnn or
# torch), "repeat" and "loadavg_before" and appended to FILE (default
# target/bench/compare-<date>.jsonl). Then bench/compare_table.py prints, per workload and
# thread count, the median over repeats of each side's median ms per step, the ratio
# fitrnn / torch (< 1: fitrnn faster) and both GFLOP/s, and per workload the ratio of the
# two best thread settings.
#
# Defaults: workloads celltype and neurons (full-size large takes about a minute per run),
# threads "1 2", 2 repeats, each tool's own steps / warm-up defaults (20 / 3; 3 / 1 for large).
# PYTHON: an interpreter with torch (default /tmp/torchenv/bin/python if present, else python3).
# Build first: cargo build --release. Run it on a quiet machine: a second busy core ruins the
# 2-thread numbers of both tools.
set -euo pipefail
cd "$(dirname "$0")/.."

workloads=()
threads="1 2"
repeats=2
fitrnn=target/release/fitrnn
out=""
extra=()
while [[ $# -gt 0 ]]; do
    case "$1" in
        --workload) if [[ "$2" == all ]]; then workloads+=(celltype neurons large); else workloads+=("$2"); fi; shift 2 ;;
        --threads) threads="$2"; shift 2 ;;
        --repeats) repeats="$2"; shift 2 ;;
        --steps|--warmup) extra+=("$1" "$2"); shift 2 ;;
        --small) extra+=(--small); shift ;;
        --fitrnn) fitrnn="$2"; shift 2 ;;
        --out) out="$2"; shift 2 ;;
        -h|--help) sed -n '2,/^set -e/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
        *) echo "compare.sh: unknown argument $1 (see --help)" >&2; exit 2 ;;
    esac
done
[[ ${#workloads[@]} -gt 0 ]] || workloads=(celltype neurons)

if [[ -z "${PYTHON:-}" ]]; then
    if [[ -x /tmp/torchenv/bin/python ]]; then PYTHON=/tmp/torchenv/bin/python; else PYTHON=python3; fi
fi
"$PYTHON" -c 'import torch' 2>/dev/null || {
    echo "compare.sh: $PYTHON cannot import torch; set PYTHON (see bench/README.md)" >&2; exit 2; }
[[ -x "$fitrnn" ]] || { echo "compare.sh: no $fitrnn; run cargo build --release" >&2; exit 2; }

mkdir -p target/bench
out="${out:-target/bench/compare-$(date +%Y%m%d-%H%M%S).jsonl}"
: > "$out"

# run IMPL REPEAT CMD...: run one benchmark, tag its JSON lines, append them to $out
run() {
    local impl="$1" rep="$2"; shift 2
    local load lines
    load=$(cut -d' ' -f1 /proc/loadavg 2>/dev/null || echo null)
    echo "[repeat $rep] $*" >&2
    if ! lines=$("$@"); then
        echo "compare.sh: failed: $*" >&2
        return 0
    fi
    printf '%s\n' "$lines" | grep '^{' | "$PYTHON" -c '
import json, sys
for line in sys.stdin:
    d = json.loads(line)
    d.update(impl=sys.argv[1], repeat=int(sys.argv[2]), loadavg_before=float(sys.argv[3]))
    print(json.dumps(d))' "$impl" "$rep" "$load" >> "$out"
}

for ((r = 1; r <= repeats; r++)); do
    for w in "${workloads[@]}"; do
        for t in $threads; do
            f=(run fitrnn "$r" "$fitrnn" bench --workload "$w" --threads "$t" --json "${extra[@]}")
            p=(run torch "$r" "$PYTHON" bench/torch_bench.py --workload "$w" --threads "$t" --json "${extra[@]}")
            if ((r % 2)); then "${f[@]}"; "${p[@]}"; else "${p[@]}"; "${f[@]}"; fi
        done
    done
done

echo "JSON lines: $out" >&2
"$PYTHON" bench/compare_table.py "$out"
