"""Optimizers: they turn gradients into parameter updates, in place.

Computing gradients (backpropagation) and using them (gradient descent) are
separate jobs: layers do the first, an optimizer the second. An optimizer's
``step(params, grads)`` takes two equally long sequences of arrays and updates
each parameter array in place, so every layer holding it sees the change.
"""

from __future__ import annotations

import math
from typing import Sequence

import numpy as np

from ._checks import check_positive_float


class Optimizer:
    """Base class."""

    def step(self, params: Sequence[np.ndarray], grads: Sequence[np.ndarray]) -> None:
        params, grads = list(params), list(grads)
        if len(params) != len(grads):
            raise ValueError(
                f"{self!r}.step: got {len(params)} parameter arrays but {len(grads)} gradient arrays."
            )
        for i, (p, g) in enumerate(zip(params, grads)):
            if p.shape != g.shape:
                raise ValueError(
                    f"{self!r}.step: parameter {i} has shape {p.shape} but its gradient has shape {g.shape}."
                )
        self._step(params, grads)

    def _new_params(self, params: list[np.ndarray]) -> bool:
        """True on the first step, or when the parameter shapes changed: state must be (re)made."""
        shapes = [p.shape for p in params]
        if getattr(self, "_shapes", None) == shapes:
            return False
        self._shapes = shapes
        return True

    def _step(self, params: list[np.ndarray], grads: list[np.ndarray]) -> None:  # pragma: no cover
        raise NotImplementedError


class SGD(Optimizer):
    """Stochastic gradient descent, optionally with momentum.

    .. math::

        v \\leftarrow \\mu v - \\eta\\, g, \\qquad \\theta \\leftarrow \\theta + v

    With ``momentum=0`` (the default) this is plain gradient descent,
    :math:`\\theta \\leftarrow \\theta - \\eta\\, g`.

    Parameters
    ----------
    lr : float
        Learning rate :math:`\\eta`.
    momentum : float, default 0.0
        Momentum coefficient :math:`\\mu` in [0, 1).
    """

    def __init__(self, lr: float = 0.01, momentum: float = 0.0) -> None:
        self.lr = check_positive_float(lr, "lr", "SGD")
        if not 0.0 <= float(momentum) < 1.0:
            raise ValueError(f"SGD: momentum must be in [0, 1), got {momentum}.")
        self.momentum = float(momentum)
        self._velocity: list[np.ndarray] | None = None

    def __repr__(self) -> str:
        return f"SGD(lr={self.lr:g}" + (f", momentum={self.momentum:g})" if self.momentum else ")")

    def _step(self, params: list[np.ndarray], grads: list[np.ndarray]) -> None:
        if self.momentum == 0.0:
            for p, g in zip(params, grads):
                p -= self.lr * g
            return
        if self._new_params(params):
            self._velocity = [np.zeros_like(p) for p in params]
        for p, g, v in zip(params, grads, self._velocity):
            v *= self.momentum
            v -= self.lr * g
            p += v


class Adam(Optimizer):
    """Adam (Kingma & Ba, 2015).

    .. math::

        m \\leftarrow \\beta_1 m + (1-\\beta_1) g, \\quad
        v \\leftarrow \\beta_2 v + (1-\\beta_2) g^2, \\quad
        \\theta \\leftarrow \\theta - \\eta\\, \\frac{m / (1-\\beta_1^t)}{\\sqrt{v/(1-\\beta_2^t)} + \\epsilon}

    with :math:`m = v = 0` and :math:`t = 1` at the first step. The code keeps
    :math:`m/(1-\\beta_1)` and :math:`v/(1-\\beta_2)` instead of :math:`m` and
    :math:`v` and folds the bias corrections into two numbers per step: the same
    update with fewer passes over the arrays.

    Parameters
    ----------
    lr : float, default 1e-3
        Learning rate :math:`\\eta`.
    beta1, beta2 : float, default 0.9 and 0.999
        Decay rates of the two running averages, in [0, 1).
    eps : float, default 1e-8
        Added to :math:`\\sqrt{\\hat v}` so that no step divides by zero.
    """

    def __init__(self, lr: float = 1e-3, beta1: float = 0.9, beta2: float = 0.999, eps: float = 1e-8) -> None:
        self.lr = check_positive_float(lr, "lr", "Adam")
        for name, b in (("beta1", beta1), ("beta2", beta2)):
            if not 0.0 <= float(b) < 1.0:
                raise ValueError(f"Adam: {name} must be in [0, 1), got {b}.")
        self.beta1, self.beta2 = float(beta1), float(beta2)
        self.eps = check_positive_float(eps, "eps", "Adam")
        self.t = 0
        self._m: list[np.ndarray] | None = None
        self._v: list[np.ndarray] | None = None

    def __repr__(self) -> str:
        return f"Adam(lr={self.lr:g})"

    def _step(self, params: list[np.ndarray], grads: list[np.ndarray]) -> None:
        if self._new_params(params):
            self._m = [np.zeros_like(p) for p in params]  # holds m / (1 - beta1)
            self._v = [np.zeros_like(p) for p in params]  # holds v / (1 - beta2)
            self._tmp = [np.empty_like(p) for p in params]
            self.t = 0
        self.t += 1
        b1, b2, t = self.beta1, self.beta2, self.t
        # The same update, rearranged (chapter 8): the averages are kept divided by
        # 1 - beta1 and 1 - beta2, which saves one pass over the arrays for each, and
        # both bias corrections fold into two numbers. They are Python floats: a NumPy
        # float64 scalar would make a float32 model's update run in float64, 5x slower.
        c = math.sqrt((1.0 - b2**t) / (1.0 - b2))
        step = self.lr * (1.0 - b1) / (1.0 - b1**t) * c
        eps = self.eps * c
        for p, g, m, v, tmp in zip(params, grads, self._m, self._v, self._tmp):
            m *= b1  # m = b1 m + g
            m += g
            v *= b2  # v = b2 v + g^2
            np.multiply(g, g, out=tmp)
            v += tmp
            np.sqrt(v, out=tmp)  # p -= step m / (sqrt(v) + eps), in one preallocated buffer
            tmp += eps
            np.divide(m, tmp, out=tmp)
            tmp *= step
            p -= tmp
