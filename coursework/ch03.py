"""Checkers of chapter 3's coding exercises (backpropagation).

Each checker is registered with its exercise's label, the names of the answer
functions and the library functions an answer must not call (see
:mod:`coursework.registry`). The check cells call them; so does the class
checker, on answers run in a sandbox.
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from nnlib import BinaryCrossEntropy, Dense, Model, Sigmoid, Tanh, gradient_check, sigmoid

from ._checking import (Measured, _Failure, _call, _call_on, _check_array, _describe, _grad_check_hint, _central_difference, _gen)
from .registry import exercise


@exercise("ex-03-sigmoid-backward", answers=("sigmoid_backward",),
          forbidden=("nnlib.activations.Sigmoid._backward",))
def check_sigmoid_backward(sigmoid_backward: Callable[[np.ndarray, np.ndarray], np.ndarray]) -> int:
    """Check ``sigmoid_backward(s, grad)``: :math:`\\partial L/\\partial z = \\text{grad} \\odot s (1 - s)`.

    Parameters
    ----------
    sigmoid_backward : callable
        ``sigmoid_backward(s, grad)`` with ``s`` the sigmoid's forward output
        and ``grad`` the incoming gradient :math:`\\partial L/\\partial s`, both
        of the same shape; returns :math:`\\partial L/\\partial z`, same shape.

    Returns
    -------
    None

    Notes
    -----
    Four inputs (two hidden, one with saturated sigmoids). A wrong answer gets
    a gradient check against central differences through the sigmoid, and a
    diagnosis of source A's two mistakes: the incoming gradient dropped, and
    the derivative formula applied to the wrong value.
    """
    name = "sigmoid_backward"

    def body() -> int:
        g = _gen(301)
        cases = [
            ("the first example", np.array([[-2.0, 0.0, 2.0]]), np.array([[1.0, 2.0, 3.0]]), True),
            ("hidden test 1", 2 * g.normal(size=(5, 4)), g.normal(size=(5, 4)), False),
            ("hidden test 2", np.array([[-40.0], [-3.0], [0.5], [40.0], [1.0], [6.0]]), g.normal(size=(6, 1)), False),
            ("hidden test 3", g.normal(size=(3, 2)), np.array([[0.0, 1.0], [-2.0, 0.5], [3.0, 0.0]]), False),
        ]
        for case, z, grad, shown in cases:
            s = sigmoid(z)
            inputs = dict(s=s, grad=grad)
            where = _describe(inputs, shown)
            got = _call_on(sigmoid_backward, name, inputs, where)
            _check_array(
                got, grad * s * (1.0 - s), name=name, what="dL/dz", case=case, where=where, shown=shown,
                shape_hint=lambda shape, e=s.shape: f"dL/dz has the shape of s and grad, {e}",
                candidates=[
                    (lambda s=s: s * (1.0 - s), "that is the local derivative alone: the incoming gradient grad "
                                                "is dropped (source A's mistake); multiply by grad"),
                    (lambda s=s, grad=grad: grad * sigmoid(s) * (1.0 - sigmoid(s)),
                     "s is already the sigmoid's output: its derivative is s * (1 - s), no second sigmoid"),
                    (lambda s=s, grad=grad: grad * s, "the factor (1 - s) is missing"),
                    (lambda s=s, grad=grad: grad * (1.0 - s), "the factor s is missing"),
                    (lambda s=s, grad=grad: grad * (1.0 - s * s),
                     "1 - s**2 is tanh's pattern; the sigmoid's is s * (1 - s)"),
                ],
                extra=lambda got, z=z, grad=grad: _grad_check_hint(
                    got, _central_difference(lambda v: float(np.sum(sigmoid(v) * grad)), z), "dL/dz"),
            )
        return len(cases)

    return body()


@exercise("ex-03-dense-backward", answers=("dense_backward",),
          forbidden=("nnlib.layers.Dense.backward", "nnlib.layers.Dense._backward",))
def check_dense_backward(dense_backward: Callable[[np.ndarray, np.ndarray, np.ndarray], tuple]) -> int:
    """Check ``dense_backward(X, W, grad)``: a Dense layer's ``(dX, dW, db)``.

    Parameters
    ----------
    dense_backward : callable
        ``dense_backward(X, W, grad)`` with the layer's input ``X`` of shape
        ``(n, n_in)``, its weights ``W`` of shape ``(n_in, n_out)`` and the
        incoming gradient ``grad`` = :math:`\\partial L/\\partial Z` of shape
        ``(n, n_out)``; returns ``(dX, dW, db)`` shaped like ``X``, ``W`` and
        ``b`` (``(n_out,)``).

    Returns
    -------
    None

    Notes
    -----
    Five inputs, four hidden: among them a square layer fed a square batch,
    where a missing transpose keeps the right shape but not the right values,
    and a batch of one sample. A wrong answer gets the gradient check of each
    of the three results.
    """
    name = "dense_backward"

    def body() -> int:
        g = _gen(302)
        cases = [
            # 4 samples, 3 inputs, 2 outputs: the three gradients and their transposes all differ in shape.
            ("the first example", dict(X=np.array([[1.0, 2.0, 0.0], [0.0, 1.0, 1.0], [1.0, 0.0, -1.0],
                                                   [2.0, 1.0, 0.0]]),
                                       W=np.array([[0.5, -1.0], [0.25, 0.5], [-0.5, 1.0]]),
                                       grad=np.array([[1.0, -1.0], [0.5, 2.0], [-1.0, 0.5], [0.0, 1.0]])), True),
        ] + [
            (f"hidden test {k}", dict(X=g.normal(size=(n, n_in)), W=g.normal(size=(n_in, n_out)),
                                      grad=g.normal(size=(n, n_out))), False)
            for k, (n, n_in, n_out) in enumerate([(5, 3, 4), (4, 4, 4), (1, 3, 2), (7, 2, 1)], start=1)
        ]
        for case, inputs, shown in cases:
            X, W, G = inputs["X"], inputs["W"], inputs["grad"]
            where = _describe(inputs, shown)
            result = _call_on(dense_backward, name, inputs, where)
            if not isinstance(result, (tuple, list)) or len(result) != 3:
                got_what = (f"{len(result)} values" if isinstance(result, (tuple, list))
                            else f"a {type(result).__name__}")
                raise _Failure(f"{name} must return three arrays (dX, dW, db), got {got_what}",
                               where + ["return the three gradients as a tuple (dX, dW, db)"])
            b = np.zeros(W.shape[1])

            def f_of(X_, W_, b_, G=G):
                return float(np.sum((X_ @ W_ + b_) * G))

            n = X.shape[0]
            expected = {"dX": G @ W.T, "dW": X.T @ G, "db": G.sum(axis=0)}
            like = {"dX": "X", "dW": "W", "db": "b"}
            numeric = {
                "dX": lambda X=X, W=W, b=b: _central_difference(lambda v: f_of(v, W, b), X),
                "dW": lambda X=X, W=W, b=b: _central_difference(lambda v: f_of(X, v, b), W),
                "db": lambda X=X, W=W, b=b: _central_difference(lambda v: f_of(X, W, v), b),
            }
            candidates = {
                "dX": [(lambda G=G, W=W: G @ W, "dX must use W transposed: dX = grad @ W.T"),
                       (lambda G=G, W=W: G @ W.T / G.shape[0], "dX is divided by the number of samples; do not divide "
                                                               "(the 1/N is already in the loss's gradient)")],
                "dW": [(lambda X=X, G=G: X.T @ G / X.shape[0], "dW is divided by the number of samples; do not divide "
                                                               "(the 1/N is already in the loss's gradient)")],
                "db": [(lambda G=G: G.mean(axis=0), "db is the mean over the samples; it must be the sum "
                                                    "(the 1/N is already in the loss's gradient)"),
                       (lambda G=G: G.sum(axis=1), "db sums over the wrong axis: sum over the samples, axis=0")],
            }
            for key, got in zip(("dX", "dW", "db"), result):
                e = expected[key]

                def shape_hint(shape, key=key, e=e):
                    others = {k: v.shape for k, v in expected.items() if k != key}
                    same = [k for k, s in others.items() if s == shape]
                    if shape == e.shape[::-1] and len(shape) == 2 and same:
                        return (f"{key} is transposed, or it is {same[0]}: {key} has the shape of {like[key]}, "
                                f"{e.shape}, and the arrays go in the order (dX, dW, db)")
                    if shape == e.shape[::-1] and len(shape) == 2:
                        return f"{key} is transposed: it must have the shape of {like[key]}, {e.shape}"
                    if same:
                        return (f"that is the shape of {same[0]}: are the three arrays returned in the order "
                                "(dX, dW, db)?")
                    if shape == (1,) + e.shape:
                        return f"{key} must have shape {e.shape} like {like[key]}: sum without keepdims"
                    return f"{key} has the shape of {like[key]}, {e.shape}"

                _check_array(
                    got, e, name=name, what=key, case=case, where=where, shown=shown, shape_hint=shape_hint,
                    candidates=candidates[key], sizes={"the number of samples": n},
                    extra=lambda got, key=key: _grad_check_hint(got, numeric[key](), key),
                )
        return len(cases)

    return body()


@exercise("ex-03-bce-grad", answers=("bce_grad",),
          forbidden=("nnlib.losses.BinaryCrossEntropy._grad",))
def check_bce_grad(bce_grad: Callable[[np.ndarray, np.ndarray], np.ndarray]) -> int:
    """Check ``bce_grad(y, y_hat)``: the gradient of the mean binary cross-entropy.

    Parameters
    ----------
    bce_grad : callable
        ``bce_grad(y, y_hat)`` with labels ``y`` (0 or 1) and probabilities
        ``y_hat`` in (0, 1) of the same shape; returns
        :math:`\\partial L/\\partial \\hat y = \\frac1N \\frac{\\hat y - y}{\\hat y (1-\\hat y)}`
        with :math:`N` the number of elements, same shape.

    Returns
    -------
    None

    Notes
    -----
    Four inputs of shapes ``(3, 1)``, ``(8, 1)``, ``(5,)`` and ``(4, 3)``
    (the last three hidden). A wrong answer gets a gradient check against
    central differences of ``nnlib.BinaryCrossEntropy`` and, where it fits,
    the factor it is off by.
    """
    name = "bce_grad"
    bce = BinaryCrossEntropy()

    def body() -> int:
        g = _gen(303)
        cases = [
            ("the first example", np.array([[0.0], [1.0], [1.0]]), np.array([[0.2], [0.6], [0.9]]), True),
            ("hidden test 1", g.integers(0, 2, size=(8, 1)).astype(float), g.uniform(0.05, 0.95, size=(8, 1)), False),
            ("hidden test 2", np.array([1.0, 0.0, 0.0, 1.0, 1.0]), g.uniform(0.05, 0.95, size=5), False),
            ("hidden test 3", g.integers(0, 2, size=(4, 3)).astype(float), g.uniform(0.05, 0.95, size=(4, 3)), False),
        ]
        for case, y, y_hat, shown in cases:
            inputs = dict(y=y, y_hat=y_hat)
            where = _describe(inputs, shown)
            got = _call_on(bce_grad, name, inputs, where)
            N = y_hat.size
            _check_array(
                got, bce.grad(y, y_hat), name=name, what="dL/dy_hat", case=case, where=where, shown=shown,
                shape_hint=lambda shape, e=y_hat.shape: f"the gradient has the shape of y_hat, {e}",
                candidates=[
                    (lambda y=y, p=y_hat: (p - y) / (p * (1 - p)), f"the 1/N of the mean is missing (N = {N}, the "
                                                                   "number of elements of y_hat)"),
                    (lambda y=y, p=y_hat, N=N: (p - y) / N, "(y_hat - y) / N is the gradient with respect to z, the "
                                                            "sigmoid's input (the fused form); this exercise asks for "
                                                            "dL/dy_hat, which has y_hat * (1 - y_hat) below"),
                    (lambda y=y, p=y_hat: (p - y) / (p * (1 - p)) / p.shape[0],
                     f"divide by the number of elements of y_hat ({N}), not the number of rows"),
                ],
                sizes={"N": N},
                extra=lambda got, y=y, y_hat=y_hat: _grad_check_hint(
                    got, _central_difference(lambda v: bce(y, v), y_hat), "dL/dy_hat"),
            )
        return len(cases)

    return body()




# ---------------------------------------------------------------------------------------------
# Experiment: the step of a central difference
# ---------------------------------------------------------------------------------------------
# Rounding errors set the relative error of a good step; they vary several-fold from one CPU's
# BLAS kernel to another (about 2e-10 to 1e-9 at h = 1e-5), so the target leaves a margin.
STEP_TARGET = 1e-8


def _step_models(gen: np.random.Generator) -> list[tuple[Model, np.ndarray, np.ndarray, str]]:
    """Three small smooth models (tanh and sigmoid, no ReLU kinks) with their data and losses."""
    X1, X2, X3 = gen.normal(size=(6, 3)), gen.normal(size=(6, 2)), gen.normal(size=(6, 4))
    return [
        (Model([Dense(3, 4, rng=gen), Tanh(), Dense(4, 1, rng=gen), Sigmoid()]), X1,
         (gen.random((6, 1)) > 0.5).astype(float), "binary_crossentropy"),
        (Model([Dense(2, 5, rng=gen), Sigmoid(), Dense(5, 2, rng=gen)]), X2, gen.normal(size=(6, 2)), "mse"),
        (Model([Dense(4, 3, rng=gen), Tanh(), Dense(3, 3, rng=gen), Tanh(), Dense(3, 1, rng=gen), Sigmoid()]), X3,
         gen.normal(size=(6, 1)), "mse"),
    ]


@exercise("ex-03-step-size", answers=("best_step",), forbidden=())
def check_best_step(best_step: Callable[[], float]) -> int:
    """Check ``best_step()``: a step ``h`` with which central differences agree with backpropagation.

    Parameters
    ----------
    best_step : callable
        ``best_step()`` returning a number ``h`` with ``0 < h < 1``.

    Returns
    -------
    None

    Notes
    -----
    The checker runs :func:`nnlib.gradient_check` with step ``h`` on six
    hidden models (two draws of three small tanh and sigmoid networks, with
    cross-entropy or MSE). The largest relative error between the central
    differences and the backpropagated gradients must be below 1e-8. Only
    its order of magnitude is reported when it passes: the rounding error
    that sets it differs in its last digits from one CPU to another.
    """
    name = "best_step"

    def body() -> int:
        h = _call(best_step, name, (), [])
        if isinstance(h, (bool, np.bool_)) or not isinstance(h, (int, float, np.integer, np.floating)):
            raise _Failure(f"{name} must return a number, got a {type(h).__name__}",
                           ["return the step as a float, e.g. return 1e-3"])
        h = float(h)
        if not (0.0 < h < 1.0):       # NaN fails too
            raise _Failure(f"{name} returned {h:g}; a step must lie between 0 and 1 (both excluded)")
        worst = 0.0
        for draw in (1, 2):
            for model, X, y, loss in _step_models(_gen(330 + draw)):
                with np.errstate(all="ignore"):
                    errors = gradient_check(model, X, y, loss=loss, h=h)
                worst = max([worst] + [e if np.isfinite(e) else np.inf for e in errors.values()])
        if not worst < STEP_TARGET:
            if h >= 1e-5:
                hints = ["a large step makes the difference quotient a poor approximation of the slope "
                             "(truncation error, shrinking like h**2): try smaller steps"]
            else:
                hints = ["a tiny step divides rounding errors of the loss by a tiny 2h (rounding error, "
                             "growing like 1/h): try larger steps"]
            raise _Failure(f"the central differences with h = {h:g} miss the backpropagated gradients by a "
                           f"relative error of {worst:.1e} (target below {STEP_TARGET:g})", hints)
        return Measured(6, f"with h = {h:g} the largest relative error on 6 hidden models is below "
                           f"{STEP_TARGET:g}")

    return body()
