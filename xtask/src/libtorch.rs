//! `cargo xtask setup-libtorch`: everything the `tch` feature needs, in one command. It makes a Python
//! virtual environment with PyTorch (whose wheel carries libtorch: no separate download), links its
//! `torch/` directory as `.libtorch` in the workspace, where `.cargo/config.toml` points `LIBTORCH`,
//! so that `cargo xtask-tch …` builds torch-sys against it (never downloading) and the binary finds it
//! at run time (xtask's build script adds an rpath).

use std::path::PathBuf;
use std::process::{Command, ExitCode};

use anyhow::{Context, Result, bail};
use clap::Args;

#[derive(Args)]
pub struct SetupArgs {
    /// Where to make the virtual environment.
    #[arg(long, default_value = ".venv-libtorch")]
    venv: PathBuf,
    /// The PyTorch version: burn-tch 0.22 is built for 2.9.0 (any 2.x works through LIBTORCH).
    #[arg(long, default_value = "2.9.0")]
    torch: String,
    /// The Python that makes the environment.
    #[arg(long, default_value = "python3")]
    python: String,
}

pub fn setup(args: SetupArgs) -> Result<ExitCode> {
    let root = specreg_experiments::workspace_root();
    let venv = if args.venv.is_absolute() { args.venv.clone() } else { root.join(&args.venv) };
    let python = venv.join("bin/python");
    if !python.exists() {
        println!("creating the virtual environment {}", venv.display());
        run(Command::new(&args.python).args(["-m", "venv"]).arg(&venv), "python3 -m venv")?;
    }
    println!("installing torch=={} (about 3 GB with its CUDA libraries; it runs on the CPU too)", args.torch);
    run(Command::new(&python).args(["-m", "pip", "install", "--disable-pip-version-check", &format!("torch=={}", args.torch)]), "pip install torch")?;
    let output = Command::new(&python)
        .args(["-c", "import os, torch; print(os.path.dirname(torch.__file__)); print(torch.__version__)"])
        .output()
        .context("running the environment's python")?;
    if !output.status.success() {
        bail!("torch does not import in {}: {}", venv.display(), String::from_utf8_lossy(&output.stderr));
    }
    let text = String::from_utf8_lossy(&output.stdout);
    let mut lines = text.lines();
    let (torch_dir, version) = (PathBuf::from(lines.next().unwrap_or_default()), lines.next().unwrap_or_default().to_string());
    for part in ["lib/libtorch_cpu.so", "include/torch"] {
        if !torch_dir.join(part).exists() {
            bail!("{} has no {part}: this torch wheel does not carry libtorch", torch_dir.display());
        }
    }
    let link = root.join(".libtorch");
    if link.symlink_metadata().is_ok() {
        std::fs::remove_file(&link).with_context(|| format!("replacing {}", link.display()))?;
    }
    std::os::unix::fs::symlink(&torch_dir, &link).with_context(|| format!("linking {} to {}", link.display(), torch_dir.display()))?;
    println!("libtorch of PyTorch {version}: {} → {}", link.display(), torch_dir.display());
    println!("now: cargo xtask-tch reproduce --backend tch …   (GPU: --backend tch-cuda, tch-cuda:N)");
    Ok(ExitCode::SUCCESS)
}

fn run(command: &mut Command, what: &str) -> Result<()> {
    let status = command.status().with_context(|| format!("{what}: cannot start it"))?;
    if !status.success() {
        bail!("{what} failed ({status})");
    }
    Ok(())
}
