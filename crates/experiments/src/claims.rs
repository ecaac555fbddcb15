//! The claims of docs/protocol.md §3, judged on the tables of E1–E3. Each verdict follows a rule stated
//! in SUMMARY.md next to it, and the numbers behind it are printed, so a reader can disagree with the
//! rule but not with the data. A contradiction is reported as such; a comparison whose numbers are
//! missing (a failed fit, an attack not run, an experiment not run) is "not measured", never counted
//! as evidence. Which attacks a claim reads comes from the attack table (`AttackSpec::claims`).

use std::collections::BTreeMap;

use specreg_report::VariantKey;

use crate::attacks::AttackSpec;
use crate::out_dir::OutDir;
use crate::registry::Registry;
use crate::tables::{Tables, mean};
use specreg_attacks::WORST_CASE;

/// |α̂ − 1| above this counts as "far from 1/n" (C1).
pub const FAR_FROM_ONE: f64 = 0.2;
/// A robustness gain (mean accuracy difference over ε > 0) above this counts as "clear" (C5).
pub const CLEAR_GAIN: f64 = 0.02;

/// The experiments whose tables the claims read.
pub const CLAIM_EXPERIMENTS: [&str; 5] = ["E1", "E2-MLP", "E2-CNN", "E3-MLP", "E3-CNN"];

/// A claim's verdict.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Every comparison held.
    Supported,
    /// No comparison held.
    Contradicted,
    /// Some held, some did not.
    Mixed,
    /// No comparison could be made.
    NotMeasured,
    /// Comparisons exist but the rule needs another experiment's numbers.
    NotJudged(&'static str),
}

impl std::fmt::Display for Verdict {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Verdict::Supported => f.write_str("supported"),
            Verdict::Contradicted => f.write_str("contradicted"),
            Verdict::Mixed => f.write_str("mixed"),
            Verdict::NotMeasured => f.write_str("not measured"),
            Verdict::NotJudged(why) => write!(f, "not judged ({why})"),
        }
    }
}

/// One judged claim.
#[derive(Debug, Clone, PartialEq)]
pub struct Claim {
    /// `C1` … `C5`.
    pub id: &'static str,
    /// What the paper claims, in a sentence.
    pub statement: String,
    /// The rule applied, in a sentence.
    pub rule: String,
    /// Comparisons that held.
    pub held: usize,
    /// Comparisons made.
    pub total: usize,
    /// The verdict.
    pub verdict: Verdict,
    /// The numbers behind it, one entry per comparison (and per comparison that could not be made).
    pub evidence: Vec<String>,
}

/// Counts comparisons and collects their evidence.
#[derive(Default)]
struct Tally {
    held: usize,
    total: usize,
    evidence: Vec<String>,
}

impl Tally {
    fn compare(&mut self, held: bool, evidence: String) {
        self.total += 1;
        self.held += usize::from(held);
        self.evidence.push(evidence);
    }
    fn missing(&mut self, evidence: String) {
        self.evidence.push(format!("{evidence}: not measured"));
    }
    fn verdict(&self) -> Verdict {
        match (self.held, self.total) {
            (_, 0) => Verdict::NotMeasured,
            (h, t) if h == t => Verdict::Supported,
            (0, _) => Verdict::Contradicted,
            _ => Verdict::Mixed,
        }
    }
    fn into_claim(self, id: &'static str, statement: &str, rule: String) -> Claim {
        Claim { id, statement: statement.into(), rule, held: self.held, total: self.total, verdict: self.verdict(), evidence: self.evidence }
    }
}

fn vanilla(experiment: &str, name: &str) -> VariantKey {
    VariantKey::new(experiment, name, 0.0)
}

/// The table's name of `attack` (`pgd40` for the PGD row), if it was run.
fn table_name(t: &Tables, attack: &AttackSpec) -> Option<String> {
    t.attacks_of(attack.kind).into_iter().next()
}

