"""Plain helpers shared by the test modules (fixtures live in conftest.py)."""

from __future__ import annotations

import contextlib
import json
import warnings
from pathlib import Path

import numpy as np

from nnlib import Dense, Model, Sigmoid, Tanh

ROOT = Path(__file__).resolve().parents[1]


def spec(*layers):
    """Source B's list-of-dicts format from ``(input_dim, output_dim, activation)`` triples."""
    return [{"input_dim": i, "output_dim": o, "activation": a} for i, o, a in layers]


# Architectures used across the suite, all with 3 inputs. Those ending in a
# sigmoid with one output can be trained with binary cross-entropy.
ARCHITECTURES = {
    "linear": spec((3, 1, None)),
    "logistic": spec((3, 1, "sigmoid")),
    "tanh-sigmoid": spec((3, 5, "tanh"), (5, 1, "sigmoid")),
    "relu-relu-sigmoid": spec((3, 6, "relu"), (6, 4, "relu"), (4, 1, "sigmoid")),
    "mixed-deep": spec((3, 5, "relu"), (5, 4, "tanh"), (4, 3, "sigmoid"), (3, 1, "sigmoid")),
    "sigmoid-linear-2out": spec((3, 4, "sigmoid"), (4, 2, None)),
}
BCE_ARCHITECTURES = [name for name, s in ARCHITECTURES.items()
                     if s[-1]["activation"] == "sigmoid" and s[-1]["output_dim"] == 1]


def build(name: str, seed: int = 0, init: str | None = None) -> Model:
    return Model.from_architecture(ARCHITECTURES[name], init=init, rng=seed)


def binary_data(n: int = 8, n_features: int = 3, seed: int = 0, n_outputs: int = 1):
    """Standard-normal features and 0/1 labels of shape (n, n_outputs), both float64."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, n_features))
    y = (rng.random((n, n_outputs)) < 0.5).astype(np.float64)
    return X, y


@contextlib.contextmanager
def no_numpy_warnings():
    """Turn every warning into an error and make NumPy raise on overflow, 0-division and NaN.

    Underflow (a result rounding to 0 or a subnormal, e.g. exp(-1000)) stays
    ignored, as in NumPy's default settings: it is the correct answer, not an error.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with np.errstate(over="raise", divide="raise", invalid="raise", under="ignore"):
            yield


def saved_model_parts(folder: Path):
    """A small model saved in ``folder``: the model, its path, its arrays and its header (plain Python)."""
    model = Model([Dense(3, 4, rng=1), Tanh(), Dense(4, 1, rng=2), Sigmoid()])
    path = model.save(folder / "model.npz")
    with np.load(path, allow_pickle=False) as data:
        arrays = {k: data[k] for k in data.files}
    header = json.loads(str(arrays.pop("__architecture__")))
    return model, path, arrays, header
