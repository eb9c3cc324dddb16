//! Compute devices: CPU, or CUDA when built with the `cuda` feature.

/// True when this build has CUDA support and a CUDA device can be opened.
pub fn cuda_available() -> bool {
    #[cfg(feature = "cuda")]
    {
        candle_core::Device::new_cuda(0).is_ok()
    }
    #[cfg(not(feature = "cuda"))]
    {
        false
    }
}

/// Open the device named `spec` for commands without a config (`cpu`, `cuda` or `cuda:N`).
pub fn open(spec: &str) -> crate::error::Result<candle_core::Device> {
    use crate::error::Error;
    let ordinal = match spec.trim() {
        "cpu" => return Ok(candle_core::Device::Cpu),
        "cuda" => 0,
        s if s.starts_with("cuda:") => s[5..].parse::<usize>().map_err(|_| Error::Unsupported {
            problem: format!("`{s}` is not a device"),
            fix: "use cpu, cuda or cuda:N with N a GPU number".into(),
        })?,
        other => {
            return Err(Error::Unsupported {
                problem: format!("unknown device `{other}`"),
                fix: "use cpu, cuda or cuda:N".into(),
            })
        }
    };
    if !cfg!(feature = "cuda") {
        return Err(Error::Unsupported {
            problem: "this fitrnn was built without CUDA support".into(),
            fix: "rebuild with `cargo build --release --features cuda` (needs the CUDA toolkit), or use --device cpu".into(),
        });
    }
    candle_core::Device::new_cuda(ordinal).map_err(|e| Error::Unsupported {
        problem: format!("cannot open CUDA device {ordinal}: {e}"),
        fix: "check the GPU and driver (nvidia-smi), or use --device cpu".into(),
    })
}

/// Set the CPU threads candle uses (0 = all cores); call before any tensor operation.
pub fn set_threads(threads: usize) {
    if threads > 0 {
        // Read by candle when it first sizes its thread pool.
        std::env::set_var("RAYON_NUM_THREADS", threads.to_string());
    }
}