/// The gain of `variant` over `baseline` under the first attack claim `claim` reads that was run, and
/// that attack's name.
fn gain(registry: &Registry, claim: &str, t: &Tables, variant: &VariantKey, baseline: &VariantKey) -> Option<f64> {
    registry.attacks_for(claim).into_iter().find_map(|a| table_name(t, a)).and_then(|name| t.gain(variant, baseline, &name))
}

/// Judges C1–C5, then C3 and C5 under AutoAttack (C3-AA, C5-AA), on the tables of the experiments present (by id: `E1`, `E2-MLP`, …).
pub fn judge(registry: &Registry, tables: &BTreeMap<&str, Tables>) -> Vec<Claim> {
    let (c4, c5) = c4_and_c5(registry, tables);
    let (c3_aa, c5_aa) = under_autoattack(tables);
    vec![c1(tables), c2(tables), c3(registry, tables), c4, c5, c3_aa, c5_aa]
}

fn c1(tables: &BTreeMap<&str, Tables>) -> Claim {
    let mut tally = Tally::default();
    for t in tables.values() {
        for v in t.variants().into_iter().filter(|v| v.variant == "Vanilla") {
            for layer in t.layers(&v.experiment) {
                match mean(&t.alphas(&v, &layer)) {
                    Some(a) => tally.compare((a - 1.0).abs() > FAR_FROM_ONE, format!("{} {layer} α̂ {a:.2}", v.experiment)),
                    None => tally.missing(format!("{} {layer} α̂ (no fit)", v.experiment)),
                }
            }
        }
    }
    tally.into_claim(
        "C1",
        "Vanilla hidden layers do not follow 1/n.",
        format!("a layer's fitted α̂ counts as far from 1/n when it differs from 1 by more than {FAR_FROM_ONE}"),
    )
}

fn c2(tables: &BTreeMap<&str, Tables>) -> Claim {
    let mut tally = Tally::default();
    for (id, t) in tables {
        for v in t.variants().into_iter().filter(|v| v.variant.starts_with("SpecReg")) {
            let baseline = vanilla(&v.experiment, if v.variant.ends_with("-Wh") { "Vanilla-Wh" } else { "Vanilla" });
            let layers = t.layers(&v.experiment);
            let regularised: Vec<String> = if id.starts_with("E3") { layers } else { layers.last().cloned().into_iter().collect() };
            for layer in regularised {
                let what = format!("{} {layer} {}", v.experiment, v.label());
                match (mean(&t.alphas(&v, &layer)), mean(&t.alphas(&baseline, &layer))) {
                    (Some(a), Some(b)) => {
                        let near = |k: &VariantKey| mean(&t.near_target(k, &layer)).map_or("-".into(), |x| format!("{x:.2}"));
                        tally.compare((a - 1.0).abs() < (b - 1.0).abs(), format!("{what}: α̂ {a:.2} vs {b:.2}, near 1/n {} vs {}", near(&v), near(&baseline)));
                    }
                    _ => tally.missing(format!("{what}: α̂ of it or of {}", baseline.label())),
                }
            }
        }
    }
    tally.into_claim(
        "C2",
        "SpecReg moves the regularised layers towards 1/n.",
        "a regularised layer's α̂ (test split) must be closer to 1 than the same layer's in its baseline (Vanilla, or Vanilla-Wh for whitened variants)".into(),
    )
}

fn c3(registry: &Registry, tables: &BTreeMap<&str, Tables>) -> Claim {
    let attacks = registry.attacks_for("C3");
    let tally = c3_tally(tables, |t| attacks.iter().map(|a| (a.id.to_string(), table_name(t, a))).collect());
    let names: Vec<&str> = attacks.iter().map(|a| a.title).collect();
    tally.into_claim(
        "C3",
        "In E1, SpecReg is more robust than Vanilla, at a small cost in clean accuracy.",
        format!("under each of {}, SpecReg's accuracy must exceed Vanilla's at every ε > 0 where Vanilla's is above 1 %", names.join(" and ")),
    )
}

