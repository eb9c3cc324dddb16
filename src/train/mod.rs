//! Fitting the RNN to a [`Dataset`]: phases dense → prune → fine-tune, Dale's backprop (projection
//! after every optimiser step), invariant checks after every step, early stopping with the best
//! parameters of each phase kept, and a checkpoint after every epoch from which a fit resumes
//! exactly. What it returns is a [`Fitted`] model (with the training history); everything after
//! the fit reads that, never the trainer.

pub mod es;
pub mod optim;
mod step;
pub mod warm_start;

use crate::config::{
    Config, GradientKind, MaskRealisation, ModelMode, Readout, Schedule, WarmStart,
};
use crate::constraints::prune::{prune_mask, PruneMethod};
use crate::dataset::{Dataset, Window};
use crate::error::{Error, Result};
use crate::model::{to_array2, InitialState, Params, ParamsCpu};
use crate::network::{Fitted, Network};
use crate::rundir::checkpoint::Checkpoint;
use crate::rundir::tables::HistoryRow;
use candle_core::{Device, Tensor};
pub use optim::{Optim, OptimConfig};
use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
pub use step::{clip_gradients, train_step, Backward};

/// Everything a fit produces: the fitted model and how training went.
#[derive(Debug, Clone)]
pub struct FitOutput {
    /// The fitted model (network, final parameters, mask, initial and dense weights).
    pub fitted: Fitted,
    /// One row per epoch.
    pub history: Vec<HistoryRow>,
    /// Wall time per phase, s.
    pub phase_seconds: Vec<(String, f64)>,
    /// Every roll-back after a non-finite loss (empty for a fit that never needed one).
    pub retries: Vec<String>,
    /// What the warm start did (none without one).
    pub warm_start: Option<warm_start::WarmStartSummary>,
}

/// Roll-backs (each halving the learning rate) after a non-finite loss before a fit fails.
pub const MAX_RETRIES: usize = 3;

/// A fresh optimiser for `params` as the config asks (EG acts on `W_rec`, the first variable).
pub fn new_optimiser(cfg: &Config, params: &Params) -> Result<Optim> {
    let t = &cfg.training;
    let vars = params.trainable(
        cfg.model.bias,
        cfg.model.mode != ModelMode::Populations || cfg.model.readout == Readout::Mean,
        cfg.model.initial_state == InitialState::Learned,
    );
    let eg = (0..vars.len()).map(|k| k == 0).collect();
    Optim::new(
        OptimConfig {
            kind: t.optimiser,
            lr: t.lr,
            betas: (0.9, 0.999),
            eps: 1e-8,
            weight_decay: t.weight_decay,
            momentum: t.momentum,
        },
        vars,
        eg,
    )
}

/// Learning rate for `epoch` (0-based) of a phase; PyTorch's StepLR and CosineAnnealingLR (which
/// keeps following the cosine past `t_max`, rising again).
fn lr_at(cfg: &Config, epoch: usize) -> f64 {
    let lr = cfg.training.lr;
    match &cfg.training.schedule {
        Schedule::Constant => lr,
        Schedule::Step { step_size, gamma } => lr * gamma.powi((epoch / step_size) as i32),
        Schedule::Cosine { t_max, eta_min } => {
            eta_min
                + (lr - eta_min)
                    * (1.0 + (std::f64::consts::PI * epoch as f64 / *t_max as f64).cos())
                    / 2.0
        }
    }
}

/// The phases, in order, with their epoch counts.
fn phases(cfg: &Config) -> [(&'static str, usize); 2] {
    [
        ("dense", cfg.training.dense_epochs),
        ("finetune", cfg.training.finetune_epochs),
    ]
}

/// What one fit works with: the config, the data, the network and its trainable parameters on
/// the device, and the run's one random stream.
struct Trainer<'a> {
    cfg: &'a Config,
    ds: &'a Dataset,
    device: &'a Device,
    network: &'a Network,
    params: &'a Params,
    rng: ChaCha8Rng,
}

