"""The benchmark script: its hand-written NumPy step is the same computation as nnlib's,
and each measurement runs (tiny sizes: a smoke test, not a timing)."""

import numpy as np
import pytest

from benchmarks import run as bench
from nnlib import Adam, BinaryCrossEntropy


def test_bare_numpy_step_is_the_same_step_as_nnlib():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(32, 2))
    y = (X[:, :1] * X[:, 1:] > 0).astype(float)
    model, loss, opt = bench.overhead_model(), BinaryCrossEntropy(), Adam(1e-3)
    ps = [p.copy() for p in model.parameters()]
    ms, vs = [np.zeros_like(p) for p in ps], [np.zeros_like(p) for p in ps]
    for t in range(1, 6):
        model.compute_gradients(X, y, loss)
        opt.step(model.parameters(), model.gradients())
        bench.bare_numpy_step(X, y, ps, ms, vs, t)
    for p, q in zip(model.parameters(), ps):
        np.testing.assert_allclose(p, q, rtol=1e-10, atol=1e-13)
    assert not np.array_equal(ps[0], bench.overhead_model().parameters()[0])  # it did train


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_floor_measurement_runs(dtype):
    X = np.random.default_rng(0).random((100, 64))
    assert bench.floor_epoch_seconds(X, (64, 16, 10), dtype) > 0


def test_throughput_measurement_runs():
    figures = bench.digits_throughput((16,), epochs=1, repeats=1)
    assert set(figures) == {"nnlib", "nnlib_float32", "sklearn", "sklearn_float32", "floor", "floor_float32"}
    assert all(v > 0 for v in figures.values())
