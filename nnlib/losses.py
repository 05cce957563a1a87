"""Loss functions.

A loss is called as ``loss(y_true, y_pred)`` and returns the batch mean as a
Python float; ``loss.grad(y_true, y_pred)`` returns
:math:`\\partial L/\\partial \\hat y`, an array shaped like ``y_pred``. Both check
their inputs: in particular labels of shape ``(n,)`` against predictions of
shape ``(n, 1)`` are reshaped to ``(n, 1)`` rather than broadcast to ``(n, n)``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._checks import as_float_array, check_finite, match_targets


class Loss:
    """Base class: subclasses implement ``_value(y, p)`` and ``_grad(y, p)``."""

    @property
    def name(self) -> str:
        return type(self).__name__

    def __repr__(self) -> str:
        return f"{self.name}()"

    def __call__(self, y_true: Any, y_pred: Any) -> float:
        y, p = self._check(y_true, y_pred)
        return float(self._value(y, p))

    def grad(self, y_true: Any, y_pred: Any) -> np.ndarray:
        """Gradient of the batch-mean loss with respect to ``y_pred``."""
        y, p = self._check(y_true, y_pred)
        return self._grad(y, p)

    def _check(self, y_true: Any, y_pred: Any) -> tuple[np.ndarray, np.ndarray]:
        where = self.name
        p = as_float_array(y_pred, "y_pred", where)
        if p.ndim == 0 or p.size == 0:
            raise ValueError(f"{where}: y_pred must hold at least one prediction, got shape {p.shape}.")
        check_finite(p, "y_pred", where)
        y = self._targets(y_true, p.shape, where)
        self._check_predictions(p)
        return y, p

    def _targets(self, y_true: Any, shape: tuple[int, ...], where: str) -> np.ndarray:
        """Labels as a float array of the predictions' ``shape``, checked."""
        y = match_targets(y_true, shape, where)
        self._check_targets(y)
        return y

    def _value_and_grad(self, y: np.ndarray, p: np.ndarray) -> tuple[float, np.ndarray]:
        """Both at once, for the training loop (subclasses may share work between them)."""
        return self._value(y, p), self._grad(y, p)

    def _check_targets(self, y: np.ndarray) -> None:
        """Extra checks on the labels' values (cross-entropy needs 0/1)."""

    def _check_predictions(self, p: np.ndarray) -> None:
        """Extra checks on the predictions' values (cross-entropy needs [0, 1])."""

    def _value(self, y: np.ndarray, p: np.ndarray) -> float:  # pragma: no cover - abstract
        raise NotImplementedError

    def _grad(self, y: np.ndarray, p: np.ndarray) -> np.ndarray:  # pragma: no cover - abstract
        raise NotImplementedError


class MSE(Loss):
    """Mean squared error over every element of the batch.

    .. math::

        L = \\frac{1}{N} \\sum_{i} (\\hat y_i - y_i)^2, \\qquad
        \\frac{\\partial L}{\\partial \\hat y_i} = \\frac{2}{N} (\\hat y_i - y_i)

    where :math:`N` is the number of elements of ``y_pred``. Forgetting the
    :math:`2/N` (as source A does) scales every gradient by :math:`N/2`.
    """

    def _value(self, y: np.ndarray, p: np.ndarray) -> float:
        d = p - y
        return np.mean(d * d)

    def _grad(self, y: np.ndarray, p: np.ndarray) -> np.ndarray:
        return (2.0 / p.size) * (p - y)


class BinaryCrossEntropy(Loss):
    """Binary cross-entropy (log-loss) on predicted probabilities.

    .. math::

        L = -\\frac{1}{N} \\sum_i \\big[ y_i \\log \\hat y_i + (1 - y_i) \\log(1 - \\hat y_i) \\big],
        \\qquad
        \\frac{\\partial L}{\\partial \\hat y_i} = \\frac{1}{N}\\,
            \\frac{\\hat y_i - y_i}{\\hat y_i (1 - \\hat y_i)}

    Labels must be 0 or 1 and predictions must lie in [0, 1]. Predictions are
    clipped to :math:`[\\varepsilon, 1-\\varepsilon]` (machine epsilon), as
    scikit-learn does, so a prediction of exactly 0 or 1 gives a large but
    finite loss instead of ``log(0)``.

    Followed by a sigmoid, the two derivatives cancel into the famous
    :math:`\\partial L/\\partial z_i = (\\hat y_i - y_i)/N`; :class:`nnlib.Model`
    uses that simplification (see :meth:`grad_wrt_logits`).
    """

    def _check_targets(self, y: np.ndarray) -> None:
        bad = ~((y == 0) | (y == 1))
        if bad.any():
            examples = np.unique(y[bad])[:5]
            raise ValueError(
                f"{self.name}: labels must be 0 or 1, found {int(bad.sum())} other value(s), "
                f"e.g. {examples.tolist()}. For labels such as -1/1 or 1/2, map them to 0/1 "
                "first, e.g. y01 = (y == positive_label).astype(float)."
            )

    def _check_predictions(self, p: np.ndarray) -> None:
        if (p < 0).any() or (p > 1).any():
            raise ValueError(
                f"{self.name}: y_pred must be probabilities in [0, 1], got values from "
                f"{float(p.min()):.4g} to {float(p.max()):.4g}. Does the model end with a "
                "Sigmoid layer?"
            )

    @staticmethod
    def _clip(p: np.ndarray) -> np.ndarray:
        eps = np.finfo(p.dtype).eps
        return np.clip(p, eps, 1.0 - eps)

    def _value(self, y: np.ndarray, p: np.ndarray) -> float:
        p = self._clip(p)
        return -np.mean(y * np.log(p) + (1.0 - y) * np.log1p(-p))

    def _grad(self, y: np.ndarray, p: np.ndarray) -> np.ndarray:
        p = self._clip(p)
        return (p - y) / (p * (1.0 - p)) / p.size

    @staticmethod
    def grad_wrt_logits(y: np.ndarray, p: np.ndarray) -> np.ndarray:
        """:math:`\\partial L/\\partial z = (\\hat y - y)/N` when :math:`\\hat y = \\sigma(z)`.

        Exact where the clipping is inactive, and unlike the product of the two
        separate derivatives it does not vanish when the sigmoid saturates.
        """
        return (p - y) / p.size


