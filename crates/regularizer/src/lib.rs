//! # specreg-regularizer
//!
//! Penalties that shape hidden representations, for any burn model:
//! the **spectral regulariser** of Nassar et al. (2020), which pulls a layer's activation-covariance
//! eigenspectrum towards a power law λ_n ∝ n^(−α), and the **Jacobian regulariser** of Hoffman, Roberts
//! & Yaida (2019), the baseline it is compared with (see `../shared/paper/PROTOCOL.md` §1.2 and §1.4).
//!
//! Status: not implemented yet. This crate reserves its place in the workspace layout; the penalties
//! arrive with the models-and-trainer issue. It will depend on `specreg-spectrum` (eigenvectors) and burn.