/// C3's comparisons in E1 under the attacks `under` names for a table: (what to call it, its name in
/// the tables if it ran).
fn c3_tally(tables: &BTreeMap<&str, Tables>, under: impl Fn(&Tables) -> Vec<(String, Option<String>)>) -> Tally {
    let mut tally = Tally::default();
    if let Some(t) = tables.get("E1") {
        for v in t.variants().into_iter().filter(|v| v.variant.starts_with("SpecReg")) {
            let base = vanilla(&v.experiment, "Vanilla");
            for (attack, name) in under(t) {
                let Some(name) = name else {
                    tally.missing(format!("{} {attack}", v.label()));
                    continue;
                };
                let (reg, van) = (t.accuracies(&v, &name), t.accuracies(&base, &name));
                let mut compared = Vec::new();
                for (e, acc) in &van {
                    let eps = f64::from_bits(*e);
                    if let (Some(va), Some(ra)) = (mean(acc), reg.get(e).and_then(|r| mean(r)))
                        && eps > 0.0
                        && va > 0.01
                    {
                        compared.push((eps, ra, va));
                    }
                }
                if compared.is_empty() {
                    tally.missing(format!("{} {name} (no ε > 0 where Vanilla is above 1 %)", v.label()));
                    continue;
                }
                let wins = compared.iter().filter(|(_, r, v)| r > v).count();
                let cells: Vec<String> = compared.iter().map(|(e, r, v)| format!("ε={e:.3}: {r:.3} vs {v:.3}")).collect();
                tally.compare(wins == compared.len(), format!("{} {name}: better at {wins}/{} ε ({})", v.label(), compared.len(), cells.join(", ")));
            }
            let clean = |k: &VariantKey| mean(&t.clean_attacked(k)).map_or("-".into(), |a| format!("{a:.4}"));
            tally.evidence.push(format!("clean accuracy on the attacked examples {}: {} vs Vanilla {}", v.label(), clean(&v), clean(&base)));
        }
    }
    tally
}

/// The worst case of AutoAttack's ensemble, as the claims read it: its name in the tables where the
/// experiment ran the ensemble.
fn autoattack(t: &Tables) -> Vec<(String, Option<String>)> {
    let ran = t.suite.iter().any(|r| r.attack == WORST_CASE);
    vec![("AutoAttack".into(), ran.then(|| WORST_CASE.to_string()))]
}

/// C3 and C5 again, with AutoAttack's worst case in place of PGD (docs/protocol.md §3): does the gain
/// survive the strongest standard evaluation?
fn under_autoattack(tables: &BTreeMap<&str, Tables>) -> (Claim, Claim) {
    let c3 = c3_tally(tables, autoattack).into_claim(
        "C3-AA",
        "C3 under AutoAttack: in E1, SpecReg is more robust than Vanilla.",
        "under AutoAttack's worst case, SpecReg's robust accuracy must exceed Vanilla's at every ε > 0 of the ensemble's grid where Vanilla's is above 1 %"
            .into(),
    );
    let (c5, _) = c5_tally(tables, &|t, v, base| autoattack(t)[0].1.as_ref().and_then(|name| t.gain(v, base, name)));
    let c5 = c5.into_claim(
        "C5-AA",
        "C5 under AutoAttack: in E3, regularising every layer gives a clear robustness gain, of the same order as Jacobian regularisation.",
        format!("the gain under AutoAttack's worst case (over the ensemble's ε grid) must exceed {CLEAR_GAIN} and lie within a factor 3 of Jac's"),
    );
    (c3, c5)
}

