"""Dropout and weight decay: what they compute, their gradients, determinism, saving and loading."""

import numpy as np
import pytest

from helpers import binary_data
from nnlib import (SGD, BinaryCrossEntropy, Dense, Dropout, Model, ModelFileError, ReLU, Sigmoid,
                   gradient_check, load_model, numerical_gradient, relative_error, save_model)


def regularized_model(rate=0.3, decay=0.01, seed=0):
    return Model([Dense(2, 16, init="he", rng=seed, weight_decay=decay), ReLU(), Dropout(rate),
                  Dense(16, 1, rng=seed + 1, weight_decay=decay), Sigmoid()])


# -- Dropout ---------------------------------------------------------------------------
def test_dropout_passes_its_input_through_outside_training(rng):
    x = rng.standard_normal((5, 4))
    layer = Dropout(0.5)
    assert np.array_equal(layer.forward(x), x)
    assert np.array_equal(layer.backward(np.ones_like(x)), np.ones_like(x))


def test_dropout_while_training_zeroes_about_rate_and_keeps_the_mean():
    x = np.ones((400, 500))
    out = Dropout(0.3).forward(x, training=True, rng=0)
    dropped = np.mean(out == 0)
    assert abs(dropped - 0.3) < 0.01
    assert set(np.unique(out)) == {0.0, 1 / 0.7}
    assert abs(out.mean() - 1.0) < 0.01   # inverted dropout: the expected value is kept


def test_dropout_backward_uses_the_mask_of_the_forward_pass(rng):
    x = rng.standard_normal((6, 5))
    layer = Dropout(0.5)
    out = layer.forward(x, training=True, rng=3)
    mask = np.where(x != 0, out / x, 0.0)
    grad = rng.standard_normal(x.shape)
    assert np.allclose(layer.backward(grad), grad * mask)


def test_dropout_gradient_check_with_a_fixed_mask(rng):
    """Central differences with the same mask on every forward pass (the same seed each time)."""
    x = rng.standard_normal((4, 6))
    G = rng.standard_normal((4, 6))
    layer = Dropout(0.4)
    layer.forward(x, training=True, rng=7)
    analytic = layer.backward(G)

    def f():
        return float(np.sum(layer.forward(x, training=True, rng=7) * G))
    assert relative_error(analytic, numerical_gradient(f, x)) < 1e-7
    assert np.count_nonzero(analytic == 0) > 0   # some inputs were dropped


def test_dropout_rate_zero_changes_nothing_even_while_training(rng):
    x = rng.standard_normal((3, 3))
    assert np.array_equal(Dropout(0).forward(x, training=True, rng=0), x)


@pytest.mark.parametrize("rate, error", [(1.0, ValueError), (-0.1, ValueError), (float("nan"), ValueError),
                                         ("0.5", TypeError), (True, TypeError)])
def test_dropout_refuses_a_rate_outside_0_to_1(rate, error):
    with pytest.raises(error, match="Dropout: rate"):
        Dropout(rate)


def test_dropout_backward_before_forward_and_wrong_shape():
    layer = Dropout(0.5)
    with pytest.raises(RuntimeError, match="call forward"):
        layer.backward(np.ones((2, 2)))
    layer.forward(np.ones((2, 3)))
    with pytest.raises(ValueError, match="must match"):
        layer.backward(np.ones((2, 2)))


def test_dropout_keeps_float32(rng):
    x = rng.standard_normal((4, 4)).astype(np.float32)
    assert Dropout(0.5).forward(x, training=True, rng=0).dtype == np.float32


def test_fit_uses_dropout_only_while_training_and_the_same_seed_gives_the_same_run():
    X, y = binary_data(n=120, n_features=2, seed=1)
    runs = []
    for _ in range(2):
        model = regularized_model(rate=0.5)
        history = model.fit(X, y, loss=BinaryCrossEntropy(), optimizer=SGD(lr=0.2), epochs=20,
                            batch_size=30, rng=5, validation_data=(X, y))
        runs.append((history, model))
    (h1, m1), (h2, m2) = runs
    for a, b in zip(m1.parameters(), m2.parameters()):
        assert np.array_equal(a, b)                      # bit for bit
    assert h1.history["loss"] == h2.history["loss"]
    # After fit, dropout is off: predictions are deterministic and equal evaluate's.
    assert np.array_equal(m1.predict(X), m1.predict(X))
    # Another seed draws other masks (and another shuffle): another run.
    m3 = regularized_model(rate=0.5)
    m3.fit(X, y, loss=BinaryCrossEntropy(), optimizer=SGD(lr=0.2), epochs=20, batch_size=30, rng=6)
    assert not np.array_equal(m1.parameters()[0], m3.parameters()[0])


def test_dropout_changes_training_but_not_the_validation_loss_of_the_same_weights():
    X, y = binary_data(n=80, n_features=2, seed=2)
    with_dropout = regularized_model(rate=0.5, decay=0.0)
    without = regularized_model(rate=0.0, decay=0.0)
    h_with = with_dropout.fit(X, y, loss="binary_crossentropy", optimizer=SGD(lr=0.1), epochs=1, rng=0, validation_data=(X, y))
    h_without = without.fit(X, y, loss="binary_crossentropy", optimizer=SGD(lr=0.1), epochs=1, rng=0, validation_data=(X, y))
    # The same initial weights: the first training loss differs (masks), ...
    assert h_with.history["loss"][0] != h_without.history["loss"][0]
    # ... while evaluation of one model is identical however often it is repeated.
    assert with_dropout.evaluate(X, y, loss="binary_crossentropy") == with_dropout.evaluate(X, y, loss="binary_crossentropy")


