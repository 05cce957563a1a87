"""Model: building, summary, predict, backprop, fit and its history."""

import re

import numpy as np
import pytest

from helpers import binary_data, build, spec
from nnlib import (MSE, SGD, Adam, BinaryCrossEntropy, Dense, History, Model, ReLU, Sigmoid, Tanh,
                   sigmoid)

XOR_X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=float)
XOR_y = np.array([0, 1, 1, 0])


def xor_model():
    return Model([Dense(2, 8, init="he", rng=0), ReLU(), Dense(8, 1, rng=1), Sigmoid()])


@pytest.fixture
def separable():
    """A linearly separable 2-D problem, 40 points."""
    X = np.random.default_rng(0).standard_normal((40, 2))
    return X, (X[:, 0] + 2 * X[:, 1] > 0).astype(float)


# -- building -------------------------------------------------------------------------------
def test_add_chains_and_checks_widths():
    model = Model().add(Dense(2, 4)).add(Tanh()).add(Dense(4, 1))
    assert [type(layer) for layer in model.layers] == [Dense, Tanh, Dense]
    assert (model.in_features, model.out_features, model.n_params) == (2, 1, 12 + 5)


def test_from_architecture_builds_dense_plus_activation_layers():
    model = Model.from_architecture(spec((3, 5, "relu"), (5, 4, "tanh"), (4, 2, None), (2, 1, "sigmoid")), rng=0)
    assert [repr(layer) for layer in model.layers] == [
        "Dense(3 -> 5)", "ReLU()", "Dense(5 -> 4)", "Tanh()", "Dense(4 -> 2)", "Dense(2 -> 1)", "Sigmoid()"]
    # default initialisers: He before a ReLU, Xavier elsewhere
    assert [layer.init for layer in model.layers if isinstance(layer, Dense)] == ["he", "xavier", "xavier", "xavier"]


def test_from_architecture_linear_name_and_chosen_initialiser():
    model = Model.from_architecture(spec((2, 3, "linear"), (3, 1, "sigmoid")), init="zeros")
    assert [repr(layer) for layer in model.layers] == ["Dense(2 -> 3)", "Dense(3 -> 1)", "Sigmoid()"]
    assert all(np.all(p == 0) for p in model.parameters())


def test_from_architecture_default_init_ignores_the_case_of_the_activation_name():
    model = Model.from_architecture(spec((2, 3, "ReLU"), (3, 1, "sigmoid")), rng=0)
    assert isinstance(model.layers[1], ReLU)
    assert model.layers[0].init == "he"


def test_parameters_gradients_and_names_are_the_layers_own_arrays():
    model = build("tanh-sigmoid")
    names = model.named_parameters()
    assert list(names) == ["layer0.W", "layer0.b", "layer2.W", "layer2.b"]
    assert all(a is b for a, b in zip(model.parameters(), names.values()))
    assert model.parameters()[0] is model.layers[0].params["W"]
    assert model.gradients()[2] is model.layers[2].grads["W"]
    assert [g.shape for g in model.gradients()] == [p.shape for p in model.parameters()]


# -- summary ----------------------------------------------------------------------------------
def test_summary_lists_layers_output_shapes_and_parameter_counts():
    model = Model([Dense(2, 8), ReLU(), Dense(8, 1), Sigmoid()])
    text = model.summary()
    assert repr(model) == text
    lines = text.splitlines()
    assert lines[0] == "Model: 4 layers, 33 trainable parameters"
    assert re.split(r"\s{2,}", lines[1].strip()) == ["#", "layer", "output shape", "params"]
    rows = [re.split(r"\s{2,}", line.strip()) for line in lines[2:]]
    assert rows == [["0", "Dense(2 -> 8)", "(n, 8)", "24"], ["1", "ReLU()", "(n, 8)", "0"],
                    ["2", "Dense(8 -> 1)", "(n, 1)", "9"], ["3", "Sigmoid()", "(n, 1)", "0"]]


def test_summary_uses_thousands_separators_and_handles_an_empty_model():
    assert "1,100 trainable parameters" in Model([Dense(99, 11)]).summary()
    assert Model().summary().startswith("Model: 0 layers, 0 trainable parameters")


