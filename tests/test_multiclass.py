"""Softmax, softmax cross-entropy from logits, float32 models and training options."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from nnlib import (SGD, Adam, BinaryCrossEntropy, Dense, Model, ReLU, Sigmoid, Softmax,
                   SoftmaxCrossEntropy, Tanh, gradient_check, softmax)
from nnlib.gradcheck import TOLERANCE


def three_class_data(n=30, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, 4))
    y = np.argmax(X[:, :3] + 0.3 * rng.standard_normal((n, 3)), axis=1)
    return X, y


def classifier(seed=0, hidden=8):
    return Model([Dense(4, hidden, init="he", rng=seed), ReLU(), Dense(hidden, 3, rng=seed + 1)])


def test_softmax_rows_sum_to_one_and_survive_huge_logits():
    z = np.array([[1000.0, -1000.0, 0.0], [1e300, 1e300, -1e300], [0.0, 0.0, 0.0]])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        p = softmax(z)
    np.testing.assert_allclose(p.sum(axis=1), 1.0)
    np.testing.assert_array_equal(p[0], [1.0, 0.0, 0.0])
    np.testing.assert_allclose(p[1], [0.5, 0.5, 0.0])
    np.testing.assert_allclose(p[2], [1 / 3] * 3)


def test_softmax_layer_gradient_check():
    x = np.random.default_rng(0).standard_normal((5, 4))
    assert gradient_check(Softmax(), x)["x"] < TOLERANCE


@pytest.mark.parametrize("labels", ["integers", "one-hot"])
def test_softmax_cross_entropy_gradient_check(labels):
    rng = np.random.default_rng(1)
    z = rng.standard_normal((6, 3))
    y = np.array([0, 2, 1, 1, 0, 2])
    if labels == "one-hot":
        y = np.eye(3)[y]
    assert gradient_check(SoftmaxCrossEntropy(), z, y)["y_pred"] < TOLERANCE


def test_softmax_cross_entropy_value_matches_definition():
    z = np.array([[2.0, 1.0, 0.1], [0.5, 2.5, 0.2]])
    y = np.array([0, 1])
    p = np.exp(z) / np.exp(z).sum(axis=1, keepdims=True)
    expected = -np.mean(np.log(p[np.arange(2), y]))
    assert SoftmaxCrossEntropy()(y, z) == pytest.approx(expected, rel=1e-14)
    # integer and one-hot labels give the same loss and gradient
    assert SoftmaxCrossEntropy()(np.eye(3)[y], z) == SoftmaxCrossEntropy()(y, z)
    np.testing.assert_array_equal(SoftmaxCrossEntropy().grad(np.eye(3)[y], z), SoftmaxCrossEntropy().grad(y, z))


@pytest.mark.parametrize("soft", [False, True], ids=["one-hot", "soft labels"])
def test_training_value_and_gradient_equal_the_separate_ones(soft):
    # fit takes both from one pass (_value_and_grad), which writes the loss another way
    rng = np.random.default_rng(3)
    z = 20 * rng.standard_normal((9, 4))
    y = rng.dirichlet(np.ones(4), size=9) if soft else np.eye(4)[rng.integers(0, 4, size=9)]
    loss = SoftmaxCrossEntropy()
    value, grad = loss._value_and_grad(y, z)
    assert type(value) is float
    assert value == pytest.approx(loss(y, z), rel=1e-13)
    np.testing.assert_allclose(grad, (softmax(z) - y) / 9, rtol=1e-12, atol=1e-17)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        value, _ = loss._value_and_grad(y, np.array([[1000.0, -1000.0, 0.0, 5.0]] * 9))
    assert np.isfinite(value)


def test_softmax_cross_entropy_finite_for_extreme_logits():
    z = np.array([[1000.0, -1000.0], [-1000.0, 1000.0]])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        value = SoftmaxCrossEntropy()(np.array([1, 1]), z)  # first sample confidently wrong
    assert value == pytest.approx(1000.0)
    assert np.isfinite(value)


def test_whole_multiclass_model_gradient_check():
    X, y = three_class_data(n=7)
    errors = gradient_check(classifier(), X, y, loss=SoftmaxCrossEntropy())
    assert max(errors.values()) < TOLERANCE
    deeper = Model([Dense(4, 5, rng=0), Tanh(), Dense(5, 3, rng=1), Softmax()])
    from nnlib import MSE
    assert max(gradient_check(deeper, X, np.eye(3)[y], loss=MSE()).values()) < TOLERANCE


@pytest.mark.parametrize(
    "y, match",
    [
        (np.array([0, 1, 3]), r"labels must lie in 0\.\.2"),
        (np.array([0, -1, 2]), r"labels must lie in 0\.\.2"),
        (np.array([0.5, 1, 2]), "whole numbers"),
        (np.array([0, 1]), "got 2 labels for 3 samples"),
        (np.array([[1, 0, 0], [0, 1, 0], [0.5, 0.2, 0]]), "sum to 1"),
    ],
)
def test_softmax_cross_entropy_refuses_bad_labels(y, match):
    with pytest.raises(ValueError, match=match):
        SoftmaxCrossEntropy()(y, np.zeros((3, 3)))


def test_softmax_cross_entropy_needs_two_or_more_columns():
    with pytest.raises(ValueError, match="at least 2 classes.*BinaryCrossEntropy"):
        SoftmaxCrossEntropy()(np.array([0, 1]), np.zeros((2, 1)))


def test_model_ending_in_softmax_refused_with_logit_loss():
    X, y = three_class_data()
    model = Model([Dense(4, 3, rng=0), Softmax()])
    with pytest.raises(ValueError, match="remove the final Softmax"):
        model.fit(X, y, loss=SoftmaxCrossEntropy(), optimizer=SGD(0.1), epochs=1)


def test_multiclass_training_learns_and_predicts_classes():
    X, y = three_class_data(n=120, seed=3)
    model = classifier(seed=3, hidden=16)
    before = model.evaluate(X, y, loss=SoftmaxCrossEntropy())
    h = model.fit(X, y, loss=SoftmaxCrossEntropy(), optimizer=Adam(0.01), epochs=40, batch_size=16, rng=0,
                  metrics=["accuracy"])
    after = model.evaluate(X, y, loss=SoftmaxCrossEntropy())
    assert after["loss"] < 0.5 * before["loss"]
    assert h.history["accuracy"][-1] > 0.85
    classes = model.predict_classes(X)
    assert classes.shape == (120,) and set(np.unique(classes)) <= {0, 1, 2}
    assert after["accuracy"] == pytest.approx(np.mean(classes == y))


def test_float32_model_trains_in_float32_and_round_trips(tmp_path):
    X, y = three_class_data(n=60)
    model = classifier().astype(np.float32)
    assert model.dtype == np.float32
    assert all(p.dtype == np.float32 for p in model.parameters() + model.gradients())
    model.fit(X, y, loss=SoftmaxCrossEntropy(), optimizer=Adam(0.01), epochs=3, batch_size=16, rng=0)
    assert all(p.dtype == np.float32 for p in model.parameters())
    assert model.predict(X).dtype == np.float32
    loaded = Model.load(model.save(tmp_path / "m32"))
    assert loaded.dtype == np.float32
    np.testing.assert_array_equal(loaded.predict(X), model.predict(X))


def test_astype_refuses_non_float_dtypes():
    with pytest.raises(ValueError, match="float32 or float64"):
        classifier().astype(np.int64)


def test_parameters_live_in_one_buffer_per_layer_from_the_start():
    """An array taken from layer.params before fit is still the layer's parameter after it."""
    X, y = three_class_data(n=20)
    model = classifier()
    held = model.layers[0].params["W"]
    held_grad = model.layers[0].grads["W"]
    model.fit(X, y, loss=SoftmaxCrossEntropy(), optimizer=Adam(0.01), epochs=2)
    assert model.layers[0].params["W"] is held and model.layers[0].grads["W"] is held_grad
    params, grads = model._optimizer_arrays()
    dense = [layer for layer in model.layers if layer.params]
    assert len(params) == len(grads) == len(dense)  # one buffer per Dense layer, not one per array
    assert np.shares_memory(held, params[0]) and np.shares_memory(held_grad, grads[0])
    # A manual optimizer step on the per-array views updates the buffer too.
    before = params[0].copy()
    model.compute_gradients(X, y, SoftmaxCrossEntropy())
    SGD(0.1).step(model.parameters(), model.gradients())
    assert not np.array_equal(params[0], before)


