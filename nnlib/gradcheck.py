"""Numerical gradient checking with central differences.

The analytic gradients that ``backward`` computes are compared with

.. math::

    \\frac{\\partial f}{\\partial \\theta_j} \\approx
    \\frac{f(\\theta + h e_j) - f(\\theta - h e_j)}{2h},

whose error shrinks like :math:`h^2`. The comparison is the relative error

.. math::

    \\text{rel}(a, n) = \\frac{\\lVert a - n \\rVert}{\\max(\\lVert a \\rVert + \\lVert n \\rVert, 10^{-300})},

which is about 1e-10 or smaller in float64 for a correct gradient and of order 1
for a wrong one. Below 1e-7 counts as a pass.
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np

from ._checks import as_generator
from .layers import Layer
from .losses import Loss, get_loss

TOLERANCE = 1e-7


def relative_error(a: np.ndarray, b: np.ndarray) -> float:
    """:math:`\\lVert a-b \\rVert / (\\lVert a \\rVert + \\lVert b \\rVert)`, 0 when both are 0."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if a.shape != b.shape:
        raise ValueError(f"relative_error: shapes differ, {a.shape} and {b.shape}.")
    denom = np.linalg.norm(a) + np.linalg.norm(b)
    if denom == 0.0:
        return 0.0
    return float(np.linalg.norm(a - b) / denom)


def numerical_gradient(f: Callable[[], float], x: np.ndarray, h: float = 1e-6) -> np.ndarray:
    """Central-difference gradient of the scalar ``f()`` with respect to the array ``x``.

    ``x`` is perturbed in place, one entry at a time, and every entry is put
    back exactly as it was before the function returns.
    """
    grad = np.zeros(x.shape, dtype=np.float64)
    flat = x.reshape(-1)  # a view: writing into it perturbs x
    if not np.shares_memory(flat, x):
        raise ValueError("numerical_gradient: x must be a contiguous array that can be perturbed in place.")
    for j in range(flat.size):
        old = flat[j]
        flat[j] = old + h
        f_plus = f()
        flat[j] = old - h
        f_minus = f()
        flat[j] = old
        grad.reshape(-1)[j] = (f_plus - f_minus) / (2.0 * h)
    return grad


def check_layer(layer: Layer, x: Any, *, rng: Any = 0, h: float = 1e-6) -> dict[str, float]:
    """Relative errors of a layer's gradients for input ``x``.

    The layer is turned into a scalar with a fixed random weighting ``G`` of
    its output, :math:`f = \\sum (\\text{layer}(x) \\odot G)`, whose gradient with
    respect to the output is exactly ``G``: so ``layer.backward(G)`` must give
    the gradients of ``f``.

    Returns
    -------
    dict
        ``"x"`` for the input gradient and one entry per parameter (``"W"``, ``"b"``).
    """
    x = np.array(x, dtype=np.float64)  # a private copy that we may perturb
    gen = as_generator(rng, "check_layer")
    out = layer.forward(x)
    G = gen.standard_normal(np.shape(out))
    analytic_x = np.array(layer.backward(G), dtype=np.float64)
    analytic = {k: np.array(g, dtype=np.float64) for k, g in layer.grads.items()}

    def f() -> float:
        return float(np.sum(layer.forward(x) * G))

    errors = {"x": relative_error(analytic_x, numerical_gradient(f, x, h))}
    for key, param in layer.params.items():
        errors[key] = relative_error(analytic[key], numerical_gradient(f, param, h))
    return errors


def check_loss(loss: Loss | str, y_true: Any, y_pred: Any, *, h: float = 1e-6) -> float:
    """Relative error of ``loss.grad(y_true, y_pred)`` against central differences."""
    loss = get_loss(loss)
    p = np.array(y_pred, dtype=np.float64)
    analytic = loss.grad(y_true, p)
    return relative_error(analytic, numerical_gradient(lambda: loss(y_true, p), p, h))


def check_model(model: Any, X: Any, y: Any, loss: Loss | str, *, h: float = 1e-6) -> dict[str, float]:
    """Relative error of every parameter gradient of a whole model, by name (``"layer0.W"``...)."""
    loss = get_loss(loss)
    X = np.array(X, dtype=np.float64)
    model.compute_gradients(X, y, loss)
    analytic = {
        f"layer{i}.{k}": np.array(layer.grads[k]) for i, layer in enumerate(model.layers) for k in layer.params
    }

    def f() -> float:  # what compute_gradients differentiates: the loss plus any weight decay
        return loss(y, model.predict(X)) + model.penalty()

    return {name: relative_error(analytic[name], numerical_gradient(f, param, h))
            for name, param in model.named_parameters().items()}


def gradient_check(target: Any, x: Any, y: Any = None, *, loss: Loss | str | None = None,
                   rng: Any = 0, h: float = 1e-6) -> dict[str, float]:
    """Check the analytic gradients of a layer, a loss or a whole model.

    * ``gradient_check(layer, x)`` -> ``{"x": ..., "W": ..., "b": ...}``
    * ``gradient_check(loss, y_pred, y_true)`` -> ``{"y_pred": ...}``
    * ``gradient_check(model, X, y, loss=MSE())`` -> ``{"layer0.W": ..., ...}``

    Every value is a relative error; below ``nnlib.gradcheck.TOLERANCE`` (1e-7)
    is a pass. Use inputs away from kinks (ReLU at exactly 0) and, for
    cross-entropy, predictions away from 0 and 1.
    """
    from .model import Model

    if isinstance(target, Model):
        if loss is None or y is None:
            raise TypeError("gradient_check(model, X, y, loss=...): a model needs labels y and a loss.")
        return check_model(target, x, y, loss, h=h)
    if isinstance(target, Loss):
        if y is None:
            raise TypeError("gradient_check(loss, y_pred, y_true): a loss needs the labels y_true.")
        return {"y_pred": check_loss(target, y, x, h=h)}
    if hasattr(target, "forward") and hasattr(target, "backward"):
        return check_layer(target, x, rng=rng, h=h)
    raise TypeError(
        f"gradient_check: expected a layer, a loss or a Model, got {type(target).__name__}."
    )
