#!/usr/bin/env python3
"""Table of fitrnn vs PyTorch step times from the JSON lines of bench/compare.sh.

  compare_table.py FILE.jsonl [FILE.jsonl ...]

Lines carry "impl" (fitrnn or torch; other tags are skipped); lines without it are
classified by their "implementation" field. GPU lines are rows of their own ("<workload>
cuda", threads 0). Per (workload, small, threads): the median over repeats of each
side's ms_median, ratio = fitrnn / torch (< 1: fitrnn faster), GFLOP/s of each. Per
workload: each side's best thread setting and the ratio of the two bests.
"""

import json
import statistics
import sys
from collections import defaultdict


def impl_of(d):
    if "impl" in d:   # other tags (e.g. fitrnn_autograd) are variants, not the two sides
        return d["impl"] if d["impl"] in ("fitrnn", "torch") else None
    name = d.get("implementation", "")
    return "fitrnn" if name.startswith("fitrnn") else "torch" if name.startswith("torch") else None


def main(paths):
    ms = defaultdict(list)     # (workload, small, threads, impl) -> [ms_median per repeat]
    gflop = {}
    for path in paths:
        for line in open(path):
            if not line.startswith("{"):
                continue
            d = json.loads(line)
            impl = impl_of(d)
            if impl is None or "ms_median" not in d:
                continue
            # GPU runs: the CPU thread count is not a setting of the step, so it is not a key
            cuda = d.get("device", "cpu").startswith("cuda")
            name = d["workload"] + (" cuda" if cuda else "")
            key = (name, bool(d.get("small")), 0 if cuda else int(d["threads"]))
            ms[key + (impl,)].append(float(d["ms_median"]))
            gflop[key[:2]] = float(d["gflop_per_step"])

    def med(key):
        v = ms.get(key)
        return statistics.median(v) if v else None

    def fmt(x, spec):
        return format(x, spec) if x is not None else format("-", ">" + spec.split(".")[0])

    def fms(x):  # milliseconds: more decimals for short steps
        return f"{'-':>12}" if x is None else f"{x:12.{1 if x >= 100 else 2 if x >= 1 else 3}f}"

    order = {"celltype": 0, "neurons": 1, "large": 2}
    rows = sorted({k[:3] for k in ms}, key=lambda k: (order.get(k[0].split()[0], 3), k[0], k[1], k[2]))
    print(f"{'workload':<18}{'threads':>8}{'fitrnn ms':>12}{'torch ms':>12}{'ratio':>8}"
          f"{'fitrnn GFLOP/s':>16}{'torch GFLOP/s':>15}{'runs':>7}")
    best = defaultdict(dict)   # (workload, small) -> impl -> (ms, threads)
    for w, small, t in rows:
        f, p = med((w, small, t, "fitrnn")), med((w, small, t, "torch"))
        g = gflop[(w, small)]
        for impl, x in (("fitrnn", f), ("torch", p)):
            if x is not None and (impl not in best[(w, small)] or x < best[(w, small)][impl][0]):
                best[(w, small)][impl] = (x, t)
        ratio = f / p if f and p else None
        n = f"{len(ms.get((w, small, t, 'fitrnn'), []))}/{len(ms.get((w, small, t, 'torch'), []))}"
        print(f"{w + (' (small)' if small else ''):<18}{t:>8}{fms(f)}{fms(p)}"
              f"{fmt(ratio, '8.2f')}{fmt(f and g / f * 1e3, '16.2f')}"
              f"{fmt(p and g / p * 1e3, '15.2f')}{n:>7}")
    print("\nbest thread setting per workload (ratio = best fitrnn / best torch):")
    for (w, small), b in sorted(best.items(), key=lambda kv: (order.get(kv[0][0].split()[0], 3), kv[0])):
        f, p = b.get("fitrnn"), b.get("torch")
        ratio = f[0] / p[0] if f and p else None
        desc = lambda x: f"{x[0]:.{1 if x[0] >= 100 else 3}f} ms (threads {x[1]})" if x else "-"  # noqa: E731
        print(f"  {w + (' (small)' if small else ''):<18} fitrnn {desc(f):<26} "
              f"torch {desc(p):<26} ratio {fmt(ratio, '.2f')}")
    return 0


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    sys.exit(main(sys.argv[1:]))
