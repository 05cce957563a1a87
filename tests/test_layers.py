"""Dense and activation layers: shapes, initialisers, forward and backward formulas,
and the contract that backward neither updates parameters nor edits its inputs."""

import numpy as np
import pytest
from scipy.special import expit

from nnlib import INITIALIZERS, Dense, ReLU, Sigmoid, Tanh, relu, sigmoid, tanh


def make_layers():
    return [Dense(4, 3, init="normal", rng=0), Sigmoid(), ReLU(), Tanh()]


# -- Dense ---------------------------------------------------------------------------------
@pytest.mark.parametrize("init", sorted(INITIALIZERS))
def test_dense_parameter_and_gradient_shapes(init):
    layer = Dense(4, 3, init=init, rng=0)
    assert layer.params["W"].shape == (4, 3) and layer.params["b"].shape == (3,)
    assert {k: v.shape for k, v in layer.grads.items()} == {k: v.shape for k, v in layer.params.items()}
    assert layer.params["W"].dtype == np.float64
    np.testing.assert_array_equal(layer.params["b"], 0.0)
    assert layer.n_params == 4 * 3 + 3


@pytest.mark.parametrize("init, expected_std", [
    ("normal", 1.0),
    ("small", 0.1),
    ("xavier", np.sqrt(2.0 / (400 + 300))),  # uniform(-a, a) has std a / sqrt(3)
    ("glorot", np.sqrt(2.0 / (400 + 300))),
    ("he", np.sqrt(2.0 / 400)),
])
def test_initialisers_have_their_documented_scale(init, expected_std):
    W = Dense(400, 300, init=init, rng=0).params["W"]
    assert abs(W.mean()) < 0.1 * expected_std
    assert W.std() == pytest.approx(expected_std, rel=0.02)


def test_xavier_is_uniform_within_its_limit_and_glorot_is_the_same():
    W = Dense(50, 30, init="xavier", rng=7).params["W"]
    limit = np.sqrt(6.0 / 80)
    assert np.abs(W).max() <= limit and np.abs(W).max() > 0.95 * limit
    np.testing.assert_array_equal(W, Dense(50, 30, init="glorot", rng=7).params["W"])


def test_zeros_initialiser_and_default_is_xavier():
    np.testing.assert_array_equal(Dense(3, 2, init="zeros").params["W"], 0.0)
    np.testing.assert_array_equal(Dense(3, 2, rng=4).params["W"], Dense(3, 2, init="xavier", rng=4).params["W"])


def test_dense_forward_is_x_at_W_plus_b(rng):
    layer = Dense(4, 3, rng=0)
    layer.params["b"][:] = [1.0, -2.0, 0.5]
    x = rng.standard_normal((5, 4))
    np.testing.assert_array_equal(layer.forward(x), x @ layer.params["W"] + layer.params["b"])


def test_dense_backward_formulas(rng):
    layer, x, G = Dense(4, 3, rng=0), rng.standard_normal((5, 4)), rng.standard_normal((5, 3))
    layer.forward(x)
    dx = layer.backward(G)
    np.testing.assert_allclose(layer.grads["W"], x.T @ G, rtol=1e-14)
    np.testing.assert_allclose(layer.grads["b"], G.sum(axis=0), rtol=1e-14)
    np.testing.assert_allclose(dx, G @ layer.params["W"].T, rtol=1e-14)


def test_dense_fills_the_same_gradient_arrays_every_time(rng):
    # Model.fit hands these very arrays to the optimizer once, before the loop.
    layer = Dense(2, 2, rng=0)
    gW, gb = layer.grads["W"], layer.grads["b"]
    for _ in range(2):
        layer.forward(rng.standard_normal((3, 2)))
        layer.backward(rng.standard_normal((3, 2)))
        assert layer.grads["W"] is gW and layer.grads["b"] is gb
    assert np.any(gW != 0)


def test_dense_repr_and_config():
    layer = Dense(4, 3)
    assert repr(layer) == "Dense(4 -> 3)"
    assert layer.get_config() == {"type": "Dense", "in_features": 4, "out_features": 3}


# -- activations -------------------------------------------------------------------------------
def test_activation_functions_values():
    z = np.linspace(-30, 30, 241)
    np.testing.assert_allclose(sigmoid(z), expit(z), rtol=1e-15, atol=0)
    np.testing.assert_array_equal(relu(z), np.where(z > 0, z, 0.0))
    np.testing.assert_array_equal(tanh(z), np.tanh(z))
    assert sigmoid(0.0) == 0.5


