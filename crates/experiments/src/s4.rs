//! S4 (beyond the paper): does SpecReg's robustness gain follow the head of the spectrum (ranks 11–100)
//! or its 1/n tail (ranks 101–N)? The figure plots each variant's PGD accuracy gain over Vanilla against
//! ε; the summary states the gains and which part of the spectrum carries the full penalty's.

use std::collections::BTreeMap;

use specreg_report::VariantKey;
use specreg_report::figure::{Panel, Series, draw_panels};

use specreg_attacks::AttackKind;

use crate::error::Result;
use crate::out_dir::ExperimentDir;
use crate::style::color_of;
use crate::tables::{Tables, mean};

/// A window "carries" the gain when its gain is at least this fraction of the full penalty's.
pub const CARRIES: f64 = 0.5;

/// PGD accuracy of `variant` minus Vanilla's (means over seeds), by ε > 0, in order.
fn gain_by_epsilon(t: &Tables, variant: &VariantKey) -> Vec<(f64, f64)> {
    let Some(pgd) = t.attacks_of(AttackKind::PgdLinf).into_iter().next() else { return Vec::new() };
    t.gain_by_epsilon(variant, &VariantKey::new(&variant.experiment, "Vanilla", 0.0), &pgd)
}

fn mean_gain(points: &[(f64, f64)]) -> Option<f64> {
    mean(&points.iter().map(|p| p.1).collect::<Vec<_>>())
}

/// The regularised variants of each experiment (full, head, tail), by experiment.
fn regularised(t: &Tables) -> BTreeMap<String, Vec<VariantKey>> {
    let mut out: BTreeMap<String, Vec<VariantKey>> = BTreeMap::new();
    for v in t.variants().into_iter().filter(|v| v.variant.starts_with("SpecReg")) {
        out.entry(v.experiment.clone()).or_default().push(v);
    }
    out
}

/// `gain.png`: PGD accuracy gain over Vanilla against ε, per regularised variant.
pub fn figures(dir: &ExperimentDir, t: &Tables) -> Result<()> {
    let mut panels = Vec::new();
    for (experiment, variants) in regularised(t) {
        let mut panel = Panel::linear(&format!("{experiment}: PGD accuracy gain over Vanilla"), "ε (L∞, pixels in [0, 1])", "accuracy − Vanilla's");
        for v in &variants {
            panel = panel.with(Series::line(v.label(), color_of(v), gain_by_epsilon(t, v)));
        }
        panels.push(panel);
    }
    if !panels.is_empty() {
        draw_panels(&dir.figure("gain"), "S4: where the robustness gain comes from (head: ranks 11–100, tail: 101–N)", &panels, panels.len().min(2))?;
    }
    Ok(())
}

/// The SUMMARY.md part: each variant's mean gain and the answer.
pub fn summary(t: &Tables) -> String {
    let mut out = String::from(
        "\nWhere the robustness gain comes from (mean over ε > 0 of the PGD accuracy gain over Vanilla; `figures/gain.png`):\n\n| experiment | variant | gain |\n|---|---|---|\n",
    );
    for (experiment, variants) in regularised(t) {
        let gains: Vec<(String, Option<f64>)> = variants.iter().map(|v| (v.variant.clone(), mean_gain(&gain_by_epsilon(t, v)))).collect();
        for (v, variant) in gains.iter().zip(&variants) {
            out += &format!("| {experiment} | {} | {} |\n", variant.label(), v.1.map_or("-".into(), |g| format!("{g:+.3}")));
        }
        let of = |name: &str| gains.iter().find(|(v, _)| v == name).and_then(|(_, g)| *g);
        out += &format!("\n{experiment}: {}\n", answer(of("SpecReg"), of("SpecReg-head"), of("SpecReg-tail")));
    }
    out
}

/// Which window carries the full penalty's gain (rule: a window whose gain is at least
/// [`CARRIES`] × the full penalty's carries it).
pub fn answer(full: Option<f64>, head: Option<f64>, tail: Option<f64>) -> String {
    let (Some(full), Some(head), Some(tail)) = (full, head, tail) else { return "not measured (a variant or PGD is missing)".into() };
    if full <= 0.0 {
        return format!("the full penalty gains nothing here ({full:+.3}), so there is no gain to attribute (head {head:+.3}, tail {tail:+.3})");
    }
    let carries = |g: f64| g >= CARRIES * full;
    let verdict = match (carries(head), carries(tail)) {
        (true, false) => "the gain follows the head of the spectrum",
        (false, true) => "the gain follows the 1/n tail of the spectrum",
        (true, true) => "either part alone gives most of the gain",
        (false, false) => "neither part alone gives most of the gain: it needs the whole spectrum",
    };
    format!("{verdict} (full {full:+.3}, head {head:+.3}, tail {tail:+.3}; rule: a window carries the gain when it reaches {CARRIES} × the full penalty's)")
}

#[cfg(test)]
mod tests {
    use super::answer;

    #[test]
    fn the_answer_follows_the_rule() {
        assert!(answer(Some(0.2), Some(0.15), Some(0.02)).starts_with("the gain follows the head"));
        assert!(answer(Some(0.2), Some(0.01), Some(0.19)).starts_with("the gain follows the 1/n tail"));
        assert!(answer(Some(0.2), Some(0.12), Some(0.11)).starts_with("either part"));
        assert!(answer(Some(0.2), Some(0.05), Some(0.05)).starts_with("neither part"));
        assert!(answer(Some(-0.01), Some(0.05), Some(0.05)).starts_with("the full penalty gains nothing"));
        assert!(answer(Some(0.2), None, Some(0.1)).starts_with("not measured"));
    }
}
