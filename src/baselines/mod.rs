//! Models that need no RNN, to judge what a fit adds: a ridge-regularised linear autoregressive
//! model (VAR(1) with inputs) fitted on the training frames. It is the baseline in every run's
//! metrics (`ar1_baseline`).

pub mod ridge;
pub mod var;

pub use var::{fit_var1, fit_var1_alpha, training_pairs, Var1};
