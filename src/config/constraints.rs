//! `constraints:` Dale's law, the connectivity mask and initialisation (design §4).

use crate::connectivity::{Pathway, Pattern};
use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// `constraints:` Dale's law, connectivity mask and initialisation (design §4).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConstraintsConfig {
    /// `projection` (Dale's backprop) or `none` (unconstrained baseline).
    #[serde(default)]
    pub dale: Dale,
    /// Connectivity mask from a probability table.
    #[serde(default)]
    pub mask: MaskConfig,
    /// Initial recurrent weights.
    #[serde(default)]
    pub init: InitConfig,
}

/// Initial recurrent weights.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InitConfig {
    /// `balanced` (E and I input cancel per unit) or `uniform` (Balwani et al.'s U(0, 1/√N)).
    #[serde(default)]
    pub kind: InitKind,
    /// Spectral radius of the initial `W_rec` (`balanced` only).
    #[serde(default = "default_init_rho")]
    pub spectral_radius: f64,
}

fn default_init_rho() -> f64 {
    0.9
}

impl Default for InitConfig {
    fn default() -> Self {
        Self {
            kind: InitKind::Balanced,
            spectral_radius: default_init_rho(),
        }
    }
}

/// Initialisation scheme.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum InitKind {
    /// Balanced E/I magnitudes scaled to a spectral radius.
    #[default]
    Balanced,
    /// Balwani et al. 2025: U(0, 1/√N) for E columns, U(−1/√N, 0) for I columns.
    Uniform,
}

/// How Dale's law is enforced.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Dale {
    /// Project wrong-signed weights to 0 after every step.
    #[default]
    Projection,
    /// No sign constraint.
    None,
}

/// Connectivity mask.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MaskConfig {
    /// Probability table (tidy CSV), relative to the config file; unset = dense.
    #[serde(default)]
    pub table: Option<PathBuf>,
    /// How the mask is realised from the probabilities.
    #[serde(default)]
    pub realisation: MaskRealisation,
    /// Inter-area pathways: `{pre: VISp/L2/3/Slc17a7, post: VISl/L4/*, probability: 0.3}`.
    #[serde(default)]
    pub inter_area: Vec<Pathway>,
}

/// Realisation of a probability mask.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MaskRealisation {
    /// Train dense, then keep weights with probability ∝ |w| per block.
    Topprob,
    /// Draw each block at its probability before training.
    Bernoulli,
    /// Uniform pruning after dense training (baseline).
    Random,
    /// No mask (the default when no table is given).
    #[default]
    Dense,
}

impl ConstraintsConfig {
    /// Value checks that serde cannot express; `file` is the config, named in errors.
    pub(super) fn validate(&self, file: &Path) -> Result<()> {
        let bad =
            |key: &str, problem: String, fix: &str| Err(Error::config(file, key, problem, fix));
        for (i, p) in self.mask.inter_area.iter().enumerate() {
            if !(0.0..=1.0).contains(&p.probability) {
                return bad(
                    &format!("constraints.mask.inter_area[{i}].probability"),
                    format!("{} is not a probability", p.probability),
                    "use a value between 0 and 1",
                );
            }
            for (k, pat) in [("pre", &p.pre), ("post", &p.post)] {
                if Pattern::parse(pat).is_none() {
                    return bad(
                        &format!("constraints.mask.inter_area[{i}].{k}"),
                        format!("`{pat}` is not an area/layer/cell_type pattern"),
                        "write e.g. VISp/L2/3/Slc17a7 or VISl/L4/*",
                    );
                }
            }
        }
        if self.mask.table.is_none() && self.mask.realisation != MaskRealisation::Dense {
            return bad(
                "constraints.mask.realisation",
                format!("`{:?}` needs a probability table", self.mask.realisation).to_lowercase(),
                "set constraints.mask.table (e.g. data/connectivity/mouse_v1_celltype.csv) or realisation: dense",
            );
        }
        Ok(())
    }
}
