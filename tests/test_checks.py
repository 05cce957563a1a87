"""Every refusal at a public entry point, with its message matched.

The messages name the place (layer, loss or method), the shapes and the fix.
"""

import numpy as np
import pytest

from helpers import spec
from nnlib import (MSE, SGD, Adam, BinaryCrossEntropy, Dense, Model, ReLU, Sigmoid, Tanh, accuracy,
                   gradient_check, relative_error)

VALID_ACTIVATIONS = r"choose one of 'sigmoid', 'relu', 'tanh', 'softmax' \(or None for a linear layer\)"
VALID_INITS = r"choose one of 'zeros', 'normal', 'small', 'xavier', 'glorot', 'he'"


@pytest.fixture
def model():
    return Model([Dense(3, 4, rng=0), ReLU(), Dense(4, 1, rng=1), Sigmoid()])


@pytest.fixture
def data():
    X = np.random.default_rng(0).standard_normal((5, 3))
    return X, np.array([0.0, 1.0, 1.0, 0.0, 1.0])


def fit(model, X, y, **kwargs):
    options = dict(loss=BinaryCrossEntropy(), optimizer=SGD(lr=0.1), epochs=1) | kwargs
    return model.fit(X, y, **options)


# -- the data's shape -----------------------------------------------------------------------------
def test_a_single_1d_sample_to_predict(model):
    with pytest.raises(ValueError, match=r"Model.predict: expected X as a 2-D array of shape \(n_samples, "
                       r"n_features\), got a 1-D array of shape \(3,\)\. .*X\.reshape\(1, -1\)"):
        model.predict(np.ones(3))


def test_a_1d_sample_to_a_dense_layer_names_the_layer():
    with pytest.raises(ValueError, match=r"Dense\(3 -> 2\): expected x as a 2-D array.*x\.reshape\(1, -1\)"):
        Dense(3, 2).forward([1.0, 2.0, 3.0])


def test_3d_input(model):
    with pytest.raises(ValueError, match=r"got 3-D shape \(2, 1, 3\)\. Flatten each sample first"):
        model.predict(np.ones((2, 1, 3)))


def test_no_samples(model):
    with pytest.raises(ValueError, match=r"X has no samples \(shape \(0, 3\)\)"):
        model.predict(np.ones((0, 3)))


@pytest.mark.parametrize("call, message", [
    (lambda m, X, y: m.predict(X), r"Model.predict: expected X with 3 feature\(s\) per sample, i.e. shape "
                                   r"\(n_samples, 3\), got shape \(5, 2\)"),
    (lambda m, X, y: fit(m, X, y), r"Model.fit: expected X with 3 feature\(s\)"),
    (lambda m, X, y: m.evaluate(X, y, loss=MSE()), r"Model.evaluate: expected X with 3 feature\(s\)"),
    (lambda m, X, y: m.layers[0].forward(X), r"Dense\(3 -> 4\): expected x with 3 feature\(s\) .* got shape \(5, 2\)"),
], ids=["predict", "fit", "evaluate", "Dense.forward"])
def test_wrong_number_of_features(model, data, call, message):
    X, y = data
    with pytest.raises(ValueError, match=message):
        call(model, X[:, :2], y)


def test_wrong_number_of_features_in_validation_data(model, data):
    X, y = data
    with pytest.raises(ValueError, match=r"Model.fit \(validation_data\): expected X with 3 feature"):
        fit(model, X, y, validation_data=(X[:, :2], y))


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_nan_and_infinity_in_the_features(model, data, bad):
    X, y = data
    X = X.copy()
    X[2, 1] = bad
    for call, where in ((lambda: model.predict(X), "Model.predict"), (lambda: fit(model, X, y), "Model.fit"),
                        (lambda: model.layers[0].forward(X), r"Dense\(3 -> 4\)"),
                        (lambda: Tanh().forward(X), r"Tanh\(\)")):
        with pytest.raises(ValueError, match=rf"{where}: [xX] contains 1 NaN or infinite value\(s\) out of 15\. "
                                             "Remove or impute them"):
            call()


