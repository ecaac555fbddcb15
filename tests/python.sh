#!/usr/bin/env bash
# The `specreg` Python package from the checkout, as a user installs it: a fresh venv,
# `pip install ./crates/python[test]` (pip runs maturin, which builds the Rust core), then pytest and
# the README's one-liner.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${SPECREG_PYTHON_VENV:-$PWD/target/python-venv}
PYTHON=${PYTHON:-python3}
"$PYTHON" -m venv "$VENV"
"$VENV/bin/python" -m pip install -q --upgrade pip
"$VENV/bin/python" -m pip install -q "./crates/python[test]"
"$VENV/bin/python" -m pytest -q crates/python/tests
"$VENV/bin/python" -c "import specreg, numpy as np; print(specreg.alpha(np.random.randn(3000, 200) * np.arange(1, 201) ** -0.5))"
