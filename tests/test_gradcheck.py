"""Central-difference gradient checks of every layer, loss and of whole models.

A correct float64 gradient has a relative error around 1e-10; the pass mark is
1e-7. The second half shows that the checker does fail on wrong gradients.
"""

import numpy as np
import pytest

from helpers import ARCHITECTURES, BCE_ARCHITECTURES, binary_data, build
from nnlib import (MSE, BinaryCrossEntropy, Dense, INITIALIZERS, Model, ReLU, Sigmoid, Tanh,
                   gradient_check, numerical_gradient, relative_error)
from nnlib.gradcheck import TOLERANCE


def away_from_zero(x, margin=0.1):
    """Shift every entry at least ``margin`` away from 0 (ReLU has a kink there)."""
    return np.where(x >= 0, x + margin, x - margin)


def test_the_documented_pass_mark_is_1e_minus_7():
    assert TOLERANCE == 1e-7


# -- layers --------------------------------------------------------------------------
@pytest.mark.parametrize("init", sorted(INITIALIZERS))
def test_dense_passes_for_every_initialiser(init, rng):
    layer = Dense(4, 3, init=init, rng=1)
    layer.params["b"][:] = rng.standard_normal(3)  # non-zero biases as well
    errors = gradient_check(layer, rng.standard_normal((5, 4)))
    assert set(errors) == {"x", "W", "b"}
    assert max(errors.values()) < 1e-7, errors


@pytest.mark.parametrize("layer", [Sigmoid(), Tanh(), ReLU()], ids=repr)
def test_activation_layers_pass(layer, rng):
    x = away_from_zero(2 * rng.standard_normal((6, 4)))
    errors = gradient_check(layer, x)
    assert set(errors) == {"x"}
    assert errors["x"] < 1e-7


def test_layer_check_leaves_inputs_and_parameters_exactly_as_they_were(rng):
    layer, x = Dense(3, 2, rng=0), rng.standard_normal((4, 3))
    W, b, x_before = layer.params["W"].copy(), layer.params["b"].copy(), x.copy()
    gradient_check(layer, x)
    np.testing.assert_array_equal(layer.params["W"], W)
    np.testing.assert_array_equal(layer.params["b"], b)
    np.testing.assert_array_equal(x, x_before)


# -- losses ----------------------------------------------------------------------------
@pytest.mark.parametrize("shape", [(7, 1), (5, 3), (6,)])
@pytest.mark.parametrize("loss", [MSE(), BinaryCrossEntropy()], ids=repr)
def test_losses_pass(loss, shape, rng):
    y_pred = rng.uniform(0.05, 0.95, size=shape)  # away from 0 and 1 for cross-entropy
    y_true = (rng.random(shape) < 0.5).astype(float)
    assert gradient_check(loss, y_pred, y_true)["y_pred"] < 1e-7


# -- whole models ------------------------------------------------------------------------
@pytest.mark.parametrize("name", sorted(ARCHITECTURES))
def test_models_pass_with_mse(name):
    model = build(name, seed=3)
    X, y = binary_data(n=7, seed=4, n_outputs=model.out_features)
    errors = gradient_check(model, X, y, loss=MSE())
    assert set(errors) == set(model.named_parameters())
    assert max(errors.values()) < 1e-7, errors


@pytest.mark.parametrize("name", BCE_ARCHITECTURES)
def test_models_pass_with_fused_sigmoid_cross_entropy(name):
    model = build(name, seed=5)
    assert model._fused(BinaryCrossEntropy())  # this is the (y_hat - y)/N shortcut
    X, y = binary_data(n=9, seed=6)
    errors = gradient_check(model, X, y, loss=BinaryCrossEntropy())
    assert max(errors.values()) < 1e-7, errors


def test_model_check_accepts_labels_of_shape_n():
    model = build("tanh-sigmoid", seed=1)
    X, y = binary_data(n=6, seed=2)
    errors = gradient_check(model, X, y.ravel(), loss="binary_crossentropy")
    assert max(errors.values()) < 1e-7


