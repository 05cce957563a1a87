"""Checkers of chapter 5's coding exercises (evaluation).

Each checker is registered with its exercise's label, the names of the answer
functions and the library functions an answer must not call (see
:mod:`coursework.registry`). The check cells call them; so does the class
checker, on answers run in a sandbox.
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np

from nnlib import accuracy

from ._checking import Measured, _Failure, _as_array, _call_on, _describe, _gen
from ._experiment import measured_accuracy, rebuilt_model
from .registry import exercise


@exercise("ex-05-accuracy", answers=("accuracy_from_probs",),
          forbidden=("nnlib.metrics.accuracy", "sklearn.metrics.accuracy_score",))
def check_accuracy_from_probs(accuracy_from_probs: Callable[[np.ndarray, np.ndarray], float]) -> int:
    """Check ``accuracy_from_probs(y, y_prob)``: the fraction of samples classified correctly.

    Parameters
    ----------
    accuracy_from_probs : callable
        ``accuracy_from_probs(y, y_prob)`` with labels ``y`` of shape ``(n,)``
        or ``(n, 1)`` and predicted probabilities ``y_prob`` of shape
        ``(n, 1)`` (what ``model.predict`` returns); class 1 where the
        probability is greater than 0.5. Returns a float in [0, 1].

    Returns
    -------
    None

    Notes
    -----
    Five inputs (three hidden) with different accuracies, labels of both
    shapes, and probabilities of exactly 0.5. Labels of shape ``(n,)`` against
    probabilities of shape ``(n, 1)`` broadcast into an ``(n, n)`` table, which
    gives a plausible but wrong number: the classic mistake this exercise is
    about.
    """
    name = "accuracy_from_probs"

    def body() -> int:
        g = _gen(402)
        y_big = g.integers(0, 2, size=50).astype(float)
        p_big = np.clip(0.5 + (y_big - 0.5) * 0.5 + g.normal(scale=0.3, size=50), 0.0, 1.0).reshape(-1, 1)
        y_col = g.integers(0, 2, size=(12, 1)).astype(float)
        p_col = g.random(size=(12, 1))
        cases = [
            ("the first example", np.array([0, 1, 1, 0]), np.array([[0.2], [0.7], [0.4], [0.6]]), True),
            ("labels of shape (n, 1)", np.array([[1], [0], [1]]), np.array([[0.9], [0.3], [0.8]]), True),
            ("hidden test 1", y_big, p_big, False),
            ("hidden test 2", y_col, p_col, False),
            ("hidden test 3", np.array([0, 1, 0, 1, 1, 0, 0]),
             np.array([[0.5], [0.5], [0.1], [0.9], [0.51], [0.49], [0.5]]), False),
        ]
        for case, y, p, shown in cases:
            inputs = dict(y=y, y_prob=p)
            where = _describe(inputs, shown)
            got = _call_on(accuracy_from_probs, name, inputs, where)
            expected = accuracy(y, p)
            a = _as_array(got, name, "the accuracy")
            if a.size != 1:
                raise _Failure(f"{name} returned an array of shape {a.shape} on {case}; expected one number",
                               where + ["average the per-sample comparisons into a single fraction (np.mean)"])
            value = float(a.reshape(-1)[0])
            if abs(value - expected) > 1e-12:
                hints = where + [f"expected {expected:.4f}, got {value:.4f}"]
                yy = np.asarray(y, dtype=float)
                known = [
                    (float(np.mean((p > 0.5) == yy)) if yy.ndim == 1 else None,
                     "y of shape (n,) against predictions of shape (n, 1) broadcasts into an (n, n) table; "
                     "flatten both first (np.ravel)"),
                    (float(np.mean((np.ravel(p) >= 0.5) == np.ravel(y))),
                     "a probability of exactly 0.5 counts as class 0: use > 0.5"),
                    (100 * expected, "return a fraction between 0 and 1, not a percentage"),
                    (float(np.sum((np.ravel(p) > 0.5) == np.ravel(y))),
                     "return the fraction of correct samples, not their number"),
                    (1.0 - expected, "that is the error rate; return the fraction classified correctly"),
                ]
                hints += [msg for v, msg in known if v is not None and v != expected and abs(value - v) < 1e-12][:1]
                raise _Failure(f"wrong accuracy on {case}", hints)
        return len(cases)

    return body()




# ---------------------------------------------------------------------------------------------
# Experiment: a small network that reaches a test accuracy on two moons
# ---------------------------------------------------------------------------------------------
MOONS_TRAIN, MOONS_FRESH, MOONS_NOISE, MOONS_TARGET, MOONS_MAX_PARAMS = 500, 2000, 0.2, 0.95, 300


def two_moons(gen: np.random.Generator, n: int, noise: float = MOONS_NOISE) -> tuple[np.ndarray, np.ndarray]:
    """``n`` points of two interleaving half circles (as ``sklearn.datasets.make_moons`` draws them, with
    random positions along each moon), Gaussian noise of standard deviation ``noise``; labels 0.0 or 1.0."""
    y = gen.integers(0, 2, size=n).astype(float)
    t = gen.uniform(0.0, np.pi, size=n)
    upper = np.column_stack([np.cos(t), np.sin(t)])
    lower = np.column_stack([1.0 - np.cos(t), 0.5 - np.sin(t)])
    X = np.where(y[:, None] == 0.0, upper, lower)
    return X + noise * gen.standard_normal((n, 2)), y


@exercise("ex-05-moons-target", answers=("train_moons",), forbidden=())
def check_train_moons(train_moons: Callable[[np.ndarray, np.ndarray], Any]) -> int:
    """Check ``train_moons(X, y)``: a trained model of at most 300 parameters, 95 % accurate on fresh moons.

    Parameters
    ----------
    train_moons : callable
        ``train_moons(X, y)`` that gets 500 points ``X`` of shape ``(500, 2)``
        of two moons with noise 0.2 and their labels ``y`` (0.0 or 1.0, shape
        ``(500,)``), and returns a trained ``nnlib.Model`` with one sigmoid
        output (or two outputs, class = argmax).

    Returns
    -------
    None

    Notes
    -----
    The returned model counts only as its layers and parameters
    (:func:`coursework._experiment.rebuilt_model`); it may have at most 300
    parameters. Its accuracy is measured on 2000 fresh points of the same
    distribution, which the answer never sees, and must reach 0.95.
    """
    name = "train_moons"

    def body() -> int:
        gen = _gen(505)
        X, y = two_moons(gen, MOONS_TRAIN)
        X_fresh, y_fresh = two_moons(gen, MOONS_FRESH)
        where = [f"input: hidden moons, X of shape {X.shape}, y of shape {y.shape}"]
        model = rebuilt_model(_call_on(train_moons, name, dict(X=X, y=y), where), "the returned model")
        if model.out_features not in (1, 2) or model.in_features != 2:
            raise _Failure(f"the returned model maps {model.in_features} inputs to {model.out_features} outputs; "
                           "the moons need 2 inputs and 1 output (the probability of class 1) or 2 (one per class)",
                           where)
        if model.n_params > MOONS_MAX_PARAMS:
            raise _Failure(f"the returned model has {model.n_params} parameters; the limit is {MOONS_MAX_PARAMS}",
                           where + ["two hidden layers of about a dozen units are enough"])
        accuracy = measured_accuracy(model, X_fresh, y_fresh)
        if accuracy < MOONS_TARGET:
            hints = where + [f"accuracy {accuracy:.3f} on {MOONS_FRESH} fresh points (target {MOONS_TARGET}), "
                             f"{model.n_params} parameters"]
            if accuracy < 0.9:
                hints.append("a straight boundary gets about 0.87: the model needs a hidden layer, and training "
                             "long enough to bend its boundary")
            else:
                hints.append("close: train longer, try another learning rate or optimizer, or hold out part of "
                             "X to see when the validation accuracy stops improving")
            raise _Failure(f"accuracy {accuracy:.3f} on {MOONS_FRESH} fresh points, below the target "
                           f"{MOONS_TARGET}", hints)
        return Measured(2, f"accuracy {accuracy:.3f} on {MOONS_FRESH} fresh points (target {MOONS_TARGET}), "
                           f"{model.n_params} parameters (limit {MOONS_MAX_PARAMS})")

    return body()
