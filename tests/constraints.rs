//! Connectivity constraints: top-prob pruning keeps the block probabilities in expectation, keeps
//! larger weights than random pruning and never changes kept values; Bernoulli masks and the
//! balanced Dale initialisation.

use fitrnn::connectivity::UnitPopulations;
use fitrnn::connectivity::{Population, ProbabilityTable};
use fitrnn::constraints::init::{balanced_dale, uniform_dale};
use fitrnn::constraints::prune::{prune_mask, PruneMethod};
use fitrnn::constraints::{sign_violations, Blocks};
use fitrnn::data::Sign;
use ndarray::Array2;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, LogNormal};

/// Two populations in one area: 40 E (Slc17a7) and 20 I (Sst), with four block probabilities.
fn two_population_blocks() -> (Blocks, Vec<Sign>) {
    let table = "pre_area,pre_layer,pre_type,post_area,post_layer,post_type,probability\n\
                 *,L2/3,Slc17a7,*,L2/3,Slc17a7,0.1\n\
                 *,L2/3,Slc17a7,*,L2/3,Sst,0.3\n\
                 *,L2/3,Sst,*,L2/3,Slc17a7,0.45\n\
                 *,L2/3,Sst,*,L2/3,Sst,0.05\n";
    let t = ProbabilityTable::parse(std::path::Path::new("test.csv"), table).unwrap();
    let mut units = vec![Population::new("VISp", "L2/3", "Slc17a7"); 40];
    units.extend(vec![Population::new("VISp", "L2/3", "Sst"); 20]);
    let signs = units
        .iter()
        .map(|u| {
            if u.cell_type == "Sst" {
                Sign::I
            } else {
                Sign::E
            }
        })
        .collect();
    (Blocks::new(UnitPopulations::new(units), &t), signs)
}

fn lognormal_dense(n: usize, signs: &[Sign], rng: &mut ChaCha8Rng) -> Array2<f32> {
    let d = LogNormal::new(0.0, 1.0).unwrap();
    Array2::from_shape_fn((n, n), |(_, j)| signs[j].value() * d.sample(rng) as f32)
}

fn block_density(mask: &Array2<f32>, post: &[usize], pre: &[usize]) -> f64 {
    let kept: f32 = post
        .iter()
        .flat_map(|&i| pre.iter().map(move |&j| mask[[i, j]]))
        .sum();
    kept as f64 / (post.len() * pre.len()) as f64
}

#[test]
fn topprob_realised_densities_match_block_probabilities_over_many_draws() {
    let (blocks, signs) = two_population_blocks();
    let mut rng = ChaCha8Rng::seed_from_u64(11);
    let draws = 200;
    let blist: Vec<(Vec<usize>, Vec<usize>, f64)> = blocks
        .iter()
        .map(|(a, b, p)| (a.to_vec(), b.to_vec(), p))
        .collect();
    let mut sums = vec![0.0; blist.len()];
    for _ in 0..draws {
        let w = lognormal_dense(60, &signs, &mut rng);
        let mask = prune_mask(&w, &blocks, PruneMethod::TopProb, &mut rng);
        for (k, (post, pre, _)) in blist.iter().enumerate() {
            sums[k] += block_density(&mask, post, pre);
        }
    }
    for (k, (post, pre, p)) in blist.iter().enumerate() {
        let mean = sums[k] / draws as f64;
        // Independent Bernoulli keeps with mean p: the SD of one draw's density is at most
        // sqrt(p(1-p)/n); over `draws` draws the mean's SD is that / sqrt(draws).
        eprintln!("block {k}: requested {p}, mean realised {mean:.4}");
        let se = (p * (1.0 - p) / (post.len() * pre.len()) as f64 / draws as f64).sqrt();
        assert!(
            (mean - p).abs() < 5.0 * se + 1e-3,
            "block {k}: mean density {mean:.4}, requested {p}"
        );
    }
}

