//! docs/protocol.md and profiles/paper.json say the same thing: every value the protocol's tables
//! state is checked against the `paper` profile as the registry loads it (defaults included).

use std::path::Path;

use specreg_data::DatasetId;
use specreg_experiments::{Registry, TrainingSettings};

fn protocol() -> String {
    std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/protocol.md")).unwrap()
}

/// The rows of the markdown table whose header starts with `header`, as cells.
fn table(text: &str, header: &str) -> Vec<Vec<String>> {
    let lines: Vec<&str> = text.lines().collect();
    let start = lines.iter().position(|l| l.starts_with(header)).unwrap_or_else(|| panic!("no table {header:?} in docs/protocol.md"));
    lines[start + 2..].iter().take_while(|l| l.starts_with('|')).map(|l| l.trim_matches('|').split('|').map(|c| c.trim().to_string()).collect()).collect()
}

/// The numbers in `text` (`1, 2, 5` → [1, 2, 5]).
fn numbers(text: &str) -> Vec<f64> {
    text.split(|c: char| !(c.is_ascii_digit() || c == '.')).filter(|s| !s.is_empty() && *s != ".").map(|s| s.parse().unwrap()).collect()
}

#[test]
fn the_experiment_table_is_the_paper_profile() {
    let registry = Registry::standard();
    let paper = registry.load_profile("paper").unwrap();
    let rows = table(&protocol(), "| id | paper | network |");
    let ids: Vec<&str> = rows.iter().map(|r| r[0].as_str()).collect();
    let training: Vec<&str> = registry.experiments.iter().filter(|e| e.is_training()).map(|e| e.id).collect();
    assert_eq!(ids, training, "docs/protocol.md §2.1 lists every training experiment, in order");
    let network_of = |id: &str| rows.iter().find(|r| r[0] == id).unwrap()[2].clone();
    for row in &rows {
        let (id, data, batch, lr, epochs, seeds, betas) = (&row[0], &row[3], &row[5], &row[6], &row[7], &row[8], &row[9]);
        let s: &TrainingSettings = paper.training(id).unwrap_or_else(|| panic!("paper.json has no section for {id}"));
        let datasets: Vec<&str> = data.split(", ").collect();
        assert_eq!(s.datasets, datasets, "{id} datasets");
        assert_eq!(s.batch_size as f64, numbers(batch)[0], "{id} batch");
        assert_eq!(s.learning_rate, numbers(lr)[0], "{id} learning rate");
        assert_eq!(s.epochs as f64, numbers(epochs)[0], "{id} epochs");
        assert_eq!(s.seeds.len() as f64, numbers(seeds)[0], "{id} seeds");
        let betas: Vec<f64> = if betas == "none" { Vec::new() } else { numbers(betas) };
        assert_eq!(s.betas, betas, "{id} betas");
        // The network: an MLP's widths, or the CNN's channels and fully connected layer.
        let mut network = network_of(id);
        while let Some(other) = network.strip_prefix("as ").map(|r| r.split([',', ' ']).next().unwrap().to_string()) {
            network = network_of(&other);
        }
        if let Some(widths) = network.strip_prefix("MLP ") {
            let widths = numbers(widths.split(',').next().unwrap());
            assert_eq!(s.hidden.iter().map(|&w| w as f64).collect::<Vec<_>>(), widths[1..widths.len() - 1], "{id} hidden widths");
        } else {
            assert!(
                network.contains(&format!("conv 3×3 {}", s.conv_channels[0])) && network.contains(&format!("conv 3×3 {}", s.conv_channels[1])),
                "{id} channels"
            );
            assert!(network.contains(&format!("FC {} tanh", s.hidden[0])), "{id} FC width");
        }
    }
}

#[test]
fn shared_settings_are_the_paper_profiles_defaults() {
    let paper = Registry::standard().load_profile("paper").unwrap();
    let text = protocol();
    let e1 = paper.training("E1").unwrap();
    let regulariser = table(&text, "| setting | value | source |");
    let value = |name: &str| regulariser.iter().find(|r| r[0].starts_with(name)).unwrap_or_else(|| panic!("no row {name}"))[1].clone();
    assert_eq!(numbers(&value("target exponent α"))[0], e1.alpha);
    assert_eq!(numbers(&value("anchor rank τ"))[0], e1.tau as f64);
    assert_eq!(numbers(&value("strength β")), e1.betas);
    assert!(text.contains(&format!("λ_J = {} (paper)", e1.jacobian_weight)));
    assert!(text.contains(&format!("{} steps", e1.pgd_steps)));
    let grids = table(&text, "| ε grid | values | source |");
    let mnist = e1.epsilons(DatasetId::Mnist);
    assert!(grids[0][1].contains(&format!("({} values)", mnist.len())) && mnist[1] == 0.025 && (mnist.last().unwrap() - 0.3).abs() < 1e-12, "{:?}", grids[0]);
    let cifar = TrainingSettings { datasets: vec!["cifar10".into()], ..e1.clone() }.epsilons(DatasetId::Cifar10);
    assert!(grids[1][1].contains(&format!("({} values)", cifar.len())) && (cifar.last().unwrap() * 255.0 - 8.0).abs() < 1e-9, "{:?}", grids[1]);
    // The supplementary sweeps.
    assert_eq!(paper.training("S1").unwrap().weight_decays, [0.0, 1e-4, 1e-3, 1e-2, 1e-1]);
    assert!(text.contains("weight decay 0, 1e-4, 1e-3, 1e-2, 1e-1"));
    assert_eq!(paper.training("S2").unwrap().taus, [0, 10, 100, 500]);
    assert!(text.contains("τ = 0, 10, 100, 500"));
    assert_eq!(paper.training("S3").unwrap().taus, [0, 10]);
    // Every test example attacked, as the metric says.
    for id in ["E1", "E2-MLP", "E2-CNN", "E3-MLP", "E3-CNN", "S1", "S2", "S3", "S4"] {
        let s = paper.training(id).unwrap();
        assert_eq!((s.attack_examples, s.test_examples, s.train_per_class), (10_000, None, None), "{id}: whole test set attacked, whole training set");
    }
    assert!(text.contains("accuracy on the whole test set under attack"));
}
