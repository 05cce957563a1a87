"""Input checks shared by the public entry points.

Each check raises ``TypeError`` or ``ValueError`` with a message that names
*where* the problem is (the layer, loss or method), the shapes involved and
how to fix it. They run once per public call, never inside the training loop.
"""

from __future__ import annotations

from typing import Any

import numpy as np


def as_float_array(a: Any, name: str, where: str) -> np.ndarray:
    """Return ``a`` as a floating-point array, refusing non-numeric data.

    Integer and boolean arrays are converted to float64; float32 stays float32.
    The input is never modified (a conversion makes a new array).
    """
    try:
        arr = np.asarray(a)
    except Exception as exc:  # ragged lists and the like
        raise TypeError(f"{where}: {name} could not be turned into a NumPy array ({exc}).") from None
    if arr.dtype == object or not (
        np.issubdtype(arr.dtype, np.number) or np.issubdtype(arr.dtype, np.bool_)
    ):
        raise TypeError(
            f"{where}: {name} must hold numbers, got an array of dtype {arr.dtype}. "
            "Convert it with np.asarray(..., dtype=float) after removing non-numeric entries."
        )
    if np.issubdtype(arr.dtype, np.complexfloating):
        raise TypeError(f"{where}: {name} must be real, got complex dtype {arr.dtype}.")
    if not np.issubdtype(arr.dtype, np.floating) or arr.dtype == np.float16:
        arr = arr.astype(np.float64)
    return arr


def check_finite(arr: np.ndarray, name: str, where: str) -> None:
    """Refuse NaN and infinity, saying how many entries are bad."""
    finite = np.isfinite(arr)
    if not finite.all():
        bad = arr.size - int(np.count_nonzero(finite))
        raise ValueError(
            f"{where}: {name} contains {bad} NaN or infinite value(s) out of {arr.size}. "
            "Remove or impute them before passing the data in."
        )


def check_2d(
    a: Any, name: str, where: str, n_features: int | None = None
) -> np.ndarray:
    """Check that ``a`` is a finite 2-D array of shape ``(n_samples, n_features)``."""
    arr = as_float_array(a, name, where)
    if arr.ndim == 1:
        raise ValueError(
            f"{where}: expected {name} as a 2-D array of shape (n_samples, n_features), "
            f"got a 1-D array of shape {arr.shape}. Samples are rows: reshape a single "
            f"sample with {name}.reshape(1, -1), or a single feature with {name}.reshape(-1, 1)."
        )
    if arr.ndim != 2:
        raise ValueError(
            f"{where}: expected {name} as a 2-D array of shape (n_samples, n_features), "
            f"got {arr.ndim}-D shape {arr.shape}. Flatten each sample first, e.g. "
            f"{name}.reshape(len({name}), -1)."
        )
    if arr.shape[0] == 0:
        raise ValueError(f"{where}: {name} has no samples (shape {arr.shape}).")
    if n_features is not None and arr.shape[1] != n_features:
        raise ValueError(
            f"{where}: expected {name} with {n_features} feature(s) per sample, i.e. shape "
            f"(n_samples, {n_features}), got shape {arr.shape}."
        )
    check_finite(arr, name, where)
    return arr


def match_targets(y_true: Any, shape: tuple[int, ...], where: str) -> np.ndarray:
    """Return ``y_true`` as a finite float array of exactly the prediction ``shape``.

    Labels of shape ``(n,)`` against predictions of shape ``(n, 1)`` are reshaped
    to ``(n, 1)``: NumPy would otherwise broadcast them into an ``(n, n)`` matrix
    and every loss would be silently wrong. Any other mismatch is refused.
    """
    y = as_float_array(y_true, "y_true", where)
    if y.shape != shape:
        if y.ndim == 1 and len(shape) == 2 and shape == (y.shape[0], 1):
            y = y.reshape(-1, 1)
        else:
            raise ValueError(
                f"{where}: y_true has shape {y.shape} but the predictions have shape {shape}; "
                "they must match (one row per sample, one column per output). "
                "NumPy would broadcast them into a wrong result instead of failing, "
                "so nnlib refuses. If y_true holds the right values in another layout, "
                f"reshape it with y_true.reshape{shape}."
            )
    check_finite(y, "y_true", where)
    return y


def check_positive_int(value: Any, name: str, where: str) -> int:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{where}: {name} must be a positive integer, got {value!r}.")
    if value < 1:
        raise ValueError(f"{where}: {name} must be a positive integer, got {value}.")
    return int(value)


def check_positive_float(value: Any, name: str, where: str) -> float:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.number)):
        raise TypeError(f"{where}: {name} must be a positive number, got {value!r}.")
    value = float(value)
    if not np.isfinite(value) or value <= 0:
        raise ValueError(f"{where}: {name} must be a positive finite number, got {value}.")
    return value


def check_fraction(value: Any, name: str, where: str, *, low: float = 0.0, high: float = 1.0,
                   high_included: bool = False) -> float:
    """A real number in ``[low, high)`` (or ``[low, high]``), as a float."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise TypeError(f"{where}: {name} must be a number, got {value!r}.")
    value = float(value)
    inside = low <= value <= high if high_included else low <= value < high
    if not np.isfinite(value) or not inside:
        bracket = "]" if high_included else ")"
        raise ValueError(f"{where}: {name} must be in [{low:g}, {high:g}{bracket}, got {value}.")
    return value


def as_generator(rng: Any, where: str) -> np.random.Generator:
    """Turn ``rng`` (None, an int seed or a Generator) into a Generator.

    The library never touches NumPy's global random state: every random number
    comes from a Generator made here, so the same seed gives the same numbers.
    """
    if isinstance(rng, np.random.Generator):
        return rng
    if rng is None or (isinstance(rng, (int, np.integer)) and not isinstance(rng, bool)):
        if rng is not None and rng < 0:
            raise ValueError(f"{where}: rng seed must be non-negative, got {rng}.")
        return np.random.default_rng(rng)
    raise TypeError(
        f"{where}: rng must be None, a non-negative int seed or a numpy.random.Generator, "
        f"got {type(rng).__name__}."
    )
