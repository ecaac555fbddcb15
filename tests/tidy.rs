//! Conventions kept by a test rather than by prose (in the manner of rust-analyzer's tidy test): the
//! crate graph ARCHITECTURE.md promises, the layering of `specreg-experiments`, one definition of an
//! experiment, each crate's stated invariant, publishable manifests, no `unwrap()` in library code.
//! `cargo fmt --check` and `cargo clippy -D warnings` run beside it in `.ci/run`.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap()
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Every `.rs` file under `dir`, recursively.
fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(dir) = pending.pop() {
        for entry in std::fs::read_dir(&dir).unwrap().flatten() {
            let path = entry.path();
            if path.is_dir() {
                pending.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                files.push(path);
            }
        }
    }
    files.sort();
    files
}

/// The library crates: `crates/*` with a `src/lib.rs`, published as `specreg-*` (the Python package
/// aside, which maturin builds).
fn library_crates() -> Vec<PathBuf> {
    let mut crates: Vec<PathBuf> = std::fs::read_dir(root().join("crates"))
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.join("src/lib.rs").is_file() && !p.ends_with("python"))
        .collect();
    crates.sort();
    crates
}

/// A crate's `[dependencies]` (not dev- or build-dependencies), by name.
fn dependencies(manifest: &str) -> BTreeSet<String> {
    let mut in_section = false;
    let mut names = BTreeSet::new();
    for line in manifest.lines().map(str::trim) {
        if line.starts_with('[') {
            in_section = line == "[dependencies]";
            continue;
        }
        if in_section
            && !line.starts_with('#')
            && let Some((name, _)) = line.split_once('=')
        {
            names.insert(name.trim().trim_end_matches(".workspace").to_string());
        }
    }
    names
}

#[test]
fn the_crate_graph_is_what_architecture_md_says() {
    let architecture = read(&root().join("ARCHITECTURE.md"));
    let workspace: Vec<String> = library_crates().iter().map(|p| p.file_name().unwrap().to_string_lossy().into_owned()).collect();
    let mut checked = 0;
    for line in architecture.lines().filter(|l| l.starts_with("| `crates/")) {
        let cells: Vec<&str> = line.split('|').map(str::trim).collect();
        let dir = cells[1].split('`').nth(1).unwrap();
        let never = cells[3];
        let deps = dependencies(&read(&root().join(dir).join("Cargo.toml")));
        let ours: Vec<&String> = deps.iter().filter(|d| d.starts_with("specreg-")).collect();
        // "any workspace crate" forbids every specreg-* dependency; otherwise each name listed.
        if never.contains("any workspace crate") {
            assert!(ours.is_empty(), "{dir} must not depend on a workspace crate (ARCHITECTURE.md) but has {ours:?}");
        }
        for word in never.split([',', ';', ' ', '(', ')']).map(str::trim).filter(|w| !w.is_empty()) {
            let forbidden = if workspace.iter().any(|c| c == word) { format!("specreg-{word}") } else { word.to_string() };
            if workspace.iter().any(|c| c == word) || ["burn", "polars", "clap", "plotters", "faer"].contains(&word) {
                assert!(!deps.contains(&forbidden), "{dir} depends on {forbidden}, which ARCHITECTURE.md says it never does");
            }
        }
        checked += 1;
    }
    assert_eq!(checked, workspace.len(), "ARCHITECTURE.md's table has a row per library crate ({workspace:?})");
}

/// Module of `file` under `src`: `catalog`, `theory` (for theory/mod.rs), `theory::t1`.
fn module_of(src: &Path, file: &Path) -> String {
    let relative = file.strip_prefix(src).unwrap().with_extension("");
    let parts: Vec<String> = relative.iter().map(|p| p.to_string_lossy().into_owned()).filter(|p| p != "mod").collect();
    parts.join("::")
}