def test_sigmoid_is_accurate_in_both_tails():
    # For z < -40, 1 + e^z rounds to 1, so sigmoid(z) is e^z to the last bit;
    # for z > 40 it is 1. The naive 1/(1+exp(-z)) overflows at z < -709.
    z = np.array([-745.0, -700.0, -50.0])
    np.testing.assert_array_equal(sigmoid(z), np.exp(z))
    np.testing.assert_array_equal(sigmoid(-z), 1.0)
    assert sigmoid(-745.0) > 0  # the smallest subnormal, not 0


def test_sigmoid_accepts_integers_and_lists():
    np.testing.assert_allclose(sigmoid([0, 2]), [0.5, expit(2.0)], rtol=1e-15)


@pytest.mark.parametrize("layer, derivative", [
    (Sigmoid(), lambda z: expit(z) * (1 - expit(z))),
    (Tanh(), lambda z: 1 - np.tanh(z) ** 2),
    (ReLU(), lambda z: (z > 0).astype(float)),
], ids=["Sigmoid", "Tanh", "ReLU"])
def test_activation_backward_is_incoming_gradient_times_derivative(layer, derivative, rng):
    z = np.array([[-3.0, -0.5, 0.0], [0.25, 1.0, 4.0]])
    G = rng.standard_normal(z.shape)
    layer.forward(z)
    np.testing.assert_allclose(layer.backward(G), G * derivative(z), rtol=1e-12, atol=1e-300)


def test_relu_gradient_at_exactly_zero_is_zero():
    layer = ReLU()
    layer.forward(np.zeros((1, 3)))
    np.testing.assert_array_equal(layer.backward(np.ones((1, 3))), 0.0)


def test_relu_is_exact_for_every_batch_shape_dtype_and_size(rng):
    # ReLU keeps an array of zeros per batch shape (a speed-up); batches of another
    # shape or dtype, and inputs too large to cache, must give the same answers.
    layer = ReLU()
    for shape, dtype in [((64, 8), np.float64), ((5, 8), np.float64), ((64, 8), np.float32),
                         ((64, 8), np.float64), ((400, 400), np.float64)]:
        x = rng.standard_normal(shape).astype(dtype)
        out = layer.forward(x)
        assert out.dtype == dtype
        np.testing.assert_array_equal(out, np.where(x > 0, x, 0))
        np.testing.assert_array_equal(layer.backward(np.ones_like(x)), (x > 0).astype(dtype))
    assert layer._zeros.shape == (64, 8)  # the large input was not cached


def test_activations_have_no_parameters():
    for layer in (Sigmoid(), ReLU(), Tanh()):
        assert layer.params == {} and layer.grads == {} and layer.n_params == 0
        assert repr(layer) == type(layer).__name__ + "()"


# -- the layer contract ---------------------------------------------------------------------------
@pytest.mark.parametrize("layer", make_layers(), ids=repr)
def test_backward_does_not_update_parameters(layer, rng):
    before = {k: v.copy() for k, v in layer.params.items()}
    out = layer.forward(rng.standard_normal((5, 4)))
    layer.backward(rng.standard_normal(out.shape))
    for key, value in layer.params.items():
        np.testing.assert_array_equal(value, before[key])


@pytest.mark.parametrize("layer", make_layers(), ids=repr)
def test_forward_and_backward_do_not_modify_their_arguments(layer, rng):
    x = rng.standard_normal((5, 4))
    x[0, 0] = -1.0  # ReLU must zero *its own* copy of the gradient, not this one
    out = layer.forward(x)
    grad = rng.standard_normal(out.shape)
    x_before, grad_before = x.copy(), grad.copy()
    layer.backward(grad)
    np.testing.assert_array_equal(x, x_before)
    np.testing.assert_array_equal(grad, grad_before)


@pytest.mark.parametrize("layer", make_layers(), ids=repr)
def test_backward_returns_an_input_gradient_shaped_like_x(layer, rng):
    x = rng.standard_normal((5, 4))
    out = layer.forward(x)
    assert layer.backward(np.ones_like(out)).shape == x.shape


def test_relu_follows_the_model_to_float32():
    """ReLU keeps a buffer of zeros between calls; after astype it must not stay float64."""
    from nnlib import Model

    model = Model([Dense(3, 4, rng=0), ReLU(), Dense(4, 2, rng=1)])
    X = np.random.default_rng(0).standard_normal((5, 3))
    assert model.predict(X).dtype == np.float64
    model.astype(np.float32)
    out = model.predict(X)
    assert out.dtype == np.float32 and model.layers[1]._zeros.dtype == np.float32
