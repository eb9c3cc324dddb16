"""From raw fluorescence to dF/F: a worked example on three Sst ROIs of Allen Visual Behavior Ophys
experiment 1109786082 (Sst-IRES-Cre; Ai148 GCaMP6f; VISam; imaging depth 101 um; session
OPHYS_3_images_G; mesoscope MESO.1). Writes data/allen_vbo_1109786082_sst_dff.h5 in the
fitrnn-recording/1 layout (data/README.md).

Input: the demixed ROI traces and the matching neuropil traces of the Allen Brain Observatory
processing pipeline (AllenInstitute/ophys_etl_pipelines, which ships them as the test data of its
neuropil-correction module; data/PROVENANCE.md). Each file holds `data` (float64, 3 ROIs x 48,160
frames) and `roi_names` (the cell ROI ids 1109811483, 1109811486, 1109811490). The method below
follows the Allen Brain Observatory pipeline as described by de Vries et al. 2020 (Nat. Neurosci.
23:138-151, Methods: neuropil subtraction and dF/F) and the Allen Visual Behavior Ophys technical
whitepaper, in three steps.

1. Neuropil correction. Each ROI's fluorescence is contaminated by out-of-focus neuropil:
       F_c(t) = F_roi(t) - r * F_neuropil(t).
   The pipeline fits the contamination ratio r per ROI (default here, `--r fit`): for each candidate
   r the trace trace F_roi - r * F_neuropil is smoothed by a first-difference penalty
   (solve (I + lambda * D'D) F_c = F_roi - r * F_neuropil, lambda = 0.05, on 4 consecutive blocks
   of the session), and r minimises the mean over blocks of RMS(F_c - (F_roi - r * F_neuropil)) /
   mean(F_roi), i.e. r makes the corrected trace as smooth as possible. r is searched on a grid over
   [0, 2) with step 0.1, refined 3 times by a factor 10 around the minimum. As in the pipeline, a
   negative r becomes 0, an ROI whose corrected trace has a non-positive mean gets r = 0, and an r
   above 1 (not converged) is replaced by the mean r of the other ROIs of the experiment with
   0 < r <= 1. On these files this gives r = 0.1015, 0.078 and 0.125 (the first is the filled
   value; the raw fit, 2.30, is above 1), the values the pipeline's own test for these files
   asserts. `--r 0.7` instead applies the fixed ratio 0.7 common in the literature (Chen et al.
   2013; often quoted as the Allen value, although the pipeline fits r per ROI): on these demixed
   traces it over-subtracts: ROI 1109811486's corrected trace is then at or below zero in 37 % of
   the frames, its baseline lies below the noise level in 87 % of them, and its dF/F is
   meaningless.

2. Baseline. F0(t) is a running median of F_c over a long window, 180 s by default (`--baseline-s`;
   the AllenSDK's windowed-median dF/F uses 5,401 frames at 30 Hz = 180 s; later versions of the
   pipeline's dF/F module default to a longer window). The window is rounded to an odd number of
   frames (1,927 at 10.7 Hz) and the trace is reflected at both ends (scipy.ndimage.median_filter).

3. dF/F = (F_c - F0) / max(F0, sigma_F). sigma_F is a robust estimate of the noise SD of F_c (the
   pipeline's noise_std: the residual after a 3.333 s running median, positive outliers removed,
   then 1.4826 x the median absolute deviation of what stays within 2.5 robust SD). Dividing by F0
   alone would blow up wherever the baseline approaches zero (or flip sign below it), which
   happens when neuropil subtraction removes most of a dim ROI's signal; flooring the denominator
   at the noise level keeps dF/F finite and bounded there, as the pipeline does. The number of
   frames where the floor acts is printed. No short-timescale detrending is applied (the pipeline
   dropped that step because it produced negative values).

Timing: the source files store no timestamps. The Visual Behavior mesoscope images each plane at
about 10.7 Hz (the NWB files of the release store the imaging rate rounded to 11 Hz; the frame
timestamps give about 10.7 Hz), so frame k is written at k / 10.7 s (`--rate`): 48,160 frames,
4,501 s (75 min), a whole session. The clock therefore starts at 0 and is not aligned to the
session's stimulus clock; stimulus and behaviour times are not in the source.

Neurons: all three ROIs are kept, in the source order, with their ROI ids as /neurons/id (int64),
area VISam, layer L2/3 (the plane is 101 um below the surface, shallower than the ~250 um usually
taken as the lower edge of L2/3, and close to the L1-L2/3 border), cell type Sst (Sst-IRES-Cre),
depth_um 101.0. ROIs 1109811483 and 1109811490 are released cells (cell_specimen_id 1120128076
and 1120127543); ROI 1109811486 is not among the released cells of the experiment
(data/PROVENANCE.md). Select columns by id to drop it.

Usage, from the repository root (h5py 3.16.0, numpy 2.4.6, scipy 1.17.1):
    python data/scripts/vbo_raw_to_dff.py
    python data/scripts/vbo_raw_to_dff.py --r 0.7 --out /tmp/dff_r07.h5   # fixed neuropil ratio
Inputs default to data/raw/allen_vbo_1109786082/. The output is deterministic (byte-identical on
re-runs: no times in the HDF5 object headers, fixed attribute order).
"""
import argparse
from pathlib import Path

