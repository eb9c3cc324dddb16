#!/usr/bin/env python3
"""Compare two benchmark export folders (each DIR/<workload>.safetensors + .json).

  check_reference.py OURS REF [--workload celltype|neurons|large|all] [--retrain] [--require-bits]

For each workload:
  - tensors: same names, dtypes and shapes; bit-identical or not (reported, not an error,
    unless --require-bits); max |difference|;
  - trajectories: relative difference |ours - ref| / |ref| of loss_step1, loss_step2,
    loss_step10, loss_after_step10 and sum_abs_w_rec_step10 against the tolerances of
    REF's json (1e-4 for steps 1 and 2, 1e-3 for the rest);
  - --retrain: also retrain 10 steps from REF's tensors with bench/torch_bench.py and check
    that trajectory against REF's json the same way.
Exits 1 when a tensor is missing or misshapen, or a quantity is beyond tolerance.
"""

import argparse
import json
import math
import os
import sys

import torch
from safetensors.torch import load_file

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import torch_bench  # noqa: E402

CHECKED = ["loss_step1", "loss_step2", "loss_step10", "loss_after_step10", "sum_abs_w_rec_step10"]


def rel(x, ref):
    x, ref = float(x), float(ref)  # non-finite values are stored as "inf" / "nan"
    if not (math.isfinite(x) and math.isfinite(ref)):
        return 0.0 if x == ref else math.inf
    return abs(x - ref) / max(abs(ref), 1e-30)


def check_trajectory(got, ref_doc):
    tol = ref_doc["tolerance"]
    out = {k: rel(got[k], ref_doc[k]) for k in CHECKED}
    return out, all(out[k] <= tol[k + "_rel"] for k in CHECKED)


def check_tensors(a, b):
    """Returns (problems, bit_identical, max_abs_diff per tensor)."""
    problems, bits, diffs = [], True, {}
    for k in sorted(set(a) | set(b)):
        if k not in a or k not in b:
            problems.append(f"{k}: only in {'ours' if k in a else 'ref'}")
            continue
        x, y = a[k], b[k]
        if x.dtype != y.dtype or x.shape != y.shape:
            problems.append(f"{k}: {x.dtype}{tuple(x.shape)} vs {y.dtype}{tuple(y.shape)}")
            continue
        same = x.contiguous().view(torch.uint8).equal(y.contiguous().view(torch.uint8)) \
            if x.numel() else True
        bits &= same
        diffs[k] = float((x.double() - y.double()).abs().max()) if x.numel() else 0.0
    return problems, bits, diffs


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("ours")
    ap.add_argument("ref")
    ap.add_argument("--workload", default="all", choices=torch_bench.WORKLOADS + ("all",))
    ap.add_argument("--retrain", action="store_true",
                    help="also retrain from REF's tensors and check against REF's json")
    ap.add_argument("--require-bits", action="store_true",
                    help="fail unless the tensors are bit-identical")
    a = ap.parse_args(argv)
    names = torch_bench.WORKLOADS if a.workload == "all" else (a.workload,)
    ok = True
    for name in names:
        paths = {d: os.path.join(d, name) for d in (a.ours, a.ref)}
        docs = {d: json.load(open(p + ".json")) for d, p in paths.items()}
        tens = {d: load_file(p + ".safetensors") for d, p in paths.items()}
        problems, bits, diffs = check_tensors(tens[a.ours], tens[a.ref])
        traj_rel, traj_ok = check_trajectory(docs[a.ours], docs[a.ref])
        res = {"workload": name, "tensor_problems": problems, "bit_identical": bits,
               "max_abs_diff": diffs, "rel": traj_rel, "within_tolerance": traj_ok}
        good = traj_ok and not problems and (bits or not a.require_bits)
        if a.retrain:
            spec, t = torch_bench.load(a.ref, name)
            got = torch_bench.trajectory(spec, t)
            res["retrain_rel"], r_ok = check_trajectory(got, docs[a.ref])
            res["retrain_within_tolerance"] = r_ok
            good &= r_ok
        res["ok"] = good
        ok &= good
        print(torch_bench.dumps(res), flush=True)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
