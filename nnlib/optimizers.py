"""Optimizers: they turn gradients into parameter updates, in place.

Computing gradients (backpropagation) and using them (gradient descent) are
separate jobs: layers do the first, an optimizer the second. An optimizer's
``step(params, grads)`` takes two equally long sequences of arrays and updates
each parameter array in place, so every layer holding it sees the change.
"""

from __future__ import annotations

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
            self._m = [np.zeros_like(p) for p in params]
            self._v = [np.zeros_like(p) for p in params]
            self._tmp = [(np.empty_like(p), np.empty_like(p)) for p in params]
            self.t = 0
        self.t += 1
        b1, b2 = self.beta1, self.beta2
        # Fold both bias corrections into one step size.
        step = self.lr * np.sqrt(1.0 - b2**self.t) / (1.0 - b1**self.t)
        eps = self.eps * np.sqrt(1.0 - b2**self.t)
        for p, g, m, v, (t1, t2) in zip(params, grads, self._m, self._v, self._tmp):
            # m = b1 m + (1 - b1) g;  v = b2 v + (1 - b2) g^2;  p -= step m / (sqrt(v) + eps),
            # written with preallocated buffers: no temporary arrays per step.
            m *= b1
            np.multiply(g, 1.0 - b1, out=t1)
            m += t1
            v *= b2
            np.multiply(g, g, out=t1)
            t1 *= 1.0 - b2
            v += t1
            np.multiply(m, step, out=t1)
            np.sqrt(v, out=t2)
            t2 += eps
            t1 /= t2
            p -= t1
