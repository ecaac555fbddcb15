//! `cargo xtask data …`: verify the datasets present, fetch missing ones.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use clap::{Args, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};
use specreg_data::fetch::{Progress, Source, fetch_dataset};
use specreg_data::verify::{DatasetReport, verify_dataset};
use specreg_data::{DEBIAN_FASHION_MNIST_DIR, DatasetId, resolve_data_dir};

#[derive(Args, Clone)]
pub struct DataDirArg {
    /// Data directory holding mnist/, cifar10/, fashion-mnist/ [default: $SPECREG_DATA_DIR, else datasets/]
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
}

impl DataDirArg {
    pub fn resolve(&self) -> PathBuf {
        resolve_data_dir(self.data_dir.as_deref())
    }
}

#[derive(Subcommand)]
pub enum DataCommand {
    /// Check every dataset present against the canonical SHA-256 checksums (non-zero exit on any mismatch).
    Verify {
        #[command(flatten)]
        dir: DataDirArg,
    },
    /// Download a dataset from its canonical mirrors (resumable), or copy it from a local directory; verifies every file.
    Fetch {
        /// mnist, fashion-mnist or cifar10
        dataset: String,
        /// Copy from this directory instead of downloading ("debian" means the dataset-fashion-mnist package's location).
        #[arg(long, value_name = "DIR")]
        from: Option<String>,
        /// Download from a mirror of the data directory's layout instead of the canonical mirrors:
        /// files are fetched from URL/<dataset>/<file> [env: SPECREG_MIRROR].
        #[arg(long, value_name = "URL", conflicts_with = "from", env = "SPECREG_MIRROR")]
        mirror: Option<String>,
        #[command(flatten)]
        dir: DataDirArg,
    },
}

pub fn run(cmd: DataCommand) -> Result<ExitCode> {
    match cmd {
        DataCommand::Verify { dir } => verify(&dir.resolve()),
        DataCommand::Fetch { dataset, from, mirror, dir } => fetch(&dataset, from, mirror, &dir.resolve()),
    }
}

fn verify(data_dir: &std::path::Path) -> Result<ExitCode> {
    if !data_dir.is_dir() {
        bail!(
            "data directory {} does not exist (set --data-dir or SPECREG_DATA_DIR, or fetch a dataset into it with `cargo xtask data fetch mnist`)",
            data_dir.display()
        );
    }
    println!("data directory: {}", data_dir.display());
    let mut all_ok = true;
    let mut present = 0;
    for dataset in DatasetId::ALL {
        let report = verify_dataset(data_dir, dataset).with_context(|| format!("checking {dataset}"))?;
        match &report {
            DatasetReport::Absent { hint, .. } => println!("{dataset:<14} not present. {hint}"),
            DatasetReport::Present { files, .. } => {
                present += 1;
                for f in files {
                    let size = f.size.map_or("-".to_string(), |s| s.to_string());
                    println!("{dataset:<14} {:<44} {size:>10}  {}", file_label(&f.path), f.check.label());
                    if let specreg_data::verify::Check::Mismatch { expected, actual } = &f.check {
                        println!("{:<14}   expected {expected}\n{:<14}   actual   {actual}", "", "");
                    }
                }
            }
        }
        all_ok &= report.is_ok();
    }
    if present == 0 {
        println!("no dataset found under {}", data_dir.display());
    }
    Ok(if all_ok && present > 0 { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}

fn file_label(path: &std::path::Path) -> String {
    path.file_name().map_or_else(|| path.display().to_string(), |n| n.to_string_lossy().into_owned())
}

fn fetch(name: &str, from: Option<String>, mirror: Option<String>, data_dir: &std::path::Path) -> Result<ExitCode> {
    let Some(dataset) = DatasetId::from_name(name) else {
        bail!("unknown dataset {name:?}; expected one of: mnist, fashion-mnist, cifar10");
    };
    let source = match from {
        Some(dir) if dir == "debian" => Source::LocalDir(DEBIAN_FASHION_MNIST_DIR.into()),
        Some(dir) => Source::LocalDir(dir.into()),
        None => download_source(dataset, mirror.as_deref()),
    };
    let fetched = fetch_dataset(dataset, data_dir, &source, &Bar::default())?;
    for f in fetched {
        let what = if f.transferred { "fetched" } else { "already present" };
        println!("{:<44} {what}, {}", file_label(&f.path), f.check.label());
    }
    Ok(ExitCode::SUCCESS)
}

/// An indicatif byte-progress bar per file.
#[derive(Default)]
struct Bar(std::cell::RefCell<Option<ProgressBar>>);

impl Progress for Bar {
    fn start(&self, file: &str, total: u64, done: u64) {
        let bar = ProgressBar::new(total).with_position(done).with_message(file.to_string());
        bar.set_style(ProgressStyle::with_template("{msg:32} {bar:30} {bytes:>10}/{total_bytes:10} {bytes_per_sec:>12} eta {eta}").expect("valid template"));
        *self.0.borrow_mut() = Some(bar);
    }
    fn advance(&self, bytes: u64) {
        if let Some(bar) = &*self.0.borrow() {
            bar.inc(bytes);
        }
    }
    fn finish(&self) {
        if let Some(bar) = self.0.borrow_mut().take() {
            bar.finish();
        }
    }
}

/// Where downloads come from: a mirror laid out like a data directory (`URL/<dataset>/<file>`), else
/// the dataset's canonical mirrors.
fn download_source(dataset: DatasetId, mirror: Option<&str>) -> Source {
    match mirror {
        Some(url) => Source::Mirrors(vec![format!("{}/{}/", url.trim_end_matches('/'), dataset.name())]),
        None => Source::canonical(dataset),
    }
}

/// Before `reproduce`: fetches each needed dataset that is absent or incomplete under `data_dir`
/// (verified, resumable, with a progress bar), unless `offline`. A dataset that cannot be fetched is
/// reported and left out (its experiments say so); returns the datasets that are usable.
pub fn ensure_datasets(needed: &[DatasetId], data_dir: &std::path::Path, mirror: Option<&str>, offline: bool) -> Result<Vec<DatasetId>> {
    let mut usable = Vec::new();
    for &dataset in needed {
        let report = verify_dataset(data_dir, dataset).with_context(|| format!("checking {dataset}"))?;
        let complete = matches!(&report, DatasetReport::Present { files, .. } if files.iter().all(|f| f.check != specreg_data::verify::Check::Missing));
        if complete {
            usable.push(dataset);
            continue;
        }
        if offline {
            println!(
                "{dataset} is not under {} and --offline forbids fetching it: its experiments will not run (exit status 1). {}",
                data_dir.display(),
                dataset.fetch_hint()
            );
            continue;
        }
        println!("{dataset} is not under {}: fetching it{}", data_dir.display(), mirror.map_or(String::new(), |m| format!(" from {m}")));
        match fetch_dataset(dataset, data_dir, &download_source(dataset, mirror), &Bar::default()) {
            Ok(files) => {
                for f in files {
                    println!("{:<44} {}, {}", file_label(&f.path), if f.transferred { "fetched" } else { "already present" }, f.check.label());
                }
                usable.push(dataset);
            }
            Err(e) => println!("{dataset} could not be fetched ({e}): its experiments will not run (exit status 1). {}", dataset.fetch_hint()),
        }
    }
    Ok(usable)
}
