//! Which burn device trains and attacks, one table row per backend. `flex` (pure-Rust CPU) is always
//! built; the others are compiled in by features of xtask alone (the library crates take a `Device`):
//!
//! - `vulkan` (`cargo xtask-gpu …`): burn's wgpu backend on Vulkan, SPIR-V kernels; any GPU with a
//!   Vulkan driver and the loader `libvulkan.so.1` at run time.
//! - `cuda` (`cargo xtask-cuda …`): burn's CUDA backend; its build downloads tracel's LLVM bundle, so
//!   it builds only with network access.
//! - `tch` (`cargo xtask-tch …`, after `cargo xtask setup-libtorch`): burn's libtorch backend on the
//!   CPU (`tch`) or an NVIDIA GPU (`tch-cuda`, `tch-cuda:N`). burn 0.22 deprecates it; removing it
//!   touches this file, the feature and the alias.

use std::str::FromStr;

use anyhow::{Result, bail};
use burn::prelude::*;
use specreg_train::Site;

/// One backend: its name on the command line (and in run identities), how to start its device.
struct BackendSpec {
    name: &'static str,
    description: &'static str,
    /// A GPU: covariances and projections on the device, the PyTorch reference on CUDA.
    gpu: bool,
    /// Starts the device on GPU `index`.
    device: fn(usize) -> Result<Device>,
}

const BACKENDS: [BackendSpec; 5] = [
    BackendSpec { name: "flex", description: "burn 0.22 flex (pure-Rust CPU), f32", gpu: false, device: |_| Ok(Device::flex()) },
    BackendSpec { name: "vulkan", description: "burn 0.22 wgpu on Vulkan (SPIR-V, first discrete GPU), f32", gpu: true, device: vulkan_device },
    BackendSpec { name: "cuda", description: "burn 0.22 cuda (CubeCL, GPU 0), f32", gpu: true, device: cuda_device },
    BackendSpec { name: "tch", description: "burn 0.22 libtorch (tch) on the CPU, f32", gpu: false, device: tch_cpu_device },
    BackendSpec { name: "tch-cuda", description: "burn 0.22 libtorch (tch) on CUDA, f32", gpu: true, device: tch_cuda_device },
];

/// A backend and, for `tch-cuda:N`, its GPU; the default is flex, the first of [`BACKENDS`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Backend {
    spec: usize,
    gpu_index: usize,
}

impl FromStr for Backend {
    type Err = String;

    /// `flex`, `vulkan`, `cuda`, `tch`, `tch-cuda` or `tch-cuda:N`.
    fn from_str(text: &str) -> Result<Self, String> {
        let (name, index) = match text.split_once(':') {
            Some((name, index)) => (name, Some(index)),
            None => (text, None),
        };
        let known = || BACKENDS.iter().map(|b| b.name).collect::<Vec<_>>().join(", ") + ", tch-cuda:N";
        let spec = BACKENDS.iter().position(|b| b.name == name).ok_or_else(|| format!("unknown backend {text:?}; known: {}", known()))?;
        let gpu_index = match index {
            None => 0,
            Some(i) if name == "tch-cuda" => i.parse().map_err(|_| format!("backend {text:?}: the GPU index is not a number"))?,
            Some(_) => return Err(format!("backend {text:?}: only tch-cuda takes a GPU index; known: {}", known())),
        };
        Ok(Backend { spec, gpu_index })
    }
}

impl Backend {
    fn spec(self) -> &'static BackendSpec {
        &BACKENDS[self.spec]
    }

    /// The device, checked with one tiny operation, so that a missing GPU, driver or library is an
    /// error naming the backend here rather than a panic on a runtime thread later.
    pub fn device(self) -> Result<Device> {
        let device = (self.spec().device)(self.gpu_index)?;
        if self.spec().name == "flex" { Ok(device) } else { probe(device, self) }
    }

    /// Names the backend for run identities and manifests, and starts its device (see
    /// [`Backend::device`]) when `start_device`; otherwise (collecting results, which trains nothing)
    /// the CPU device stands in.
    pub fn start(self, start_device: bool) -> Result<specreg_experiments::Backend> {
        let device = if start_device { self.device()? } else { Device::flex() };
        Ok(specreg_experiments::Backend { id: self.id().to_string(), description: self.describe(), device, site: self.site() })
    }

    /// Where the benchmarks run our side, with the device started (see [`Backend::device`]).
    pub fn target(self) -> Result<specreg_bench::Target> {
        Ok(specreg_bench::Target { device: self.device()?, description: self.describe(), site: self.site(), torch_device: self.torch_device() })
    }

    /// The short name that is part of every run's identity (`flex`, `vulkan`, `tch-cuda`, …; the
    /// same numbers come out of any GPU of one backend, so the index is not part of it).
    pub fn id(self) -> &'static str {
        self.spec().name
    }

    /// Where covariances and Jacobian projections are computed: on the host for CPU backends (a read
    /// is a copy there, and faer's f64 kernels are faster than a device f64 matmul), on the device
    /// for GPUs (every read drains the queue).
    pub fn site(self) -> Site {
        if self.spec().gpu { Site::Device } else { Site::Host }
    }

    /// The device the PyTorch reference runs on for a fair comparison (`cpu` or `cuda`).
    pub fn torch_device(self) -> &'static str {
        if self.spec().gpu { "cuda" } else { "cpu" }
    }

    /// For manifests and benchmark headers.
    pub fn describe(self) -> String {
        match self.spec().name {
            "tch-cuda" => format!("{} GPU {}", self.spec().description, self.gpu_index),
            _ => self.spec().description.to_string(),
        }
    }
}

