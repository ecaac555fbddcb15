//! Every experiment of PROTOCOL.md §2 as one row of a table: its id, where the paper describes it, the
//! runs it plans (training experiments: a network family and a list of variants) or the simulation it
//! runs (theory experiments), and the tables and figures it writes. Adding an experiment is adding a row.

use specreg_data::DatasetId;
use specreg_models::{CnnConfig, MlpConfig, ModelConfig, Standardize};
use specreg_regularizer::{JacobianPenaltyConfig, LayerSelection, RankWindow, SpectralPenaltyConfig};
use specreg_train::{SpectralSettings, TrainConfig};

use crate::error::{Error, Result};
use crate::profile::Profile;
use crate::report::Tables;
use crate::settings::TrainingSettings;
use crate::store::ExperimentDir;
use crate::theory;

/// One experiment of the protocol.
pub struct ExperimentSpec {
    /// `E1`, `E2-MLP`, …, `T2`: the directory name under the output and the `--only` name.
    pub id: &'static str,
    /// Where the paper (or PROTOCOL.md) describes it.
    pub section: &'static str,
    /// What it shows, in a line.
    pub title: &'static str,
    /// Training runs or a simulation.
    pub kind: Kind,
}

/// How an experiment produces its tables.
pub enum Kind {
    /// Trains variants × seeds on datasets, then measures spectra and robustness.
    Training(TrainingSpec),
    /// A simulation without training.
    Theory(TheorySpec),
}

/// A training experiment: which profile section sizes it, which network, which variants.
pub struct TrainingSpec {
    /// The profile section (`e1`, `e2_mlp`, …).
    pub section: &'static str,
    /// The profile's settings for it (`None`: left out of the profile).
    pub settings: fn(&Profile) -> Option<&TrainingSettings>,
    /// The network.
    pub family: Family,
    /// The variants it compares, from its settings.
    pub variants: fn(&TrainingSettings) -> Vec<Variant>,
    /// A figure and SUMMARY.md part of its own, beyond every training experiment's.
    pub extra: Option<Extra>,
}

/// What an experiment shows beyond the figures and tables every training experiment has.
pub struct Extra {
    /// Draws its own figures from its tables (file stems in `figures`).
    pub figures: fn(&ExperimentDir, &Tables) -> Result<()>,
    /// Its own SUMMARY.md part, from its tables.
    pub summary: fn(&Tables) -> String,
    /// The figures it adds.
    pub figure_names: &'static [&'static str],
}

