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
