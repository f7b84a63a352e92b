#!/usr/bin/env bash
# Every test: the Rust workspace, then the Python package (crates/awd-py)
# built into a virtual environment and tested with pytest against PyWavelets
# and the `awd` binary. Needs Rust and Python >= 3.9 with venv and network
# access to PyPI (maturin, numpy, pytest, PyWavelets).
set -euo pipefail
cd "$(dirname "$0")/.."

cargo test --release --workspace

venv=${AWD_TEST_VENV:-target/py-test-venv}
if [ ! -x "$venv/bin/python" ]; then
    python3 -m venv "$venv"
fi
export PATH="$(cd "$venv" && pwd)/bin:$PATH"   # maturin's build backend runs the maturin command
echo "test_all: installing maturin, numpy, pytest, PyWavelets into $venv"
"$venv/bin/python" -m pip install --quiet --upgrade "maturin>=1.16,<2" numpy pytest PyWavelets
echo "test_all: building and installing the Python package (crates/awd-py)"
"$venv/bin/python" -m pip install --quiet --no-build-isolation --force-reinstall --no-deps ./crates/awd-py
AWD_BIN="$PWD/target/release/awd" "$venv/bin/python" -m pytest -q crates/awd-py/tests
