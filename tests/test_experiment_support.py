"""The support of the experiment exercises' checkers: models believed only as plain data."""

import json

import numpy as np
import pytest

from coursework._checking import _Failure
from coursework._experiment import check_inputs, measured_accuracy, rebuilt_model
from coursework.protocol import ProtocolError, decode, encode
from nnlib import Dense, Dropout, Model, ReLU, Sigmoid


def regularized():
    return Model([Dense(2, 4, rng=0, weight_decay=0.01), ReLU(), Dropout(0.25), Dense(4, 1, rng=1), Sigmoid()])


def test_the_protocol_carries_dropout_and_weight_decay():
    model = regularized()
    back = decode(json.loads(json.dumps(encode(model))))
    assert [layer.get_config() for layer in back.layers] == [layer.get_config() for layer in model.layers]
    assert all(np.array_equal(a, b) for a, b in zip(back.parameters(), model.parameters()))


@pytest.mark.parametrize("field, value", [("rate", {"$": "float", "hex": (1.0).hex()}), ("rate", None),
                                          ("weight_decay", {"$": "float", "hex": (-1.0).hex()}),
                                          ("weight_decay", {"$": "float", "hex": "nonsense"})])
def test_the_protocol_refuses_bad_settings(field, value):
    data = json.loads(json.dumps(encode(regularized())))
    layer = next(entry for entry in data["layers"] if field in entry)
    layer[field] = value
    with pytest.raises(ProtocolError):
        decode(data)


def test_rebuilt_model_is_a_fresh_copy_with_the_same_predictions():
    model = regularized()
    fresh = rebuilt_model(model)
    assert fresh is not model and type(fresh) is Model
    X = np.random.default_rng(0).standard_normal((10, 2))
    assert np.array_equal(fresh.predict(X), model.predict(X))
    fresh.layers[0].params["W"][...] = 0
    assert not np.array_equal(fresh.layers[0].params["W"], model.layers[0].params["W"])


def test_rebuilt_model_runs_no_code_of_the_answer():
    class Cheat(Model):
        def predict(self, X):
            return np.ones((len(X), 1))

    with pytest.raises(_Failure, match="must be an nnlib Model"):
        rebuilt_model(Cheat([Dense(2, 1, rng=0), Sigmoid()]))

    class Dense2(Dense):   # a layer of the answer's own: rebuilt as nothing it could control
        def _forward(self, x):
            return np.zeros((len(x), 1))

    layer = Dense2(2, 1, rng=0)
    layer.__class__.__name__ = "Oracle"
    with pytest.raises(_Failure, match="not nnlib layers: Oracle"):
        rebuilt_model(Model([layer, Sigmoid()]))


def test_rebuilt_model_refuses_diverged_parameters_and_wrong_sizes():
    model = regularized()
    model.layers[3].params["W"][0, 0] = np.nan
    with pytest.raises(_Failure, match="NaN"):
        rebuilt_model(model)
    with pytest.raises(_Failure, match="2 inputs to 1 outputs"):
        check_inputs(rebuilt_model(regularized().__class__([Dense(2, 1, rng=0)])), 3, 1)


def test_measured_accuracy_thresholds_one_output():
    model = Model([Dense(1, 1, rng=0), Sigmoid()])
    model.layers[0].params["W"][...] = 10.0
    model.layers[0].params["b"][...] = 0.0
    X = np.array([[-1.0], [1.0], [2.0], [-3.0]])
    assert measured_accuracy(model, X, np.array([0, 1, 1, 1])) == 0.75