def test_nan_in_the_labels_and_predictions(model, data):
    X, y = data
    with pytest.raises(ValueError, match=r"Model.fit: y_true contains 1 NaN"):
        fit(model, X, np.array([0, 1, np.nan, 0, 1]))
    with pytest.raises(ValueError, match=r"MSE: y_pred contains 1 NaN"):
        MSE()([1.0, 2.0], [np.nan, 2.0])
    with pytest.raises(ValueError, match=r"Sigmoid\(\).backward: grad contains 1 NaN"):
        layer = Sigmoid()
        layer.forward(np.zeros((1, 2)))
        layer.backward(np.array([[1.0, np.nan]]))


# -- labels against predictions ---------------------------------------------------------------------
@pytest.mark.parametrize("y_true_shape, y_pred_shape", [
    ((4, 2), (4, 1)), ((5,), (4, 1)), ((1, 4), (4, 1)), ((4, 1), (4,)), ((4, 1), (4, 2)), ((2, 2), (4,)),
], ids=str)
@pytest.mark.parametrize("loss", [MSE(), BinaryCrossEntropy()], ids=repr)
def test_mismatched_label_shapes_are_refused_not_broadcast(loss, y_true_shape, y_pred_shape):
    y_true, y_pred = np.zeros(y_true_shape), np.full(y_pred_shape, 0.5)
    message = (rf"{loss.name}: y_true has shape {y_true_shape} but the predictions have shape {y_pred_shape}; "
               r"they must match .* reshape it with y_true\.reshape").replace("(", r"\(").replace(")", r"\)")
    for call in (loss, loss.grad):
        with pytest.raises(ValueError, match=message):
            call(y_true, y_pred)


def test_mismatched_labels_in_fit(model, data):
    X, _ = data
    with pytest.raises(ValueError, match=r"Model.fit: y_true has shape \(5, 2\) but the predictions have "
                                         r"shape \(5, 1\)"):
        fit(model, X, np.zeros((5, 2)))
    with pytest.raises(ValueError, match=r"Model.evaluate: y_true has shape \(4,\) but the predictions have "
                                         r"shape \(5, 1\)"):
        model.evaluate(X, np.zeros(4), loss=MSE())


@pytest.mark.parametrize("labels, found", [
    ([0, 1, 2], r"\[2.0\]"), ([-1, 1, 1], r"\[-1.0\]"), ([0.5, 1, 0], r"\[0.5\]"),
])
def test_cross_entropy_labels_must_be_0_or_1(labels, found):
    message = rf"BinaryCrossEntropy: labels must be 0 or 1, found 1 other value\(s\), e.g. {found}\. .*map them to 0/1"
    p = np.full((3, 1), 0.5)
    with pytest.raises(ValueError, match=message):
        BinaryCrossEntropy()(labels, p)
    with pytest.raises(ValueError, match=message):
        Model([Dense(1, 1), Sigmoid()]).fit(np.ones((3, 1)), labels, loss=BinaryCrossEntropy(),
                                            optimizer=SGD(lr=0.1), epochs=1)


@pytest.mark.parametrize("p", [[[1.5], [0.5]], [[-0.1], [0.5]]])
def test_cross_entropy_predictions_must_be_probabilities(p):
    with pytest.raises(ValueError, match=r"BinaryCrossEntropy: y_pred must be probabilities in \[0, 1\], got "
                                         r"values from .* Does the model end with a Sigmoid layer\?"):
        BinaryCrossEntropy()([[1.0], [0.0]], p)


@pytest.mark.parametrize("call", ["fit", "evaluate", "compute_gradients"])
def test_cross_entropy_on_a_model_without_a_final_sigmoid(data, call):
    X, y = data
    model = Model([Dense(3, 4, rng=0), Sigmoid(), Dense(4, 1, rng=1)])  # outputs are not probabilities
    with pytest.raises(ValueError, match=rf"Model.{call}: BinaryCrossEntropy needs probabilities in \[0, 1\], "
                                         r"but the model's last layer is Dense\(4 -> 1\), not Sigmoid\(\)"):
        if call == "fit":
            fit(model, X, y)
        elif call == "evaluate":
            model.evaluate(X, y, loss=BinaryCrossEntropy())
        else:
            model.compute_gradients(X, y, BinaryCrossEntropy())


def test_empty_predictions():
    with pytest.raises(ValueError, match=r"MSE: y_pred must hold at least one prediction, got shape \(\)"):
        MSE()(1.0, 1.0)


