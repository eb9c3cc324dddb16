//! fitrnn's integration tests, built as one binary (one link of candle, polars and HDF5 instead of one
//! per file). Each module covers one feature: binary tests through the built `fitrnn` read like
//! specs, library tests call the same public API the binary uses.

mod common;

mod analysis;
mod bptt;
mod calcium;
mod cli;
mod compare;
mod constraints;
mod contract;
mod dataset;
mod default_config;
mod ensemble;
mod estimate;
mod fuzz;
mod hostile;
mod inferred_inputs;
mod layers;
mod neuroconv;
mod nwb;
mod real_data;
mod recovery;
mod report;
mod reproduce;
mod resume;
mod run_safety;
mod simulate;
mod slurm;
mod sweep;
mod task;
mod torch_bench;
mod torch_steps;
mod trainer;
