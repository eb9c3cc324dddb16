//! `analysis:` what to compute after the fit: block levels, teacher forcing, perturbations and
//! spectra.

use crate::connectivity::Pattern;
use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};
use std::path::Path;

/// `analysis:` what to compute after the fit.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AnalysisConfig {
    /// Block levels for interaction tables.
    #[serde(default = "default_levels")]
    pub levels: Vec<String>,
    /// Teacher-forced metrics reset the state from data every this many frames (1 = one step ahead).
    #[serde(default = "one")]
    pub teacher_forcing_every: usize,
    /// In-silico perturbations; empty = silence each population, then each area, in turn.
    #[serde(default)]
    pub perturbations: Vec<PerturbationSpec>,
    /// Which stages get full spectra (eigen- and singular values, O(N³) each): `all` (init, dense,
    /// pruned, final), `final`, or `auto` (all up to 2,048 units, final above).
    #[serde(default)]
    pub spectra: SpectraStages,
}

/// Stages whose weight (and Jacobian) spectra are computed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SpectraStages {
    /// All stages up to 2,048 units, the final stage only above.
    #[default]
    Auto,
    /// Init, dense, pruned and final.
    All,
    /// The final stage only.
    Final,
}

impl SpectraStages {
    /// Whether `stage` gets spectra in a network of `n` units.
    pub fn includes(self, stage: &str, n: usize) -> bool {
        match self {
            SpectraStages::All => true,
            SpectraStages::Final => stage == "final",
            SpectraStages::Auto => n <= 2048 || stage == "final",
        }
    }
}

/// One in-silico perturbation of the fitted model.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct PerturbationSpec {
    /// `silence` (outgoing rates × (1 − magnitude)) or `drive` (+ magnitude to the units' input).
    pub kind: PerturbationKind,
    /// Units to perturb, an `area/layer/cell_type` pattern (`*` = any), e.g. `VISp/*/Sst`.
    pub target: String,
    /// Fraction silenced (0..1) or drive strength (input units).
    #[serde(default = "one_f64")]
    pub magnitude: f64,
}

fn one_f64() -> f64 {
    1.0
}

/// Perturbation kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PerturbationKind {
    /// Scale the units' outgoing rates by 1 − magnitude.
    Silence,
    /// Add magnitude to the units' input.
    Drive,
}

fn default_levels() -> Vec<String> {
    vec!["population".into(), "area_layer".into(), "area".into()]
}

impl Default for AnalysisConfig {
    fn default() -> Self {
        Self {
            levels: default_levels(),
            teacher_forcing_every: 1,
            perturbations: vec![],
            spectra: SpectraStages::Auto,
        }
    }
}

fn one() -> usize {
    1
}

impl AnalysisConfig {
    /// Value checks that serde cannot express; `file` is the config, named in errors.
    pub(super) fn validate(&self, file: &Path) -> Result<()> {
        let bad =
            |key: &str, problem: String, fix: &str| Err(Error::config(file, key, problem, fix));
        for (i, p) in self.perturbations.iter().enumerate() {
            if Pattern::parse(&p.target).is_none() {
                return bad(
                    &format!("analysis.perturbations[{i}].target"),
                    format!("`{}` is not an area/layer/cell_type pattern", p.target),
                    "write e.g. VISp/L2/3/Sst or VISl/*/*",
                );
            }
            if p.kind == PerturbationKind::Silence && !(0.0..=1.0).contains(&p.magnitude) {
                return bad(
                    &format!("analysis.perturbations[{i}].magnitude"),
                    format!("{} is not a fraction", p.magnitude),
                    "silencing takes a magnitude in [0, 1] (1 = fully silenced)",
                );
            }
        }
        if self.teacher_forcing_every == 0 {
            return bad(
                "analysis.teacher_forcing_every",
                "0".into(),
                "use 1 (one step ahead) or more",
            );
        }
        for l in &self.levels {
            if !["population", "area_layer", "area"].contains(&l.as_str()) {
                return bad(
                    "analysis.levels",
                    format!("unknown level `{l}`"),
                    &crate::error::suggest(l, &default_levels(), "value"),
                );
            }
        }
        Ok(())
    }
}