def test_replacing_a_parameter_array_is_noticed_by_fit():
    """If someone replaces a layer's array, fit updates that array, not the stale buffer."""
    X, y = three_class_data(n=20)
    model = classifier()
    model.layers[0].params["W"] = model.layers[0].params["W"].copy()
    replaced = model.layers[0].params["W"]
    before = replaced.copy()
    params, _ = model._optimizer_arrays()
    assert any(p is replaced for p in params)
    model.fit(X, y, loss=SoftmaxCrossEntropy(), optimizer=SGD(0.1), epochs=1)
    assert not np.array_equal(replaced, before)


def test_astype_gives_new_arrays_and_keeps_the_values():
    model = classifier()
    old = [p.copy() for p in model.parameters()]
    model.astype(np.float32)
    assert all(p.dtype == np.float32 for p in model.parameters() + model.gradients())
    for p, q in zip(model.parameters(), old):
        np.testing.assert_array_equal(p, q.astype(np.float32))
    params, grads = model._optimizer_arrays()
    assert len(params) == 2 and all(p.dtype == np.float32 for p in params + grads)


def test_packed_training_equals_training_with_separate_arrays():
    """fit (one flat buffer) and a hand-written loop (separate arrays) give identical numbers."""
    X, y = three_class_data(n=32)
    a, b = classifier(seed=5), classifier(seed=5)
    loss = SoftmaxCrossEntropy()
    a.fit(X, y, loss=loss, optimizer=Adam(0.01), epochs=3, batch_size=None)
    opt = Adam(0.01)
    for _ in range(3):
        b.compute_gradients(X, y, loss)
        opt.step(b.parameters(), b.gradients())
    for p, q in zip(a.parameters(), b.parameters()):
        np.testing.assert_array_equal(p, q)


