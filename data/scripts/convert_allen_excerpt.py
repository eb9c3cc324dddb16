"""Convert the Allen Brain Observatory Visual Coding 2P excerpt (experiment 552195520) to the
fitrnn-recording/1 contract. Writes two files next to this script's parent folder:

- data/allen_vc2p_exp552195520_excerpt.h5: dF/F, 6001 frames x 74 neurons at 30 Hz, kind `dff`.
- data/allen_vc2p_exp552195520_excerpt_events.h5: Cascade spike probabilities (inferred spikes per
  frame) for the same neurons, kind `events`. Cascade leaves the first and last 32 frames NaN (its
  window needs 32 frames on each side), so they are trimmed: 5937 frames, with /timestamps
  (32 + k) / 30 s that keep the clock of the dF/F file.

Input: an HDF5 re-pack of CascadeTorch's Experiment_552195520_excerpt.mat and its prediction file,
with /dff and /cascade_spike_prob (float32, 74 neurons x 6001 frames, neurons x time) and the root
attribute frame_rate_hz = 30 (see data/PROVENANCE.md). The source carries no area, layer or Cre
line, so those are written as 'unknown' (fitrnn's default sign map counts 'unknown' as excitatory;
say otherwise in a run config's data.cell_types). Values are copied unchanged, only transposed to
the contract's time x neurons layout.

Usage, from the repository root (h5py 3.16.0, numpy 2.4.6):
    python data/scripts/convert_allen_excerpt.py PATH/TO/allen_vc2p_exp552195520_excerpt.h5
The output is deterministic (byte-identical on re-runs).
"""
import argparse
from pathlib import Path

import h5py
import numpy as np

ROOT = Path(__file__).resolve().parents[2]
OUT_DFF = ROOT / "data" / "allen_vc2p_exp552195520_excerpt.h5"
OUT_EVENTS = ROOT / "data" / "allen_vc2p_exp552195520_excerpt_events.h5"

# Frames at each end that Cascade cannot predict (NaN in the source).
CASCADE_EDGE = 32

SOURCE = ("Allen Brain Observatory Visual Coding 2P, ophys experiment 552195520, "
          "200 s excerpt as shipped by the Cascade project (HelmchenLabSoftware/Cascade)")
SOURCE_EVENTS = (SOURCE + "; spike probabilities inferred by CascadeTorch model "
                 "Global_EXC_30Hz_smoothing25ms (PTRRupprecht/CascadeTorch), first and last "
                 f"{CASCADE_EDGE} frames (NaN) trimmed")
LICENCE = "Allen Institute Terms of Use (research use with citation); see data/PROVENANCE.md"


def write_contract(path, traces, kind, source, frame_rate_hz=None, timestamps=None):
    """Write one fitrnn-recording/1 file: traces [n_frames, n_neurons] float32 plus a neuron table
    of integer ids 0..n-1 and 'unknown' area, layer and cell type. Exactly one of frame_rate_hz and
    timestamps is given."""
    n_frames, n = traces.shape
    s = h5py.string_dtype("utf-8")
    with h5py.File(path, "w", track_order=False) as f:
        f.attrs["schema"] = "fitrnn-recording/1"
        if frame_rate_hz is not None:
            f.attrs["frame_rate_hz"] = frame_rate_hz
        f.attrs["source"] = source
        f.attrs["licence"] = LICENCE
        # gzip + shuffle in chunks of up to 1024 frames x all neurons: a reader that wants a time
        # window decompresses only the chunks it covers.
        d = f.create_dataset("traces", data=traces, compression="gzip", compression_opts=4,
                             shuffle=True, chunks=(min(n_frames, 1024), n))
        d.attrs["kind"] = kind
        if timestamps is not None:
            f.create_dataset("timestamps", data=timestamps)  # float64 seconds
        f.create_dataset("neurons/id", data=np.arange(n, dtype=np.int64))
        for name in ["area", "layer", "cell_type"]:
            f.create_dataset(f"neurons/{name}", data=["unknown"] * n, dtype=s)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("src", type=Path,
                        help="the HDF5 re-pack with /dff and /cascade_spike_prob (data/PROVENANCE.md)")
    args = parser.parse_args()

    with h5py.File(args.src, "r") as f:
        dff = f["dff"][()].astype(np.float32)  # [neurons, frames]
        spike_prob = f["cascade_spike_prob"][()].astype(np.float32)  # [neurons, frames]
        rate = float(f.attrs["frame_rate_hz"])
    assert dff.shape == spike_prob.shape == (74, 6001), (dff.shape, spike_prob.shape)
    assert rate == 30.0, rate
    assert np.isfinite(dff).all(), "the dF/F excerpt has no NaN"

    # dF/F: transpose to the contract's [frames, neurons]; timing from frame_rate_hz.
    traces = np.ascontiguousarray(dff.T)
    write_contract(OUT_DFF, traces, "dff", SOURCE, frame_rate_hz=rate)

    # Events: the NaN frames are exactly the first and last CASCADE_EDGE frames, for every neuron.
    nan_frames = np.where(np.isnan(spike_prob).any(axis=0))[0]
    edges = np.r_[0:CASCADE_EDGE, spike_prob.shape[1] - CASCADE_EDGE:spike_prob.shape[1]]
    assert np.array_equal(nan_frames, edges), "NaN only in the first and last 32 frames"
    assert np.isnan(spike_prob[:, edges]).all()
    events = np.ascontiguousarray(spike_prob[:, CASCADE_EDGE:-CASCADE_EDGE].T)
    assert np.isfinite(events).all()
    # Frame k of the trimmed file is frame 32 + k of the dF/F file.
    timestamps = (CASCADE_EDGE + np.arange(events.shape[0])) / rate
    write_contract(OUT_EVENTS, events, "events", SOURCE_EVENTS, timestamps=timestamps)

    for path, arr in [(OUT_DFF, traces), (OUT_EVENTS, events)]:
        print(f"wrote {path.relative_to(ROOT)}: {arr.shape[0]} frames x {arr.shape[1]} neurons, "
              f"{path.stat().st_size} bytes")


if __name__ == "__main__":
    main()
