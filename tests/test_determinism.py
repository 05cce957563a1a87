"""Same seed, same numbers, bit for bit; nnlib never touches NumPy's global random state."""

import re
from pathlib import Path

import numpy as np
import pytest

import nnlib
from helpers import ARCHITECTURES, binary_data, build
from nnlib import INITIALIZERS, SGD, Adam, BinaryCrossEntropy, Dense, Model, gradient_check


def train(seed_init, seed_fit, optimizer=None):
    model = build("relu-relu-sigmoid", seed=seed_init)
    X, y = binary_data(n=30, seed=9)
    history = model.fit(X, y, loss=BinaryCrossEntropy(), optimizer=optimizer or Adam(lr=0.01), epochs=5,
                        batch_size=7, rng=seed_fit, metrics=("accuracy",), validation_data=(X[:5], y[:5]))
    return model, history, model.predict(X)


@pytest.mark.parametrize("init", sorted(set(INITIALIZERS) - {"zeros"}))
def test_dense_same_seed_same_weights_other_seed_other_weights(init):
    np.testing.assert_array_equal(Dense(5, 4, init=init, rng=3).params["W"], Dense(5, 4, init=init, rng=3).params["W"])
    assert not np.array_equal(Dense(5, 4, init=init, rng=3).params["W"], Dense(5, 4, init=init, rng=4).params["W"])


def test_a_generator_can_be_passed_instead_of_a_seed():
    a = Dense(3, 2, rng=np.random.default_rng(8)).params["W"]
    np.testing.assert_array_equal(a, Dense(3, 2, rng=8).params["W"])


def test_rng_none_draws_fresh_weights():
    assert not np.array_equal(Dense(5, 4).params["W"], Dense(5, 4).params["W"])


@pytest.mark.parametrize("name", sorted(ARCHITECTURES))
def test_from_architecture_same_seed_same_model(name):
    a, b, c = build(name, seed=1), build(name, seed=1), build(name, seed=2)
    for p, q in zip(a.parameters(), b.parameters()):
        np.testing.assert_array_equal(p, q)
    assert any(not np.array_equal(p, q) for p, q in zip(a.parameters(), c.parameters()))


def test_from_architecture_layers_get_different_weights():
    model = Model.from_architecture([{"input_dim": 3, "output_dim": 3, "activation": "tanh"}] * 2, rng=0)
    assert not np.array_equal(model.layers[0].params["W"], model.layers[2].params["W"])


@pytest.mark.parametrize("optimizer", [lambda: SGD(lr=0.1, momentum=0.9), lambda: Adam(lr=0.01)])
def test_training_is_reproducible_bit_for_bit(optimizer):
    m1, h1, p1 = train(0, 1, optimizer())
    m2, h2, p2 = train(0, 1, optimizer())
    assert h1.history == h2.history
    np.testing.assert_array_equal(p1, p2)
    for a, b in zip(m1.parameters(), m2.parameters()):
        np.testing.assert_array_equal(a, b)


def test_another_shuffling_seed_gives_another_run():
    _, h1, p1 = train(0, 1)
    _, h2, p2 = train(0, 2)
    assert h1.history["loss"] != h2.history["loss"] and not np.array_equal(p1, p2)


def test_another_initialisation_seed_gives_another_run():
    _, h1, _ = train(0, 1)
    _, h2, _ = train(1, 1)
    assert h1.history["loss"] != h2.history["loss"]


def test_nnlib_never_touches_the_global_random_state(tmp_path):
    np.random.seed(2024)
    state = np.random.get_state()
    X, y = binary_data(n=12)
    Dense(3, 4)  # rng=None: fresh entropy, but not from the global generator
    model = Model.from_architecture(ARCHITECTURES["tanh-sigmoid"])
    model.fit(X, y, loss=BinaryCrossEntropy(), optimizer=Adam(), epochs=3, batch_size=5)
    model.fit(X, y, loss="mse", optimizer=SGD(lr=0.1), epochs=2, batch_size=5, rng=3)
    model.evaluate(X, y, loss=BinaryCrossEntropy())
    gradient_check(model, X, y, loss=BinaryCrossEntropy())
    gradient_check(Dense(3, 2), X)
    Model.load(model.save(tmp_path / "m"))
    after = np.random.get_state()
    assert after[0] == state[0] and after[2:] == state[2:]
    np.testing.assert_array_equal(after[1], state[1])


def test_nnlib_source_uses_no_global_random_functions():
    source_files = sorted(Path(nnlib.__file__).parent.glob("*.py"))
    assert len(source_files) >= 10
    # np.random.default_rng and np.random.Generator are fine; any other np.random.<name> is global state
    pattern = re.compile(r"\b(?:np|numpy)\.random\.(?!default_rng\b|Generator\b)\w+|\bimport random\b"
                         r"|from numpy\.random import|from numpy import random")
    offenders = [f"{path.name}:{i}: {line.strip()}" for path in source_files
                 for i, line in enumerate(path.read_text().splitlines(), 1) if pattern.search(line)]
    assert offenders == []
    assert pattern.search("x = np.random.randn(3)") and pattern.search("np.random.seed(0)")
    assert not pattern.search("gen = np.random.default_rng(seed)")
