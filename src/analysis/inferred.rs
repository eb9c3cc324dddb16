//! How large the inferred inputs (`model.latent_inputs`) are beside the recurrent input, per
//! area: what the network attributes to drive from outside the recording rather than to the
//! recorded areas' interactions.

use crate::network::{Fitted, FreeRun};
use crate::rundir::tables::InferredInputRow;

/// One row per split of `runs` and area with inferred inputs: the mean |inferred input| and the
/// mean |recurrent input| over the area's units and the simulated frames. Empty without
/// inferred inputs.
pub fn inferred_inputs(f: &Fitted, runs: &[(&str, &FreeRun)]) -> Vec<InferredInputRow> {
    let Some(latent) = &f.network.rnn.latent else {
        return Vec::new();
    };
    let p = &f.params;
    let d = latent.n_measured;
    let (areas, unit_area) = f.network.latent_area_index();
    let mut rows = Vec::new();
    for (split, run) in runs {
        let recurrent = run.rates.dot(&p.w_rec.t()); // [samples, n]
        let mut inferred_sum = vec![0f64; areas.len()];
        let mut recurrent_sum = vec![0f64; areas.len()];
        let mut count = vec![0usize; areas.len()];
        for (s, &frame) in run.frame.iter().enumerate() {
            let z = latent.at(p.latent.view(), frame as usize);
            for (i, area) in unit_area.iter().enumerate() {
                let Some(a) = *area else { continue };
                let drive: f32 = (0..latent.n_channels)
                    .map(|c| p.w_in[[i, d + c]] * z[c])
                    .sum();
                inferred_sum[a] += drive.abs() as f64;
                recurrent_sum[a] += recurrent[[s, i]].abs() as f64;
                count[a] += 1;
            }
        }
        for (a, area) in areas.iter().enumerate() {
            let c = count[a].max(1) as f64;
            let (inf, rec) = (inferred_sum[a] / c, recurrent_sum[a] / c);
            rows.push(InferredInputRow {
                split: split.to_string(),
                area: area.clone(),
                mean_abs_inferred: inf,
                mean_abs_recurrent: rec,
                inferred_share: inf / (inf + rec),
            });
        }
    }
    rows
}