/// A theory experiment: a simulation written to tables, with figures and a summary from them.
pub struct TheorySpec {
    /// The profile section (`t1`, `t2`).
    pub section: &'static str,
    /// Its configuration as recorded in the manifest.
    pub config: fn(&Profile) -> serde_json::Value,
    /// Writes its tables.
    pub run: fn(&Profile, &ExperimentDir) -> Result<()>,
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

/// Every experiment, in the order `reproduce` runs them.
pub const EXPERIMENTS: &[ExperimentSpec] = &[
    ExperimentSpec {
        id: "E1",
        section: "paper §4.1",
        title: "784-2000-10 tanh MLP with BatchNorm on MNIST: Vanilla against SpecReg at each β (claims C1–C3)",
        kind: Kind::Training(TrainingSpec { section: "e1", settings: |p| p.e1.as_ref(), family: Family::MlpBatchNorm, variants: e1_variants, extra: None }),
    },
    ExperimentSpec {
        id: "E2-MLP",
        section: "paper §4.2",
        title: "deep MLP regularised on its last layer only, with and without a whitened intermediate layer (C4)",
        kind: Kind::Training(TrainingSpec { section: "e2_mlp", settings: |p| p.e2_mlp.as_ref(), family: Family::Mlp, variants: e2_variants, extra: None }),
    },
    ExperimentSpec {
        id: "E2-CNN",
        section: "paper §4.2",
        title: "CNN regularised on its last layer only, with and without whitened conv maps (C4)",
        kind: Kind::Training(TrainingSpec { section: "e2_cnn", settings: |p| p.e2_cnn.as_ref(), family: Family::Cnn, variants: e2_variants, extra: None }),
    },
    ExperimentSpec {
        id: "E3-MLP",
        section: "paper §4.3",
        title: "deep MLP with every hidden layer regularised, against Jacobian regularisation (C5)",
        kind: Kind::Training(TrainingSpec { section: "e3_mlp", settings: |p| p.e3_mlp.as_ref(), family: Family::Mlp, variants: e3_variants, extra: None }),
    },
    ExperimentSpec {
        id: "E3-CNN",
        section: "paper §4.3",
        title: "CNN with every hidden layer regularised, against Jacobian regularisation (C5)",
        kind: Kind::Training(TrainingSpec { section: "e3_cnn", settings: |p| p.e3_cnn.as_ref(), family: Family::Cnn, variants: e3_variants, extra: None }),
    },
    ExperimentSpec {
        id: "S1",
        section: "PROTOCOL §2, supplementary",
        title: "weight-decay control: the E1 network, vanilla, one run per weight decay",
        kind: Kind::Training(TrainingSpec { section: "s1", settings: |p| p.s1.as_ref(), family: Family::MlpBatchNorm, variants: s1_variants, extra: None }),
    },
    ExperimentSpec {
        id: "S2",
        section: "PROTOCOL §2, supplementary",
        title: "τ sweep: E3-MLP's all-layer SpecReg at the first β, one run per τ",
        kind: Kind::Training(TrainingSpec { section: "s2", settings: |p| p.s2.as_ref(), family: Family::Mlp, variants: s2_variants, extra: None }),
    },
    ExperimentSpec {
        id: "S3",
        section: "PROTOCOL §2, supplementary",
        title: "anchor choice: E1 SpecReg with τ = 0 beside τ = 10",
        kind: Kind::Training(TrainingSpec { section: "s3", settings: |p| p.s3.as_ref(), family: Family::MlpBatchNorm, variants: s3_variants, extra: None }),
    },
    ExperimentSpec {
        id: "S4",
        section: "PROTOCOL §2, beyond the paper",
        title: "head vs tail: E1 SpecReg β=5 restricted to ranks 11–100 or 101–N, beside full SpecReg and Vanilla",
        kind: Kind::Training(TrainingSpec {
            section: "s4",
            settings: |p| p.s4.as_ref(),
            family: Family::MlpBatchNorm,
            variants: s4_variants,
            extra: Some(Extra { figures: crate::s4::figures, summary: crate::s4::summary, figure_names: &["gain"] }),
        }),
    },
    ExperimentSpec {
        id: "T1",
        section: "PROTOCOL §2, theory",
        title: "spectra of a random deep tanh network, layer by layer",
        kind: Kind::Theory(TheorySpec {
            section: "t1",
            config: |p| serde_json::to_value(&p.t1).expect("configs serialise"),
            run: |p, dir| theory::t1::run(&p.t1, dir),
            figures: theory::t1::figures,
            summary: theory::t1::summary,
            figure_names: &["random_network_spectra"],
        }),
    },
    ExperimentSpec {
        id: "T2",
        section: "PROTOCOL §2, theory",
        title: "smoothness of a 1-D stimulus embedded with an n^(−α) spectrum (Stringer et al.)",
        kind: Kind::Theory(TheorySpec {
            section: "t2",
            config: |p| serde_json::to_value(&p.t2).expect("configs serialise"),
            run: |p, dir| theory::t2::run(&p.t2, dir),
            figures: theory::t2::figures,
            summary: theory::t2::summary,
            figure_names: &["smoothness_projections"],
        }),
    },
];

/// The profile's settings of a training experiment (`None` for theory experiments and for training
/// experiments the profile leaves out).
pub fn training_settings<'p>(spec: &ExperimentSpec, profile: &'p Profile) -> Option<&'p TrainingSettings> {
    match &spec.kind {
        Kind::Training(t) => (t.settings)(profile),
        Kind::Theory(_) => None,
    }
}

/// The datasets the training experiments among `selected` need under `profile`, in order of first use.
pub fn needed_datasets(profile: &Profile, selected: &[&ExperimentSpec]) -> Vec<DatasetId> {
    let mut needed = Vec::new();
    for spec in selected {
        for d in training_settings(spec, profile).into_iter().flat_map(|s| s.datasets.iter()).filter_map(|d| DatasetId::from_name(d)) {
            if !needed.contains(&d) {
                needed.push(d);
            }
        }
    }
    needed
}

/// The experiment with this id (case-insensitive).
pub fn find(id: &str) -> Result<&'static ExperimentSpec> {
    EXPERIMENTS.iter().find(|e| e.id.eq_ignore_ascii_case(id.trim())).ok_or_else(|| Error::UnknownExperiment {
        name: id.to_string(),
        known: EXPERIMENTS.iter().map(|e| e.id).collect::<Vec<_>>().join(", "),
    })
}

impl ExperimentSpec {
    /// Its configuration as recorded in the manifest; `None` when the profile leaves it out.
    pub fn config(&self, profile: &Profile) -> Option<serde_json::Value> {
        match &self.kind {
            Kind::Training(t) => (t.settings)(profile).map(|s| serde_json::to_value(s).expect("settings serialise")),
            Kind::Theory(t) => Some((t.config)(profile)),
        }
    }

    /// Whether it trains networks.
    pub fn is_training(&self) -> bool {
        matches!(self.kind, Kind::Training(_))
    }

