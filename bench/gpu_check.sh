#!/usr/bin/env bash
# The CUDA checks of a `cuda` build, on a machine with an NVIDIA GPU and PyTorch (python3 with torch).
#
# Usage (from the repository root):
#   bench/gpu_check.sh FITRNN_CUDA_BINARY OUTDIR [EXTRA_TORCH_SCRIPT]
#
# Build the binary with `cargo build --release --features cuda` (needs the CUDA toolkit). Each check
# runs on its own, so one failure does not hide the others; everything goes to OUTDIR/log.txt and the
# machine-readable results to OUTDIR/*.jsonl, and the run directories are packed into
# OUTDIR/runs.tar.gz.
#   0. start-up: the first CUDA process JIT-compiles candle's PTX (cached by the driver in
#      $CUDA_CACHE_PATH, default ~/.nv/ComputeCache); a second identical process shows the cached cost.
#   a. agreement: 10-step trajectories of the small workloads from the exported tensors of
#      tests/fixtures/torch_bench, on the CPU and on the GPU (relative differences; 1e-4 expected),
#      and both against the PyTorch float32 CPU reference in the same files.
#   b. speed: `fitrnn bench --device cuda` and bench/torch_bench.py --device cuda interleaved, twice
#      (plus EXTRA_TORCH_SCRIPT --device cuda --json once, if given: any script with the same
#      workloads and JSON lines), and the autograd step on the GPU for scale.
#   c. the default config (configs/mouse_v1.yaml) fitted end to end on the GPU, and on the CPU for
#      comparison.
#   d. how the GPU step's cost grows with N and T (`fitrnn bench --scaling --device cuda`).
set -uo pipefail
bin=$(readlink -f "$1")
out=$(mkdir -p "$2" && readlink -f "$2")
extra=${3:-}
cd "$(dirname "$0")/.."
log="$out/log.txt"
: > "$log"
say() { echo "== $*" | tee -a "$log"; }
# step NAME SECONDS CMD...: run CMD with a time limit, stdout to the log, report its exit status
step() {
    local name=$1 limit=$2; shift 2
    say "$name: $*"
    local t0=$(date +%s%N)
    timeout "$limit" "$@" >> "$log" 2>&1
    local rc=$?
    say "$name: exit $rc after $(( ($(date +%s%N) - t0) / 1000000 )) ms"
}

say "machine"
nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm --format=csv >> "$log" 2>&1
python3 -c 'import torch; print("torch", torch.__version__, torch.cuda.get_device_name(0))' >> "$log" 2>&1
nproc >> "$log"
"$bin" --version >> "$log" 2>&1

# 0. start-up cost, cold and then with the driver's cache
step "first CUDA process (JIT of PTX)" 120 "$bin" bench --workload neurons --small --device cuda --steps 1 --warmup 0 --json
step "second CUDA process (cached)" 60 "$bin" bench --workload neurons --small --device cuda --steps 1 --warmup 0 --json

# a. agreement
fx=tests/fixtures/torch_bench
step "trajectory cpu" 60 sh -c "'$bin' bench --from $fx --device cpu > '$out/traj_cpu.jsonl'"
step "trajectory cuda" 60 sh -c "'$bin' bench --from $fx --device cuda > '$out/traj_cuda.jsonl'"
step "trajectory torch cuda" 120 sh -c "python3 bench/torch_bench.py --from $fx --device cuda > '$out/traj_torch_cuda.jsonl'"
step "agreement" 30 python3 - "$out" "$fx" <<'EOF'
import json, sys
out, fx = sys.argv[1], sys.argv[2]
def read(name):
    return {d["workload"]: d.get("trajectory", d) for d in map(json.loads, open(f"{out}/{name}"))}
cpu, gpu, tgpu = read("traj_cpu.jsonl"), read("traj_cuda.jsonl"), read("traj_torch_cuda.jsonl")
def rel(a, b):
    return max(abs(x - y) / max(abs(y), 1e-30) for x, y in zip(a, b))
rows = []
for w in cpu:
    ref = json.load(open(f"{fx}/{w}.json"))
    series = lambda t: t["losses"] + t["sum_abs_w_rec"] + [t["loss_after" if "loss_after" in t else "loss_after_step10"]]
    r = dict(workload=w,
             fitrnn_cuda_vs_fitrnn_cpu=rel(series(gpu[w]), series(cpu[w])),
             fitrnn_cuda_vs_torch_cpu=rel(series(gpu[w]), series(ref)),
             fitrnn_cpu_vs_torch_cpu=rel(series(cpu[w]), series(ref)),
             torch_cuda_vs_torch_cpu=rel(series(tgpu[w]), series(ref)) if w in tgpu else None)
    rows.append(r)
    print(json.dumps(r))
with open(f"{out}/agreement.jsonl", "w") as fh:
    fh.writelines(json.dumps(r) + "\n" for r in rows)
bad = [r["workload"] for r in rows if r["fitrnn_cuda_vs_fitrnn_cpu"] > 1e-4]
print("all within 1e-4" if not bad else f"beyond 1e-4: {bad}")
EOF

# b. speed, interleaved
for rep in 1 2; do
    step "fitrnn cuda, repeat $rep" 150 sh -c "'$bin' bench --workload all --device cuda --json | sed 's/^{/{\"impl\":\"fitrnn\",\"repeat\":$rep,/' >> '$out/bench.jsonl'"
    step "torch cuda, repeat $rep" 150 sh -c "python3 bench/torch_bench.py --workload all --device cuda --json | sed 's/^{/{\"impl\":\"torch\",\"repeat\":$rep,/' >> '$out/bench.jsonl'"
done
if [[ -n "$extra" ]]; then
    step "extra torch script cuda" 150 sh -c "python3 '$extra' --device cuda | grep '^{' | sed 's/^{/{\"impl\":\"torch_extra\",\"repeat\":1,/' >> '$out/bench.jsonl'"
fi
step "fitrnn cuda autograd (neurons)" 120 sh -c "'$bin' bench --workload neurons --device cuda --backward autograd --steps 5 --warmup 1 --json | sed 's/^{/{\"impl\":\"fitrnn_autograd\",\"repeat\":1,/' >> '$out/bench.jsonl'"
step "table" 30 python3 bench/compare_table.py "$out/bench.jsonl"

# c. the default config end to end
runs=$(mktemp -d)
step "default config on cuda" 240 "$bin" --config configs/mouse_v1.yaml --set device=cuda --set "output.dir=$runs/cuda"
step "default config on cpu" 120 "$bin" --config configs/mouse_v1.yaml --set device=cpu --set "output.dir=$runs/cpu"
tar -C "$runs" -czf "$out/runs.tar.gz" . >> "$log" 2>&1

# d. scaling on the GPU
step "scaling on cuda" 200 "$bin" bench --scaling --device cuda --steps 3 --warmup 1
say "done"
