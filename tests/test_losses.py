"""MSE and binary cross-entropy: values, gradients, label shapes, extremes."""

import numpy as np
import pytest
from sklearn.metrics import log_loss

from nnlib import MSE, BinaryCrossEntropy, sigmoid

EPS = np.finfo(np.float64).eps


def test_mse_value_and_gradient_over_every_element(rng):
    y_pred, y_true = rng.standard_normal((5, 3)), rng.standard_normal((5, 3))
    value = MSE()(y_true, y_pred)
    assert type(value) is float
    assert value == pytest.approx(np.sum((y_pred - y_true) ** 2) / 15, rel=1e-14)
    np.testing.assert_allclose(MSE().grad(y_true, y_pred), 2 / 15 * (y_pred - y_true), rtol=1e-14)


def test_cross_entropy_matches_scikit_learn_log_loss(rng):
    p = rng.uniform(0.01, 0.99, size=(20, 1))
    y = (rng.random((20, 1)) < 0.5).astype(float)
    value = BinaryCrossEntropy()(y, p)
    assert type(value) is float
    assert value == pytest.approx(log_loss(y.ravel(), p.ravel()), rel=1e-12)


def test_cross_entropy_gradient_formula(rng):
    p = rng.uniform(0.01, 0.99, size=(6, 1))
    y = (rng.random((6, 1)) < 0.5).astype(float)
    expected = (p - y) / (p * (1 - p)) / 6
    np.testing.assert_allclose(BinaryCrossEntropy().grad(y, p), expected, rtol=1e-13)


def test_gradient_with_respect_to_logits_is_the_chain_rule_product(rng):
    z = rng.uniform(-4, 4, size=(8, 1))
    p, y = sigmoid(z), (rng.random((8, 1)) < 0.5).astype(float)
    chain = BinaryCrossEntropy().grad(y, p) * p * (1 - p)
    np.testing.assert_allclose(BinaryCrossEntropy.grad_wrt_logits(y, p), chain, rtol=1e-12)
    np.testing.assert_allclose(BinaryCrossEntropy.grad_wrt_logits(y, p), (p - y) / 8, rtol=0)


def test_cross_entropy_at_predictions_of_exactly_0_and_1():
    bce, y = BinaryCrossEntropy(), np.array([[1.0], [0.0]])
    worst = -np.log(EPS)  # clipped at machine epsilon, as scikit-learn does: about 36.04
    assert bce(y, np.array([[0.0], [1.0]])) == pytest.approx(worst, rel=1e-12)
    assert 0 <= bce(y, np.array([[1.0], [0.0]])) < 1e-15
    grad = bce.grad(y, np.array([[0.0], [1.0]]))
    assert np.all(np.isfinite(grad)) and grad[0, 0] < 0 < grad[1, 0]


@pytest.mark.parametrize("loss", [MSE(), BinaryCrossEntropy()], ids=repr)
def test_labels_of_shape_n_are_reshaped_not_broadcast(loss):
    y_pred = np.array([[0.9], [0.2], [0.6], [0.3]])
    y = np.array([1.0, 0.0, 0.0, 1.0])
    right = loss(y.reshape(-1, 1), y_pred)
    assert loss(y, y_pred) == right
    # the silent (n, n) broadcast NumPy would do gives another number:
    if isinstance(loss, MSE):
        broadcast = np.mean((y_pred - y) ** 2)
    else:
        broadcast = -np.mean(y * np.log(y_pred) + (1 - y) * np.log(1 - y_pred))
    assert abs(broadcast - right) > 0.01
    grad = loss.grad(y, y_pred)
    assert grad.shape == (4, 1)
    np.testing.assert_array_equal(grad, loss.grad(y.reshape(-1, 1), y_pred))


def test_one_dimensional_predictions_and_labels(rng):
    p, y = rng.uniform(0.1, 0.9, 5), np.array([0.0, 1.0, 1.0, 0.0, 1.0])
    assert MSE()(y, p) == pytest.approx(np.mean((p - y) ** 2), rel=1e-14)
    assert MSE().grad(y, p).shape == (5,)


def test_integer_and_boolean_labels_are_accepted():
    p = np.array([[0.8], [0.3]])
    assert BinaryCrossEntropy()([[1], [0]], p) == BinaryCrossEntropy()(np.array([[True], [False]]), p)
    assert BinaryCrossEntropy()([[1], [0]], p) == BinaryCrossEntropy()([[1.0], [0.0]], p)


def test_losses_do_not_modify_their_arguments():
    y_pred = np.array([[0.0], [1.0], [0.5]])  # the clipping must work on a copy
    y = np.array([[1.0], [0.0], [1.0]])
    before = y_pred.copy()
    for loss in (MSE(), BinaryCrossEntropy()):
        loss(y, y_pred), loss.grad(y, y_pred)
    np.testing.assert_array_equal(y_pred, before)
