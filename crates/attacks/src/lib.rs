//! # specreg-attacks
//!
//! ```toml
//! [dependencies]
//! specreg-attacks = "0.1"
//! burn = { version = "0.22.1", features = ["flex", "autodiff"] }  # the burn whose `Tensor` appears in the API
//!
//! # Numeric code is unusably slow unoptimised: optimise dependencies in dev and test builds too.
//! [profile.dev.package."*"]
//! opt-level = 3
//! ```
//!
//! Invariant: every perturbation stays in its ε-ball and every pixel in [0, 1]; randomness depends on
//! (seed, example index), never on the batching.
//!
//! Adversarial robustness for any burn classifier whose inputs are in [0, 1] — the Rust counterpart of
//! what torchattacks or foolbox give PyTorch users, as used by Nassar et al. (2020)
//! (the reproduction protocol, `docs/protocol.md` in the repository, §1.6).
//!
//! - [`Attack::Fgsm`]; [`Attack::Pgd`] in L∞ (random start, steps, projection after every step,
//!   restarts on the examples still robust, each keeping its worst case) and L2;
//! - [`Attack::Square`], the gradient-free Square Attack: a model that resists PGD but not Square is
//!   masking its gradients, and the sweep flags it;
//! - [`Attack::Noise`], uniform and Gaussian noise of the same size, as controls;
//! - [`Attack::Apgd`], Auto-PGD (Croce & Hein 2020) on the cross-entropy, the DLR or the targeted DLR
//!   loss ([`apgd`]), and [`Attack::Fab`], the targeted minimal-norm FAB-T ([`fab`]);
//! - [`run_sweep`]: accuracy over an ε grid, batched, with a progress bar, returning one [`Record`] per
//!   (attack, ε) and the sanity [`Check`]s (perturbation within ε, pixels in [0, 1], accuracy
//!   non-increasing in ε, PGD ≤ FGSM, near-zero accuracy at a large ε, Square not stronger than PGD);
//! - [`run_suite`]: AutoAttack's standard ensemble (APGD-CE, APGD-T, FAB-T, Square, each on what the
//!   ones before left correct), the [`Fate`] of every example, robust accuracy after each attack and in
//!   the worst case ([`WORST_CASE`]) with 95 % [`wilson`] intervals, and the checks of Carlini et al.
//!   (2019): convergence under twice the iterations and 5 restarts, zero input gradients, examples only
//!   Square breaks, monotonicity in ε, chance at a large ε. It agrees with torchattacks' components
//!   example for example (`cargo xtask bench autoattack`).
//!
//! A model is anything implementing [`Classifier`], including any closure `Fn(Tensor<D>) -> Tensor<2>`.
//! All randomness is keyed by (seed, example index), so results are deterministic and do not depend on
//! the batch size.
//!
//! ```
//! use burn::prelude::*;
//! use specreg_attacks::{Attack, Sweep, run_sweep};
//!
//! let device = Device::flex();
//! // A fixed linear classifier on 4 "pixels": class 1 if x0 + x1 > x2 + x3.
//! let w = Tensor::<2>::from_floats([[0.0, 1.0], [0.0, 1.0], [1.0, 0.0], [1.0, 0.0]], &device);
//! let model = move |x: Tensor<2>| x.matmul(w.clone());
//! let x = Tensor::<2>::from_floats([[0.6, 0.6, 0.4, 0.4], [0.4, 0.4, 0.6, 0.6]], &device);
//! let y = Tensor::<1, Int>::from_ints([1, 0], &device);
//!
//! let sweep = Sweep {
//!     attacks: vec![Attack::Fgsm, Attack::pgd_mnist()],
//!     epsilons: vec![0.0, 0.05, 0.15],
//!     batch_size: 2,
//!     seed: 0,
//!     masking_epsilon: Some(0.5),
//!     show_progress: false,
//! };
//! let report = run_sweep(&sweep, &model, x, y)?;
//! assert_eq!(report.accuracy("fgsm", 0.0), Some(1.0));
//! assert_eq!(report.accuracy("fgsm", 0.05), Some(1.0)); // margins 0.4 > 4 · 0.05
//! assert_eq!(report.accuracy("fgsm", 0.15), Some(0.0)); // 4 · 0.15 > 0.4
//! assert!(report.all_checks_passed(), "{:#?}", report.checks);
//! # Ok::<(), specreg_attacks::AttackError>(())
//! ```

#![warn(missing_docs)]

pub mod apgd;
mod attack;
mod classifier;
mod error;
pub mod fab;
mod gradient;
pub mod loss;
mod noise;
mod random;
mod square;
mod suite;
mod sweep;

pub use attack::{Attack, AttackKind, StepSize};
pub use classifier::Classifier;
pub use error::{AttackError, Result};
pub use gradient::{Norm, PgdSettings, fgsm, pgd};
pub use noise::{NoiseKind, noise};
pub use square::{SquareSettings, square_attack, square_attack_at};
pub use suite::{
    Fate, SUITE_ATTACKS, SuiteChecks, SuiteRecord, SuiteReport, SuiteSettings, WORST_CASE, autoattack, convergence_tolerance, records_of, run_suite,
};
pub use sweep::{Check, Record, Sweep, SweepReport, run_sweep, sanity_checks, wilson};
