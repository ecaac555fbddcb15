//! The machine results and speed figures come from: figures from different processors are never
//! mixed, because our CPU kernels' speed depends on the processor far more than a BLAS's does.

use serde::{Deserialize, Serialize};

/// The processor, as `/proc/cpuinfo` and the CPU's feature flags describe it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Processor {
    /// `AuthenticAMD`, `GenuineIntel`, … (`unknown` elsewhere).
    pub vendor: String,
    /// The marketing name (`AMD EPYC 9R14 96-Core Processor`).
    pub model_name: String,
    /// CPU family number.
    pub family: u32,
    /// Model number within the family.
    pub model: u32,
    /// The widest SIMD level the kernels can dispatch to: `avx512`, `avx2`, `sse4.2`, `neon` or `none`.
    pub simd: String,
    /// Logical CPUs available to this process.
    pub threads: usize,
}

impl Processor {
    /// This machine's processor.
    pub fn this_machine() -> Processor {
        let info = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
        let field = |name: &str| {
            info.lines().find(|l| l.split(':').next().is_some_and(|k| k.trim() == name)).and_then(|l| l.split_once(':')).map(|(_, v)| v.trim().to_string())
        };
        let number = |name: &str| field(name).and_then(|v| v.parse().ok()).unwrap_or(0);
        Processor {
            vendor: field("vendor_id").unwrap_or_else(|| std::env::consts::ARCH.to_string()),
            model_name: field("model name").unwrap_or_else(|| "unknown".into()),
            family: number("cpu family"),
            model: number("model"),
            simd: simd_level().into(),
            threads: std::thread::available_parallelism().map_or(1, |n| n.get()),
        }
    }

    /// One line: `AuthenticAMD family 25 model 17 (AMD EPYC …), avx512, 2 threads`.
    pub fn describe(&self) -> String {
        format!("{} family {} model {} ({}), {}, {} threads", self.vendor, self.family, self.model, self.model_name, self.simd, self.threads)
    }

    /// What makes two machines comparable for speed: vendor, family, model, SIMD level and threads.
    pub fn speed_key(&self) -> String {
        format!("{}/{}/{}/{}/{}", self.vendor, self.family, self.model, self.simd, self.threads)
    }
}

/// The widest SIMD instruction set this CPU supports (what burn's and faer's kernels dispatch to).
fn simd_level() -> &'static str {
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx512f") {
            return "avx512";
        }
        if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma") {
            return "avx2";
        }
        if std::arch::is_x86_feature_detected!("sse4.2") {
            return "sse4.2";
        }
        "none"
    }
    #[cfg(target_arch = "aarch64")]
    {
        "neon"
    }
    #[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
    {
        "none"
    }
}
