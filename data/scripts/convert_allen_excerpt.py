"""Convert the Allen Brain Observatory Visual Coding 2P excerpt (experiment 552195520) to the
fitrnn-recording/1 contract: data/allen_vc2p_exp552195520_excerpt.h5.

Input: an HDF5 re-pack of CascadeTorch's Experiment_552195520_excerpt.mat with /dff
(float32, 74 neurons x 6001 frames, neurons x time) and attribute frame_rate_hz = 30.
The file carries no area, layer or Cre line, so those are written as 'unknown' (fitrnn's default
map counts 'unknown' as excitatory; say otherwise in a run config's data.cell_types).

Usage (h5py 3.16.0, numpy 2.4.6):
    python data/scripts/convert_allen_excerpt.py PATH/TO/allen_vc2p_exp552195520_excerpt.h5
"""
import sys
from pathlib import Path

import h5py
import numpy as np

OUT = Path(__file__).resolve().parents[1] / "allen_vc2p_exp552195520_excerpt.h5"


def main(src):
    with h5py.File(src, "r") as f:
        dff = f["dff"][()].astype(np.float32)  # [neurons, frames]
        rate = float(f.attrs["frame_rate_hz"])
    traces = np.ascontiguousarray(dff.T)  # contract: [frames, neurons]
    n_frames, n = traces.shape
    s = h5py.string_dtype("utf-8")
    with h5py.File(OUT, "w", track_order=False) as f:
        f.attrs["schema"] = "fitrnn-recording/1"
        f.attrs["frame_rate_hz"] = rate
        f.attrs["source"] = ("Allen Brain Observatory Visual Coding 2P, ophys experiment 552195520, "
                             "200 s excerpt as shipped by the Cascade project (HelmchenLabSoftware/Cascade)")
        f.attrs["licence"] = "Allen Institute Terms of Use (research use with citation); see data/PROVENANCE.md"
        d = f.create_dataset("traces", data=traces, compression="gzip", compression_opts=4,
                             shuffle=True, chunks=(min(n_frames, 1024), n))
        d.attrs["kind"] = "dff"
        f.create_dataset("neurons/id", data=np.arange(n, dtype=np.int64))
        for name in ["area", "layer", "cell_type"]:
            f.create_dataset(f"neurons/{name}", data=["unknown"] * n, dtype=s)
    print(f"wrote {OUT}: {n_frames} frames x {n} neurons at {rate} Hz, {OUT.stat().st_size} bytes")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "allen_vc2p_exp552195520_excerpt.h5")
