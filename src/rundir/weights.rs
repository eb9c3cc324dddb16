//! `model/*.safetensors`: `w_rec [N, N]` (`W[post, pre]`), `w_in [N, D]`, `b [N]`, `gain [n_rec]`,
//! `offset [n_rec]`, `x0 [N]` (learned initial state; zeros otherwise), `mask [N, N]` (0/1),
//! `sign [N]` (±1), and where learned `calcium_log_tau [n_types]` (indicator decay) and
//! `log_tau [n_types]` (membrane time constant), ln of ms per cell type, and with inferred inputs
//! `latent [n_knots, n_channels]` (their knots; `w_in` then has their columns after the measured
//! inputs); all float32.

use crate::error::{Error, Result};
use crate::model::ParamsCpu;
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
    let v = |x: &[f32]| Tensor::from_slice(x, x.len(), &Device::Cpu);
    let mut m = HashMap::new();
    m.insert("w_rec".to_string(), t2(&p.w_rec)?);
    m.insert("w_in".to_string(), t2(&p.w_in)?);
    m.insert("b".to_string(), v(&p.b)?);
    m.insert("gain".to_string(), v(&p.gain)?);
    m.insert("offset".to_string(), v(&p.offset)?);
    m.insert("x0".to_string(), v(&p.x0)?);
    if !p.calcium_log_tau.is_empty() {
        m.insert("calcium_log_tau".to_string(), v(&p.calcium_log_tau)?);
    }
    if !p.log_tau.is_empty() {
        m.insert("log_tau".to_string(), v(&p.log_tau)?);
    }
    if !p.latent.is_empty() {
        m.insert("latent".to_string(), t2(&p.latent)?);
    }
    m.insert("mask".to_string(), t2(mask)?);
    m.insert("sign".to_string(), v(signs)?);
    write(path, &m, None)
}

/// Write named float32 matrices to `path` as one safetensors file (atomically).
pub fn write_arrays(path: &Path, arrays: &[(String, Array2<f32>)]) -> Result<()> {
    let mut m = HashMap::new();
    for (name, a) in arrays {
        m.insert(name.clone(), t2(&a.as_standard_layout().to_owned())?);
    }
    write(path, &m, None)
}

/// Write `tensors` (and string `metadata`, if any) to `path` as one safetensors file, atomically
/// and with the mode every other output gets (the user's umask decides who may read it).
pub fn write(
    path: &Path,
    tensors: &HashMap<String, Tensor>,
    metadata: Option<HashMap<String, String>>,
) -> Result<()> {
    let bytes = safetensors::serialize(tensors.iter(), metadata)
        .map_err(|e| Error::internal(format!("{}: writing tensors", path.display()), e))?;
    crate::atomic::write_bytes(path, &bytes)
}

/// Read `w_rec` (and the other tensors) back from a safetensors file.
pub fn load(path: &Path) -> Result<HashMap<String, Tensor>> {
    Ok(TensorFile::open(path)?.tensors)
}

fn unreadable(path: &Path, e: impl std::fmt::Display) -> Error {
    Error::data(
        path,
        "/",
        format!(
            "not a readable safetensors file: {}",
            e.to_string().lines().next().unwrap_or_default()
        ),
        "use the weights a fitrnn run wrote, or run the fit again",
    )
}

/// A safetensors file read back as named float32 arrays, with errors that name the file and the
/// tensor (shared by weights files and checkpoints).
pub struct TensorFile {
    path: std::path::PathBuf,
    tensors: HashMap<String, Tensor>,
    metadata: HashMap<String, String>,
}

impl TensorFile {
    /// Read `path`: its tensors and its string metadata.
    pub fn open(path: &Path) -> Result<TensorFile> {
        let bytes = std::fs::read(path).map_err(|e| Error::io(path, "reading", e))?;
        let (_, header) =
            safetensors::SafeTensors::read_metadata(&bytes).map_err(|e| unreadable(path, e))?;
        let metadata = header.metadata().clone().unwrap_or_default();
        let tensors = candle_core::safetensors::load_buffer(&bytes, &Device::Cpu)
            .map_err(|e| unreadable(path, e))?;
        Ok(TensorFile {
            path: path.to_path_buf(),
            tensors,
            metadata,
        })
    }

    /// The string metadata stored under `key`, if any.
    pub fn metadata(&self, key: &str) -> Option<&str> {
        self.metadata.get(key).map(String::as_str)
    }

    fn get(&self, k: &str) -> Result<&Tensor> {
        self.tensors.get(k).ok_or_else(|| {
            Error::data(
                &self.path,
                k,
                "missing tensor",
                "the file is incomplete; run the fit again",
            )
        })
    }

    fn bad(&self, k: &str) -> impl Fn(candle_core::Error) -> Error + '_ {
        let k = k.to_string();
        move |e| Error::data(&self.path, k.clone(), e.to_string(), "run the fit again")
    }

    /// Tensor `k` as a 2-D array.
    pub fn array2(&self, k: &str) -> Result<Array2<f32>> {
        let t = self.get(k)?;
        let (r, c) = t.dims2().map_err(self.bad(k))?;
        let v = t
            .flatten_all()
            .and_then(|x| x.to_vec1())
            .map_err(self.bad(k))?;
        Ok(Array2::from_shape_vec((r, c), v).expect("dims2 matches the element count"))
    }

    /// Tensor `k` flattened, with its shape.
    pub fn flat(&self, k: &str) -> Result<(Vec<usize>, Vec<f32>)> {
        let t = self.get(k)?;
        Ok((
            t.dims().to_vec(),
            t.flatten_all()
                .and_then(|x| x.to_vec1())
                .map_err(self.bad(k))?,
        ))
    }

    /// The parameters stored under `prefix` (`""` for a weights file, `"params."` etc. in a
    /// checkpoint).
    pub fn params(&self, prefix: &str) -> Result<ParamsCpu> {
        let v = |k: &str| self.flat(&format!("{prefix}{k}")).map(|x| x.1);
        Ok(ParamsCpu {
            w_rec: self.array2(&format!("{prefix}w_rec"))?,
            w_in: self.array2(&format!("{prefix}w_in"))?,
            b: v("b")?,
            gain: v("gain")?,
            offset: v("offset")?,
            x0: v("x0")?,
            // Absent for rate readouts (and in runs written before the calcium readout existed).
            calcium_log_tau: if self
                .tensors
                .contains_key(&format!("{prefix}calcium_log_tau"))
            {
                v("calcium_log_tau")?
            } else {
                vec![]
            },
            // Present only when the time constants were learned.
            log_tau: if self.tensors.contains_key(&format!("{prefix}log_tau")) {
                v("log_tau")?
            } else {
                vec![]
            },
            // Present only with inferred inputs.
            latent: if self.tensors.contains_key(&format!("{prefix}latent")) {
                self.array2(&format!("{prefix}latent"))?
            } else {
                Array2::zeros((0, 0))
            },
        })
    }
}
