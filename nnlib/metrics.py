"""Classification metrics."""

from __future__ import annotations

from typing import Any

import numpy as np

from ._checks import as_float_array


def to_classes(y_prob: Any, threshold: float = 0.5) -> np.ndarray:
    """Turn model outputs into class labels of shape ``(n_samples,)``.

    One output column (a probability of class 1): ``1`` where it exceeds
    ``threshold``, else ``0``. Several columns: the index of the largest.
    """
    p = np.asarray(y_prob)
    if p.ndim == 2 and p.shape[1] > 1:
        return np.argmax(p, axis=1)
    return (p.reshape(-1) > threshold).astype(np.int64)


def _labels(y_true: Any) -> np.ndarray:
    y = as_float_array(y_true, "y_true", "accuracy")
    if y.ndim == 2 and y.shape[1] > 1:  # one-hot rows
        return np.argmax(y, axis=1)
    return y.reshape(-1)


def accuracy(y_true: Any, y_prob: Any, threshold: float = 0.5) -> float:
    """Fraction of samples whose predicted class equals the label.

    Parameters
    ----------
    y_true : array of shape (n_samples,) or (n_samples, 1), or one-hot (n_samples, k)
    y_prob : array of shape (n_samples, 1) or (n_samples, k)
        Model outputs (probabilities).
    """
    p = np.asarray(y_prob)
    pred = to_classes(p, threshold)
    y = _labels(y_true)
    if y.shape[0] != pred.shape[0]:
        raise ValueError(
            f"accuracy: y_true has {y.shape[0]} samples but y_prob has {pred.shape[0]}."
        )
    return float(np.mean(pred == y))


METRICS = {"accuracy": accuracy}
