"""Do the self-check's flags pick the blocks a fit recovers?

On a simulated recording (whose /ground_truth is known), compare the fit's population-level block
values with the truth, separately for the blocks the self-check flagged identifiable and the others.
With /ground_truth/rates (observation.save_rates) the input share is compared; without, mean |w|.

    python scripts/selfcheck_flag_accuracy.py RECORDING.h5 RUN_DIR

Needs h5py, numpy, polars and scipy. Prints, per flag, the number of blocks that truly exist, the
median relative error of the fit's value and the Spearman rho against the truth.
"""
import sys

import h5py
import numpy as np
import polars as pl
from scipy.stats import spearmanr


def true_blocks(path):
    """Population label -> unit indices, the true W[post, pre] and (if saved) the true rates."""
    f = h5py.File(path, "r")
    g = f["ground_truth"]
    w = g["w_rec"][:]
    rates = g["rates"][:] if "rates" in g else None
    field = lambda k, i: g[k][i].decode() if isinstance(g[k][i], bytes) else str(g[k][i])
    labels = np.array(
        [f"{field('area', i)}/{field('layer', i)}/{field('cell_type', i)}" for i in range(w.shape[0])]
    )
    return {p: np.where(labels == p)[0] for p in sorted(set(labels))}, w, rates


def truth_values(idx, w, rates):
    """(pre, post) -> (true value, exists): input share with rates, else mean |w|."""
    out = {}
    for post in idx:
        mean_abs = {}
        for pre in idx:
            block = w[np.ix_(idx[post], idx[pre])]
            if rates is None:
                mean_abs[pre] = np.abs(block).mean()
            else:
                mean_abs[pre] = np.abs(rates[:, idx[pre]] @ block.T).mean()
        total = sum(mean_abs.values())
        for pre in idx:
            exists = np.abs(w[np.ix_(idx[post], idx[pre])]).sum() > 0
            value = mean_abs[pre] if rates is None else mean_abs[pre] / total
            out[(pre, post)] = (value, exists)
    return out


def main(recording, run):
    idx, w, rates = true_blocks(recording)
    metric = "mean_abs_w" if rates is None else "input_share"
    truth = truth_values(idx, w, rates)
    fit = pl.read_parquet(f"{run}/tables/interactions_ensemble.parquet").filter(
        (pl.col("level") == "population") & (pl.col("metric") == metric) & (pl.col("estimate") > 0)
    )
    print(f"metric {metric}, population blocks that exist in the truth and in the fit")
    for flag in (True, False):
        pairs = [
            (r["estimate"], truth[(r["pre"], r["post"])][0])
            for r in fit.iter_rows(named=True)
            if r["identifiable"] == flag and truth[(r["pre"], r["post"])][1]
        ]
        if len(pairs) < 3:
            print(f"identifiable={flag}: {len(pairs)} blocks")
            continue
        est, tru = np.array(pairs).T
        err = np.median(np.abs(est - tru) / tru)
        rho = spearmanr(est, tru)[0]
        print(f"identifiable={flag}: n={len(pairs)}, median relative error {err:.2f}, Spearman rho {rho:.2f}")


if __name__ == "__main__":
    main(*sys.argv[1:3])