class SoftmaxCrossEntropy(Loss):
    r"""Softmax followed by cross-entropy, computed from the logits in one stable step.

    For logits :math:`Z` of shape ``(n, k)`` and one-hot labels :math:`Y`:

    .. math::

        \log p_{ij} = z_{ij} - \max_l z_{il} - \log \sum_l e^{z_{il} - \max_l z_{il}},
        \qquad
        L = -\frac{1}{n} \sum_{i,j} Y_{ij} \log p_{ij},
        \qquad
        \frac{\partial L}{\partial Z} = \frac{\operatorname{softmax}(Z) - Y}{n}

    Subtracting the row maximum keeps every exponential in (0, 1], so no
    logit is too large; working with :math:`\log p` directly means a
    probability that rounds to 0 never reaches ``log(0)``. The model's last
    layer is therefore a :class:`~nnlib.Dense` producing logits, not a
    :class:`~nnlib.Softmax`.

    Labels can be integer class indices of shape ``(n,)`` (values 0 to k-1)
    or one-hot rows of shape ``(n, k)``. Note the mean is over *samples*, not
    over the ``n * k`` entries.
    """

    def _targets(self, y_true: Any, shape: tuple[int, ...], where: str) -> np.ndarray:
        if len(shape) != 2 or shape[1] < 2:
            raise ValueError(
                f"{where}: {self.name} needs logits of shape (n_samples, n_classes) with at least "
                f"2 classes, got {shape}. For two classes with one output, use BinaryCrossEntropy."
            )
        n, k = shape
        y = np.asarray(y_true)
        if y.ndim == 1 or (y.ndim == 2 and y.shape[1] == 1):
            y = y.reshape(-1)
            if y.shape[0] != n:
                raise ValueError(f"{where}: got {y.shape[0]} labels for {n} samples.")
            if not (np.issubdtype(y.dtype, np.integer) or (
                np.issubdtype(y.dtype, np.floating) and np.all(np.isfinite(y)) and np.all(y == np.round(y))
            )):
                raise ValueError(
                    f"{where}: class labels must be whole numbers from 0 to {k - 1}, got dtype {y.dtype}."
                )
            if y.min() < 0 or y.max() >= k:
                raise ValueError(
                    f"{where}: class labels must lie in 0..{k - 1} for {k} outputs, found values from "
                    f"{int(y.min())} to {int(y.max())}."
                )
            one_hot = np.zeros(shape, dtype=np.float64)
            one_hot[np.arange(n), y.astype(np.intp)] = 1.0
            return one_hot
        y = match_targets(y_true, shape, where)
        if (y < 0).any() or (y > 1).any() or not np.allclose(y.sum(axis=1), 1.0):
            raise ValueError(
                f"{where}: one-hot labels must be rows of non-negative numbers that sum to 1; "
                "pass integer class indices of shape (n_samples,) instead if that is what you have."
            )
        return y

    @staticmethod
    def log_softmax(z: np.ndarray) -> np.ndarray:
        """Row-wise :math:`\\log \\operatorname{softmax}(z)`, computed without forming the softmax."""
        shifted = z - z.max(axis=1, keepdims=True)
        return shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))

    def _value(self, y: np.ndarray, z: np.ndarray) -> float:
        return -np.sum(y * self.log_softmax(z)) / z.shape[0]

    def _grad(self, y: np.ndarray, z: np.ndarray) -> np.ndarray:
        return self._value_and_grad(y, z)[1]

    def _value_and_grad(self, y: np.ndarray, z: np.ndarray) -> tuple[float, np.ndarray]:
        # One pass of exponentials serves both the loss and the gradient.
        n = z.shape[0]
        shifted = z - z.max(axis=1, keepdims=True)
        e = np.exp(shifted)
        total = e.sum(axis=1, keepdims=True)
        # -sum Y * (shifted - log total), with each row of Y summing to 1.
        value = (np.log(total).sum() - np.vdot(y, shifted)) / n
        grad = e / total
        grad -= y
        grad /= n
        return float(value), grad


LOSSES: dict[str, type[Loss]] = {
    "mse": MSE,
    "binary_crossentropy": BinaryCrossEntropy,
    "softmax_crossentropy": SoftmaxCrossEntropy,
}


def get_loss(loss: Any) -> Loss:
    """Accept a Loss instance or its name (``"mse"``, ``"binary_crossentropy"``)."""
    if isinstance(loss, Loss):
        return loss
    if isinstance(loss, str) and loss.lower() in LOSSES:
        return LOSSES[loss.lower()]()
    valid = ", ".join(repr(k) for k in LOSSES)
    raise ValueError(f"Unknown loss {loss!r}; pass a Loss instance such as nnlib.MSE() or one of {valid}.")