#[test]
fn topprob_keeps_larger_weights_than_random_pruning_and_never_changes_them() {
    let (blocks, signs) = two_population_blocks();
    let mut rng = ChaCha8Rng::seed_from_u64(5);
    let (mut top_sum, mut top_n, mut rnd_sum, mut rnd_n) = (0.0, 0.0, 0.0, 0.0);
    for _ in 0..50 {
        let w = lognormal_dense(60, &signs, &mut rng);
        for (method, sum, count) in [
            (PruneMethod::TopProb, &mut top_sum, &mut top_n),
            (PruneMethod::Random, &mut rnd_sum, &mut rnd_n),
        ] {
            let mask = prune_mask(&w, &blocks, method, &mut rng);
            let pruned = &w * &mask;
            for ((i, j), &m) in mask.indexed_iter() {
                assert!(m == 0.0 || m == 1.0);
                if m == 1.0 {
                    assert_eq!(pruned[[i, j]], w[[i, j]], "kept weights keep their values");
                    *sum += w[[i, j]].abs() as f64;
                    *count += 1.0;
                }
            }
        }
    }
    let (top, rnd) = (top_sum / top_n, rnd_sum / rnd_n);
    eprintln!("mean kept |w|: top-prob {top:.3}, random {rnd:.3} ({top_n} vs {rnd_n} kept)");
    assert!(
        (top_n / rnd_n - 1.0).abs() < 0.05,
        "both keep about as many weights"
    );
    assert!(
        top > 1.5 * rnd,
        "mean kept |w|: top-prob {top:.3} vs random {rnd:.3}"
    );
}

#[test]
fn zeros_already_present_count_as_pruned() {
    let (blocks, signs) = two_population_blocks();
    let mut rng = ChaCha8Rng::seed_from_u64(3);
    let mut w = lognormal_dense(60, &signs, &mut rng);
    // Zero half of the E→E block (columns 0..20 of rows 0..40).
    for i in 0..40 {
        for j in 0..20 {
            w[[i, j]] = 0.0;
        }
    }
    let e: Vec<usize> = (0..40).collect();
    let mut total = 0.0;
    for _ in 0..200 {
        let mask = prune_mask(&w, &blocks, PruneMethod::TopProb, &mut rng);
        total += block_density(&mask, &e, &e);
        for i in 0..40 {
            for j in 0..20 {
                assert_eq!(mask[[i, j]], 0.0, "a zero weight is never kept");
            }
        }
    }
    let mean = total / 200.0;
    assert!(
        (mean - 0.1).abs() < 0.005,
        "density of the whole block stays at p = 0.1, got {mean:.4}"
    );
}

#[test]
fn bernoulli_masks_have_the_block_probabilities() {
    let (blocks, _) = two_population_blocks();
    let mut rng = ChaCha8Rng::seed_from_u64(9);
    let mask = blocks.bernoulli(&mut rng);
    for (post, pre, p) in blocks.iter() {
        let n = (post.len() * pre.len()) as f64;
        let d = block_density(&mask, post, pre);
        assert!(
            (d - p).abs() <= 4.5 * (p * (1.0 - p) / n).sqrt() + 1e-9,
            "density {d} vs {p}"
        );
    }
}

#[test]
fn initialisations_obey_dale_and_the_requested_spectral_radius() {
    let (blocks, signs) = two_population_blocks();
    let support = blocks.support();
    let mut rng = ChaCha8Rng::seed_from_u64(1);
    let w = uniform_dale(&signs, &support, &mut rng);
    assert_eq!(sign_violations(&w, &signs), 0);
    let bound = 1.0 / (60f32).sqrt();
    assert!(w.iter().all(|v| v.abs() <= bound));
    assert!(
        w.column(50).iter().any(|&v| v < 0.0),
        "inhibitory columns are negative"
    );

    let w = balanced_dale(&signs, &support, 0.9, &mut rng).unwrap();
    assert_eq!(sign_violations(&w, &signs), 0);
    let rho = fitrnn::linalg::spectral_radius(&w).unwrap();
    assert!((rho - 0.9).abs() < 1e-4, "spectral radius {rho}");
    // Balanced: on average each unit's excitatory and inhibitory input cancel.
    let net: f32 = w.sum();
    let abs: f32 = w.mapv(f32::abs).sum();
    assert!(
        net.abs() < 0.05 * abs,
        "net input {net} vs total magnitude {abs}"
    );
}