/// C5's comparisons in E3 with the gains of `gain`, and the SpecReg gains found (C4's reference).
fn c5_tally(tables: &BTreeMap<&str, Tables>, gain: &dyn Fn(&Tables, &VariantKey, &VariantKey) -> Option<f64>) -> (Tally, Vec<f64>) {
    let mut c5 = Tally::default();
    let mut e3_gains = Vec::new();
    for id in ["E3-MLP", "E3-CNN"] {
        let Some(t) = tables.get(id) else { continue };
        for experiment in t.variants().into_iter().filter(|v| v.variant == "Vanilla").map(|v| v.experiment) {
            let base = vanilla(&experiment, "Vanilla");
            let jac = gain(t, &vanilla(&experiment, "Jac"), &base);
            for v in t.variants().into_iter().filter(|v| v.experiment == experiment && v.variant.starts_with("SpecReg")) {
                let what = format!("{experiment} {}", v.label());
                match (gain(t, &v, &base), jac) {
                    (Some(gain), Some(jac)) => {
                        e3_gains.push(gain);
                        let ratio = gain / jac;
                        c5.compare(gain > CLEAR_GAIN && (1.0 / 3.0..=3.0).contains(&ratio), format!("{what}: gain {gain:+.3}, Jac gain {jac:+.3}"));
                    }
                    (Some(gain), None) => {
                        e3_gains.push(gain);
                        c5.missing(format!("{what}: gain {gain:+.3}, Jac gain"));
                    }
                    _ => c5.missing(format!("{what}: gain")),
                }
            }
        }
    }
    (c5, e3_gains)
}

fn c4_and_c5(registry: &Registry, tables: &BTreeMap<&str, Tables>) -> (Claim, Claim) {
    let (c5, e3_gains) = c5_tally(tables, &|t, v, base| gain(registry, "C5", t, v, base));
    let reference = mean(&e3_gains);
    let mut c4 = Tally::default();
    let mut unjudged = false;
    for id in ["E2-MLP", "E2-CNN"] {
        let Some(t) = tables.get(id) else { continue };
        for v in t.variants().into_iter().filter(|v| v.variant == "SpecReg") {
            let what = format!("{} {}", v.experiment, v.label());
            let plain = gain(registry, "C4", t, &v, &vanilla(&v.experiment, "Vanilla"));
            let whitened = gain(registry, "C4", t, &VariantKey::new(&v.experiment, "SpecReg-Wh", v.beta), &vanilla(&v.experiment, "Vanilla-Wh"));
            match (plain, whitened, reference) {
                (Some(g), Some(w), Some(r)) => c4.compare(g < 0.5 * r && w < g.max(0.0) * 0.5 + 0.01, format!("{what}: gain {g:+.3}, whitened {w:+.3}")),
                (Some(g), Some(w), None) => {
                    unjudged = true;
                    c4.evidence.push(format!("{what}: gain {g:+.3}, whitened {w:+.3}"));
                }
                _ => c4.missing(format!("{what}: gain with and without whitening")),
            }
        }
    }
    let reference_text = reference.map_or("E3 was not measured".into(), |r| format!("{r:+.3}"));
    let mut c4 = c4.into_claim(
        "C4",
        "In E2, regularising only the last layer helps little, and whitening an intermediate layer removes the gain.",
        format!("E2's gain must be below half of E3's mean gain ({reference_text}), and the whitened variant's gain (over Vanilla-Wh) below half of E2's gain plus 0.01"),
    );
    if c4.total == 0 && unjudged {
        c4.verdict = Verdict::NotJudged("needs E3 for the comparison");
    }
    let c5 = c5.into_claim(
        "C5",
        "In E3, regularising every layer gives a clear robustness gain, of the same order as Jacobian regularisation.",
        format!("the gain must exceed {CLEAR_GAIN} and lie within a factor 3 of Jac's gain"),
    );
    (c4, c5)
}

