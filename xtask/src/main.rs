//! The `cargo xtask` binary: see the library (`src/lib.rs`) for the commands.

fn main() -> std::process::ExitCode {
    match xtask::run(std::env::args_os()) {
        Ok(code) => code,
        Err(e) => match e.downcast_ref::<clap::Error>() {
            Some(clap_error) => clap_error.exit(),
            None => {
                eprintln!("error: {e:#}");
                std::process::ExitCode::FAILURE
            }
        },
    }
}
