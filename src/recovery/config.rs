//! `configs/recovery.yaml`: the simulator and run configs a study starts from, its recording
//! seeds, conditions (simulator overrides) and methods (run-config overrides, or a baseline).

use crate::config::load_yaml;
use crate::error::{Error, Result};
use crate::simulate::SimConfig;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// `configs/recovery.yaml`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RecoveryConfig {
    /// The simulator config every recording starts from (relative to this file).
    pub simulate: PathBuf,
    /// The simulators every condition, seed and method runs on: each changes simulator keys
    /// (`set`, e.g. `dynamics.kind: adaptive`) on top of `defaults`. Default: one, `rate`.
    #[serde(default = "default_simulators")]
    pub simulators: Vec<Condition>,
    /// The run config every fit starts from (its `data.path` is replaced by each recording).
    pub fit: PathBuf,
    /// Recording seeds (the fit of a recording uses the same seed).
    pub seeds: Vec<u64>,
    /// Fits at the same time, one CPU thread each (0: one per core).
    #[serde(default)]
    pub jobs: usize,
    /// Simulator overrides every condition starts from (e.g. the default recording length).
    #[serde(default)]
    pub defaults: BTreeMap<String, serde_yaml::Value>,
    /// Recording conditions; each changes simulator keys (`set`) on top of `defaults`.
    pub conditions: Vec<Condition>,
    /// Methods: fits (run-config overrides in `set`) or baselines.
    pub methods: Vec<Method>,
}

fn default_simulators() -> Vec<Condition> {
    vec![Condition {
        name: "rate".into(),
        set: BTreeMap::new(),
    }]
}

/// One recording condition (or simulator): a name and simulator overrides.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Condition {
    /// Name in tables, e.g. `recorded_50`.
    pub name: String,
    /// Simulator overrides, e.g. `{network.recorded_fraction: 0.5}`.
    #[serde(default)]
    pub set: BTreeMap<String, serde_yaml::Value>,
}

/// One method.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Method {
    /// Name in tables, e.g. `dale_topprob`.
    pub name: String,
    /// Run-config overrides for a fit, e.g. `{training.optimiser: adamw_eg}`.
    #[serde(default)]
    pub set: BTreeMap<String, serde_yaml::Value>,
    /// A method that needs no fit: `correlation`, `ridge_var`, `one_step`, `one_step_bounded`,
    /// `one_step_early`, `prior_only` or `true_recorded`.
    #[serde(default)]
    pub baseline: Option<Baseline>,
}

/// Methods that need no fit: estimates from the recorded traces alone, and the prior alone.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Baseline {
    /// Mean pairwise Pearson correlation between the blocks' neurons.
    Correlation,
    /// Ridge VAR(1) coefficients between block-mean traces (linear Granger-style).
    RidgeVar,
    /// The one-step ridge per neuron on the frames where it is active, then Dale's signs (time
    /// constants from the fit config).
    OneStep,
    /// The same one-step problems with Dale's signs as bounds, solved to the bounded optimum.
    OneStepBounded,
    /// The same with the warm start's early stopping: 300 projected-gradient steps from the
    /// projected ridge solution (what `training.warm_start: one_step` starts a fit from, before
    /// its spectral-radius cap).
    OneStepEarly,
    /// The prior alone: the true prior's densities and Dale's signs, random magnitudes.
    PriorOnly,
    /// The truth seen through the recording: the true weights and rates of the recorded neurons
    /// only. What a perfect estimate of the recorded sub-network scores against the whole
    /// network: the ceiling that partial observation sets.
    TrueRecorded,
}

impl Baseline {
    /// How a one-step baseline treats Dale's signs; `None` for the others.
    pub fn one_step_rule(self) -> Option<crate::estimate::SignRule> {
        use crate::estimate::SignRule;
        match self {
            Baseline::OneStep => Some(SignRule::ProjectAfter),
            Baseline::OneStepBounded => Some(SignRule::Bounds),
            Baseline::OneStepEarly => Some(SignRule::BoundsEarlyStopped(
                crate::estimate::EARLY_STOP_STEPS,
            )),
            _ => None,
        }
    }
}

