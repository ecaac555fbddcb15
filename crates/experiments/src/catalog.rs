//! Every experiment of docs/protocol.md §2 as one row of a table: its id, where the paper describes
//! it, and either the runs it plans (a network family and its variants) or the simulation it runs.
//! Its profile section is named after its id (`E2-MLP` → `e2_mlp`). Adding an experiment is adding a
//! row here and a section to the profiles.

use specreg_regularizer::{LayerSelection, RankWindow};

use crate::error::Result;
use crate::out_dir::ExperimentDir;
use crate::settings::{SectionOf, TrainingSettings};
use crate::tables::Tables;
use crate::theory::{self, T1Config, T2Config};
use crate::variant::{Family, Variant};

/// One experiment.
#[derive(Clone)]
pub struct ExperimentSpec {
    /// `E1`, `E2-MLP`, …, `T2`: the directory name under the output and the `--only` name.
    pub id: &'static str,
    /// Where the paper (or docs/protocol.md) describes it.
    pub reference: &'static str,
    /// What it shows, in a line.
    pub title: &'static str,
    /// Training runs or a simulation.
    pub kind: Kind,
}

/// How an experiment produces its tables.
#[derive(Clone)]
pub enum Kind {
    /// Trains variants × seeds on datasets, then measures spectra and robustness.
    Training(TrainingSpec),
    /// A simulation without training.
    Theory(TheorySpec),
}

/// A training experiment: which network, which variants.
#[derive(Clone)]
pub struct TrainingSpec {
    /// The network.
    pub family: Family,
    /// The variants it compares, from its settings.
    pub variants: fn(&TrainingSettings) -> Vec<Variant>,
    /// Lists of its section that must not be empty for it to compare anything (`betas`, `taus`, …).
    pub requires: &'static [&'static str],
    /// A figure and SUMMARY.md part of its own, beyond every training experiment's.
    pub extra: Option<Extra>,
}

/// What an experiment shows beyond the figures and tables every training experiment has.
#[derive(Clone)]
pub struct Extra {
    /// Draws its own figures from its tables (file stems in `figure_names`).
    pub figures: fn(&ExperimentDir, &Tables) -> Result<()>,
    /// Its own SUMMARY.md part, from its tables.
    pub summary: fn(&Tables) -> String,
    /// The figures it adds.
    pub figure_names: &'static [&'static str],
}

/// A theory experiment: a simulation written to tables, with figures and a summary from them.
#[derive(Clone)]
pub struct TheorySpec {
    /// Parses and checks its profile section; returns it with every default written out.
    pub check: fn(&serde_json::Value, SectionOf<'_>) -> Result<serde_json::Value>,
    /// Writes its tables from its checked section.
    pub run: fn(&serde_json::Value, &ExperimentDir) -> Result<()>,
    /// Floating-point operations of a run with this section (for plans).
    pub flops: fn(&serde_json::Value) -> f64,
    /// Draws its figures from its tables.
    pub figures: fn(&ExperimentDir) -> Result<()>,
    /// Its SUMMARY.md section, from its tables.
    pub summary: fn(&ExperimentDir) -> Result<String>,
    /// The figures it draws (file stems under `figures/`).
    pub figure_names: &'static [&'static str],
}

/// The tables every training experiment writes (file stems under `tables/`).
pub const TRAINING_TABLES: [&str; 6] = ["training", "spectra", "fits", "robustness", "sanity", "trajectory"];
/// The figures every training experiment draws (file stems under `figures/`).
pub const TRAINING_FIGURES: [&str; 4] = ["spectra", "robustness", "training", "trajectory"];

/// The tables and figure a training experiment adds when its section asks for the AutoAttack
/// evaluation (`suite`).
pub const SUITE_TABLES: [&str; 3] = ["robustness_suite", "suite_fates", "transfer"];
/// See [`SUITE_TABLES`].
pub const SUITE_FIGURES: [&str; 1] = ["robustness_suite"];