# -- weight decay -----------------------------------------------------------------------
def test_penalty_is_half_lambda_times_the_squared_weights():
    model = regularized_model(decay=0.02)
    W1, W2 = model.layers[0].params["W"], model.layers[3].params["W"]
    assert model.penalty() == pytest.approx(0.01 * (np.sum(W1 ** 2) + np.sum(W2 ** 2)))
    assert Model([Dense(2, 1, rng=0)]).penalty() == 0.0


def test_weight_decay_passes_the_gradient_check():
    X, y = binary_data(n=20, n_features=2, seed=3)
    model = regularized_model(rate=0.3, decay=0.05)
    model.layers[0].params["b"][:] = 0.1   # keep ReLU inputs away from its kink
    errors = gradient_check(model, X, y, loss=BinaryCrossEntropy())
    assert max(errors.values()) < 1e-7, errors


def test_compute_gradients_adds_the_penalty_and_its_gradient_but_evaluate_does_not():
    X, y = binary_data(n=30, n_features=2, seed=4)
    decayed, plain = regularized_model(decay=0.1, rate=0.0), regularized_model(decay=0.0, rate=0.0)
    value_d = decayed.compute_gradients(X, y, "binary_crossentropy")
    value_p = plain.compute_gradients(X, y, "binary_crossentropy")
    assert value_d == pytest.approx(value_p + decayed.penalty())
    W = decayed.layers[0].params["W"]
    assert np.allclose(decayed.layers[0].grads["W"], plain.layers[0].grads["W"] + 0.1 * W)
    assert np.array_equal(decayed.layers[0].grads["b"], plain.layers[0].grads["b"])   # biases not decayed
    assert decayed.evaluate(X, y, loss="binary_crossentropy")["loss"] == pytest.approx(value_p)


def test_one_sgd_step_with_weight_decay_shrinks_the_weights_by_one_minus_lr_lambda():
    X, y = binary_data(n=30, n_features=2, seed=5)
    decayed, plain = regularized_model(decay=0.1, rate=0.0), regularized_model(decay=0.0, rate=0.0)
    plain.compute_gradients(X, y, "binary_crossentropy")
    W0, G = decayed.layers[0].params["W"].copy(), plain.layers[0].grads["W"].copy()
    decayed.fit(X, y, loss="binary_crossentropy", optimizer=SGD(lr=0.5), epochs=1)
    assert np.allclose(decayed.layers[0].params["W"], (1 - 0.5 * 0.1) * W0 - 0.5 * G)


def test_weight_decay_gives_smaller_weights_after_training():
    X, y = binary_data(n=100, n_features=2, seed=6)
    norms = {}
    for decay in (0.0, 0.05):
        model = regularized_model(decay=decay, rate=0.0)
        model.fit(X, y, loss="binary_crossentropy", optimizer=SGD(lr=0.3), epochs=200, rng=0)
        norms[decay] = sum(float(np.sum(layer.params["W"] ** 2)) for layer in model.layers if isinstance(layer, Dense))
    assert norms[0.05] < 0.7 * norms[0.0]


@pytest.mark.parametrize("decay, error", [(-1e-3, ValueError), (float("inf"), ValueError), ("0.1", TypeError)])
def test_dense_refuses_a_bad_weight_decay(decay, error):
    with pytest.raises(error, match="Dense: weight_decay"):
        Dense(2, 2, weight_decay=decay)


# -- saving and loading --------------------------------------------------------------------
def test_dropout_and_weight_decay_are_saved_and_loaded(tmp_path):
    X, y = binary_data(n=60, n_features=2, seed=7)
    model = regularized_model(rate=0.25, decay=0.003)
    model.fit(X, y, loss="binary_crossentropy", optimizer=SGD(lr=0.2), epochs=5, batch_size=20, rng=1)
    loaded = load_model(save_model(model, tmp_path / "reg"))
    assert [layer.get_config() for layer in loaded.layers] == [layer.get_config() for layer in model.layers]
    assert loaded.layers[2].rate == 0.25 and loaded.layers[0].weight_decay == 0.003
    for a, b in zip(model.parameters(), loaded.parameters()):
        assert np.array_equal(a, b)
    assert np.array_equal(loaded.predict(X), model.predict(X))
    assert loaded.penalty() == model.penalty()


def test_a_model_without_regularization_saves_as_before(tmp_path):
    model = Model([Dense(2, 3, rng=0), Sigmoid()])
    assert model.layers[0].get_config() == {"type": "Dense", "in_features": 2, "out_features": 3}


@pytest.mark.parametrize("config", [
    {"type": "Dropout", "rate": 1.0},
    {"type": "Dropout", "rate": "0.5"},
    {"type": "Dropout", "rate": 0.5, "seed": 1},
    {"type": "Dense", "in_features": 2, "out_features": 1, "weight_decay": -1},
    {"type": "Dense", "in_features": 2, "out_features": 1, "weight_decay": True},
])
def test_loading_refuses_a_bad_regularization_setting(tmp_path, config):
    import json
    import zipfile

    model = Model([Dense(2, 1, rng=0), Dropout(0.5)])
    path = save_model(model, tmp_path / "m")
    with zipfile.ZipFile(path) as zf:
        members = {name: zf.read(name) for name in zf.namelist()}
    arch_name = next(name for name in members if "architecture" in name)
    header_text = np.load(path)[arch_name.removesuffix(".npy")].item()
    header = json.loads(header_text)
    header["layers"][1 if config["type"] == "Dropout" else 0] = config
    np.savez(tmp_path / "bad.npz", **{name.removesuffix(".npy"): (np.array(json.dumps(header)) if name == arch_name
                                                              else np.load(path)[name.removesuffix(".npy")])
                                     for name in members})
    with pytest.raises(ModelFileError, match=r"layer \d \((Dropout|Dense)\) has (invalid|keys)"):
        load_model(tmp_path / "bad.npz")