import h5py
import numpy as np
from scipy.linalg import solve_banded
from scipy.ndimage import median_filter

ROOT = Path(__file__).resolve().parents[2]
RAW = ROOT / "data" / "raw" / "allen_vbo_1109786082"
OUT = ROOT / "data" / "allen_vbo_1109786082_sst_dff.h5"

# Experiment metadata (Visual Behavior Ophys ophys_experiment_table, row 1109786082).
AREA, LAYER, CELL_TYPE, DEPTH_UM = "VISam", "L2/3", "Sst", 101.0
MESOSCOPE_RATE_HZ = 10.7
EXPECTED_IDS = [1109811483, 1109811486, 1109811490]

# Neuropil-ratio fit, as in the pipeline.
LAMBDA, FOLDS, R_RANGE, R_STEP, R_REFINE = 0.05, 4, (0.0, 2.0), 0.1, 3
# Short window of the noise estimate, seconds.
NOISE_WINDOW_S = 3.333

SOURCE = ("Allen Visual Behavior Ophys, ophys experiment 1109786082 (Sst-IRES-Cre, VISam, 101 um, "
          "OPHYS_3_images_G, mesoscope): demixed ROI and neuropil traces from "
          "AllenInstitute/ophys_etl_pipelines (neuropil_correction test data), "
          "converted to dF/F by data/scripts/vbo_raw_to_dff.py")
LICENCE = ("Allen Institute Software License "
           "(licences/LICENSE_ophys_etl_pipelines_AllenInstitute.md); "
           "cite the Allen Brain Observatory; see data/PROVENANCE.md")


def odd_frames(seconds, rate):
    """A window of `seconds` at `rate` Hz in frames, rounded and made odd (a centred median)."""
    n = int(round(seconds * rate))
    return n if n % 2 else n + 1


def smoother_bands(n, lam=LAMBDA):
    """I + lam * D'D (D: first differences) as the 3 bands scipy.linalg.solve_banded expects."""
    main = np.full(n, 2.0)
    main[0] = main[-1] = 1.0
    ab = np.zeros((3, n))
    ab[0, 1:] = -lam
    ab[1] = 1.0 + lam * main
    ab[2, :-1] = -lam
    return ab


def ratio_error(f_roi, f_np, r, ab):
    """Mean over FOLDS consecutive blocks of RMS(smooth(x) - x) / mean(F_roi),
    x = F_roi - r * F_np."""
    n = len(f_roi) // FOLDS
    errors = []
    for k in range(FOLDS):
        m, p = f_roi[k * n:(k + 1) * n], f_np[k * n:(k + 1) * n]
        x = m - r * p
        fc = solve_banded((1, 1), ab, x)
        errors.append(np.sqrt(np.mean((fc - x) ** 2)) / np.mean(m))
    return float(np.mean(errors))