/// A training experiment's row.
const fn training(
    id: &'static str,
    reference: &'static str,
    title: &'static str,
    family: Family,
    variants: fn(&TrainingSettings) -> Vec<Variant>,
    requires: &'static [&'static str],
) -> ExperimentSpec {
    ExperimentSpec { id, reference, title, kind: Kind::Training(TrainingSpec { family, variants, requires, extra: None }) }
}

/// Every experiment, in the order `reproduce` runs them.
pub const EXPERIMENTS: &[ExperimentSpec] = &[
    training(
        "E1",
        "paper §4.1",
        "784-2000-10 tanh MLP with BatchNorm on MNIST: Vanilla against SpecReg at each β (claims C1–C3)",
        Family::MlpBatchNorm,
        e1_variants,
        &["betas"],
    ),
    training(
        "E2-MLP",
        "paper §4.2",
        "deep MLP regularised on its last layer only, with and without a whitened intermediate layer (C4)",
        Family::Mlp,
        e2_variants,
        &["betas"],
    ),
    training("E2-CNN", "paper §4.2", "CNN regularised on its last layer only, with and without whitened conv maps (C4)", Family::Cnn, e2_variants, &["betas"]),
    training(
        "E3-MLP",
        "paper §4.3",
        "deep MLP with every hidden layer regularised, against Jacobian regularisation (C5)",
        Family::Mlp,
        e3_variants,
        &["betas"],
    ),
    training("E3-CNN", "paper §4.3", "CNN with every hidden layer regularised, against Jacobian regularisation (C5)", Family::Cnn, e3_variants, &["betas"]),
    training(
        "S1",
        "protocol §2.1, supplementary",
        "weight-decay control: the E1 network, vanilla, one run per weight decay",
        Family::MlpBatchNorm,
        s1_variants,
        &["weight_decays"],
    ),
    training("S2", "protocol §2.1, supplementary", "τ sweep: E3-MLP's all-layer SpecReg at the first β, one run per τ", Family::Mlp, s2_variants, &["taus"]),
    training("S3", "protocol §2.1, supplementary", "anchor choice: E1 SpecReg with τ = 0 beside τ = 10", Family::MlpBatchNorm, s3_variants, &["betas", "taus"]),
    ExperimentSpec {
        id: "S4",
        reference: "protocol §2.1, beyond the paper",
        title: "head vs tail: E1 SpecReg β=5 restricted to ranks 11–100 or 101–N, beside full SpecReg and Vanilla",
        kind: Kind::Training(TrainingSpec {
            family: Family::MlpBatchNorm,
            variants: s4_variants,
            requires: &[],
            extra: Some(Extra { figures: crate::s4::figures, summary: crate::s4::summary, figure_names: &["gain"] }),
        }),
    },
    ExperimentSpec {
        id: "T1",
        reference: "protocol §2.2, theory",
        title: "spectra of a random deep tanh network, layer by layer",
        kind: Kind::Theory(TheorySpec {
            check: |section, at| theory::checked(section, at, T1Config::validate),
            run: |section, dir| theory::t1::run(&theory::config(section, "t1")?, dir),
            flops: |section| theory::config::<T1Config>(section, "t1").map_or(0.0, |c| c.flops()),
            figures: theory::t1::figures,
            summary: theory::t1::summary,
            figure_names: &["random_network_spectra"],
        }),
    },
    ExperimentSpec {
        id: "T2",
        reference: "protocol §2.2, theory",
        title: "smoothness of a 1-D stimulus embedded with an n^(−α) spectrum (Stringer et al.)",
        kind: Kind::Theory(TheorySpec {
            check: |section, at| theory::checked(section, at, T2Config::validate),
            run: |section, dir| theory::t2::run(&theory::config(section, "t2")?, dir),
            flops: |section| theory::config::<T2Config>(section, "t2").map_or(0.0, |c| c.flops()),
            figures: theory::t2::figures,
            summary: theory::t2::summary,
            figure_names: &["smoothness_projections"],
        }),
    },
];

impl ExperimentSpec {
    /// Whether it trains networks.
    pub fn is_training(&self) -> bool {
        matches!(self.kind, Kind::Training(_))
    }

