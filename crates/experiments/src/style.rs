//! How variants look in figures: the same colour for the same variant in every figure of every
//! experiment.

use specreg_report::VariantKey;
use specreg_report::figure::variant_color;

/// The colour of reference lines (1/n, α = 1): distinct from every variant's.
pub const REFERENCE_GREY: plotters::style::RGBColor = plotters::style::RGBColor(128, 128, 128);

/// A variant's colour: SpecReg variants by β (1, 2, 5), the S4 windows, Jac, and the whitened variants
/// each their own.
pub fn color_of(variant: &VariantKey) -> plotters::style::RGBColor {
    let beta_slot = [1.0, 2.0, 5.0].iter().position(|&b| b == variant.beta).unwrap_or(0);
    let index = match variant.variant.as_str() {
        "Vanilla" => 0,
        "SpecReg-head" => 4,
        "SpecReg-tail" | "Jac" => 5,
        "Vanilla-Wh" => 6,
        v if v.ends_with("-Wh") => 7,
        v if v.starts_with("SpecReg") => 1 + beta_slot,
        other => 4 + other.len() % 4,
    };
    variant_color(index)
}
