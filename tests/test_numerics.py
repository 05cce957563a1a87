"""No NumPy warning for finite extreme inputs.

Each test runs under ``no_numpy_warnings()``: every warning is an error, and NumPy
raises on overflow, division by zero and invalid operations. (Underflow to 0 is
the right answer for exp(-1000) and stays ignored, as NumPy does by default.)
"""

import numpy as np
import pytest

from helpers import build, no_numpy_warnings
from nnlib import MSE, BinaryCrossEntropy, Dense, Model, ReLU, Sigmoid, Tanh, sigmoid

EXTREMES = np.array([-1e300, -1e5, -1000.0, -710.0, -1.0, 0.0, 1.0, 710.0, 1000.0, 1e5, 1e300])


def test_the_helper_does_catch_an_overflow():
    with pytest.raises(FloatingPointError, match="overflow"):
        with no_numpy_warnings():
            1.0 / (1.0 + np.exp(-np.array([-1000.0])))  # the textbook sigmoid


def test_sigmoid_at_extreme_inputs():
    with no_numpy_warnings():
        s = sigmoid(EXTREMES)
    assert s[0] == 0.0 and s[-1] == 1.0
    assert sigmoid(-1000.0) == 0.0 and sigmoid(1000.0) == 1.0
    assert np.all(np.diff(s) >= 0) and np.all((s >= 0) & (s <= 1))


@pytest.mark.parametrize("layer", [Sigmoid(), Tanh(), ReLU()], ids=repr)
def test_activation_layers_at_extreme_inputs(layer):
    x = EXTREMES.reshape(1, -1)
    with no_numpy_warnings():
        out = layer.forward(x)
        grad = layer.backward(np.ones_like(out))
    assert np.all(np.isfinite(out)) and np.all(np.isfinite(grad))
    if isinstance(layer, ReLU):
        np.testing.assert_array_equal(out, np.maximum(x, 0))


def test_cross_entropy_with_predictions_of_exactly_0_and_1():
    y = np.array([[0.0], [1.0], [0.0], [1.0]])
    p = np.array([[0.0], [1.0], [1.0], [0.0]])
    bce = BinaryCrossEntropy()
    with no_numpy_warnings():
        value, grad = bce(y, p), bce.grad(y, p)
    assert np.isfinite(value) and value > 0 and np.all(np.isfinite(grad))


def test_mse_with_huge_but_finite_errors_stays_finite():
    with no_numpy_warnings():
        assert MSE()(np.array([1e150]), np.array([-1e150])) == pytest.approx(4e300)


@pytest.mark.parametrize("name", ["tanh-sigmoid", "relu-relu-sigmoid", "mixed-deep"])
def test_model_forward_pass_on_huge_inputs(name):
    model = build(name, seed=0)
    X = np.array([[1e300, -1e300, 1e300], [-1000.0, 1000.0, 0.0], [1e-300, 0.0, -1e-300]])
    with no_numpy_warnings():
        y_hat = model.predict(X)
        loss = model.evaluate(X, np.array([1, 0, 1]), loss=BinaryCrossEntropy())["loss"]
    assert np.all((y_hat >= 0) & (y_hat <= 1)) and np.isfinite(loss)


def test_training_on_saturated_sigmoid_outputs_stays_finite():
    # logits of +-1000: the fused (y_hat - y)/N gradient neither vanishes nor overflows
    model = Model([Dense(1, 1, init="zeros"), Sigmoid()])
    model.layers[0].params["W"][:] = 1000.0
    X, y = np.array([[1.0], [-1.0]]), np.array([0.0, 1.0])
    with no_numpy_warnings():
        model.compute_gradients(X, y, BinaryCrossEntropy())
    np.testing.assert_allclose(model.layers[0].grads["W"], [[1.0]])  # ((1-0)*1 + (0-1)*(-1)) / 2