# -- names ---------------------------------------------------------------------------------------------
def test_unknown_initialiser_lists_the_valid_ones():
    with pytest.raises(ValueError, match=rf"Unknown initialiser 'kaiming'; {VALID_INITS}\."):
        Dense(2, 3, init="kaiming")
    with pytest.raises(ValueError, match="Unknown initialiser 'Xavier'"):
        Model.from_architecture(spec((2, 3, "relu")), init="Xavier")


def test_unknown_activation_lists_the_valid_ones():
    message = rf"Model.from_architecture: layer 1: Unknown activation 'swish'; {VALID_ACTIVATIONS}\."
    with pytest.raises(ValueError, match=message):
        Model.from_architecture(spec((2, 3, "relu"), (3, 2, "swish")))


def test_unknown_loss_lists_the_valid_ones(model, data):
    with pytest.raises(ValueError, match=r"Unknown loss 'hinge'; pass a Loss instance such as nnlib.MSE\(\) or one "
                                         r"of 'mse', 'binary_crossentropy'"):
        fit(model, *data, loss="hinge")
    with pytest.raises(ValueError, match=r"Unknown loss <class 'nnlib.losses.MSE'>"):
        fit(model, *data, loss=MSE)  # the class, not an instance


def test_unknown_metric_lists_the_valid_ones(model, data):
    with pytest.raises(ValueError, match=r"Unknown metric 'f1'; choose from 'accuracy'\."):
        fit(model, *data, metrics=("accuracy", "f1"))
    with pytest.raises(ValueError, match=r"Unknown metric 'precision'"):
        model.evaluate(*data, loss=MSE(), metrics="precision")


# -- from_architecture ---------------------------------------------------------------------------------
EXAMPLE = r"\[\{'input_dim': 2, 'output_dim': 4, 'activation': 'relu'\}, \.\.\.\]"


@pytest.mark.parametrize("bad_spec, error, message", [
    ({"input_dim": 2, "output_dim": 1, "activation": None}, TypeError,
     rf"expected a list of dicts like {EXAMPLE}, got dict"),
    ("relu", TypeError, "expected a list of dicts like .*, got str"),
    (42, TypeError, "expected a list of dicts like .*, got int"),
    ([], ValueError, rf"the architecture is empty; give at least one layer, like {EXAMPLE}"),
    ([(2, 1, "relu")], TypeError, rf"layer 0 is a tuple, expected a dict like {EXAMPLE}"),
    (spec((2, 3, "relu")) + ["sigmoid"], TypeError, "layer 1 is a str, expected a dict"),
    ([{"input_dim": 2, "output_dim": 1}], ValueError, r"layer 0 is missing 'activation'"),
    ([{"input_dim": 2, "activation": "relu"}], ValueError, r"layer 0 is missing 'output_dim'"),
    ([{"input_dim": 2, "output_dim": 1, "activation": None, "units": 3}], ValueError,
     r"layer 0 has unknown key\(s\) 'units'; the allowed keys are 'input_dim', 'output_dim', 'activation'"),
    (spec((2, 4, "relu"), (3, 1, "sigmoid")), ValueError,
     r"layer 1 has input_dim 3 but layer 0 has output_dim 4; they must be equal"),
    (spec((2, 4, "relu"), (4, 1, "Sigmoidal")), ValueError,
     rf"layer 1: Unknown activation 'Sigmoidal'; {VALID_ACTIVATIONS}"),
    (spec((2, 4, 1),), ValueError, "layer 0: Unknown activation 1"),
    (spec((0, 4, "relu")), ValueError, r"layer 0 'input_dim' must be a positive integer, got 0"),
    (spec((2, -1, "relu")), ValueError, r"layer 0 'output_dim' must be a positive integer, got -1"),
    (spec((2, 2.0, "relu")), TypeError, r"layer 0 'output_dim' must be a positive integer, got 2.0"),
    (spec((True, 2, "relu")), TypeError, r"layer 0 'input_dim' must be a positive integer, got True"),
], ids=lambda v: str(v)[:40] if not isinstance(v, type) else v.__name__)
def test_bad_architectures(bad_spec, error, message):
    with pytest.raises(error, match=rf"Model.from_architecture: {message}"):
        Model.from_architecture(bad_spec)


# -- building a model ------------------------------------------------------------------------------------
def test_add_a_class_instead_of_an_instance():
    with pytest.raises(TypeError, match=r"Model.add: got the class ReLU, not a layer; did you mean ReLU\(\)\?"):
        Model([Dense(2, 3), ReLU])


