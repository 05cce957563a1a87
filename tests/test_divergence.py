"""A learning rate far too large: fit stops at the first non-finite value, with a clear error.

The model is left as it was before the step that broke it, and predict and
evaluate refuse a model whose parameters are not finite.
"""

import numpy as np
import pytest

from helpers import binary_data, build
from nnlib import MSE, SGD, Adam, BinaryCrossEntropy, Dense, Model, Sigmoid, TrainingDivergedError


def linear_problem():
    X = np.random.default_rng(0).standard_normal((32, 3)) * 10  # unscaled inputs
    return X, X @ np.array([1.0, -2.0, 0.5])


def fitted(epochs, lr):
    model = Model([Dense(3, 1, rng=0)])
    if epochs:
        model.fit(*linear_problem(), loss=MSE(), optimizer=SGD(lr), epochs=epochs)
    return model


def test_an_infinite_loss_stops_fit_and_puts_back_the_last_good_parameters():
    """Full batch, so epoch k is update k: a loss that overflows at epoch k came from update k - 1."""
    model = fitted(0, lr=1.0)
    with pytest.raises(TrainingDivergedError) as info:
        model.fit(*linear_problem(), loss=MSE(), optimizer=SGD(1.0), epochs=1000)
    error = info.value
    assert f"training diverged in epoch {error.epoch}, batch 1: the loss became inf" in str(error)
    assert "try a smaller learning rate than SGD(lr=1)" in str(error) and "scale the inputs" in str(error)
    assert 2 < error.epoch < 1000 and len(error.history.epoch) == error.epoch - 1
    assert all(np.isfinite(error.history.history["loss"]))
    expected = fitted(error.epoch - 2, lr=1.0)  # before update epoch - 1, the one that broke it
    for p, q in zip(model.parameters(), expected.parameters()):
        np.testing.assert_array_equal(p, q)
    assert np.isfinite(model.predict(linear_problem()[0])).all()


def test_a_parameter_that_overflows_stops_fit_at_once_and_keeps_the_parameters():
    model = fitted(0, lr=1.0)
    before = [p.copy() for p in model.parameters()]
    with pytest.raises(TrainingDivergedError, match="epoch 1, batch 1: a parameter became NaN or infinite"):
        model.fit(*linear_problem(), loss=MSE(), optimizer=SGD(1e308), epochs=5)
    for p, q in zip(model.parameters(), before):
        np.testing.assert_array_equal(p, q)


def test_divergence_with_minibatches_and_adam_keeps_finite_parameters():
    X, y = linear_problem()
    model = Model([Dense(3, 16, rng=0), Sigmoid(), Dense(16, 1, rng=1)])
    with pytest.raises(TrainingDivergedError, match=r"epoch 1, batch 2: the loss became inf.*Adam\(lr=1e\+200\)"):
        model.fit(X, y, loss=MSE(), optimizer=Adam(1e200), epochs=50, batch_size=8, rng=0)
    assert all(np.isfinite(p).all() for p in model.parameters())


def test_a_healthy_run_is_not_changed_by_the_guard():
    """Same numbers, bit for bit, as the updates done by hand."""
    X, y = binary_data(n=24)
    a, b = build("relu-relu-sigmoid", seed=3), build("relu-relu-sigmoid", seed=3)
    history = a.fit(X, y, loss=BinaryCrossEntropy(), optimizer=SGD(0.5), epochs=30)
    opt, losses = SGD(0.5), []
    for _ in range(30):
        losses.append(b.compute_gradients(X, y, BinaryCrossEntropy()))
        opt.step(b.parameters(), b.gradients())
    assert history.history["loss"] == losses
    for p, q in zip(a.parameters(), b.parameters()):
        np.testing.assert_array_equal(p, q)


@pytest.mark.parametrize("method", ["predict", "predict_classes", "evaluate", "fit"])
@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_a_model_with_non_finite_parameters_is_refused(method, bad):
    X, y = binary_data(n=8)
    model = build("tanh-sigmoid", seed=0)
    model.layers[2].params["W"][1, 0] = bad
    calls = {
        "predict": lambda: model.predict(X),
        "predict_classes": lambda: model.predict_classes(X),
        "evaluate": lambda: model.evaluate(X, y, loss="binary_crossentropy"),
        "fit": lambda: model.fit(X, y, loss="binary_crossentropy", optimizer=SGD(0.1), epochs=1),
    }
    with pytest.raises(ValueError, match=r"parameter layer2\.W contains NaN or infinity.*smaller learning rate"):
        calls[method]()
