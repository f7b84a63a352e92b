#!/usr/bin/env bash
# Every test: the Rust workspace, then the Python package (crates/awd-py)
# built into a virtual environment and tested with pytest against PyWavelets
# and the `awd` binary, then the MPI tests where Open MPI is installed.
# Needs Rust and Python >= 3.9 with venv and network access to PyPI
# (maturin, numpy, pytest, PyWavelets).
# Every suite runs even when an earlier one fails (`--no-fail-fast`, and the
# Python and MPI parts after a Rust failure); the exit status is 1 if any did.
set -euo pipefail
cd "$(dirname "$0")/.."
status=0

cargo test --release --workspace --no-fail-fast || status=1

venv=${AWD_TEST_VENV:-target/py-test-venv}
if [ ! -x "$venv/bin/python" ]; then
    python3 -m venv "$venv"
fi
export PATH="$(cd "$venv" && pwd)/bin:$PATH"   # maturin's build backend runs the maturin command
echo "test_all: installing maturin, numpy, pytest, PyWavelets into $venv"
"$venv/bin/python" -m pip install --quiet --upgrade "maturin>=1.16,<2" numpy pytest PyWavelets
echo "test_all: building and installing the Python package (crates/awd-py)"
"$venv/bin/python" -m pip install --quiet --no-build-isolation --force-reinstall --no-deps ./crates/awd-py
AWD_BIN="$PWD/target/release/awd" "$venv/bin/python" -m pytest -q crates/awd-py/tests || status=1

# MPI: `mpirun -np 2/3 awd fit|sweep` against one process (needs Open MPI:
# apt-get install libopenmpi-dev openmpi-bin libclang-dev clang pkg-config)
if command -v mpicc >/dev/null 2>&1 && command -v mpirun >/dev/null 2>&1; then
    echo "test_all: the MPI tests (awd built with --features mpi)"
    cargo test --release --no-fail-fast -p awd-cli --features mpi --test cli_mpi || status=1
else
    echo "test_all: skipping the MPI tests: no mpicc/mpirun (install Open MPI, see README.md)"
fi
exit "$status"