@pytest.mark.parametrize("thing", ["relu", np.tanh, None, Model()], ids=["str", "function", "None", "Model"])
def test_add_something_that_is_not_a_layer(thing):
    with pytest.raises(TypeError, match=r"Model.add: expected a layer such as Dense\(2, 8\) or ReLU\(\), got "):
        Model().add(thing)


def test_add_a_dense_layer_of_the_wrong_width():
    model = Model([Dense(2, 4), ReLU()])
    with pytest.raises(ValueError, match=r"Model.add: Dense\(3 -> 1\) expects 3 input\(s\) but the previous layers "
                                         r"output 4; use Dense\(4, 1\)\."):
        model.add(Dense(3, 1))
    assert len(model.layers) == 2  # nothing was added


def test_a_model_without_dense_layers_cannot_predict():
    with pytest.raises(ValueError, match=r"Model.predict: the model has no Dense layer yet; add layers with model.add"):
        Model([ReLU()]).predict(np.ones((2, 2)))


@pytest.mark.parametrize("args, error, message", [
    ((0, 3), ValueError, "in_features must be a positive integer, got 0"),
    ((2, -3), ValueError, "out_features must be a positive integer, got -3"),
    ((2.0, 3), TypeError, "in_features must be a positive integer, got 2.0"),
    (("2", 3), TypeError, "in_features must be a positive integer, got '2'"),
])
def test_bad_dense_sizes(args, error, message):
    with pytest.raises(error, match=f"Dense: {message}"):
        Dense(*args)


# -- fit's arguments ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("kwargs, error, message", [
    ({"optimizer": "sgd"}, TypeError, r"optimizer must be an nnlib optimizer such as SGD\(lr=0.1\), got str"),
    ({"optimizer": SGD}, TypeError, "optimizer must be an nnlib optimizer .* got type"),
    ({"epochs": 0}, ValueError, "epochs must be a positive integer, got 0"),
    ({"epochs": 10.0}, TypeError, "epochs must be a positive integer, got 10.0"),
    ({"epochs": None}, TypeError, "epochs must be a positive integer, got None"),
    ({"batch_size": 0}, ValueError, "batch_size must be a positive integer, got 0"),
    ({"batch_size": "32"}, TypeError, "batch_size must be a positive integer, got '32'"),
    ({"validation_data": np.ones((5, 3))}, TypeError, r"validation_data must be a pair \(X_val, y_val\)"),
    ({"rng": 1.5}, TypeError, "rng must be None, a non-negative int seed or a numpy.random.Generator, got float"),
    ({"rng": np.random.RandomState(0)}, TypeError, "rng must be .* got RandomState"),
    ({"rng": -1}, ValueError, "rng seed must be non-negative, got -1"),
])
def test_bad_fit_arguments(model, data, kwargs, error, message):
    with pytest.raises(error, match=f"Model.fit: {message}"):
        fit(model, *data, **kwargs)


def test_bad_rng_for_a_layer_and_an_architecture():
    with pytest.raises(TypeError, match=r"Dense: rng must be None, a non-negative int seed or a "
                                        r"numpy.random.Generator, got str"):
        Dense(2, 3, rng="seed")
    with pytest.raises(TypeError, match="Model.from_architecture: rng must be .* got bool"):
        Model.from_architecture(spec((2, 1, None)), rng=True)


@pytest.mark.parametrize("kwargs, message", [
    ({"lr": 0}, "SGD: lr must be a positive finite number, got 0.0"),
    ({"lr": -0.1}, "SGD: lr must be a positive finite number, got -0.1"),
    ({"lr": float("nan")}, "SGD: lr must be a positive finite number, got nan"),
    ({"lr": 0.1, "momentum": 1.0}, r"SGD: momentum must be in \[0, 1\), got 1.0"),
])
def test_bad_sgd_settings(kwargs, message):
    with pytest.raises(ValueError, match=message):
        SGD(**kwargs)


