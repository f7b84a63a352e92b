"""Shared data: signals whose target is a linear function of the signal, so
the teacher's input gradient is known exactly (a constant vector)."""

import os
import pathlib
import shutil

import numpy as np
import pytest

REPO = pathlib.Path(__file__).resolve().parents[3]


@pytest.fixture
def linear_data():
    rng = np.random.default_rng(0)
    n, length = 300, 64
    x = np.cumsum(rng.standard_normal((n, length)), axis=1) / 4.0
    beta = np.zeros(length)
    beta[20:30] = np.hanning(10)
    y = x @ beta + 0.05 * rng.standard_normal(n)
    grad = np.tile(beta, (n, 1))
    return x, y, grad


@pytest.fixture
def awd_binary():
    """The command-line tool built by `cargo build --release` (or AWD_BIN)."""
    path = os.environ.get("AWD_BIN") or str(REPO / "target" / "release" / "awd")
    if not os.path.exists(path):
        found = shutil.which("awd")
        if found is None:
            pytest.fail(f"the awd binary is missing at {path}; run `cargo build --release` first or set AWD_BIN")
        path = found
    return path


@pytest.fixture
def ctrl_c_raises():
    """Python's KeyboardInterrupt handler for SIGINT, for the duration of a test.

    A process started with SIGINT ignored (a background job of a non-interactive shell, nohup) keeps ignoring
    it, and ``_thread.interrupt_main`` then does nothing: the Ctrl-C tests would wait for a fit that never
    stops. An interactive session has this handler already.
    """
    import signal

    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, previous)