def fit_ratio(f_roi, f_np):
    """Grid search for r with R_REFINE refinements (the range grows when the minimum is on its upper
    edge). Returns the raw (unclipped) minimiser."""
    ab = smoother_bands(len(f_roi) // FOLDS)
    lo, hi, step = R_RANGE[0], R_RANGE[1], R_STEP
    best_err, best_r, refinements = np.inf, None, 0
    while refinements < R_REFINE:
        rs = np.arange(lo, hi, step)
        errs = [ratio_error(f_roi, f_np, r, ab) for r in rs]
        i = int(np.argmin(errs))
        if errs[i] < best_err:
            best_err, best_r = errs[i], float(rs[i])
        if i == len(rs) - 1:
            lo, hi = rs[-1], rs[-1] + (rs[-1] - rs[0])
        else:
            lo, hi = rs[max(i - 1, 0)], rs[min(i + 1, len(rs) - 1)]
            step *= 0.1
            refinements += 1
    return best_r


def neuropil_ratios(f_roi, f_np):
    """Per-ROI r and how it was obtained: 'fit', 'zero' (corrected mean not positive), or 'filled'
    (fit above 1, replaced by the mean of the other ROIs' 0 < r <= 1)."""
    r = np.zeros(len(f_roi))
    how = []
    for i in range(len(f_roi)):
        ri = max(fit_ratio(f_roi[i], f_np[i]), 0.0)
        if np.mean(f_roi[i] - ri * f_np[i]) > 0:
            r[i], h = ri, "fit"
        else:
            r[i], h = 0.0, "zero"
        how.append(h)
    raw = r.copy()
    bad = raw > 1.0
    if bad.any():
        good = (~bad) & (raw > 0)
        assert good.any(), "no converged neuropil ratio to fill from; pass a fixed --r"
        r[bad] = raw[good].mean()
        how = ["filled" if b else h for b, h in zip(bad, how)]
    return r, how, raw


def robust_sd(x):
    return 1.4826 * float(np.median(np.abs(x - np.median(x))))


def noise_sd(x, window):
    """Robust noise SD: residual after a running median, positive peaks (above 1.5 x |min|) removed,
    then the robust SD of what lies within 2.5 robust SD."""
    res = x - median_filter(x, size=window, mode="reflect")
    res = res[res < 1.5 * abs(res.min())]
    res = res[np.abs(res) < 2.5 * robust_sd(res)]
    return robust_sd(res)


def to_dff(fc, baseline_frames, noise_frames):
    """dF/F of one corrected trace, with its baseline, noise SD and the number of frames where
    F0 <= sigma_F."""
    f0 = median_filter(fc, size=baseline_frames, mode="reflect")
    sigma_f = noise_sd(fc, noise_frames)
    dff = (fc - f0) / np.maximum(f0, sigma_f)
    return dff, f0, sigma_f, int(np.sum(f0 <= sigma_f))


def read_traces(path):
    with h5py.File(path, "r") as f:
        data = f["data"][()].astype(np.float64)
        ids = [int(v) for v in f["roi_names"][()]]  # bytes in one file, int64 in the other
    return data, ids


def write_contract(path, dff, ids, rate):
    n_frames, n = dff.shape
    s = h5py.string_dtype("utf-8")
    kw = dict(track_times=False)
    with h5py.File(path, "w", track_order=False) as f:
        f.attrs["schema"] = "fitrnn-recording/1"
        f.attrs["frame_rate_hz"] = rate
        f.attrs["source"] = SOURCE
        f.attrs["licence"] = LICENCE
        d = f.create_dataset("traces", data=dff.astype(np.float32), compression="gzip",
                             compression_opts=4, shuffle=True,
                             chunks=(min(n_frames, 1024), n), **kw)
        d.attrs["kind"] = "dff"
        f.create_dataset("timestamps", data=np.arange(n_frames, dtype=np.float64) / rate,
                         compression="gzip", compression_opts=4, shuffle=True, **kw)
        f.create_dataset("neurons/id", data=np.asarray(ids, dtype=np.int64), **kw)
        f.create_dataset("neurons/area", data=[AREA] * n, dtype=s, **kw)
        f.create_dataset("neurons/layer", data=[LAYER] * n, dtype=s, **kw)
        f.create_dataset("neurons/cell_type", data=[CELL_TYPE] * n, dtype=s, **kw)
        f.create_dataset("neurons/depth_um", data=np.full(n, DEPTH_UM), **kw)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--demix", type=Path, default=RAW / "demix_traces.h5",
                        help="demixed ROI traces (default: %(default)s)")
    parser.add_argument("--neuropil", type=Path, default=RAW / "neuropil_traces.h5",
                        help="neuropil traces (default: %(default)s)")
    parser.add_argument("--out", type=Path, default=OUT, help="output (default: %(default)s)")
    parser.add_argument("--r", default="fit",
                        help="neuropil contamination ratio: 'fit' (per ROI, as the pipeline; "
                             "default) or a number applied to every ROI, e.g. 0.7")
    parser.add_argument("--rate", type=float, default=MESOSCOPE_RATE_HZ,
                        help="frame rate in Hz (default: %(default)s, the mesoscope's)")
    parser.add_argument("--baseline-s", type=float, default=180.0,
                        help="running-median baseline window in s (default: %(default)s)")
    args = parser.parse_args()

    f_roi, ids = read_traces(args.demix)
    f_np, ids_np = read_traces(args.neuropil)
    assert ids == ids_np, f"ROI order differs between the files: {ids} vs {ids_np}"
    assert f_roi.shape == f_np.shape and f_roi.shape[0] == len(ids), (f_roi.shape, f_np.shape)
    assert np.isfinite(f_roi).all() and np.isfinite(f_np).all(), "the raw traces have no NaN"
    if ids != EXPECTED_IDS:
        print(f"note: ROI ids {ids} are not those of experiment 1109786082; metadata still says "
              f"{AREA} {LAYER} {CELL_TYPE}")

    if args.r == "fit":
        r, how, raw = neuropil_ratios(f_roi, f_np)
    else:
        r = np.full(len(ids), float(args.r))
        how, raw = ["fixed"] * len(ids), r.copy()
    fc = f_roi - r[:, None] * f_np

    baseline_frames = odd_frames(args.baseline_s, args.rate)
    noise_frames = odd_frames(NOISE_WINDOW_S, args.rate)
    n_frames = f_roi.shape[1]
    dff = np.empty((n_frames, len(ids)))
    rows = []
    for i in range(len(ids)):
        d, f0, sigma_f, n_floor = to_dff(fc[i], baseline_frames, noise_frames)
        dff[:, i] = d
        sigma_dff = noise_sd(d, noise_frames)
        rows.append((ids[i], r[i], how[i], raw[i], float(np.median(f0)), sigma_f, n_floor,
                     np.percentile(d, [1, 50, 99]), float(d.max()), sigma_dff,
                     float(np.mean(d > 3 * sigma_dff))))
    assert np.isfinite(dff).all()

    args.out.parent.mkdir(parents=True, exist_ok=True)
    write_contract(args.out, dff, ids, args.rate)

    print(f"{n_frames} frames at {args.rate} Hz ({n_frames / args.rate:.0f} s), baseline window "
          f"{baseline_frames} frames ({args.baseline_s:g} s), noise window {noise_frames} frames")
    print(f"{'roi':>10} {'r':>7} {'(how)':>11} {'med F0':>8} {'sig F':>6} {'F0<=sig':>7} "
          f"{'dF/F p1':>8} {'p50':>7} {'p99':>7} {'max':>7} {'sig dFF':>8} {'>3 sig':>7}")
    for rid, ri, h, rr, mf0, sf, nfl, p, mx, sd, frac in rows:
        tag = f"{h}" if h != "filled" else f"filled:{rr:.2f}"
        print(f"{rid:>10} {ri:>7.4f} {tag:>11} {mf0:>8.1f} {sf:>6.2f} {nfl:>7d} {p[0]:>8.3f} "
              f"{p[1]:>7.3f} {p[2]:>7.3f} {mx:>7.2f} {sd:>8.4f} {frac:>7.3f}")
    rel = args.out.relative_to(ROOT) if args.out.is_relative_to(ROOT) else args.out
    print(f"wrote {rel}: {n_frames} frames x {len(ids)} neurons, {args.out.stat().st_size} bytes")


if __name__ == "__main__":
    main()