# -- predict and backprop -------------------------------------------------------------------------
def test_predict_is_the_layers_applied_in_turn(rng):
    model = build("tanh-sigmoid", seed=2)
    X = rng.standard_normal((6, 3))
    W0, b0, W1, b1 = model.parameters()
    np.testing.assert_allclose(model.predict(X), sigmoid(np.tanh(X @ W0 + b0) @ W1 + b1), rtol=1e-15)
    assert model.predict(X.tolist()).shape == (6, 1)


def test_predict_classes_thresholds_at_one_half():
    model = Model([Dense(1, 1, init="zeros"), Sigmoid()])
    model.layers[0].params["W"][:] = 1.0
    np.testing.assert_array_equal(model.predict_classes([[-1.0], [0.0], [0.5]]), [0, 0, 1])
    np.testing.assert_array_equal(model.predict_classes([[0.5]], threshold=0.7), [0])


def test_compute_gradients_returns_the_loss_and_changes_no_parameter():
    model = build("mixed-deep", seed=1)
    X, y = binary_data(n=6)
    before = [p.copy() for p in model.parameters()]
    value = model.compute_gradients(X, y, BinaryCrossEntropy())
    assert value == pytest.approx(BinaryCrossEntropy()(y, model.predict(X)), rel=1e-14)
    assert all(np.any(g != 0) for g in model.gradients())
    for p, b in zip(model.parameters(), before):
        np.testing.assert_array_equal(p, b)


def test_fused_sigmoid_cross_entropy_gradient_equals_the_chain_rule():
    model = build("relu-relu-sigmoid", seed=4)
    X, y = binary_data(n=10, seed=5)
    model.compute_gradients(X, y, BinaryCrossEntropy())
    fused = [g.copy() for g in model.gradients()]
    # the long way: loss gradient, then every layer's backward including the sigmoid
    y_hat = model.predict(X)
    grad = BinaryCrossEntropy().grad(y, y_hat)
    for layer in reversed(model.layers):
        grad = layer.backward(grad)
    for f, g in zip(fused, model.gradients()):
        np.testing.assert_allclose(f, g, rtol=1e-10, atol=1e-15)


@pytest.mark.parametrize("loss", [MSE(), BinaryCrossEntropy()], ids=repr)
def test_labels_of_shape_n_give_the_same_gradients_as_n_by_1(loss):
    X, y = binary_data(n=6)
    a, b = build("tanh-sigmoid"), build("tanh-sigmoid")
    assert a.compute_gradients(X, y.ravel(), loss) == b.compute_gradients(X, y, loss)
    for ga, gb in zip(a.gradients(), b.gradients()):
        np.testing.assert_array_equal(ga, gb)


def test_evaluate_reports_loss_and_accuracy():
    model = build("tanh-sigmoid", seed=1)
    X, y = binary_data(n=12, seed=3)
    result = model.evaluate(X, y.ravel(), loss="binary_crossentropy")
    assert set(result) == {"loss", "accuracy"}
    assert result["loss"] == pytest.approx(BinaryCrossEntropy()(y, model.predict(X)), rel=1e-14)
    assert result["accuracy"] == np.mean(model.predict_classes(X) == y.ravel())
    assert set(model.evaluate(X, y, loss=MSE(), metrics=())) == {"loss"}


# -- fit ------------------------------------------------------------------------------------------------
def test_fit_learns_xor():
    model = xor_model()
    history = model.fit(XOR_X, XOR_y, loss=BinaryCrossEntropy(), optimizer=SGD(lr=0.5), epochs=2000)
    assert isinstance(history, History)
    np.testing.assert_array_equal(model.predict_classes(XOR_X), XOR_y)
    assert history.history["loss"][-1] < 0.05 < 0.5 < history.history["loss"][0]
    assert history.epoch == list(range(1, 2001)) and history.stop_reason is None


@pytest.mark.parametrize("optimizer", [SGD(lr=0.5), SGD(lr=0.1, momentum=0.9), Adam(lr=0.05)], ids=repr)
def test_fit_reduces_the_loss_on_a_separable_problem(separable, optimizer):
    X, y = separable
    model = Model([Dense(2, 1, rng=0), Sigmoid()])
    history = model.fit(X, y, loss=BinaryCrossEntropy(), optimizer=optimizer, epochs=100, batch_size=8,
                        rng=0, metrics=("accuracy",))
    losses = history.history["loss"]
    assert losses[-1] < 0.5 * losses[0]
    assert history.history["accuracy"][-1] >= 0.95


