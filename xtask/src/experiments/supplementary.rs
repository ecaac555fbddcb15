//! Supplementary experiments (PROTOCOL §2):
//! - S1: weight-decay control — the E1 network, vanilla, one run per weight decay (batch 2,500);
//! - S2: τ sweep — E3-MLP's all-layer SpecReg at the first β of the profile, one run per τ;
//! - S3: anchor choice — E1 SpecReg with τ = 0 (anchor on the largest eigenvalue) beside τ = 10.

use specreg_regularizer::LayerSelection;

use super::training::{Experiment, Family, TrainingSettings, Variant};

pub fn s1(settings: &TrainingSettings) -> Experiment<'_> {
    let variants = settings
        .weight_decays
        .iter()
        .map(|&wd| Variant { weight_decay: wd, ..Variant::vanilla(&format!("Vanilla wd={wd}")) })
        .collect();
    Experiment { id: "S1", family: Family::MlpBatchNorm, variants, settings }
}

pub fn s2(settings: &TrainingSettings) -> Experiment<'_> {
    let beta = settings.betas.first().copied().unwrap_or(2.0);
    let variants = settings
        .taus
        .iter()
        .map(|&tau| Variant::specreg(&format!("SpecReg-all tau={tau}"), beta, tau, settings.alpha, LayerSelection::All))
        .collect();
    Experiment { id: "S2", family: Family::Mlp, variants, settings }
}

pub fn s3(settings: &TrainingSettings) -> Experiment<'_> {
    let mut variants = Vec::new();
    for &beta in &settings.betas {
        for &tau in &settings.taus {
            variants.push(Variant::specreg(&format!("SpecReg tau={tau}"), beta, tau, settings.alpha, LayerSelection::Last));
        }
    }
    Experiment { id: "S3", family: Family::MlpBatchNorm, variants, settings }
}