def test_patience_stops_on_stalled_validation_loss_and_restores_best():
    rng = np.random.default_rng(0)
    X, Xv = rng.standard_normal((40, 4)), rng.standard_normal((40, 4))
    y, yv = rng.integers(0, 2, 40), rng.integers(0, 2, 40)  # pure noise: validation loss soon rises
    model = Model([Dense(4, 32, init="he", rng=0), ReLU(), Dense(32, 1, rng=1), Sigmoid()])
    h = model.fit(X, y, loss=BinaryCrossEntropy(), optimizer=Adam(0.05), epochs=200, rng=0,
                  validation_data=(Xv, yv), patience=3)
    assert len(h.epoch) < 200
    assert "not improved for 3 epochs" in h.stop_reason
    best = h.best_epoch
    assert h.history["val_loss"][best - 1] == min(h.history["val_loss"])
    assert len(h.epoch) == best + 3
    # the parameters are those of the best epoch: evaluating gives its validation loss
    assert model.evaluate(Xv, yv, loss=BinaryCrossEntropy(), metrics=())["loss"] == pytest.approx(
        h.history["val_loss"][best - 1], rel=1e-12)


def test_patience_needs_validation_data():
    X, y = three_class_data()
    with pytest.raises(ValueError, match="pass validation_data"):
        classifier().fit(X, y, loss=SoftmaxCrossEntropy(), optimizer=SGD(0.1), epochs=2, patience=2)


def test_adam_matches_two_steps_computed_by_hand():
    p = np.array([1.0, -2.0, 0.5])
    g1, g2 = np.array([0.1, -0.3, 0.0]), np.array([-0.2, 0.4, 1.0])
    lr, b1, b2, eps = 0.01, 0.9, 0.999, 1e-8
    expected = p.copy()
    m = v = np.zeros(3)
    for t, g in enumerate((g1, g2), start=1):
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g**2
        m_hat, v_hat = m / (1 - b1**t), v / (1 - b2**t)
        expected = expected - lr * m_hat / (np.sqrt(v_hat) + eps)
    opt = Adam(lr, b1, b2, eps)
    grad = np.empty(3)
    for g in (g1, g2):
        grad[...] = g
        opt.step([p], [grad])
    np.testing.assert_allclose(p, expected, rtol=1e-14, atol=1e-15)


def test_progress_bar_on_request_and_off_by_default_when_not_a_terminal(capsys):
    X, y = three_class_data(n=20)
    classifier().fit(X, y, loss=SoftmaxCrossEntropy(), optimizer=SGD(0.1), epochs=3, progress=True)
    err = capsys.readouterr().err
    assert err.startswith("\repoch ") and "epoch 3/3 [########################] loss " in err
    assert err.endswith("\n")
    classifier().fit(X, y, loss=SoftmaxCrossEntropy(), optimizer=SGD(0.1), epochs=3)  # pytest's stderr is no TTY
    assert capsys.readouterr().err == ""
