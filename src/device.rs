//! Compute devices: the CPU, or a CUDA GPU when fitrnn is built with the `cuda` feature. One parser
//! for every place a device is named (`device:` in a config, `--device` on the command line): never a
//! silent fall-back from a GPU that was asked for to the CPU.

use crate::error::{Error, Result};

/// A device, as named by `auto`, `cpu`, `cuda` or `cuda:N` (after `auto` is decided).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeviceChoice {
    /// The CPU.
    Cpu,
    /// CUDA device with this ordinal.
    Cuda(usize),
}

/// Why a device name was refused: what is wrong and how to fix it (callers turn it into a config or
/// command-line error).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadDevice {
    /// What was asked for and why it cannot be served.
    pub problem: String,
    /// How to fix it.
    pub fix: String,
}

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

impl DeviceChoice {
    /// Parse `auto`, `cpu`, `cuda` or `cuda:N`. `auto` picks CUDA device 0 when this build has CUDA
    /// and a GPU is present, else the CPU; a CUDA device on a build without the `cuda` feature is
    /// refused.
    pub fn parse(spec: &str) -> std::result::Result<DeviceChoice, BadDevice> {
        let s = spec.trim();
        let choice = match s {
            "auto" if cuda_available() => DeviceChoice::Cuda(0),
            "auto" | "cpu" => DeviceChoice::Cpu,
            "cuda" => DeviceChoice::Cuda(0),
            _ => match s.strip_prefix("cuda:") {
                Some(n) => DeviceChoice::Cuda(n.parse::<usize>().map_err(|_| BadDevice {
                    problem: format!("`{s}` is not a device"),
                    fix: "use auto, cpu, cuda or cuda:N with N a GPU number (cuda:0)".into(),
                })?),
                None => {
                    return Err(BadDevice {
                        problem: format!("unknown device `{s}`"),
                        fix: crate::error::suggest(
                            s,
                            &["auto".into(), "cpu".into(), "cuda".into(), "cuda:0".into()],
                            "value",
                        ),
                    })
                }
            },
        };
        if matches!(choice, DeviceChoice::Cuda(_)) && !cfg!(feature = "cuda") {
            return Err(BadDevice {
                problem: format!("`{s}` asks for a GPU, but this fitrnn was built without CUDA support"),
                fix: "rebuild with `cargo install --path . --features cuda` (needs the CUDA toolkit), or use the cpu".into(),
            });
        }
        Ok(choice)
    }

    /// Open the device.
    pub fn open(self) -> Result<candle_core::Device> {
        match self {
            DeviceChoice::Cpu => Ok(candle_core::Device::Cpu),
            DeviceChoice::Cuda(n) => {
                candle_core::Device::new_cuda(n).map_err(|e| Error::Unsupported {
                    problem: format!("cannot open CUDA device {n}: {e}"),
                    fix: "check the GPU and driver (nvidia-smi), or use the cpu".into(),
                })
            }
        }
    }

    /// How manifests and messages name it: `cpu` or `cuda:N`.
    pub fn name(self) -> String {
        match self {
            DeviceChoice::Cpu => "cpu".into(),
            DeviceChoice::Cuda(n) => format!("cuda:{n}"),
        }
    }
}

/// Open the device named `spec` for a command-line flag (`cpu`, `cuda` or `cuda:N`).
pub fn open(spec: &str) -> Result<candle_core::Device> {
    DeviceChoice::parse(spec)
        .map_err(|b| Error::Unsupported {
            problem: format!("--device: {}", b.problem),
            fix: b.fix,
        })?
        .open()
}

/// The device a tensor lives on, as a [`DeviceChoice`].
pub fn choice_of(device: &candle_core::Device) -> DeviceChoice {
    match device.location() {
        candle_core::DeviceLocation::Cuda { gpu_id } => DeviceChoice::Cuda(gpu_id),
        _ => DeviceChoice::Cpu,
    }
}

/// Set the CPU threads candle uses (0 = all cores); call before any tensor operation. More
/// threads than the machine has cores are capped at its core count, with a note on stderr (a
/// pool of 100,000 threads would take minutes to start and gain nothing).
pub fn set_threads(threads: usize) {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let threads = if threads > cores {
        eprintln!(
            "note: threads: {threads} is more than this machine's {cores} cores; using {cores}"
        );
        cores
    } else {
        threads
    };
    if threads > 0 {
        // Read by candle when it first sizes its thread pool.
        std::env::set_var("RAYON_NUM_THREADS", threads.to_string());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn devices_parse_once_for_configs_and_flags() {
        assert_eq!(DeviceChoice::parse("cpu"), Ok(DeviceChoice::Cpu));
        assert_eq!(DeviceChoice::parse(" cpu "), Ok(DeviceChoice::Cpu));
        assert!(DeviceChoice::parse("gpu")
            .unwrap_err()
            .problem
            .contains("unknown device"));
        assert!(DeviceChoice::parse("cuda:x")
            .unwrap_err()
            .problem
            .contains("not a device"));
        if !cfg!(feature = "cuda") {
            assert_eq!(DeviceChoice::parse("auto"), Ok(DeviceChoice::Cpu));
            let e = DeviceChoice::parse("cuda:1").unwrap_err();
            assert!(e.problem.contains("without CUDA support"), "{e:?}");
        }
        assert_eq!(DeviceChoice::Cuda(2).name(), "cuda:2");
    }
}
