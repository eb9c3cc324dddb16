#!/usr/bin/env python3
"""PyTorch counterpart of `fitrnn bench`: the three benchmark workloads in plain PyTorch.

The workloads, initialisation, optimizer, projection, FLOP count and JSON fields follow
the benchmark spec (bench/README.md summarises it):

  celltype  1440 units in 18 populations, a = W_in u + W_rec r, o = tanh(a), r = relu(o),
            frozen per-population readout of o; trains W_rec, W_in
  neurons   500 leaky units (alpha 0.5), 400 recorded; trains W_rec, W_in, b, g, c
  large     5000 leaky units, all recorded

One training step = forward over the batch, MSE, backward, Adam (lr 1e-3), Dale
projection of W_rec (keep W[i,j] iff s_j W[i,j] > 0), multiplication by the fixed mask.

Usage:
  torch_bench.py [--workload celltype|neurons|large|all] [--small] [--device cpu|cuda]
                 [--threads N] [--steps S] [--warmup W] [--seed 0] [--json]
  torch_bench.py --export DIR [--workload ...]   # small variants: DIR/<w>.safetensors + .json
  torch_bench.py --from DIR [--workload ...]     # 10-step trajectory from DIR/<w>.safetensors
"""

import argparse
import json
import math
import os
import statistics
import sys
import time

import torch
import torch.nn.functional as F

WORKLOADS = ("celltype", "neurons", "large")
TRAJ_STEPS = 10
TOLERANCE = {"loss_step1_rel": 1e-4, "loss_step2_rel": 1e-4, "loss_step10_rel": 1e-3,
             "loss_after_step10_rel": 1e-3, "sum_abs_w_rec_step10_rel": 1e-3}


# ---------------------------------------------------------------- shapes


def shape(name, small):
    """Hyper-parameters of a workload; celltype also gets its population list."""
    if name == "celltype":
        sizes = [12, 2, 1] if small else [192, 32, 16]      # E, I, I per (area, layer)
        pops, start = [], 0
        for _ in range(2 * 3):                               # area x layer
            for size, sign in zip(sizes, (1, -1, -1)):
                pops.append({"start": start, "size": size, "sign": sign})
                start += size
        return dict(workload=name, small=small, N=start, D_in=18, B=8 if small else 200, T=15,
                    n_out=len(pops), n_recorded=None, alpha=None, p_conn=0.3, populations=pops)
    N, rec, D, B, T, p = {("neurons", False): (500, 400, 8, 16, 200, 0.2),
                          ("neurons", True): (50, 40, 8, 4, 30, 0.2),
                          ("large", False): (5000, 5000, 16, 8, 100, 0.1),
                          ("large", True): (100, 100, 16, 2, 20, 0.1)}[(name, small)]
    return dict(workload=name, small=small, N=N, D_in=D, B=B, T=T, n_out=rec, n_recorded=rec,
                alpha=0.5, p_conn=p, populations=None)


def is_celltype(s):
    return s["populations"] is not None


def signs(s):
    if is_celltype(s):
        return torch.cat([torch.full((p["size"],), float(p["sign"])) for p in s["populations"]])
    return torch.where(torch.arange(s["N"]) % 5 == 4, -1.0, 1.0)


def gflop_per_step(s):
    """3 x the forward matmul FLOPs; the first recurrent product (zero state) is skipped."""
    N, D, B, T = s["N"], s["D_in"], s["B"], s["T"]
    fwd = (T - 1) * 2 * B * N * N + T * 2 * B * N * D + (T * 2 * B * N if is_celltype(s) else 0)
    return 3 * fwd / 1e9


def trainable(s):
    return ["w_rec", "w_in"] if is_celltype(s) else ["w_rec", "w_in", "b", "readout_g", "readout_c"]


# ---------------------------------------------------------------- initial tensors


def draw(s, seed):
    """All initial tensors, float32 on the CPU, from one generator.

    Draw order: mask, W_rec magnitudes, W_in, (celltype: readout weights, readout
    offsets), inputs, targets. U(a, b) = a + (b - a) * rand, except the celltype readout,
    U(-c, c) = (2 rand - 1) c: the same distribution, and the rounding of the shared
    reference exports, so that seed 0 reproduces them bit for bit.
    """
    g = torch.Generator().manual_seed(seed)
    N, D, B, T = s["N"], s["D_in"], s["B"], s["T"]

    def U(shape_, lo, hi):
        return lo + (hi - lo) * torch.rand(shape_, generator=g)

    sign = signs(s)
    mask = (torch.rand((N, N), generator=g) < s["p_conn"]).float()
    mask.fill_diagonal_(0.0)
    if is_celltype(s):
        mag = U((N, N), 0.0, 1.0 / math.sqrt(N))
    else:  # E/I balanced: inhibitory columns scaled by n_E / n_I
        n_i = int((sign < 0).sum())
        k = torch.where(sign < 0, (N - n_i) / n_i, 1.0)
        mag = k * U((N, N), 0.0, 1.0 / (s["p_conn"] * N))
    w_rec = torch.where(mask > 0, sign * mag, 0.0)           # +0.0 where masked, not -0.0
    w_in = U((N, D), -1.0 / math.sqrt(D), 1.0 / math.sqrt(D))
    t = dict(w_rec=w_rec, w_in=w_in, mask=mask, sign=sign)
    if is_celltype(s):
        pops = s["populations"]
        population = torch.cat([torch.full((p["size"],), i, dtype=torch.int64)
                                for i, p in enumerate(pops)])
        pop_bound = torch.tensor([1.0 / math.sqrt(p["size"]) for p in pops])
        t["readout_w"] = (2 * torch.rand(N, generator=g) - 1) * pop_bound[population]
        t["readout_c"] = (2 * torch.rand(len(pops), generator=g) - 1) * pop_bound
        t["population"] = population
        t["readout_matrix"] = torch.zeros(len(pops), N)
        t["readout_matrix"][population, torch.arange(N)] = t["readout_w"]
    else:
        r = s["n_recorded"]
        t.update(b=torch.zeros(N), readout_g=torch.ones(r), readout_c=torch.zeros(r))
    t["inputs"] = torch.randn((B, T, D), generator=g)
    t["targets"] = torch.rand((B, T, s["n_out"]), generator=g)
    return t


