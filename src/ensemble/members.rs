//! The members of an ensemble: the fit itself, and fits of the same config that differ in seed,
//! in a block bootstrap of the training windows and in the held-out fold.

use crate::config::Config;
use crate::jobs::FitSpec;
use crate::rundir::RunPaths;
use std::path::PathBuf;

/// One member of an ensemble.
#[derive(Debug, Clone, PartialEq)]
pub struct Member {
    /// 0 for the fit itself, then 1, 2, ...
    pub index: usize,
    /// Its seed (initialisation, window order, noise).
    pub seed: u64,
    /// The seed of its block bootstrap of the training windows (`None`: the windows as they are).
    pub bootstrap: Option<u64>,
    /// The cross-validation fold it holds out.
    pub fold: usize,
    /// Its run directory (the fit's own for member 0).
    pub dir: PathBuf,
}

/// Every member `cfg.ensemble` asks for, the fit (written to `run`) first: seeds × bootstrap
/// resamples × folds, where every member but the fit itself resamples its windows when
/// `ensemble.bootstrap` > 0, and folds count on from the config's own fold.
pub fn members(cfg: &Config, run: &RunPaths) -> Vec<Member> {
    let e = &cfg.ensemble;
    let available = cfg.data.split.folds().max(1);
    let mut out = Vec::new();
    for s in 0..e.seeds.max(1) {
        for b in 0..e.bootstrap.max(1) {
            for f in 0..e.folds.max(1) {
                let index = out.len();
                let resample = e.bootstrap > 0 && index > 0;
                out.push(Member {
                    index,
                    seed: cfg.seed + s as u64,
                    bootstrap: resample.then_some(1 + b as u64 + 1000 * s as u64),
                    fold: (cfg.data.split.fold + f) % available,
                    dir: if index == 0 {
                        run.root().to_path_buf()
                    } else {
                        run.ensemble_member(index)
                    },
                });
            }
        }
    }
    out
}

/// The overrides that turn the run's resolved config into `m`'s, with no ensemble of its own.
pub fn member_overrides(m: &Member) -> Vec<String> {
    let mut sets = vec![
        format!("seed={}", m.seed),
        format!("data.split.fold={}", m.fold),
    ];
    if let Some(b) = m.bootstrap {
        sets.push(format!("data.windows.bootstrap={b}"));
    }
    sets.extend(no_ensemble());
    sets
}

/// Overrides that switch a child fit's own ensemble and self-check off.
pub fn no_ensemble() -> Vec<String> {
    ["seeds", "bootstrap", "folds", "selfcheck", "subsample"]
        .iter()
        .map(|k| format!("ensemble.{k}=0"))
        .collect()
}

/// The fit spec of member `m` (not the fit itself) of the run in `run`, on `threads` threads.
pub fn spec(run: &RunPaths, m: &Member, threads: usize) -> FitSpec {
    FitSpec {
        name: format!("member {}", m.index),
        config: run.config(),
        overrides: member_overrides(m),
        out: m.dir.clone(),
        threads,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_fit_is_member_zero_and_every_other_member_differs() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("configs/mouse_v1.yaml");
        let sets = [
            "seed=5",
            "ensemble.seeds=2",
            "ensemble.bootstrap=2",
            "ensemble.folds=2",
        ];
        let sets: Vec<String> = sets.iter().map(|s| s.to_string()).collect();
        let cfg = Config::load(&path, &sets).unwrap();
        let run = RunPaths::new("/runs/r");
        let m = members(&cfg, &run);
        assert_eq!(m.len(), 8);
        assert_eq!(m[0].dir, PathBuf::from("/runs/r"));
        assert_eq!((m[0].seed, m[0].bootstrap, m[0].fold), (5, None, 0));
        let keys: std::collections::BTreeSet<_> =
            m.iter().map(|x| (x.seed, x.bootstrap, x.fold)).collect();
        assert_eq!(keys.len(), 8, "members repeat: {m:?}");
        assert!(m[1..].iter().all(|x| x.bootstrap.is_some()));
        assert!(member_overrides(&m[3]).contains(&"ensemble.selfcheck=0".to_string()));
    }
}
