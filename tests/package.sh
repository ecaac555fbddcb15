#!/usr/bin/env bash
# Every library crate packages for crates.io: `cargo package` for the workspace's library crates, in
# dependency order (each against the packages of the ones it depends on). Test-only dependencies are
# path-only, so they stay out of the published manifests.
#
#   tests/package.sh             # assemble and check the packages (CI: no build, about a minute)
#   VERIFY=1 tests/package.sh    # also build each package from its own sources (a debug build of
#                                # burn and polars: 20–30 minutes on two cores)
set -euo pipefail
cd "$(dirname "$0")/.."
verify=--no-verify
[ -n "${VERIFY:-}" ] && verify=
cargo package --workspace --exclude xtask --exclude specreg-integration-tests --allow-dirty $verify
ls target/package/*.crate
