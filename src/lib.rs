//! # fitrnn
//!
//! Fit biologically constrained recurrent neural networks to 2-photon calcium recordings and
//! report how the recorded areas and cell types interact.
//!
//! The pipeline, one plain value handed to the next stage:
//! 1. [`config::Config`]: the YAML config, validated, overrides applied, paths resolved.
//! 2. [`data::Recording`]: traces `[n_frames, n_neurons]` (time × neurons, seconds, Hz) with
//!    per-neuron area / layer / cell type, read from the `fitrnn-recording/1` HDF5 contract.
//! 3. [`data::select`]: the neurons a fit uses, in unit order area → layer → cell type → id.
//! 4. [`dataset`]: normalised traces, inputs, the training / validation split and windows.
//! 5. [`connectivity`] and [`constraints`]: probability tables, block masks, Dale's law, pruning.
//! 6. [`model`] and [`train`]: the leaky RNN in candle and its fit (dense → prune → fine-tune).
//! 7. [`analysis`] and [`rundir`]: interactions, currents, spectra; the run directory.
//! 8. [`simulate`]: ground-truth recordings with known connectivity.
//! 9. [`task`]: the same networks trained on the papers' benchmark tasks instead of a recording.
//!
//! ## The one convention: `W[post, pre]`
//! Every weight matrix is indexed `W[post, pre]`: row = receiving unit, column = sending unit, so
//! the recurrence is `r_next = W · r`. Dale's law is a property of the sender, so the sign lives on
//! the column: `sign[j] · W[i, j] ≥ 0` for every `i`.

pub mod analysis;
pub mod atomic;
pub mod bench;
pub mod cli;
pub mod commands;
pub mod compare;
pub mod config;
pub mod connectivity;
pub mod constraints;
pub mod data;
pub mod dataset;
pub mod device;
pub mod ensemble;
pub mod error;
pub mod estimate;
pub mod evaluate;
pub mod jobs;
pub mod linalg;
pub mod memory;
pub mod model;
pub mod network;
pub mod pipeline;
pub mod progress;
pub mod recovery;
pub mod report;
pub mod reproduce;
pub mod rundir;
pub mod simulate;
pub mod stats;
pub mod task;
pub mod train;
pub mod trial_average;

pub use error::{Error, Result, EXIT_BAD_INPUT, EXIT_BUG, EXIT_FAILED};