/// GPU runtimes (and libtorch) report a missing adapter, driver or library by panicking, on their
/// device thread or in a C++ exception turned into a panic. The panic messages are collected, not
/// printed, and returned as the error.
fn probe(device: Device, backend: Backend) -> Result<Device> {
    use std::sync::{Arc, Mutex};
    let messages = Arc::new(Mutex::new(Vec::<String>::new()));
    let sink = Arc::clone(&messages);
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| sink.lock().unwrap_or_else(|e| e.into_inner()).push(info.to_string())));
    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| Tensor::<1>::ones([4], &device).sum().into_scalar::<f32>()));
    std::panic::set_hook(previous);
    let messages = messages.lock().unwrap_or_else(|e| e.into_inner()).join("; ");
    match outcome {
        Ok(4.0) => Ok(device),
        Ok(sum) => bail!("the {} backend computed 1+1+1+1 = {sum}; not using it", backend.id()),
        Err(_) => bail!("the {} backend could not start a device ({}): {messages}", backend.id(), backend.describe()),
    }
}

#[cfg(feature = "vulkan")]
fn vulkan_device(_: usize) -> Result<Device> {
    Ok(Device::vulkan(burn::tensor::DeviceKind::DiscreteGpu(0)))
}

#[cfg(not(feature = "vulkan"))]
fn vulkan_device(_: usize) -> Result<Device> {
    bail!("this build has no Vulkan backend: use `cargo xtask-gpu …` (the `vulkan` feature; needs a GPU with a Vulkan driver)")
}

#[cfg(feature = "cuda")]
fn cuda_device(_: usize) -> Result<Device> {
    Ok(Device::cuda(0))
}

#[cfg(not(feature = "cuda"))]
fn cuda_device(_: usize) -> Result<Device> {
    bail!(
        "this build has no CUDA backend: use `cargo xtask-cuda …` (the `cuda` feature; its build downloads tracel's LLVM bundle, and it needs an NVIDIA driver and NVRTC at run time), or `--backend vulkan` with `cargo xtask-gpu …`, or `--backend tch-cuda` with `cargo xtask-tch …`"
    )
}

// burn 0.22 marks burn-tch deprecated (0.23 drops it); it is kept here, and only here, on purpose.
#[cfg(feature = "tch")]
#[allow(deprecated)]
fn tch_cpu_device(_: usize) -> Result<Device> {
    Ok(Device::libtorch())
}

#[cfg(feature = "tch")]
#[allow(deprecated)]
fn tch_cuda_device(index: usize) -> Result<Device> {
    Ok(Device::libtorch_cuda(index))
}

#[cfg(not(feature = "tch"))]
const NO_TCH: &str = "this build has no libtorch backend: run `cargo xtask setup-libtorch` once (a Python venv with PyTorch 2.9.0), then use `cargo xtask-tch …` (the `tch` feature)";

#[cfg(not(feature = "tch"))]
fn tch_cpu_device(_: usize) -> Result<Device> {
    bail!(NO_TCH)
}

#[cfg(not(feature = "tch"))]
fn tch_cuda_device(_: usize) -> Result<Device> {
    bail!(NO_TCH)
}

/// `--backend` for the commands that train or attack.
#[derive(clap::Args, Clone, Copy, Debug)]
pub struct BackendArg {
    /// Compute backend for training and attacks: flex, vulkan, cuda, tch, tch-cuda or tch-cuda:N.
    #[arg(long, default_value = "flex", value_parser = clap::builder::ValueParser::new(|s: &str| s.parse::<Backend>()))]
    pub backend: Backend,
}