def test_model_check_restores_every_parameter_bit_for_bit():
    model = build("mixed-deep", seed=1)
    before = {k: v.copy() for k, v in model.named_parameters().items()}
    gradient_check(model, *binary_data(n=5), loss=MSE())
    for name, value in model.named_parameters().items():
        np.testing.assert_array_equal(value, before[name])


# -- the checker catches wrong gradients ---------------------------------------------------
class LocalDerivativeSigmoid(Sigmoid):
    """Bug: returns the sigmoid's local derivative and drops the incoming gradient."""

    def _backward(self, grad, need_input_grad=True):
        s = self._out
        return s * (1.0 - s)


class MeanBiasDense(Dense):
    """Bug: averages the bias gradient over the batch instead of summing it."""

    def _backward(self, grad, need_input_grad=True):
        dx = super()._backward(grad, need_input_grad)
        self.grads["b"][:] = grad.mean(axis=0)
        return dx


class MSEWithout2OverN(MSE):
    """Bug of source A: the gradient of the mean squared error without its 2/N."""

    def _grad(self, y, p):
        return p - y


def test_checker_catches_a_layer_that_drops_the_incoming_gradient(rng):
    assert gradient_check(LocalDerivativeSigmoid(), rng.standard_normal((5, 3)))["x"] > 0.1


def test_checker_pinpoints_the_wrong_parameter(rng):
    errors = gradient_check(MeanBiasDense(3, 2, rng=0), rng.standard_normal((6, 3)))
    assert errors["b"] > 0.1
    assert errors["W"] < 1e-7 and errors["x"] < 1e-7


def test_checker_catches_mse_without_2_over_n(rng):
    y_pred, y_true = rng.standard_normal((6, 1)), rng.standard_normal((6, 1))
    # analytic = numeric * N/2 = 3 * numeric, so the relative error is (3-1)/(3+1)
    assert gradient_check(MSEWithout2OverN(), y_pred, y_true)["y_pred"] == pytest.approx(0.5, abs=1e-6)


def test_checker_catches_a_wrong_layer_inside_a_model():
    model = Model([Dense(3, 4, rng=0), LocalDerivativeSigmoid(), Dense(4, 1, rng=1)])
    errors = gradient_check(model, *binary_data(n=6), loss=MSE())
    assert errors["layer0.W"] > 0.01 and errors["layer0.b"] > 0.01
    assert errors["layer2.W"] < 1e-7  # the layers after the bug are still right


def test_checker_catches_a_wrong_loss_gradient_inside_a_model():
    errors = gradient_check(build("tanh-sigmoid"), *binary_data(n=6), loss=MSEWithout2OverN())
    assert min(errors.values()) > 0.1


# -- the building blocks ----------------------------------------------------------------------
def test_numerical_gradient_of_a_quadratic_and_x_restored(rng):
    x = rng.standard_normal((3, 4))
    x_before = x.copy()
    grad = numerical_gradient(lambda: float(np.sum(x**3)), x)
    np.testing.assert_allclose(grad, 3 * x_before**2, rtol=1e-8, atol=1e-10)
    np.testing.assert_array_equal(x, x_before)


def test_numerical_gradient_refuses_an_array_it_cannot_perturb_in_place():
    x = np.ones((3, 4)).T  # a transposed view: reshape(-1) has to copy it
    with pytest.raises(ValueError, match="contiguous"):
        numerical_gradient(lambda: float(x.sum()), x)


def test_relative_error_values():
    assert relative_error(np.zeros(3), np.zeros(3)) == 0.0
    assert relative_error([1.0, 0.0], [0.0, 1.0]) == pytest.approx(np.sqrt(2) / 2)
    assert relative_error([2.0], [2.0]) == 0.0
    assert relative_error([1.0], [-1.0]) == 1.0
