//! E2 — paper §4.2: deep networks regularised on the last hidden layer only, with and without a
//! whitened intermediate layer (after the 2nd hidden layer of the MLP, after the last conv block of
//! the CNN). Variants: Vanilla, Vanilla-Wh, SpecReg and SpecReg-Wh at each β (claim C4).

use specreg_regularizer::LayerSelection;

use super::training::{Experiment, Family, TrainingSettings, Variant};

/// E2-MLP (784-1000-1000-1000-10, tanh) or E2-CNN.
pub fn experiment<'a>(id: &'a str, family: Family, settings: &'a TrainingSettings) -> Experiment<'a> {
    let mut variants = vec![Variant::vanilla("Vanilla"), Variant::vanilla("Vanilla").whitened()];
    for &beta in &settings.betas {
        let specreg = Variant::specreg("SpecReg", beta, settings.tau, settings.alpha, LayerSelection::Last);
        variants.push(specreg.clone());
        variants.push(specreg.whitened());
    }
    Experiment { id, family, variants, settings }
}
