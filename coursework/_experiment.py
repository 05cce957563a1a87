"""What the checkers of open-ended experiment exercises share: a model that is believed only as data.

An experiment exercise asks for a result (a trained model, a learning rate,
a few weights) that reaches a target; the checker measures the target itself,
on data it draws from :func:`~coursework._checking._gen`, so nothing the
answer prints or computes counts. A trained model counts only as its layers'
types, settings and parameter arrays: :func:`rebuilt_model` makes a fresh
``nnlib.Model`` from them (the same plain-data round trip the class checker
uses between the sandbox and itself), so no method of the answer's objects
runs while it is measured.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from nnlib import Model, to_classes

from ._checking import _Failure
from .protocol import Opaque, ProtocolError, decode, encode


def rebuilt_model(model: Any, name: str = "model") -> Model:
    """A fresh ``nnlib.Model`` with ``model``'s layers, settings and parameters (copies), or a FAIL.

    Only nnlib's own layer classes are rebuilt; anything else fails with the
    name of what was found.
    """
    if type(model).__name__ != "Model" or not type(model).__module__.startswith("nnlib") \
            or not isinstance(getattr(model, "layers", None), list):
        raise _Failure(f"{name} must be an nnlib Model, got {type(model).__name__}",
                       ["build it with nnlib.Model([...]) and train it with model.fit(...)"])
    if not model.layers:
        raise _Failure(f"{name} has no layers")
    try:
        fresh = decode(encode(model))
    except ProtocolError as exc:
        raise _Failure(f"{name} cannot be read as an nnlib model: {exc}") from None
    strange = [type(layer).__name__ for layer in fresh.layers if isinstance(layer, Opaque)]
    if strange:
        raise _Failure(f"{name} has layers that are not nnlib layers: {', '.join(strange)}",
                       ["use nnlib's Dense, ReLU, Sigmoid, Tanh, Softmax and Dropout layers"])
    for i, layer in enumerate(fresh.layers):
        for key, value in layer.params.items():
            if not np.isfinite(value).all():
                raise _Failure(f"{name}: layer {i}'s {key} holds NaN or infinity (did training diverge?)")
    return fresh


def check_inputs(model: Model, n_features: int, n_outputs: int, name: str = "model") -> None:
    """FAIL unless ``model`` takes ``n_features`` inputs and gives ``n_outputs`` outputs."""
    if model.in_features != n_features or model.out_features != n_outputs:
        raise _Failure(f"{name} maps {model.in_features} inputs to {model.out_features} outputs; "
                       f"the data need {n_features} inputs and {n_outputs} output(s)")


def measured_accuracy(model: Model, X: np.ndarray, y: np.ndarray) -> float:
    """Accuracy of ``model`` (a rebuilt one) on ``(X, y)``: one output thresholds at 0.5, several take the argmax."""
    with np.errstate(all="ignore"):
        predicted = to_classes(model.predict(X))
    return float(np.mean(predicted == np.asarray(y).ravel()))
