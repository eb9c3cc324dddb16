//! Analyses of fitted (or simulated) networks: block interactions, spectra and motifs.

pub mod block_values;
pub mod blocks;
pub mod currents;
pub mod diagnostics;
pub mod inferred;
pub mod jacobian;
pub mod motifs;
pub mod perturb;
pub mod tables;
