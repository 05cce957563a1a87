"""Checkers of chapter 5's coding exercises (evaluation).

Each checker is registered with its exercise's label, the names of the answer
functions and the library functions an answer must not call (see
:mod:`coursework.registry`). The check cells call them; so does the class
checker, on answers run in a sandbox.
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from nnlib import accuracy

from ._checking import _Failure, _as_array, _call_on, _describe, _gen
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