/// `key=value` overrides from a YAML map.
pub(super) fn sets(map: &BTreeMap<String, serde_yaml::Value>) -> Vec<String> {
    map.iter()
        .map(|(k, v)| {
            let s = serde_yaml::to_string(v).unwrap_or_default();
            format!("{k}={}", s.trim_end())
        })
        .collect()
}

/// True when a name occurs twice.
fn repeats<'a>(names: impl Iterator<Item = &'a str>) -> bool {
    let mut seen = std::collections::BTreeSet::new();
    names.into_iter().any(|n| !seen.insert(n))
}

impl RecoveryConfig {
    /// The simulator overrides of one (simulator, condition): the defaults, then the simulator's,
    /// then the condition's.
    pub fn simulator_overrides(&self, sim: &Condition, cond: &Condition) -> Vec<String> {
        let mut all = sets(&self.defaults);
        all.extend(sets(&sim.set));
        all.extend(sets(&cond.set));
        all
    }

    /// Load and check; paths resolve relative to the config file.
    pub fn load(path: &Path) -> Result<RecoveryConfig> {
        let mut cfg: RecoveryConfig = load_yaml(path, &[], &[])?;
        let base = path.parent().unwrap_or(Path::new("."));
        for p in [&mut cfg.simulate, &mut cfg.fit] {
            if p.is_relative() {
                *p = base.join(&*p);
            }
        }
        let bad =
            |key: &str, problem: String, fix: &str| Err(Error::config(path, key, problem, fix));
        if cfg.seeds.is_empty() {
            return bad("seeds", "no seeds".into(), "e.g. seeds: [0, 1, 2]");
        }
        if cfg.conditions.is_empty() || cfg.methods.is_empty() {
            return bad(
                "conditions",
                "needs at least one condition and one method".into(),
                "see configs/recovery.yaml",
            );
        }
        if cfg.simulators.is_empty() || repeats(cfg.simulators.iter().map(|c| c.name.as_str())) {
            return bad(
                "simulators",
                "needs at least one simulator, each with its own name".into(),
                "e.g. simulators: [{name: rate}, {name: adaptive, set: {dynamics.kind: adaptive}}]",
            );
        }
        if repeats(cfg.conditions.iter().map(|c| c.name.as_str())) {
            return bad(
                "conditions",
                "two conditions share a name".into(),
                "name each condition once",
            );
        }
        if repeats(cfg.methods.iter().map(|m| m.name.as_str())) {
            return bad(
                "methods",
                "two methods share a name".into(),
                "name each method once",
            );
        }
        for m in &cfg.methods {
            // The one-step reference reads the time constants of the run config (with its set).
            if m.baseline.is_some_and(|b| b.one_step_rule().is_none()) && !m.set.is_empty() {
                return bad(
                    "methods",
                    format!("method {} is a baseline and has run overrides", m.name),
                    "give either baseline or set",
                );
            }
        }
        // Check every override now, so that a typo fails before hours of fitting.
        for sim in &cfg.simulators {
            for c in &cfg.conditions {
                SimConfig::load(&cfg.simulate, &cfg.simulator_overrides(sim, c)).map_err(|e| {
                    Error::config(
                        path,
                        format!("simulators.{} / conditions.{}", sim.name, c.name),
                        e.to_string(),
                        "fix the simulator override",
                    )
                })?;
            }
        }
        for m in cfg
            .methods
            .iter()
            .filter(|m| m.baseline.is_none_or(|b| b.one_step_rule().is_some()))
        {
            crate::config::Config::load(&cfg.fit, &sets(&m.set)).map_err(|e| {
                Error::config(
                    path,
                    format!("methods.{}", m.name),
                    e.to_string(),
                    "fix the run-config override",
                )
            })?;
        }
        Ok(cfg)
    }
}
