"""Classification metrics."""

from __future__ import annotations

from typing import Any

import numpy as np

from ._checks import as_float_array, check_positive_int


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


def _class_labels(labels: Any, name: str, n_classes: int) -> np.ndarray:
    """``labels`` as a 1-D integer array with every value in ``0 .. n_classes - 1``."""
    where = "confusion_matrix"
    y = np.asarray(labels)
    if y.ndim != 1:
        raise ValueError(f"{where}: {name} must be a 1-D array of class labels, got shape {y.shape}; "
                         f"for one-hot rows or probabilities, pass {name}.argmax(axis=1).")
    if y.dtype == bool or not (np.issubdtype(y.dtype, np.integer) or np.issubdtype(y.dtype, np.floating)):
        raise TypeError(f"{where}: {name} must hold whole numbers (class labels), got dtype {y.dtype}.")
    if np.issubdtype(y.dtype, np.floating):
        if not np.all(np.isfinite(y)) or np.any(y != np.round(y)):
            raise ValueError(f"{where}: {name} must hold whole numbers (class labels); "
                             "for probabilities, pass the predicted classes (argmax) instead.")
    if y.size and (y.min() < 0 or y.max() >= n_classes):
        raise ValueError(f"{where}: {name} must lie in 0..{n_classes - 1} for n_classes={n_classes}, "
                         f"found values from {y.min():g} to {y.max():g}.")
    return y.astype(np.intp)


def confusion_matrix(y_true: Any, y_pred: Any, n_classes: int) -> np.ndarray:
    """Count every pair (true class, predicted class).

    Parameters
    ----------
    y_true, y_pred : array of shape (n_samples,)
        Class labels, whole numbers from 0 to ``n_classes - 1``.
    n_classes : int
        Number of classes: the matrix has this many rows and columns, also
        when a class never occurs.

    Returns
    -------
    ndarray of shape (n_classes, n_classes), dtype int64
        Entry ``[i, j]`` counts the samples of true class ``i`` predicted as
        class ``j``: the diagonal holds the correct answers.
    """
    n_classes = check_positive_int(n_classes, "n_classes", "confusion_matrix")
    t = _class_labels(y_true, "y_true", n_classes)
    p = _class_labels(y_pred, "y_pred", n_classes)
    if t.shape != p.shape:
        raise ValueError(f"confusion_matrix: y_true has {t.shape[0]} labels but y_pred has {p.shape[0]}.")
    counts = np.zeros((n_classes, n_classes), dtype=np.int64)
    # add 1 at (t[m], p[m]) for every sample m; unlike counts[t, p] += 1,
    # np.add.at counts a pair that occurs several times once per occurrence
    np.add.at(counts, (t, p), 1)
    return counts


METRICS = {"accuracy": accuracy}
