"""Given the same weights, a Model computes what scikit-learn's MLPClassifier computes."""

import numpy as np
import pytest
from sklearn.neural_network import MLPClassifier

from nnlib import Dense, Model, ReLU, Sigmoid, Tanh

ACTIVATIONS = {"relu": ReLU, "logistic": Sigmoid, "tanh": Tanh}  # scikit-learn's name -> nnlib layer

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


@pytest.fixture
def data():
    rng = np.random.default_rng(0)
    X = 3 * rng.standard_normal((50, 4))
    return X, (X[:, 0] * X[:, 1] > 0).astype(int)


def sklearn_mlp(X, y, hidden, activation):
    """An MLPClassifier with its structure set up by one short fit (its weights get replaced)."""
    return MLPClassifier(hidden_layer_sizes=hidden, activation=activation, max_iter=1, random_state=0).fit(X, y)


def nnlib_mlp(sizes, activation, seed):
    layers = []
    for i, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        layers.append(Dense(n_in, n_out, init="normal", rng=seed + i))
        layers[-1].params["b"][:] = np.random.default_rng(100 + i).standard_normal(n_out)
        layers.append(ACTIVATIONS[activation]() if i < len(sizes) - 2 else Sigmoid())
    return Model(layers)


@pytest.mark.parametrize("hidden", [(5,), (6, 3), (4, 4, 4)], ids=str)
@pytest.mark.parametrize("activation", sorted(ACTIVATIONS))
def test_our_weights_in_scikit_learn(data, activation, hidden):
    X, y = data
    model = nnlib_mlp((4, *hidden, 1), activation, seed=1)
    clf = sklearn_mlp(X, y, hidden, activation)
    dense = [layer for layer in model.layers if isinstance(layer, Dense)]
    assert [c.shape for c in clf.coefs_] == [d.params["W"].shape for d in dense]  # the same layout
    clf.coefs_ = [d.params["W"].copy() for d in dense]
    clf.intercepts_ = [d.params["b"].copy() for d in dense]
    ours, theirs = model.predict(X)[:, 0], clf.predict_proba(X)[:, 1]
    assert np.ptp(ours) > 0.02  # the outputs differ from sample to sample: a meaningful comparison
    np.testing.assert_allclose(ours, theirs, rtol=0, atol=1e-12)
    np.testing.assert_array_equal(model.predict_classes(X), clf.predict(X))


@pytest.mark.parametrize("activation", sorted(ACTIVATIONS))
def test_scikit_learn_weights_in_our_model(data, activation):
    X, y = data
    clf = MLPClassifier(hidden_layer_sizes=(8,), activation=activation, max_iter=300, random_state=0).fit(X, y)
    model = Model([Dense(4, 8), ACTIVATIONS[activation](), Dense(8, 1), Sigmoid()])
    for layer, W, b in zip(model.layers[::2], clf.coefs_, clf.intercepts_):
        layer.params["W"][...] = W
        layer.params["b"][...] = b
    np.testing.assert_allclose(model.predict(X)[:, 0], clf.predict_proba(X)[:, 1], rtol=0, atol=1e-12)
