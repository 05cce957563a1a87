"""Property-based tests (hypothesis) over random shapes and values.

The profile in conftest.py keeps them modest and reproducible (40 examples,
derandomized, no deadline).
"""

import numpy as np
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from helpers import no_numpy_warnings
from nnlib import MSE, BinaryCrossEntropy, Dense, ReLU, Sigmoid, Tanh, gradient_check, sigmoid

sizes = st.integers(1, 6)
batch = st.integers(1, 8)
seeds = st.integers(0, 2**32 - 1)
finite = st.floats(allow_nan=False, allow_infinity=False, width=64)
finite_arrays = arrays(np.float64, st.integers(1, 50), elements=finite)


@given(n=batch, n_in=sizes, n_out=sizes, seed=seeds)
def test_dense_forward_shape_and_values(n, n_in, n_out, seed):
    rng = np.random.default_rng(seed)
    layer, x = Dense(n_in, n_out, rng=rng), rng.standard_normal((n, n_in))
    out = layer.forward(x)
    assert out.shape == (n, n_out)
    np.testing.assert_array_equal(out, x @ layer.params["W"] + layer.params["b"])
    assert layer.backward(np.ones_like(out)).shape == x.shape


@given(n=batch, n_in=sizes, n_out=sizes, seed=seeds, init=st.sampled_from(["normal", "small", "xavier", "he"]))
def test_dense_gradient_check_over_random_shapes(n, n_in, n_out, seed, init):
    rng = np.random.default_rng(seed)
    layer = Dense(n_in, n_out, init=init, rng=rng)
    layer.params["b"][:] = rng.standard_normal(n_out)
    errors = gradient_check(layer, rng.standard_normal((n, n_in)), rng=rng)
    assert max(errors.values()) < 1e-7, errors


@given(z=finite_arrays)
def test_sigmoid_bounded_monotone_symmetric_and_silent(z):
    with no_numpy_warnings():
        s = sigmoid(z)
        s_sorted = sigmoid(np.sort(z))
        s_neg = sigmoid(-z)
    assert s.shape == z.shape and np.all((0 <= s) & (s <= 1))
    assert np.all(np.diff(s_sorted) >= 0)
    np.testing.assert_allclose(s + s_neg, 1.0, rtol=0, atol=2**-52)
    moderate = np.abs(z) < 30
    assert np.all((s[moderate] > 0) & (s[moderate] < 1))


@given(z=finite_arrays)
def test_activation_layers_silent_for_every_finite_input(z):
    with no_numpy_warnings():
        for layer in (Sigmoid(), Tanh(), ReLU()):
            out = layer.forward(z)
            assert np.all(np.isfinite(out)) and np.all(np.isfinite(layer.backward(np.ones_like(z))))


@given(data=st.data(), n=st.integers(1, 20))
def test_cross_entropy_finite_for_every_probability(data, n):
    p = data.draw(arrays(np.float64, (n, 1), elements=st.floats(0.0, 1.0)))
    y = data.draw(arrays(np.float64, (n, 1), elements=st.sampled_from([0.0, 1.0])))
    bce = BinaryCrossEntropy()
    with no_numpy_warnings():
        value, grad = bce(y, p), bce.grad(y, p)
    assert np.isfinite(value) and 0 <= value <= -np.log(np.finfo(float).eps) + 1e-12
    assert grad.shape == p.shape and np.all(np.isfinite(grad))


@given(n=st.integers(1, 10), seed=seeds)
def test_labels_of_shape_n_equal_labels_of_shape_n_by_1(n, seed):
    rng = np.random.default_rng(seed)
    p, y = rng.random((n, 1)), (rng.random(n) < 0.5).astype(float)
    for loss in (MSE(), BinaryCrossEntropy()):
        assert loss(y, p) == loss(y.reshape(-1, 1), p)