def test_bad_optimizer_settings_and_steps():
    with pytest.raises(TypeError, match="SGD: lr must be a positive number, got '0.1'"):
        SGD(lr="0.1")
    with pytest.raises(ValueError, match=r"Adam: beta2 must be in \[0, 1\), got 1"):
        Adam(beta2=1)
    with pytest.raises(ValueError, match=r"SGD\(lr=0.1\).step: got 2 parameter arrays but 1 gradient arrays"):
        SGD(lr=0.1).step([np.ones(2), np.ones(3)], [np.ones(2)])
    with pytest.raises(ValueError, match=r"Adam\(lr=0.001\).step: parameter 1 has shape \(3,\) but its gradient "
                                         r"has shape \(1, 3\)"):
        Adam().step([np.ones(2), np.ones(3)], [np.ones(2), np.ones((1, 3))])


# -- layers used out of order -------------------------------------------------------------------------------
@pytest.mark.parametrize("layer", [Dense(2, 3), Sigmoid(), ReLU(), Tanh()], ids=repr)
def test_backward_before_forward(layer):
    with pytest.raises(RuntimeError, match=r"\(.*\): call forward\(x\) before backward\(grad\)\."):
        layer.backward(np.ones((1, 3)))


def test_backward_with_a_gradient_of_the_wrong_shape():
    dense = Dense(2, 3)
    dense.forward(np.ones((4, 2)))
    with pytest.raises(ValueError, match=r"Dense\(2 -> 3\).backward: grad has 5 rows but the last forward pass "
                                         r"had 4 samples"):
        dense.backward(np.ones((5, 3)))
    with pytest.raises(ValueError, match=r"Dense\(2 -> 3\).backward: expected grad with 3 feature\(s\)"):
        dense.backward(np.ones((4, 2)))
    tanh = Tanh()
    tanh.forward(np.ones((4, 2)))
    with pytest.raises(ValueError, match=r"Tanh\(\).backward: grad has shape \(4, 3\) but the last forward output "
                                         r"had shape \(4, 2\); they must match"):
        tanh.backward(np.ones((4, 3)))


# -- non-numeric data ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("X, detail", [
    ([["a", "b", "c"]], r"X must hold numbers, got an array of dtype <U1\. Convert it with np.asarray"),
    (np.array([[1, None, 3]], dtype=object), "X must hold numbers, got an array of dtype object"),
    ([[1.0, 2.0, 3.0], [1.0]], "X could not be turned into a NumPy array"),
    (np.ones((2, 3)) * 1j, "X must be real, got complex dtype complex128"),
], ids=["strings", "object", "ragged", "complex"])
def test_non_numeric_input(model, X, detail):
    with pytest.raises(TypeError, match=f"Model.predict: {detail}"):
        model.predict(X)


def test_non_numeric_labels_and_layer_inputs(model, data):
    X, _ = data
    with pytest.raises(TypeError, match="Model.fit: y_true must hold numbers"):
        fit(model, X, np.array(["yes", "no", "yes", "no", "no"]))
    with pytest.raises(TypeError, match="MSE: y_pred must hold numbers"):
        MSE()([1.0], ["1.0"])
    with pytest.raises(TypeError, match=r"ReLU\(\): x must hold numbers"):
        ReLU().forward([["1"]])


def test_integer_and_boolean_inputs_are_numbers(model):
    np.testing.assert_array_equal(model.predict([[1, 0, 1]]), model.predict([[1.0, 0.0, 1.0]]))
    np.testing.assert_array_equal(model.predict(np.array([[True, False, True]])), model.predict([[1.0, 0.0, 1.0]]))


# -- helpers ---------------------------------------------------------------------------------------------------
def test_gradient_check_misuse(model, data):
    X, y = data
    with pytest.raises(TypeError, match=r"gradient_check\(model, X, y, loss=...\): a model needs labels y and a loss"):
        gradient_check(model, X, y)
    with pytest.raises(TypeError, match=r"gradient_check\(loss, y_pred, y_true\): a loss needs the labels y_true"):
        gradient_check(MSE(), y)
    with pytest.raises(TypeError, match="gradient_check: expected a layer, a loss or a Model, got function"):
        gradient_check(lambda x: x, X)
    with pytest.raises(ValueError, match=r"relative_error: shapes differ, \(2,\) and \(2, 1\)"):
        relative_error(np.ones(2), np.ones((2, 1)))


def test_accuracy_with_mismatched_samples():
    with pytest.raises(ValueError, match="accuracy: y_true has 3 samples but y_prob has 2"):
        accuracy([0, 1, 1], [[0.2], [0.9]])