/// The modules of the crate that `text` refers to as `crate::…` (and `super::…` from `module`).
fn imports(text: &str, module: &str, modules: &BTreeSet<String>) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    let code: String = text.lines().take_while(|l| !l.starts_with("#[cfg(test)]")).filter(|l| !l.trim_start().starts_with("//")).collect::<Vec<_>>().join("\n");
    let parent = module.rsplit_once("::").map_or("", |(p, _)| p);
    for (prefix, base) in [("crate::", ""), ("super::", parent)] {
        for (position, _) in code.match_indices(prefix) {
            let rest = &code[position + prefix.len()..];
            let path: String = rest.chars().take_while(|c| c.is_alphanumeric() || *c == '_' || *c == ':').collect();
            let segments: Vec<&str> = path.split("::").filter(|s| !s.is_empty()).collect();
            // The longest prefix that names a module.
            for k in (1..=segments.len()).rev() {
                let candidate = if base.is_empty() { segments[..k].join("::") } else { format!("{base}::{}", segments[..k].join("::")) };
                if modules.contains(&candidate) {
                    if candidate != module && !module.starts_with(&format!("{candidate}::")) {
                        found.insert(candidate);
                    }
                    break;
                }
            }
        }
    }
    found
}

#[test]
fn no_module_of_specreg_experiments_imports_one_that_imports_it_back() {
    let src = root().join("crates/experiments/src");
    let files: Vec<PathBuf> = rust_files(&src).into_iter().filter(|f| !f.ends_with("lib.rs")).collect();
    let modules: BTreeSet<String> = files.iter().map(|f| module_of(&src, f)).collect();
    let graph: BTreeMap<String, BTreeSet<String>> = files.iter().map(|f| (module_of(&src, f), imports(&read(f), &module_of(&src, f), &modules))).collect();
    assert!(graph["reproduce"].contains("summary") && graph["catalog"].contains("variant"), "the import scan sees imports: {graph:?}");
    // Depth-first search for a path back to where it started.
    fn reaches(graph: &BTreeMap<String, BTreeSet<String>>, from: &str, to: &str, seen: &mut BTreeSet<String>, path: &mut Vec<String>) -> bool {
        for next in graph.get(from).into_iter().flatten() {
            path.push(next.clone());
            if next == to || (seen.insert(next.clone()) && reaches(graph, next, to, seen, path)) {
                return true;
            }
            path.pop();
        }
        false
    }
    for module in graph.keys() {
        let mut path = vec![module.clone()];
        if reaches(&graph, module, module, &mut BTreeSet::new(), &mut path) {
            panic!("import cycle in specreg-experiments: {}", path.join(" → "));
        }
    }
}

#[test]
fn only_specreg_experiments_matches_on_the_experiment_kind() {
    let mut dirs: Vec<PathBuf> = library_crates().into_iter().filter(|c| !c.ends_with("experiments")).map(|c| c.join("src")).collect();
    dirs.push(root().join("xtask/src"));
    for file in dirs.iter().flat_map(|d| rust_files(d)) {
        let text = read(&file);
        for needle in ["Kind::Training", "Kind::Theory"] {
            assert!(!text.contains(needle), "{} matches on the experiment kind ({needle}); ask the registry instead", file.display());
        }
    }
}

#[test]
fn every_experiment_is_in_the_only_help_and_the_readme() {
    let registry = specreg_experiments::Registry::standard();
    let help = match xtask::run(["xtask", "reproduce", "--help"]) {
        Err(e) => e.to_string(),
        Ok(_) => panic!("--help prints help"),
    };
    let readme = read(&root().join("README.md"));
    let list = registry.ids().join(", ");
    assert!(readme.contains(&list), "README.md lists the experiments as `{list}`");
    for id in registry.ids() {
        assert!(help.contains(id), "`reproduce --help` does not name {id}:\n{help}");
    }
}

#[test]
fn library_code_has_no_unwrap() {
    for file in library_crates().iter().flat_map(|c| rust_files(&c.join("src"))) {
        for (n, line) in read(&file).lines().take_while(|l| !l.starts_with("#[cfg(test)]")).enumerate() {
            if !line.trim_start().starts_with("//") && line.contains(".unwrap()") {
                panic!("{}:{}: unwrap() in library code (return an error, or `expect` with the invariant): {line}", file.display(), n + 1);
            }
        }
    }
}

#[test]
fn every_lib_rs_opens_with_a_doc_an_example_and_its_invariant() {
    for krate in library_crates() {
        let lib = read(&krate.join("src/lib.rs"));
        assert!(lib.starts_with("//! # specreg-"), "{}: lib.rs opens with `//! # <crate name>`", krate.display());
        assert!(lib.lines().any(|l| l.starts_with("//! Invariant: ")), "{}: lib.rs states its invariant in a `//! Invariant: ` line", krate.display());
        assert!(lib.contains("//! ```"), "{}: lib.rs has a runnable example", krate.display());
    }
}