    /// The figures it draws (file stems).
    pub fn figure_names(&self) -> Vec<&'static str> {
        match &self.kind {
            Kind::Training(t) => TRAINING_FIGURES.iter().chain(t.extra.iter().flat_map(|e| e.figure_names)).copied().collect(),
            Kind::Theory(t) => t.figure_names.to_vec(),
        }
    }
}

/// The network family of an experiment; sizes come from the settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Family {
    /// E1: tanh MLP with BatchNorm after every tanh.
    MlpBatchNorm,
    /// E2/E3: plain tanh MLP.
    Mlp,
    /// E2/E3: conv blocks then fully connected tanh layers.
    Cnn,
}

impl Family {
    /// The network of a variant on a dataset, sized by the settings.
    pub fn model_config(self, dataset: DatasetId, settings: &TrainingSettings, variant: &Variant) -> ModelConfig {
        let (input, values) = match dataset {
            DatasetId::Cifar10 => ([3, 32, 32], 3 * 32 * 32),
            _ => ([1, 28, 28], 28 * 28),
        };
        match self {
            Family::MlpBatchNorm | Family::Mlp => ModelConfig::Mlp(
                MlpConfig::new(values, settings.hidden.clone(), 10)
                    .with_batch_norm(self == Family::MlpBatchNorm)
                    .with_whiten_after(variant.whiten.then_some(1.min(settings.hidden.len() - 1))),
            ),
            Family::Cnn => ModelConfig::Cnn(
                CnnConfig::new(input, settings.conv_channels.clone(), settings.hidden.clone(), 10)
                    .with_standardize((dataset == DatasetId::Cifar10).then(Standardize::cifar10))
                    .with_whiten_after_convs(variant.whiten),
            ),
        }
    }
}

/// One trained configuration, before seeds.
#[derive(Debug, Clone, PartialEq)]
pub struct Variant {
    /// Its name in tables and figures.
    pub name: String,
    /// SpecReg strength β (0 without the spectral penalty).
    pub beta: f64,
    /// Whiten the 2nd hidden layer (MLP) or the last conv block (CNN).
    pub whiten: bool,
    /// The spectral penalty, if any.
    pub spectral: Option<SpectralSettings>,
    /// With the Jacobian penalty.
    pub jacobian: bool,
    /// Weight decay (S1).
    pub weight_decay: f64,
}

impl Variant {
    /// No penalty.
    pub fn vanilla(name: &str) -> Self {
        Variant { name: name.into(), beta: 0.0, whiten: false, spectral: None, jacobian: false, weight_decay: 0.0 }
    }

    /// The spectral penalty at `beta` on `layers`.
    pub fn specreg(name: &str, beta: f64, tau: usize, alpha: f64, layers: LayerSelection) -> Self {
        let penalty = SpectralPenaltyConfig::new(beta).with_tau(tau).with_alpha(alpha);
        Variant { beta, spectral: Some(SpectralSettings::new(penalty).with_layers(layers)), ..Variant::vanilla(name) }
    }

    /// The same variant with a whitened intermediate layer (`-Wh` appended to its name).
    pub fn whitened(mut self) -> Self {
        self.whiten = true;
        self.name.push_str("-Wh");
        self
    }

    /// Its training configuration for one seed.
    pub fn train_config(&self, settings: &TrainingSettings, seed: u64) -> TrainConfig {
        TrainConfig::new(settings.epochs, settings.batch_size, settings.learning_rate, seed)
            .with_weight_decay(self.weight_decay)
            .with_spectral(self.spectral.clone())
            .with_jacobian(self.jacobian.then(|| JacobianPenaltyConfig::new().with_weight(settings.jacobian_weight)))
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

/// The last rank of S4's head window, the first of its tail window minus one (1-based, as in tables).
pub const HEAD_LAST_RANK: usize = 100;

/// S4: Vanilla, full SpecReg, and SpecReg restricted to the head (ranks 11–100) or the tail (101–N) of
/// the spectrum, at the largest β (5 if none). A section equal to E1's shares E1's Vanilla and SpecReg
/// runs at that β.
fn s4_variants(settings: &TrainingSettings) -> Vec<Variant> {
    let beta = settings.betas.iter().copied().fold(None, |m: Option<f64>, b| Some(m.map_or(b, |m| m.max(b)))).unwrap_or(5.0);
    let full = Variant::specreg("SpecReg", beta, settings.tau, settings.alpha, LayerSelection::Last);
    let window = |name: &str, ranks: RankWindow| {
        let mut v = Variant::specreg(name, beta, settings.tau, settings.alpha, LayerSelection::Last);
        if let Some(s) = &mut v.spectral {
            s.penalty.ranks = Some(ranks);
        }
        v
    };
    vec![
        Variant::vanilla("Vanilla"),
        full,
        window("SpecReg-head", RankWindow::new(settings.tau + 1, Some(HEAD_LAST_RANK))),
        window("SpecReg-tail", RankWindow::new(HEAD_LAST_RANK + 1, None)),
    ]
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