    /// The figures it can draw (file stems; the AutoAttack figure only where its section asks for the
    /// evaluation).
    pub fn figure_names(&self) -> Vec<&'static str> {
        match &self.kind {
            Kind::Training(t) => TRAINING_FIGURES.iter().chain(&SUITE_FIGURES).chain(t.extra.iter().flat_map(|e| e.figure_names)).copied().collect(),
            Kind::Theory(t) => t.figure_names.to_vec(),
        }
    }
}

/// E1: Vanilla and SpecReg (last layer) at each β.
fn e1_variants(settings: &TrainingSettings) -> Vec<Variant> {
    let mut variants = vec![Variant::vanilla("Vanilla")];
    variants.extend(settings.betas.iter().map(|&beta| Variant::specreg("SpecReg", beta, settings.tau, settings.alpha, LayerSelection::Last)));
    variants
}

/// E2: Vanilla, Vanilla-Wh, then SpecReg and SpecReg-Wh (last layer) at each β.
fn e2_variants(settings: &TrainingSettings) -> Vec<Variant> {
    let mut variants = vec![Variant::vanilla("Vanilla"), Variant::vanilla("Vanilla").whitened()];
    for &beta in &settings.betas {
        let specreg = Variant::specreg("SpecReg", beta, settings.tau, settings.alpha, LayerSelection::Last);
        variants.push(specreg.clone());
        variants.push(specreg.whitened());
    }
    variants
}

/// E3: Vanilla, SpecReg on every hidden layer at each β, Jac.
fn e3_variants(settings: &TrainingSettings) -> Vec<Variant> {
    let mut variants = vec![Variant::vanilla("Vanilla")];
    variants.extend(settings.betas.iter().map(|&beta| Variant::specreg("SpecReg-all", beta, settings.tau, settings.alpha, LayerSelection::All)));
    variants.push(Variant { jacobian: true, ..Variant::vanilla("Jac") });
    variants
}

/// S1: one vanilla run per weight decay.
fn s1_variants(settings: &TrainingSettings) -> Vec<Variant> {
    settings.weight_decays.iter().map(|&wd| Variant { weight_decay: wd, ..Variant::vanilla(&format!("Vanilla wd={wd}")) }).collect()
}

/// S2: all-layer SpecReg at the first β (2 if none), one run per τ.
fn s2_variants(settings: &TrainingSettings) -> Vec<Variant> {
    let beta = settings.betas.first().copied().unwrap_or(2.0);
    settings.taus.iter().map(|&tau| Variant::specreg(&format!("SpecReg-all tau={tau}"), beta, tau, settings.alpha, LayerSelection::All)).collect()
}

/// S3: last-layer SpecReg at each β and τ.
fn s3_variants(settings: &TrainingSettings) -> Vec<Variant> {
    let mut variants = Vec::new();
    for &beta in &settings.betas {
        for &tau in &settings.taus {
            variants.push(Variant::specreg(&format!("SpecReg tau={tau}"), beta, tau, settings.alpha, LayerSelection::Last));
        }
    }
    variants
}

/// The last rank of S4's head window, the first of its tail window minus one (1-based, as in tables).
pub const HEAD_LAST_RANK: usize = 100;

/// S4: Vanilla, full SpecReg, and SpecReg restricted to the head (ranks 11–100) or the tail (101–N) of
/// the spectrum, at the largest β (5 if none). A section equal to E1's shares E1's Vanilla and SpecReg
/// runs at that β.
fn s4_variants(settings: &TrainingSettings) -> Vec<Variant> {
    let beta = settings.betas.iter().copied().fold(None, |m: Option<f64>, b| Some(m.map_or(b, |m| m.max(b)))).unwrap_or(5.0);
    let specreg = |name: &str| Variant::specreg(name, beta, settings.tau, settings.alpha, LayerSelection::Last);
    vec![
        Variant::vanilla("Vanilla"),
        specreg("SpecReg"),
        specreg("SpecReg-head").on_ranks(RankWindow::new(settings.tau + 1, Some(HEAD_LAST_RANK))),
        specreg("SpecReg-tail").on_ranks(RankWindow::new(HEAD_LAST_RANK + 1, None)),
    ]
}
