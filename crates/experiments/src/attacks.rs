//! Every attack `reproduce` can run, as one row of a table: its name in profiles, what it is, how it
//! is built from a section's settings, and which claims read its accuracies. A profile section names
//! the attacks its experiment runs (`attacks`, default FGSM and PGD); measurement, the cost model,
//! tables, figures and claims all take them from here. Adding an attack to `specreg-attacks` and a
//! row here makes it available to every experiment.

use specreg_attacks::{Attack, AttackKind, NoiseKind, Norm, StepSize};
use specreg_data::DatasetId;

use crate::settings::TrainingSettings;

/// One attack `reproduce` can run.
#[derive(Clone)]
pub struct AttackSpec {
    /// Its name in profiles (`attacks: ["fgsm", "pgd"]`).
    pub id: &'static str,
    /// What it is, in a few words (figure titles, help).
    pub title: &'static str,
    /// Its kind: what the robustness table's attack names read back as.
    pub kind: AttackKind,
    /// The attack for a section's settings on a dataset.
    pub build: fn(&TrainingSettings, DatasetId) -> Attack,
    /// The claims that read its accuracies (docs/protocol.md §3).
    pub claims: &'static [&'static str],
}

/// PGD's step on a dataset: 0.01 on MNIST (paper), 2.5 ε / steps on CIFAR-10 (chosen).
fn pgd_step(settings: &TrainingSettings, dataset: DatasetId) -> StepSize {
    match dataset {
        DatasetId::Cifar10 => StepSize::TimesEpsilon(2.5 / settings.pgd_steps as f32),
        _ => StepSize::Absolute(0.01),
    }
}

/// Every attack, in the order a sweep runs them.
pub const ATTACKS: &[AttackSpec] = &[
    AttackSpec { id: "fgsm", title: "FGSM", kind: AttackKind::Fgsm, build: |_, _| Attack::Fgsm, claims: &["C3"] },
    AttackSpec {
        id: "pgd",
        title: "PGD (L∞)",
        kind: AttackKind::PgdLinf,
        build: |s, d| Attack::Pgd { norm: Norm::Linf, steps: s.pgd_steps, step_size: pgd_step(s, d), restarts: 1, random_start: true },
        claims: &["C3", "C4", "C5"],
    },
    AttackSpec {
        id: "pgd-l2",
        title: "PGD (L2; ε is an L2 radius)",
        kind: AttackKind::PgdL2,
        build: |s, _| Attack::Pgd {
            norm: Norm::L2,
            steps: s.pgd_steps,
            step_size: StepSize::TimesEpsilon(2.5 / s.pgd_steps as f32),
            restarts: 1,
            random_start: true,
        },
        claims: &[],
    },
    AttackSpec {
        id: "square",
        title: "Square Attack, 1,000 queries (gradient-free)",
        kind: AttackKind::Square,
        build: |_, _| Attack::Square { queries: 1000, p_init: 0.8 },
        claims: &[],
    },
    AttackSpec {
        id: "noise-uniform",
        title: "uniform noise of size ε (control)",
        kind: AttackKind::NoiseUniform,
        build: |_, _| Attack::Noise(NoiseKind::Uniform),
        claims: &[],
    },
    AttackSpec {
        id: "noise-gaussian",
        title: "Gaussian noise of size ε (control)",
        kind: AttackKind::NoiseGaussian,
        build: |_, _| Attack::Noise(NoiseKind::Gaussian),
        claims: &[],
    },
];
