//! `model/*.safetensors`: `w_rec [N, N]` (`W[post, pre]`), `w_in [N, D]`, `b [N]`, `gain [n_rec]`,
//! `offset [n_rec]`, `x0 [N]` (learned initial state; zeros otherwise), `mask [N, N]` (0/1),
//! `sign [N]` (±1), all float32.

use crate::error::{Error, Result};
use crate::train::ParamsCpu;
use candle_core::{Device, Tensor};
use ndarray::Array2;
use std::collections::HashMap;
use std::path::Path;

fn t2(a: &Array2<f32>) -> candle_core::Result<Tensor> {
    Tensor::from_slice(
        a.as_slice().expect("standard layout"),
        a.dim(),
        &Device::Cpu,
    )
}

/// Write parameters, mask and signs to `path` (atomically).
pub fn save(path: &Path, p: &ParamsCpu, mask: &Array2<f32>, signs: &[f32]) -> Result<()> {
    let err = |e: candle_core::Error| {
        Error::Invariant(format!("{}: writing weights: {e}", path.display()))
    };
    let v = |x: &[f32]| Tensor::from_slice(x, x.len(), &Device::Cpu);
    let mut m = HashMap::new();
    m.insert("w_rec".to_string(), t2(&p.w_rec).map_err(err)?);
    m.insert("w_in".to_string(), t2(&p.w_in).map_err(err)?);
    m.insert("b".to_string(), v(&p.b).map_err(err)?);
    m.insert("gain".to_string(), v(&p.gain).map_err(err)?);
    m.insert("offset".to_string(), v(&p.offset).map_err(err)?);
    m.insert("x0".to_string(), v(&p.x0).map_err(err)?);
    m.insert("mask".to_string(), t2(mask).map_err(err)?);
    m.insert("sign".to_string(), v(signs).map_err(err)?);
    let tmp = crate::data::contract::partial_path(path);
    candle_core::safetensors::save(&m, &tmp).map_err(err)?;
    std::fs::rename(&tmp, path).map_err(|e| Error::io(path, "renaming the finished file", e))
}

/// Read `w_rec` (and the other tensors) back from a safetensors file.
pub fn load(path: &Path) -> Result<HashMap<String, Tensor>> {
    candle_core::safetensors::load(path, &Device::Cpu)
        .map_err(|e| Error::Invariant(format!("{}: reading weights: {e}", path.display())))
}