def test_history_keys_and_lengths_with_validation(separable):
    X, y = separable
    model = Model([Dense(2, 3, rng=0), Tanh(), Dense(3, 1, rng=1), Sigmoid()])
    history = model.fit(X[:30], y[:30], loss=BinaryCrossEntropy(), optimizer=SGD(lr=0.3), epochs=7,
                        metrics=("accuracy",), validation_data=(X[30:], y[30:]))
    assert set(history.history) == {"loss", "accuracy", "val_loss", "val_accuracy"}
    assert all(len(v) == 7 for v in history.history.values())
    final = model.evaluate(X[30:], y[30:], loss=BinaryCrossEntropy())
    assert history.history["val_loss"][-1] == final["loss"]
    assert history.history["val_accuracy"][-1] == final["accuracy"]
    assert re.fullmatch(r"History\(epochs=7, loss=[\d.]+, accuracy=[\d.]+, val_loss=[\d.]+, val_accuracy=[\d.]+\)",
                        repr(history))


def test_history_without_metrics_has_only_the_loss(separable):
    X, y = separable
    history = Model([Dense(2, 1)]).fit(X, y, loss=MSE(), optimizer=SGD(lr=0.1), epochs=2)
    assert list(history.history) == ["loss"]


def test_full_batch_history_starts_with_the_loss_before_training(separable):
    X, y = separable
    model = Model([Dense(2, 1, rng=0), Sigmoid()])
    initial = model.evaluate(X, y, loss=BinaryCrossEntropy())["loss"]
    history = model.fit(X, y, loss=BinaryCrossEntropy(), optimizer=SGD(lr=0.1), epochs=3)
    assert history.history["loss"][0] == pytest.approx(initial, rel=1e-14)
    assert history.history["loss"][1] < history.history["loss"][0]


def test_fit_applies_exactly_one_sgd_step_per_batch():
    X, y = binary_data(n=6, seed=1)
    model, reference = build("tanh-sigmoid"), build("tanh-sigmoid")
    model.fit(X, y, loss=MSE(), optimizer=SGD(lr=0.1), epochs=1)
    reference.compute_gradients(X, y, MSE())
    for p, r, g in zip(model.parameters(), reference.parameters(), reference.gradients()):
        np.testing.assert_allclose(p, r - 0.1 * g, rtol=1e-15, atol=1e-15)


def test_loss_threshold_stops_early_and_says_why(separable):
    X, y = separable
    model = Model([Dense(2, 1, rng=0), Sigmoid()])
    history = model.fit(X, y, loss=BinaryCrossEntropy(), optimizer=SGD(lr=1.0), epochs=1000,
                        loss_threshold=0.3)
    losses = history.history["loss"]
    assert len(losses) < 1000 and len(history.epoch) == len(losses)
    assert losses[-1] < 0.3 and min(losses[:-1]) >= 0.3
    assert history.stop_reason == f"loss {losses[-1]:.3g} < 0.3 at epoch {len(losses)}"


def test_verbose_prints_a_line_every_n_epochs_plus_first_and_last(separable, capsys):
    X, y = separable
    Model([Dense(2, 1, rng=0)]).fit(X, y, loss=MSE(), optimizer=SGD(lr=0.01), epochs=10, verbose=4)
    lines = capsys.readouterr().out.splitlines()
    assert [line.split()[1] for line in lines] == ["1/10", "4/10", "8/10", "10/10"]
    assert all(re.fullmatch(r"epoch +\d+/10  loss \d+\.\d{4}", line) for line in lines)


def test_verbose_reports_an_early_stop(separable, capsys):
    X, y = separable
    Model([Dense(2, 1, rng=0)]).fit(X, y, loss=MSE(), optimizer=SGD(lr=0.1), epochs=50, verbose=1,
                                    loss_threshold=10.0)
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 2 and lines[0].startswith("epoch  1/50  loss ")
    assert re.fullmatch(r"stopped: loss [\d.]+ < 10 at epoch 1", lines[1])


def test_silent_by_default(separable, capsys):
    X, y = separable
    Model([Dense(2, 1)]).fit(X, y, loss=MSE(), optimizer=SGD(lr=0.1), epochs=3)
    assert capsys.readouterr().out == ""


