//! Which burn device trains and attacks. `flex` (pure-Rust CPU) is always built. GPU backends are
//! compiled in by features: `vulkan` (`cargo xtask-gpu …`: burn's wgpu backend on Vulkan, SPIR-V
//! kernels; any GPU with a Vulkan driver, the loader `libvulkan.so.1` at run time) and `cuda` (burn's
//! CUDA backend; its build downloads tracel's LLVM bundle, so it builds only with network access).
//! The rest of the code is the same for all: burn 0.22's tensors are backend-erased, so only the
//! `Device` differs.

use anyhow::{Result, bail};
use burn::prelude::*;

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Backend {
    /// burn's pure-Rust CPU backend.
    #[default]
    Flex,
    /// burn's wgpu backend on Vulkan, first discrete GPU.
    Vulkan,
    /// burn's CUDA backend (CubeCL), GPU 0.
    Cuda,
}

impl Backend {
    /// The device, checked with one tiny operation, so that a missing GPU or driver is an error
    /// naming the backend here rather than a panic on a runtime thread later.
    pub fn device(self) -> Result<Device> {
        match self {
            Backend::Flex => Ok(Device::flex()),
            Backend::Vulkan => probe(vulkan_device()?, self),
            Backend::Cuda => probe(cuda_device()?, self),
        }
    }

    /// Names the backend for run identities and manifests, and starts its device (see
    /// [`Backend::device`]) when `start_device`; otherwise (collecting results, which trains nothing)
    /// the CPU device stands in.
    pub fn start(self, start_device: bool) -> Result<specreg_experiments::Backend> {
        let device = if start_device { self.device()? } else { Device::flex() };
        Ok(specreg_experiments::Backend { id: self.id().to_string(), description: self.describe().to_string(), device, site: self.site() })
    }

    /// The short name that is part of every run's identity (`flex`, `vulkan`, `cuda`).
    pub fn id(self) -> &'static str {
        match self {
            Backend::Flex => "flex",
            Backend::Vulkan => "vulkan",
            Backend::Cuda => "cuda",
        }
    }

    /// Where evaluation passes accumulate covariances: on the host for the CPU backend (a read is a
    /// copy there, and faer's f64 kernels are faster than a device f64 matmul), on the device for GPUs
    /// (every read drains the queue).
    pub fn site(self) -> specreg_train::Site {
        match self {
            Backend::Flex => specreg_train::Site::Host,
            Backend::Vulkan | Backend::Cuda => specreg_train::Site::Device,
        }
    }

    /// The device the PyTorch reference runs on for a fair comparison (`cpu` or `cuda`).
    pub fn torch_device(self) -> &'static str {
        match self {
            Backend::Flex => "cpu",
            Backend::Vulkan | Backend::Cuda => "cuda",
        }
    }

    /// For manifests and benchmark headers.
    pub fn describe(self) -> &'static str {
        match self {
            Backend::Flex => "burn 0.22 flex (pure-Rust CPU), f32",
            Backend::Vulkan => "burn 0.22 wgpu on Vulkan (SPIR-V, first discrete GPU), f32",
            Backend::Cuda => "burn 0.22 cuda (CubeCL, GPU 0), f32",
        }
    }
}

/// GPU runtimes report a missing adapter or driver by panicking on their device thread (the caller
/// then sees a closed channel). The panic messages are collected, not printed, and returned as the error.
fn probe(device: Device, backend: Backend) -> Result<Device> {
    use std::sync::{Arc, Mutex};
    let messages = Arc::new(Mutex::new(Vec::<String>::new()));
    let sink = Arc::clone(&messages);
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        sink.lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(info.to_string())
    }));
    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        Tensor::<1>::ones([4], &device).sum().into_scalar::<f32>()
    }));
    std::panic::set_hook(previous);
    let messages = messages
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .join("; ");
    match outcome {
        Ok(sum) if sum == 4.0 => Ok(device),
        Ok(sum) => bail!("the {backend:?} backend computed 1+1+1+1 = {sum}; not using it"),
        Err(_) => bail!(
            "the {backend:?} backend could not start a device ({}): {messages}",
            backend.describe()
        ),
    }
}

#[cfg(feature = "vulkan")]
fn vulkan_device() -> Result<Device> {
    Ok(Device::vulkan(burn::tensor::DeviceKind::DiscreteGpu(0)))
}

#[cfg(not(feature = "vulkan"))]
fn vulkan_device() -> Result<Device> {
    bail!(
        "this build has no Vulkan backend: use `cargo xtask-gpu …` (the `vulkan` feature; needs a GPU with a Vulkan driver)"
    )
}

#[cfg(feature = "cuda")]
fn cuda_device() -> Result<Device> {
    Ok(Device::cuda(0))
}

#[cfg(not(feature = "cuda"))]
fn cuda_device() -> Result<Device> {
    bail!(
        "this build has no CUDA backend: use `cargo xtask-cuda …` (the `cuda` feature; its build downloads tracel's LLVM bundle, and it needs an NVIDIA driver and NVRTC at run time), or `--backend vulkan` with `cargo xtask-gpu …`"
    )
}

/// `--backend` for the commands that train or attack.
#[derive(clap::Args, Clone, Copy, Debug)]
pub struct BackendArg {
    /// Compute backend for training and attacks.
    #[arg(long, value_enum, default_value_t = Backend::Flex)]
    pub backend: Backend,
}