/// Fit the model described by `cfg` to `ds` on `device`, from scratch or from `resume`.
/// `on_epoch` is called after every epoch (for progress display) with the phase, epoch, epochs in
/// the phase and the history row; `on_checkpoint` after every epoch and at every phase end with
/// the state to save (an error from it stops the fit). Resuming from any saved state ends with the
/// same weights as an uninterrupted fit.
pub fn fit(
    cfg: &Config,
    ds: &Dataset,
    device: &Device,
    resume: Option<Checkpoint>,
    mut on_epoch: impl FnMut(&str, usize, usize, &HistoryRow),
    mut on_checkpoint: impl FnMut(&Checkpoint) -> Result<()>,
) -> Result<FitOutput> {
    let network = Network::new(cfg, ds, device)?;
    let mut rng = ChaCha8Rng::seed_from_u64(cfg.seed);
    let mut st = match resume {
        Some(st) => {
            rng.set_word_pos(st.rng_word_pos);
            st
        }
        None => {
            let (mask, mut w_init, mut params) = network.initial(cfg, &mut rng)?;
            let mut summary = None;
            if cfg.training.warm_start == WarmStart::OneStep {
                let dale = cfg.constraints.dale == crate::config::Dale::Projection;
                summary = Some(warm_start::one_step(
                    ds,
                    &network,
                    &mask,
                    dale,
                    &mut params,
                )?);
                w_init = params.w_rec.clone();
            }
            let mut st = Checkpoint::fresh(params, mask, w_init, ds.train_windows.len());
            if let Some(s) = &summary {
                st.set_seconds("warm_start", s.seconds);
            }
            st.warm_start = summary;
            st
        }
    };
    let params = st.params.to_params(device)?;
    let mut t = Trainer {
        cfg,
        ds,
        device,
        network: &network,
        params: &params,
        rng,
    };
    for (k, &(phase, epochs)) in phases(cfg).iter().enumerate() {
        if k == st.phase {
            t.run_phase(&mut st, phase, epochs, &mut on_epoch, &mut on_checkpoint)?;
        }
    }
    let finetuned = st.history.iter().any(|h| h.phase == "finetune");
    Ok(FitOutput {
        fitted: Fitted {
            network,
            params: st.params,
            mask: st.mask,
            w_init: st.w_init,
            dense: st.dense,
            finetuned,
        },
        history: st.history,
        phase_seconds: st.phase_seconds,
        retries: st.retries,
        warm_start: st.warm_start,
    })
}

