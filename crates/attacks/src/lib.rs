//! # specreg-attacks
//!
//! Adversarial robustness for any burn classifier with inputs in [0, 1]: FGSM, PGD (L∞ and L2),
//! the gradient-free Square Attack as a gradient-masking check, random-noise controls, and ε sweeps
//! with the sanity checks of `../shared/paper/PROTOCOL.md` §1.6.
//!
//! Status: not implemented yet. This crate reserves its place in the workspace layout.
