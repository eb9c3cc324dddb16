# Write a recording in the fitrnn-recording/1 layout with h5py (pip install h5py numpy).
# Replace the random numbers with your own traces and metadata.
import h5py
import numpy as np

n_frames, n_neurons, rate_hz = 600, 5, 11.0
rng = np.random.default_rng(0)
dff = rng.normal(0.0, 0.1, size=(n_frames, n_neurons))          # time x neurons
running = np.abs(rng.normal(10.0, 5.0, size=n_frames))          # cm/s, one value per frame

with h5py.File("my_recording.h5", "w") as f:
    f.attrs["schema"] = "fitrnn-recording/1"
    traces = f.create_dataset("traces", data=dff.astype("float32"), compression="gzip")
    traces.attrs["kind"] = "dff"                                  # or "events"
    f.create_dataset("timestamps", data=np.arange(n_frames) / rate_hz)   # seconds
    f.create_dataset("neurons/id", data=np.arange(n_neurons))
    f.create_dataset("neurons/area", data=["VISp", "VISp", "VISp", "VISl", "VISl"])
    f.create_dataset("neurons/layer", data=["L2/3", "L2/3", "L4", "L2/3", "L5"])
    f.create_dataset("neurons/cell_type", data=["Slc17a7", "Sst", "Vip", "Slc17a7", "Pvalb"])
    f.create_dataset("neurons/depth_um", data=[175.0, 180.0, 310.0, 170.0, 420.0])
    # Optional: measured covariates, one row per frame.
    f.create_dataset("inputs/values", data=running[:, None])
    f.create_dataset("inputs/names", data=["running_speed"])
    # Optional: trials, on the same clock as /timestamps.
    f.create_dataset("trials/start_time", data=[5.0, 20.0, 35.0])
    f.create_dataset("trials/stop_time", data=[10.0, 25.0, 40.0])
    f.create_dataset("trials/condition", data=["change", "omission", "change"])
