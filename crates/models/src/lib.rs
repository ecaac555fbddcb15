//! # specreg-models
//!
//! The networks of the paper as burn modules: MLPs (tanh or ReLU, optional BatchNorm), small CNNs,
//! a batch-whitening layer, and a forward pass that exposes every hidden layer so penalties and
//! spectrum analysis can tap any of them (see `../shared/paper/PROTOCOL.md` §2).
//!
//! Status: not implemented yet. This crate reserves its place in the workspace layout; the models arrive
//! with the models-and-trainer issue.
