//! Analyses of fitted (or simulated) networks.

pub mod spectral;