# ---------------------------------------------------------------- model and step


class Model:
    """Parameters, fixed tensors, Adam, and one training step."""

    def __init__(self, s, tensors, device="cpu", dtype=torch.float32):
        self.s, self.device = s, torch.device(device)
        cast = lambda x: x.to(self.device, dtype).clone()  # noqa: E731
        self.p = {k: cast(tensors[k]).requires_grad_() for k in trainable(s)}
        fixed = ["mask", "sign", "inputs", "targets"]
        fixed += ["readout_matrix", "readout_c"] if is_celltype(s) else []
        self.f = {k: cast(tensors[k]) for k in fixed}
        self.opt = torch.optim.Adam(self.p.values(), lr=1e-3, betas=(0.9, 0.999), eps=1e-8,
                                    weight_decay=0.0)

    def loss(self):
        p, f, u = self.p, self.f, self.f["inputs"]
        w_t = p["w_rec"].t()
        if is_celltype(self.s):
            drive = u @ p["w_in"].t()                       # (B, T, N), all inputs at once
            os_, r = [], None
            for t in range(u.shape[1]):
                a = drive[:, t] if r is None else torch.addmm(drive[:, t], r, w_t)
                o = torch.tanh(a)
                r = torch.relu(o)
                os_.append(o)
            y = torch.stack(os_, 1) @ f["readout_matrix"].t() + f["readout_c"]
        else:
            al = self.s["alpha"]
            drive = u @ p["w_in"].t() + p["b"]
            rs, x = [], None
            for t in range(u.shape[1]):
                x = al * drive[:, 0] if x is None else \
                    (1 - al) * x + al * torch.addmm(drive[:, t], rs[-1], w_t)
                rs.append(torch.relu(x))
            y = torch.stack(rs, 1)[..., :self.s["n_recorded"]] * p["readout_g"] + p["readout_c"]
        return F.mse_loss(y, f["targets"])

    def step(self):
        """Returns the loss of this step's forward (parameters before the update)."""
        self.opt.zero_grad(set_to_none=True)
        loss = self.loss()
        loss.backward()
        self.opt.step()
        with torch.no_grad():
            w = self.p["w_rec"]
            w.mul_((w * self.f["sign"] > 0) * self.f["mask"])  # Dale projection, then mask
        return loss.detach()

    def sync(self):
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)


def trajectory(s, tensors, device="cpu", dtype=torch.float32, n=TRAJ_STEPS):
    m = Model(s, tensors, device, dtype)
    losses, sum_abs = [], []
    for _ in range(n):
        losses.append(float(m.step()))
        sum_abs.append(float(m.p["w_rec"].detach().double().abs().sum()))
    with torch.no_grad():
        after = float(m.loss())
    return {"loss_step1": losses[0], "loss_step2": losses[1], "loss_step10": losses[n - 1],
            "loss_after_step10": after, "sum_abs_w_rec_step10": sum_abs[n - 1],
            "losses": losses, "sum_abs_w_rec": sum_abs, "tolerance": TOLERANCE}


# ---------------------------------------------------------------- modes


def strict(x):
    """Strict JSON: non-finite floats become "inf", "-inf", "nan"."""
    if isinstance(x, float) and not math.isfinite(x):
        return "nan" if math.isnan(x) else ("inf" if x > 0 else "-inf")
    if isinstance(x, dict):
        return {k: strict(v) for k, v in x.items()}
    if isinstance(x, list):
        return [strict(v) for v in x]
    return x


def dumps(x, **kw):
    return json.dumps(strict(x), allow_nan=False, **kw)