/// Reads the tables of the claim experiments that have run under `out`.
pub fn read_tables(out: &OutDir) -> crate::Result<BTreeMap<&'static str, Tables>> {
    let mut tables = BTreeMap::new();
    for id in CLAIM_EXPERIMENTS {
        let dir = out.experiment(id);
        if dir.table("training").is_file() {
            let t = Tables::read(&dir)?;
            if !t.training.is_empty() {
                tables.insert(id, t);
            }
        }
    }
    Ok(tables)
}

/// The "Claims" section of SUMMARY.md: per claim a paragraph with the paper's statement, the rule,
/// the verdict with its count, and the numbers. `caveat` says what the profile's numbers are worth.
pub fn section(registry: &Registry, claims: &[Claim], caveat: &str) -> String {
    let pgd: Vec<&str> = registry.attacks_for("C5").iter().map(|a| a.title).collect();
    let mut text = format!(
        "## Claims (docs/protocol.md §3)

{caveat}

"
    );
    text += &format!(
        "A gain is the mean over ε > 0 of the accuracy difference to the baseline (Vanilla, or Vanilla-Wh for whitened variants) under {}, each accuracy averaged over seeds.

",
        pgd.join(" / ")
    );
    for c in claims {
        let count = if c.total == 0 { String::new() } else { format!(", {} of {} comparisons held", c.held, c.total) };
        text += &format!("- **{}: {}** The paper: {} Rule: {}.", c.id, capitalised(&c.verdict.to_string()), c.statement, c.rule);
        if c.total == 0 && c.evidence.is_empty() {
            text += " Not measured: the experiments it reads did not run.
";
            continue;
        }
        text += &format!(
            " Verdict: {}{count}.
",
            c.verdict
        );
        for e in &c.evidence {
            text += &format!(
                "  - {e}
"
            );
        }
    }
    text
}

fn capitalised(text: &str) -> String {
    let mut chars = text.chars();
    chars.next().map_or_else(String::new, |c| c.to_uppercase().chain(chars).collect())
}

#[cfg(test)]
mod tests {
    use specreg_report::RunKey;
    use specreg_report::tables::{FitRow, RobustnessRow, SpectrumRow, TrainingRow};

    use super::*;

    /// A hand-made experiment: each variant gets one training row, one fit per (layer, α̂), a test
    /// spectrum per layer, and accuracies per (attack, ε).
    struct Builder {
        experiment: String,
        t: Tables,
    }

    impl Builder {
        fn new(experiment: &str) -> Self {
            Builder { experiment: experiment.into(), t: Tables::default() }
        }
        fn key(&self, variant: &str, beta: f64) -> RunKey {
            RunKey::new(&self.experiment, variant, beta, 0)
        }
        /// A variant whose layers have these α̂ (`None`: the fit failed).
        fn variant(mut self, variant: &str, beta: f64, alphas: &[Option<f64>]) -> Self {
            let key = self.key(variant, beta);
            self.t.training.push(TrainingRow { key: key.clone(), epoch: 1, loss: 1.0, penalty: 0.0, train_acc: 0.9, test_acc: 0.9, seconds: 1.0 });
            for (k, alpha) in alphas.iter().enumerate() {
                let layer = format!("hidden{}", k + 1);
                let a = alpha.unwrap_or(1.0);
                for rank in 1..=40u32 {
                    self.t.spectra.push(SpectrumRow {
                        key: key.clone(),
                        layer: layer.clone(),
                        split: "test".into(),
                        rank,
                        eigenvalue: f64::from(rank).powf(-a),
                    });
                }
                if let Some(alpha_hat) = alpha {
                    self.t.fits.push(FitRow {
                        key: key.clone(),
                        layer,
                        alpha_hat: *alpha_hat,
                        r2: 0.99,
                        rank_min: 11,
                        rank_max: 20,
                        alpha_low: f64::NAN,
                        alpha_high: f64::NAN,
                    });
                }
            }
            self
        }
        fn accuracy(mut self, variant: &str, beta: f64, attack: &str, points: &[(f64, f64)]) -> Self {
            let key = self.key(variant, beta);
            for &(epsilon, accuracy) in points {
                self.t.robustness.push(RobustnessRow {
                    key: key.clone(),
                    attack: attack.into(),
                    epsilon,
                    accuracy,
                    n_examples: 100,
                    max_perturbation: epsilon,
                    batch_size: 100,
                    min_pixel: 0.0,
                    max_pixel: 1.0,
                    ci_low: f64::NAN,
                    ci_high: f64::NAN,
                });
            }
            self
        }
        fn done(self) -> Tables {
            self.t
        }
    }