def test_batch_size_larger_than_n_is_full_batch(separable):
    X, y = separable
    runs = []
    for batch_size in (None, 40, 1000):
        model = Model([Dense(2, 1, rng=0), Sigmoid()])
        h = model.fit(X, y, loss=BinaryCrossEntropy(), optimizer=SGD(lr=0.1), epochs=5, batch_size=batch_size, rng=1)
        runs.append((h.history["loss"], model.parameters()))
    for losses, params in runs[1:]:
        assert losses == runs[0][0]
        for p, q in zip(params, runs[0][1]):
            np.testing.assert_array_equal(p, q)


def test_minibatches_change_the_result_and_a_last_partial_batch_is_used(separable):
    X, y = separable
    a, b = Model([Dense(2, 1, rng=0)]), Model([Dense(2, 1, rng=0)])
    ha = a.fit(X, y, loss=MSE(), optimizer=SGD(lr=0.1), epochs=1, batch_size=40)
    hb = b.fit(X, y, loss=MSE(), optimizer=SGD(lr=0.1), epochs=1, batch_size=16, shuffle=False)
    assert ha.history["loss"] != hb.history["loss"]
    # 16 + 16 + 8 samples: replay the three steps by hand
    ref = Model([Dense(2, 1, rng=0)])
    for start in (0, 16, 32):
        ref.compute_gradients(X[start:start + 16], y[start:start + 16], MSE())
        SGD(lr=0.1).step(ref.parameters(), ref.gradients())
    for p, r in zip(b.parameters(), ref.parameters()):
        np.testing.assert_array_equal(p, r)


def test_shuffle_false_ignores_the_rng(separable):
    X, y = separable
    histories = [Model([Dense(2, 1, rng=0)]).fit(X, y, loss=MSE(), optimizer=SGD(lr=0.1), epochs=3,
                                                 batch_size=7, shuffle=False, rng=seed).history
                 for seed in (1, 2)]
    assert histories[0] == histories[1]


def test_fit_does_not_modify_the_data(separable):
    X, y = separable
    X_before, y_before = X.copy(), y.copy()
    Model([Dense(2, 1, rng=0), Sigmoid()]).fit(X, y, loss=BinaryCrossEntropy(), optimizer=SGD(lr=0.1),
                                               epochs=3, batch_size=5, rng=0, validation_data=(X, y))
    np.testing.assert_array_equal(X, X_before)
    np.testing.assert_array_equal(y, y_before)


def test_fit_accepts_loss_names(separable):
    X, y = separable
    by_name, by_object = (Model([Dense(2, 1, rng=0), Sigmoid()]).fit(X, y, loss=loss, optimizer=SGD(lr=0.1), epochs=3)
                          for loss in ("binary_crossentropy", BinaryCrossEntropy()))
    assert by_name.history == by_object.history


def test_float16_inputs_are_promoted_to_the_model_s_float64():
    model = xor_model()
    X16 = np.array([[0.5, -1.25], [3.0, 0.125]], dtype=np.float16)
    out = model.predict(X16)
    assert out.dtype == np.float64
    np.testing.assert_array_equal(out, model.predict(X16.astype(np.float64)))
    for layer in (Sigmoid(), Tanh(), ReLU()):  # the layers' own checked entry points too
        assert layer.forward(X16).dtype == np.float64


def test_loss_threshold_stops_only_below_it_not_at_equality(separable):
    """loss_threshold=t stops once a loss is < t: a loss exactly equal to t does not stop."""
    X, y = separable
    full = Model([Dense(2, 1, rng=0), Sigmoid()]).fit(X, y, loss=BinaryCrossEntropy(), optimizer=SGD(0.5), epochs=6)
    losses = full.history["loss"]
    assert all(a > b for a, b in zip(losses, losses[1:]))  # strictly decreasing
    history = Model([Dense(2, 1, rng=0), Sigmoid()]).fit(
        X, y, loss=BinaryCrossEntropy(), optimizer=SGD(0.5), epochs=6, loss_threshold=losses[2])
    assert history.epoch == [1, 2, 3, 4]  # epoch 3 equals the threshold; epoch 4 is below it
    assert history.stop_reason.endswith("at epoch 4")