def bench(s, a):
    m = Model(s, draw(s, a.seed), a.device)
    times, losses = [], []
    t_start = time.perf_counter()
    warmup_s = 0.0
    for i in range(a.warmup + a.steps):
        m.sync()
        t0 = time.perf_counter()
        loss = m.step()
        m.sync()
        t1 = time.perf_counter()
        losses.append(float(loss))                          # outside the timed region
        if i < a.warmup:
            warmup_s = t1 - t_start
        else:
            times.append((t1 - t0) * 1e3)
    med, gf = statistics.median(times), gflop_per_step(s)
    out = {"workload": s["workload"], "small": s["small"], "device": a.device,
           "threads": torch.get_num_threads(), "torch": torch.__version__,
           "implementation": f"torch {torch.__version__}",
           "N": s["N"], "B": s["B"], "T": s["T"], "D_in": s["D_in"], "n_out": s["n_out"],
           "seed": a.seed, "warmup": a.warmup, "steps": a.steps,
           "ms_median": round(med, 4), "ms_min": round(min(times), 4),
           "ms_max": round(max(times), 4), "warmup_s": round(warmup_s, 3),
           "loss_first": losses[0], "loss_last": losses[-1],
           "gflop_per_step": round(gf, 4), "gflops": round(gf / (med / 1e3), 3)}
    if a.json:
        print(dumps(out), flush=True)
    else:
        print(f"{s['workload']:<9} N={s['N']:<5} B={s['B']:<4} T={s['T']:<4} threads={out['threads']}"
              f"  median {med:9.2f} ms  min {min(times):9.2f}  max {max(times):9.2f}"
              f"  {out['gflops']:8.2f} GFLOP/s  loss {losses[0]:.6g} -> {losses[-1]:.6g}",
              flush=True)


def export(s, a):
    from safetensors.torch import save_file
    t = draw(s, a.seed)
    names = ["w_rec", "w_in", "mask", "sign", "inputs", "targets"] + (
        ["readout_w", "readout_c", "readout_matrix", "population"] if is_celltype(s)
        else ["b", "readout_g", "readout_c"])
    os.makedirs(a.export, exist_ok=True)
    base = os.path.join(a.export, s["workload"])
    save_file({k: t[k].contiguous() for k in names}, base + ".safetensors",
              metadata={"workload": s["workload"], "seed": str(a.seed)})
    doc = dict(s, seed=a.seed, steps=TRAJ_STEPS, trainable=trainable(s),
               optimizer={"name": "adam", "lr": 1e-3, "betas": [0.9, 0.999], "eps": 1e-8,
                          "weight_decay": 0.0},
               torch=torch.__version__, threads=torch.get_num_threads())
    doc.update(trajectory(s, t))                            # float32 on the CPU
    with open(base + ".json", "w") as fh:
        fh.write(dumps(doc, indent=1) + "\n")
    print(dumps({"export": s["workload"], "bytes": os.path.getsize(base + ".safetensors"),
                 "loss_step1": doc["loss_step1"], "loss_step10": doc["loss_step10"]}))


def load(dir_, name):
    from safetensors.torch import load_file
    with open(os.path.join(dir_, name + ".json")) as fh:
        doc = json.load(fh)
    keys = ["workload", "small", "N", "D_in", "B", "T", "n_out", "n_recorded", "alpha",
            "p_conn", "populations"]
    return {k: doc[k] for k in keys}, load_file(os.path.join(dir_, name + ".safetensors"))


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--workload", default="all", choices=WORKLOADS + ("all",))
    ap.add_argument("--small", action="store_true", help="the small variants")
    ap.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    ap.add_argument("--threads", type=int, help="torch.set_num_threads (default: torch's)")
    ap.add_argument("--steps", type=int, help="timed steps (default 20; 3 for full-size large)")
    ap.add_argument("--warmup", type=int, help="untimed steps (default 3; 1 for full-size large)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--json", action="store_true", help="one JSON line per workload")
    ap.add_argument("--export", metavar="DIR", help="write the small variants' tensors and "
                    "10-step trajectories to DIR")
    ap.add_argument("--from", dest="from_", metavar="DIR", help="train 10 steps from "
                    "DIR/<workload>.safetensors and print the trajectory as JSON")
    a = ap.parse_args(argv)

    if a.threads:
        torch.set_num_threads(a.threads)
    torch.set_float32_matmul_precision("highest")           # no TF32 on CUDA
    if a.device == "cuda" and not torch.cuda.is_available():
        ap.error("--device cuda, but CUDA is not available")
    names = WORKLOADS if a.workload == "all" else (a.workload,)
    for name in names:
        if a.export:
            export(shape(name, small=True), a)
        elif a.from_:
            s, t = load(a.from_, name)
            print(dumps(dict(workload=name, device=a.device, **trajectory(s, t, a.device))),
                  flush=True)
        else:
            s = shape(name, a.small)
            large = name == "large" and not a.small
            a_ = argparse.Namespace(**vars(a))
            a_.steps = a.steps if a.steps is not None else (3 if large else 20)
            a_.warmup = a.warmup if a.warmup is not None else (1 if large else 3)
            if a_.steps < 1 or a_.warmup < 0:
                ap.error("--steps must be >= 1, --warmup >= 0")
            bench(s, a_)
    return 0


if __name__ == "__main__":
    sys.exit(main())