    fn judged(tables: Vec<(&'static str, Tables)>) -> Vec<Claim> {
        judge(&Registry::standard(), &tables.into_iter().collect())
    }

    fn claim<'a>(claims: &'a [Claim], id: &str) -> &'a Claim {
        claims.iter().find(|c| c.id == id).unwrap()
    }

    #[test]
    fn c1_and_c2_follow_the_alpha_rules() {
        let e1 = Builder::new("E1").variant("Vanilla", 0.0, &[Some(1.8)]).variant("SpecReg", 5.0, &[Some(1.1)]).done();
        let claims = judged(vec![("E1", e1)]);
        assert_eq!((claim(&claims, "C1").verdict.clone(), claim(&claims, "C1").held), (Verdict::Supported, 1));
        assert_eq!(claim(&claims, "C2").verdict, Verdict::Supported);

        // Vanilla already at 1/n, SpecReg moved away: C1 and C2 contradicted.
        let e1 = Builder::new("E1").variant("Vanilla", 0.0, &[Some(1.05)]).variant("SpecReg", 5.0, &[Some(1.6)]).done();
        let claims = judged(vec![("E1", e1)]);
        assert_eq!(claim(&claims, "C1").verdict, Verdict::Contradicted);
        assert_eq!(claim(&claims, "C2").verdict, Verdict::Contradicted);
        assert!(claim(&claims, "C2").evidence[0].contains("α̂ 1.60 vs 1.05"), "{:?}", claim(&claims, "C2").evidence);
    }

    #[test]
    fn c2_regularises_every_layer_in_e3_and_the_last_elsewhere_giving_mixed_verdicts() {
        let e3 = Builder::new("E3-MLP")
            .variant("Vanilla", 0.0, &[Some(2.0), Some(2.0), Some(2.0)])
            .variant("SpecReg-all", 2.0, &[Some(1.2), Some(2.5), Some(1.5)])
            .done();
        let claims = judged(vec![("E3-MLP", e3)]);
        let c2 = claim(&claims, "C2");
        assert_eq!((c2.verdict.clone(), c2.held, c2.total), (Verdict::Mixed, 2, 3));
        // Whitened variants are compared with Vanilla-Wh, on the last layer only.
        let e2 = Builder::new("E2-MLP")
            .variant("Vanilla", 0.0, &[Some(2.0), Some(2.0), Some(2.0)])
            .variant("Vanilla-Wh", 0.0, &[Some(2.0), Some(0.5), Some(0.7)])
            .variant("SpecReg-Wh", 2.0, &[Some(3.0), Some(3.0), Some(0.8)])
            .done();
        let c2 = judged(vec![("E2-MLP", e2)]).into_iter().find(|c| c.id == "C2").unwrap();
        assert_eq!((c2.held, c2.total), (1, 1), "{:?}", c2.evidence);
        assert!(c2.evidence[0].contains("hidden3") && c2.evidence[0].contains("vs 0.70"), "{:?}", c2.evidence);
    }

    #[test]
    fn a_failed_fit_is_not_measured_never_counted() {
        let e1 = Builder::new("E1").variant("Vanilla", 0.0, &[None]).variant("SpecReg", 5.0, &[Some(1.0)]).done();
        let claims = judged(vec![("E1", e1)]);
        for id in ["C1", "C2"] {
            let c = claim(&claims, id);
            assert_eq!((c.verdict.clone(), c.total), (Verdict::NotMeasured, 0), "{id}: {c:?}");
            assert!(c.evidence.iter().any(|e| e.ends_with("not measured")), "{id}: {:?}", c.evidence);
            assert!(!c.evidence.iter().any(|e| e.contains("NaN")), "{id}: {:?}", c.evidence);
        }
    }

    #[test]
    fn c3_reads_the_pgd_attack_name_from_the_table_and_ignores_dead_epsilons() {
        let grid = |v: [f64; 4]| [(0.0, v[0]), (0.1, v[1]), (0.2, v[2]), (0.3, v[3])];
        let e1 = Builder::new("E1")
            .variant("Vanilla", 0.0, &[Some(1.8)])
            .variant("SpecReg", 5.0, &[Some(1.2)])
            .accuracy("Vanilla", 0.0, "fgsm", &grid([0.95, 0.5, 0.1, 0.005]))
            .accuracy("SpecReg", 5.0, "fgsm", &grid([0.93, 0.7, 0.3, 0.0]))
            .accuracy("Vanilla", 0.0, "pgd10", &grid([0.95, 0.4, 0.05, 0.0]))
            .accuracy("SpecReg", 5.0, "pgd10", &grid([0.93, 0.6, 0.2, 0.0]))
            .done();
        let claims = judged(vec![("E1", e1)]);
        let c3 = claim(&claims, "C3");
        assert_eq!((c3.verdict.clone(), c3.held, c3.total), (Verdict::Supported, 2, 2), "{:?}", c3.evidence);
        assert!(c3.evidence.iter().any(|e| e.contains("pgd10: better at 2/2")), "{:?}", c3.evidence);
        assert!(c3.evidence.iter().any(|e| e.contains("clean accuracy on the attacked examples SpecReg β=5: 0.9300 vs Vanilla 0.9500")), "{:?}", c3.evidence);

        // SpecReg worse under FGSM at one ε: FGSM fails, PGD holds: mixed.
        let e1 = Builder::new("E1")
            .variant("Vanilla", 0.0, &[Some(1.8)])
            .variant("SpecReg", 5.0, &[Some(1.2)])
            .accuracy("Vanilla", 0.0, "fgsm", &grid([0.95, 0.5, 0.1, 0.0]))
            .accuracy("SpecReg", 5.0, "fgsm", &grid([0.93, 0.7, 0.05, 0.0]))
            .accuracy("Vanilla", 0.0, "pgd40", &grid([0.95, 0.4, 0.05, 0.0]))
            .accuracy("SpecReg", 5.0, "pgd40", &grid([0.93, 0.6, 0.2, 0.0]))
            .done();
        assert_eq!(claim(&judged(vec![("E1", e1)]), "C3").verdict, Verdict::Mixed);
    }

    #[test]
    fn c3_without_pgd_is_not_measured_for_pgd_only() {
        let e1 = Builder::new("E1")
            .variant("Vanilla", 0.0, &[Some(1.8)])
            .variant("SpecReg", 5.0, &[Some(1.2)])
            .accuracy("Vanilla", 0.0, "fgsm", &[(0.0, 0.95), (0.1, 0.5)])
            .accuracy("SpecReg", 5.0, "fgsm", &[(0.0, 0.93), (0.1, 0.7)])
            .done();
        let claims = judged(vec![("E1", e1)]);
        let c3 = claim(&claims, "C3");
        assert_eq!((c3.verdict.clone(), c3.held, c3.total), (Verdict::Supported, 1, 1));
        assert!(c3.evidence.iter().any(|e| e == "SpecReg β=5 pgd: not measured"), "{:?}", c3.evidence);
    }

    fn e3(gain: f64, jac_gain: f64) -> Tables {
        let pgd = |acc: f64| [(0.0, 0.95), (0.1, acc), (0.2, acc / 2.0)];
        Builder::new("E3-MLP")
            .variant("Vanilla", 0.0, &[Some(2.0)])
            .variant("SpecReg-all", 2.0, &[Some(1.5)])
            .variant("Jac", 0.0, &[Some(2.0)])
            .accuracy("Vanilla", 0.0, "pgd40", &pgd(0.2))
            .accuracy("SpecReg-all", 2.0, "pgd40", &[(0.0, 0.95), (0.1, 0.2 + gain), (0.2, 0.1 + gain)])
            .accuracy("Jac", 0.0, "pgd40", &[(0.0, 0.95), (0.1, 0.2 + jac_gain), (0.2, 0.1 + jac_gain)])
            .done()
    }

    fn e2(gain: f64, whitened_gain: f64) -> Tables {
        Builder::new("E2-MLP")
            .variant("Vanilla", 0.0, &[Some(2.0)])
            .variant("Vanilla-Wh", 0.0, &[Some(0.5)])
            .variant("SpecReg", 2.0, &[Some(1.8)])
            .variant("SpecReg-Wh", 2.0, &[Some(0.6)])
            .accuracy("Vanilla", 0.0, "pgd40", &[(0.0, 0.9), (0.1, 0.3)])
            .accuracy("SpecReg", 2.0, "pgd40", &[(0.0, 0.9), (0.1, 0.3 + gain)])
            .accuracy("Vanilla-Wh", 0.0, "pgd40", &[(0.0, 0.9), (0.1, 0.3)])
            .accuracy("SpecReg-Wh", 2.0, "pgd40", &[(0.0, 0.9), (0.1, 0.3 + whitened_gain)])
            .done()
    }

    #[test]
    fn c5_compares_all_layer_specreg_with_jacobian_regularisation() {
        let c5 = |gain, jac| judged(vec![("E3-MLP", e3(gain, jac))]).into_iter().find(|c| c.id == "C5").unwrap();
        assert_eq!(c5(0.10, 0.12).verdict, Verdict::Supported);
        assert_eq!(c5(0.01, 0.12).verdict, Verdict::Contradicted, "a gain below {CLEAR_GAIN} is not clear");
        assert_eq!(c5(0.10, 0.50).verdict, Verdict::Contradicted, "more than 3x below Jac's");
    }

    #[test]
    fn c4_needs_e3_and_then_follows_its_rule() {
        let alone = judged(vec![("E2-MLP", e2(0.01, 0.0))]);
        let c4 = claim(&alone, "C4");
        assert_eq!(c4.verdict, Verdict::NotJudged("needs E3 for the comparison"));
        assert!(c4.rule.contains("E3 was not measured") && !c4.rule.contains("NaN"), "{}", c4.rule);
        assert_eq!(claim(&judged(vec![("E2-MLP", e2(0.01, 0.0)), ("E3-MLP", e3(0.10, 0.12))]), "C4").verdict, Verdict::Supported);
        // A last-layer gain as large as E3's contradicts "helps little".
        assert_eq!(claim(&judged(vec![("E2-MLP", e2(0.10, 0.0)), ("E3-MLP", e3(0.10, 0.12))]), "C4").verdict, Verdict::Contradicted);
        // Whitening keeps the gain: contradicted too.
        assert_eq!(claim(&judged(vec![("E2-MLP", e2(0.01, 0.04)), ("E3-MLP", e3(0.10, 0.12))]), "C4").verdict, Verdict::Contradicted);
    }

    #[test]
    fn no_tables_means_nothing_measured() {
        let claims = judge(&Registry::standard(), &BTreeMap::new());
        assert!(claims.iter().all(|c| c.verdict == Verdict::NotMeasured && c.total == 0), "{claims:?}");
        let text = section(&Registry::standard(), &claims, "");
        assert_eq!(text.matches("Not measured: the experiments it reads did not run.").count(), 7, "{text}");
    }
}
