//! E1 — paper §4.1: a 784-2000-10 tanh MLP with BatchNorm after the tanh, on MNIST; the regularised
//! layer is the BatchNorm output. Vanilla against SpecReg at each β (α = 1, τ = 10): spectra of the
//! hidden layer and accuracy under FGSM and PGD (claims C1–C3).

use specreg_regularizer::LayerSelection;

use super::training::{Experiment, Family, TrainingSettings, Variant};

pub fn experiment(settings: &TrainingSettings) -> Experiment<'_> {
    let mut variants = vec![Variant::vanilla("Vanilla")];
    for &beta in &settings.betas {
        variants.push(Variant::specreg("SpecReg", beta, settings.tau, settings.alpha, LayerSelection::Last));
    }
    Experiment { id: "E1", family: Family::MlpBatchNorm, variants, settings }
}
