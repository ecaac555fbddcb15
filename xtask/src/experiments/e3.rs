//! E3 — paper §4.3: every hidden layer regularised (conv layers on their flattened maps), against the
//! Jacobian regulariser (λ_J = 0.01, one forward-mode projection per example). Variants: Vanilla,
//! SpecReg on all layers at each β, Jac (claim C5).

use specreg_regularizer::LayerSelection;

use super::training::{Experiment, Family, TrainingSettings, Variant};

/// E3-MLP (784-1000-1000-1000-10, tanh) or E3-CNN.
pub fn experiment<'a>(id: &'a str, family: Family, settings: &'a TrainingSettings) -> Experiment<'a> {
    let mut variants = vec![Variant::vanilla("Vanilla")];
    for &beta in &settings.betas {
        variants.push(Variant::specreg("SpecReg-all", beta, settings.tau, settings.alpha, LayerSelection::All));
    }
    variants.push(Variant { jacobian: true, ..Variant::vanilla("Jac") });
    Experiment { id, family, variants, settings }
}
