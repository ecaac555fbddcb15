//! # specreg-files
//!
//! ```toml
//! [dependencies]
//! specreg-files = "0.1"
//!
//! # Numeric code is unusably slow unoptimised: optimise dependencies in dev and test builds too.
//! [profile.dev.package."*"]
//! opt-level = 3
//! ```
//!
//! Invariant: a file under its final name is always complete, and a run lock is held by at most one live
//! process.
//!
//! Result files that many processes, on one machine or on the hosts of a cluster sharing one file
//! system, can write into one directory without tearing or colliding:
//!
//! - [`write_atomically`] / [`write_file_atomically`]: write to a temporary name, sync, rename; a
//!   killed process never leaves a half-written file under the final name.
//! - [`temporary_path`]: temporary names unique per host, process and call, which keep the target's
//!   extension; [`remove_stale_temporaries`] deletes those of ended processes of this host.
//! - [`RunLock`]: claim a piece of work with an atomically created lock file and a heartbeat; a lock
//!   whose holder died (or went silent) is taken over.
//! - [`FileError`]: every failure names its path.
//!
//! ```
//! use std::time::Duration;
//! use specreg_files::{Acquired, RunLock, write_file_atomically};
//!
//! let dir = tempfile::tempdir()?;
//! let lock = match RunLock::try_acquire(&dir.path().join("locks/run-1.lock"), Duration::from_secs(600))? {
//!     Acquired::Held(lock) => lock,
//!     Acquired::Busy(holder) => panic!("run 1 is being trained by pid {} on {}", holder.pid, holder.host),
//! };
//! write_file_atomically(&dir.path().join("runs/run-1.json"), b"{}")?;
//! drop(lock); // released: the lock file is gone
//! assert!(!dir.path().join("locks/run-1.lock").exists());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

#![warn(missing_docs)]

mod atomic;
mod error;
mod lock;

pub use atomic::{host_name, is_temporary, process_alive, remove_stale_temporaries, temporary_path, write_atomically, write_file_atomically};
pub use error::FileError;
pub use lock::{Acquired, LOCK_WRITE_GRACE, LockHolder, RunLock, read_holder};