#[test]
fn every_library_crate_is_ready_to_publish() {
    let licenses = ["LICENSE-MIT", "LICENSE-APACHE"].map(|name| (name, read(&root().join(name))));
    for krate in library_crates() {
        let manifest = read(&krate.join("Cargo.toml"));
        for field in ["description", "readme", "keywords", "categories", "license.workspace", "repository.workspace"] {
            assert!(manifest.lines().any(|l| l.starts_with(field)), "{}: Cargo.toml lacks `{field}`", krate.display());
        }
        assert!(krate.join("README.md").is_file(), "{}: no README.md", krate.display());
        for (name, text) in &licenses {
            assert_eq!(&read(&krate.join(name)), text, "{}: {name} differs from the root's", krate.display());
        }
    }
}

/// A crate's README as its `lib.rs` doc renders it: the `//!` lines, Rust examples without their
/// hidden `# ` lines, intra-doc links as plain code.
fn readme_from_doc(lib: &str) -> String {
    let mut out = String::new();
    let mut in_code: Option<bool> = None; // Some(is_rust)
    for line in lib.lines().take_while(|l| l.starts_with("//!")) {
        let text = line.strip_prefix("//! ").or_else(|| line.strip_prefix("//!")).unwrap_or_default();
        if let Some(fence) = text.strip_prefix("```") {
            in_code = match in_code {
                Some(_) => None,
                None => Some(fence.is_empty() || fence == "rust"),
            };
            out += if in_code == Some(true) && fence.is_empty() { "```rust\n" } else { text };
            if !(in_code == Some(true) && fence.is_empty()) {
                out += "\n";
            }
            continue;
        }
        if in_code == Some(true) && (text.starts_with("# ") || text == "#") {
            continue;
        }
        let text = if in_code.is_some() { text.to_string() } else { text.replace("[`", "`").replace("`]", "`") };
        out += &text;
        out += "\n";
    }
    out
}

/// Where the README's own part begins (after the crate doc).
const README_MARKER: &str = "<!-- Above: the crate documentation (src/lib.rs), kept equal by tests/tidy.rs; SPECREG_BLESS=1 rewrites it. -->";

#[test]
fn every_crate_readme_is_its_crate_doc() {
    let bless = std::env::var_os("SPECREG_BLESS").is_some();
    for krate in library_crates() {
        let path = krate.join("README.md");
        let expected = readme_from_doc(&read(&krate.join("src/lib.rs")));
        let current = std::fs::read_to_string(&path).unwrap_or_default();
        let own = current.split_once(README_MARKER).map_or("\n", |(_, rest)| rest).to_string();
        let wanted = format!("{expected}\n{README_MARKER}{own}");
        if bless {
            std::fs::write(&path, &wanted).unwrap();
        } else {
            assert!(current == wanted, "{} is not its crate documentation; run `SPECREG_BLESS=1 cargo test --release --test tidy`", path.display());
        }
    }
}

/// A patched dependency is explained: each `[patch.crates-io]` entry points into `patches/`, has a
/// section in `patches/README.md` and its change as `patches/<crate>.diff` (what would go upstream).
#[test]
fn every_patched_dependency_is_explained_and_its_diff_is_kept() {
    let manifest = read(&root().join("Cargo.toml"));
    let readme = read(&root().join("patches/README.md"));
    let section = manifest.split("[patch.crates-io]").nth(1).unwrap_or("");
    let entries: Vec<(&str, &str)> = section
        .lines()
        .map(str::trim)
        .take_while(|l| !l.starts_with('['))
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(|l| {
            let name = l.split('=').next().unwrap().trim();
            let path = l.split("path = \"").nth(1).and_then(|p| p.split('"').next()).unwrap_or_else(|| panic!("{name}: a patch without a path"));
            (name, path)
        })
        .collect();
    for (name, path) in &entries {
        assert!(path.starts_with("patches/"), "{name}: patched from {path}, outside patches/");
        assert!(root().join(path).join("Cargo.toml").is_file(), "{name}: no crate at {path}");
        assert!(readme.contains(&format!("## {name} ")), "{name}: no section in patches/README.md");
        let diff = read(&root().join(format!("patches/{name}.diff")));
        for target in diff.lines().filter_map(|l| l.strip_prefix("+++ b/")) {
            assert!(root().join(path).join(target.trim()).is_file(), "{name}: the diff names {target}, absent from {path}");
        }
    }
}