impl Trainer<'_> {
    /// Run (the rest of) one phase: its epochs, each followed by `on_checkpoint`, then the phase
    /// end, which keeps the phase's best parameters, moves `st` to the next phase and is a
    /// checkpoint too.
    fn run_phase(
        &mut self,
        st: &mut Checkpoint,
        phase: &str,
        epochs: usize,
        on_epoch: &mut impl FnMut(&str, usize, usize, &HistoryRow),
        on_checkpoint: &mut impl FnMut(&Checkpoint) -> Result<()>,
    ) -> Result<()> {
        let start = std::time::Instant::now();
        let base_seconds = st.seconds_of(phase);
        let mut opt = new_optimiser(self.cfg, self.params)?;
        if !st.started {
            if phase == "finetune" {
                self.prune(st)?;
            }
            st.started = true;
        } else {
            optim::restore(&mut opt, st, self.device)?;
        }
        let mask = Tensor::from_slice(
            st.mask.as_slice().expect("standard layout"),
            st.mask.dim(),
            self.device,
        )?;
        let dale = self.cfg.constraints.dale;
        step::project(
            &self.network.rnn,
            self.params,
            &self.network.sign_row,
            dale,
            &mask,
        )?;
        while st.epoch < epochs && !st.stopped {
            let (order, step) = (st.order.clone(), st.step);
            let row = match self.run_epoch(st, &mut opt, &mask, phase) {
                Ok(row) => row,
                Err(Error::Diverged {
                    place, what, lr, ..
                }) if st.retries.len() < MAX_RETRIES => {
                    // Back to the end of the last good epoch, at half the learning rate.
                    st.retries.push(format!(
                        "{place}: {what} at learning rate {}; rolled back to the end of epoch {} and halved the learning rate",
                        crate::error::short_number(lr),
                        st.epoch
                    ));
                    st.lr_scale /= 2.0;
                    (st.order, st.step) = (order, step);
                    self.roll_back(st, &mut opt, &mask)?;
                    continue;
                }
                Err(Error::Diverged {
                    place,
                    what,
                    lr,
                    fix,
                }) if !st.retries.is_empty() => {
                    return Err(Error::Diverged {
                        place,
                        what,
                        lr: self.cfg.training.lr,
                        fix: format!(
                            "{fix} (the fit already rolled back {} times, each time to its last good epoch at half the learning rate, down to {})",
                            st.retries.len(),
                            crate::error::short_number(lr)
                        ),
                    })
                }
                Err(e) => return Err(e),
            };
            on_epoch(phase, st.epoch, epochs, &row);
            st.history.push(row);
            self.keep_best(st)?;
            st.params = ParamsCpu::from_params(self.params)?;
            optim::save(&opt, st)?;
            st.rng_word_pos = self.rng.get_word_pos();
            st.set_seconds(phase, base_seconds + start.elapsed().as_secs_f64());
            on_checkpoint(st)?;
        }
        self.end_phase(st, phase, epochs)?;
        on_checkpoint(st)
    }

    /// Restore the parameters, optimiser state and random stream saved in `st` at the end of its
    /// last epoch (or at the phase start), with Dale's signs and the mask applied again.
    fn roll_back(&mut self, st: &Checkpoint, opt: &mut Optim, mask: &Tensor) -> Result<()> {
        self.params.assign(&st.params.to_params(self.device)?)?;
        if st.opt_slots.is_empty() {
            *opt = new_optimiser(self.cfg, self.params)?;
        } else {
            optim::restore(opt, st, self.device)?;
        }
        self.rng.set_word_pos(st.rng_word_pos);
        let dale = self.cfg.constraints.dale;
        step::project(
            &self.network.rnn,
            self.params,
            &self.network.sign_row,
            dale,
            mask,
        )
    }

    /// At the start of fine-tuning: prune the dense weights to the mask the config's realisation
    /// asks for (top-prob or random; other realisations keep their mask).
    fn prune(&mut self, st: &mut Checkpoint) -> Result<()> {
        let method = match self.cfg.constraints.mask.realisation {
            MaskRealisation::Topprob => PruneMethod::TopProb,
            MaskRealisation::Random => PruneMethod::Random,
            MaskRealisation::Dense | MaskRealisation::Bernoulli => return Ok(()),
        };
        let blocks = self
            .network
            .blocks
            .as_ref()
            .expect("validated: a mask realisation needs a table");
        let w = to_array2(self.params.w_rec.as_tensor())?;
        st.mask = prune_mask(&w, blocks, method, &mut self.rng);
        Ok(())
    }

    /// One epoch: every training batch in a freshly shuffled order, each one training step
    /// followed by the invariant checks; then the validation loss. Returns its history row.
    fn run_epoch(
        &mut self,
        st: &mut Checkpoint,
        opt: &mut Optim,
        mask: &Tensor,
        phase: &str,
    ) -> Result<HistoryRow> {
        let t0 = std::time::Instant::now();
        let (cfg, ds, device) = (self.cfg, self.ds, self.device);
        let lr = lr_at(cfg, st.epoch) * st.lr_scale;
        opt.cfg.lr = lr;
        st.order.shuffle(&mut self.rng);
        let mut losses = Vec::new();
        for chunk in st.order.chunks(cfg.training.batch_size) {
            let wins: Vec<Window> = chunk.iter().map(|&i| ds.train_windows[i]).collect();
            let (y, u) = ds.batch(&wins, device)?;
            let starts: Vec<usize> = wins.iter().map(|w| w.start).collect();
            let u = self.network.rnn.with_latent(self.params, &u, &starts)?;
            let noise = step::training_noise(
                cfg.model.noise_std,
                self.network,
                self.params,
                y.dim(0)?,
                wins.len(),
                &mut self.rng,
                device,
            )?;
            let loss = train_step(
                &self.network.rnn,
                self.params,
                opt,
                &y,
                &u,
                &self.network.sign_row,
                mask,
                cfg.constraints.dale,
                cfg.training.grad_clip,
                noise.as_ref(),
                match cfg.training.gradient {
                    GradientKind::Bptt => Backward::Bptt,
                    GradientKind::Es => Backward::Es(es::EsSpec {
                        pairs: cfg.training.es.population / 2,
                        sigma: cfg.training.es.sigma,
                        // Every step its own draws, the same on a resumed run.
                        seed: cfg.seed ^ (st.step as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15),
                        loss: cfg.training.es.loss,
                        level: cfg.training.es.level,
                    }),
                },
            )?;
            st.step += 1;
            let place = format!("phase {phase}, epoch {}, step {}", st.epoch + 1, st.step);
            step::check_invariants(
                self.params,
                self.network,
                (&y, &u),
                cfg.constraints.dale,
                mask,
                loss,
                lr,
                &place,
            )?;
            losses.push(loss);
        }
        st.epoch += 1;
        let val_loss = self.eval_loss(&ds.validation_windows)?;
        let train_loss = losses.iter().sum::<f64>() / losses.len().max(1) as f64;
        Ok(HistoryRow {
            phase: phase.into(),
            epoch: st.epoch as u32,
            step: st.step as u32,
            train_loss,
            val_loss,
            lr,
            seconds: t0.elapsed().as_secs_f64(),
        })
    }

    /// Keep the best parameters of the phase by validation loss (training loss when nothing is
    /// held out), and stop the phase early after `patience` epochs without a better one.
    fn keep_best(&self, st: &mut Checkpoint) -> Result<()> {
        let last = st.history.last().expect("an epoch just ended");
        let score = if last.val_loss.is_finite() {
            last.val_loss
        } else {
            last.train_loss
        };
        if st.best.as_ref().is_none_or(|(b, _)| score < *b) {
            st.best = Some((score, ParamsCpu::from_params(self.params)?));
            st.since_best = 0;
        } else {
            st.since_best += 1;
            st.stopped = self
                .cfg
                .training
                .patience
                .is_some_and(|p| st.since_best >= p);
        }
        Ok(())
    }

    /// Phase end: restore the phase's best parameters, remember the dense fit, and move to the
    /// next phase.
    fn end_phase(&mut self, st: &mut Checkpoint, phase: &str, epochs: usize) -> Result<()> {
        if let Some((_, b)) = st.best.take() {
            let best = b.to_params(self.device)?;
            self.params.assign(&best)?;
        }
        st.params = ParamsCpu::from_params(self.params)?;
        if phase == "dense" && epochs > 0 {
            st.dense = Some(st.params.clone());
        }
        st.next_phase();
        st.rng_word_pos = self.rng.get_word_pos();
        Ok(())
    }

    /// Free-running loss over `windows` (no parameter update); NaN without windows.
    fn eval_loss(&self, windows: &[Window]) -> Result<f64> {
        if windows.is_empty() {
            return Ok(f64::NAN);
        }
        let (y, u) = self.ds.batch(windows, self.device)?;
        let starts: Vec<usize> = windows.iter().map(|w| w.start).collect();
        let u = self.network.rnn.with_latent(self.params, &u, &starts)?;
        let l = self
            .network
            .rnn
            .loss(self.params, &y.detach(), &u.detach())?;
        Ok(l.to_scalar::<f32>()? as f64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg_with(schedule: &str) -> Config {
        let text = format!("data: {{path: x.h5}}\ntraining: {{lr: 0.001, schedule: {schedule}}}\n");
        Config::parse(std::path::Path::new("t.yaml"), &text, &[]).unwrap()
    }

    #[test]
    fn schedules_follow_pytorch() {
        let c = cfg_with("{kind: cosine, t_max: 10, eta_min: 0.0001}");
        assert!((lr_at(&c, 0) - 1e-3).abs() < 1e-15);
        assert!((lr_at(&c, 5) - 0.00055).abs() < 1e-12);
        assert!((lr_at(&c, 10) - 1e-4).abs() < 1e-15);
        assert!((lr_at(&c, 20) - 1e-3).abs() < 1e-12, "periodic past t_max");
        let s = cfg_with("{kind: step, step_size: 3, gamma: 0.5}");
        assert_eq!(
            [lr_at(&s, 0), lr_at(&s, 2), lr_at(&s, 3), lr_at(&s, 7)],
            [1e-3, 1e-3, 5e-4, 2.5e-4]
        );
        assert_eq!(lr_at(&cfg_with("{kind: constant}"), 9), 1e-3);
    }
}
