"""Checkers of chapter 9's coding exercises (digits).

Each checker is registered with its exercise's label, the names of the answer
functions and the library functions an answer must not call (see
:mod:`coursework.registry`). The check cells call them; so does the class
checker, on answers run in a sandbox.
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np

from nnlib import softmax, SoftmaxCrossEntropy

from ._checking import (Measured, RTOL, ATOL, _Failure, _call, _call_on, _check_array, _describe, _as_array, _gen)
from .registry import exercise


@exercise("ex-09-softmax", answers=("stable_softmax",),
          forbidden=("nnlib.activations.softmax", "nnlib.activations.Softmax.forward", "nnlib.activations.Softmax._forward",
                     "nnlib.losses.SoftmaxCrossEntropy.log_softmax", "scipy.special.softmax",))
def check_stable_softmax(stable_softmax: Callable[[np.ndarray], np.ndarray]) -> int:
    """Check ``stable_softmax(Z)``: the softmax of every row of ``Z``, without overflow.

    Parameters
    ----------
    stable_softmax : callable
        ``stable_softmax(Z)`` with logits ``Z`` of shape ``(n, k)``, one row
        per sample, returning probabilities of the same shape whose rows sum
        to 1.

    Returns
    -------
    None

    Notes
    -----
    Six inputs (four hidden): the chapter's logits, logits near 1000 (the
    textbook formula overflows there, a warning and so a FAIL), random
    logits, a square ``Z`` (where normalising over the wrong axis, or
    subtracting a maximum without ``keepdims``, keeps the right shape), a
    single sample, and rows of very different sizes (subtracting the largest
    logit of the whole array instead of each row's makes a row underflow).
    """
    name = "stable_softmax"

    def body() -> int:
        g = _gen(701)
        cases = [
            ("the chapter's logits", np.array([[2.0, 1.0, 0.1], [0.0, 0.0, 0.0], [5.0, -5.0, 0.0]]), True),
            ("logits near 1000", np.array([[1000.0, 1001.0, 1002.0]]), True),
            ("hidden test 1", 3 * g.normal(size=(6, 10)), False),
            ("hidden test 2 (a square Z)", 2 * g.normal(size=(4, 4)), False),
            ("hidden test 3 (one sample)", g.normal(size=(1, 5)), False),
            ("hidden test 4 (rows of very different sizes)", np.array([[1000.0, 1001.0], [0.0, 1.0], [-2.0, 3.0]]),
             False),
        ]
        for case, Z, shown in cases:
            inputs = dict(Z=Z)
            where = _describe(inputs, shown)
            got = _call_on(stable_softmax, name, inputs, where,
                           warning_hint="np.exp overflows on large logits (and a row whose exponentials all "
                                        "underflow to 0 is divided by 0). The softmax of a row does not "
                                        "change when the same number is subtracted from all its logits: choose "
                                        "that number so that no exponential can overflow, row by row (one "
                                        "number for the whole array makes a row far below it underflow to "
                                        "0 / 0)")
            expected = softmax(Z)

            def shape_hint(shape, Z=Z):
                if shape == (Z.shape[0],) or shape == (Z.shape[0], 1):
                    return "return every probability, not one number per row: the output has the shape of Z"
                return f"the probabilities have the shape of Z, {Z.shape}"

            def by_columns(Z=Z):
                e = np.exp(Z - Z.max(axis=0, keepdims=True))
                return e / e.sum(axis=0, keepdims=True)

            def neither_keepdims(Z=Z):
                e = np.exp(Z - Z.max(axis=1))
                return e / e.sum(axis=1)

            def no_keepdims(Z=Z):
                e = np.exp(Z - Z.max(axis=1))
                return e / e.sum(axis=1, keepdims=True)

            def sum_no_keepdims(Z=Z):
                e = np.exp(Z - Z.max(axis=1, keepdims=True))
                return e / e.sum(axis=1)

            _check_array(
                got, expected, name=name, what="the probabilities", case=case, where=where, shown=shown,
                shape_hint=shape_hint,
                candidates=[
                    (by_columns, "each column sums to 1, not each row: normalise over the classes, axis=1 "
                                 "(one row per sample)"),
                    (lambda Z=Z: np.exp(Z - Z.max(axis=1, keepdims=True)) / np.exp(Z - Z.max(axis=1, keepdims=True))
                     .sum(), "the whole array sums to 1: divide each row by its own sum (a sum over axis 1 "
                             "that keeps the row's axis)"),
                    (neither_keepdims, "the row maxima and the row sums both lost their axis (shape (n,), not "
                                       "(n, 1)), so they are applied column by column: keepdims"),
                    (no_keepdims, "the row maxima lost their axis (shape (n,), not (n, 1)), so they are "
                                  "subtracted column by column: keepdims"),
                    (sum_no_keepdims, "the row sums lost their axis (shape (n,), not (n, 1)), so they divide "
                                      "column by column: keepdims"),
                    (lambda Z=Z: np.exp(Z - Z.max(axis=1, keepdims=True)), "the exponentials are not normalised: "
                                                                            "divide by their row sums"),
                ],
            )
        return len(cases)

    return body()


@exercise("ex-09-cross-entropy", answers=("cross_entropy_from_logits",),
          forbidden=("nnlib.losses.SoftmaxCrossEntropy._value", "nnlib.losses.SoftmaxCrossEntropy._value_and_grad",
                     "nnlib.losses.SoftmaxCrossEntropy.log_softmax", "scipy.special.log_softmax", "scipy.special.logsumexp", "sklearn.metrics.log_loss",))
def check_cross_entropy_from_logits(cross_entropy_from_logits: Callable[[np.ndarray, np.ndarray], float]) -> int:
    """Check ``cross_entropy_from_logits(Z, y)``: the mean cross-entropy of logits and integer labels.

    Parameters
    ----------
    cross_entropy_from_logits : callable
        ``cross_entropy_from_logits(Z, y)`` with logits ``Z`` of shape
        ``(n, k)`` and integer labels ``y`` of shape ``(n,)``, returning
        :math:`-\\frac1n \\sum_i \\log \\operatorname{softmax}(Z)_{i, y_i}` as a
        float.

    Returns
    -------
    None

    Notes
    -----
    Six inputs (four hidden), compared with
    :class:`nnlib.SoftmaxCrossEntropy`: the chapter's three samples, logits
    ``(0, 800)`` whose softmax underflows to 0 (the log of that probability
    warns, a FAIL: the exercise asks for the log-softmax), random batches,
    a square ``Z`` and logits near 1000. A wrong value is compared with the
    classic mistakes (the mean over all :math:`n k` entries, the sum over the
    samples, the wrong sign, the probabilities of the wrong entries).
    """
    name = "cross_entropy_from_logits"
    loss = SoftmaxCrossEntropy()

    def body() -> int:
        g = _gen(702)
        cases = [
            ("the chapter's three samples", np.array([[2.0, 1.0, 0.1], [0.5, 2.5, 0.0], [1.0, 1.0, 3.0]]),
             np.array([0, 1, 0]), True),
            ("logits (0, 800), correct class 0", np.array([[0.0, 800.0]]), np.array([0]), True),
            ("hidden test 1", 3 * g.normal(size=(8, 10)), g.integers(0, 10, size=8), False),
            ("hidden test 2 (a square Z)", 2 * g.normal(size=(5, 5)), np.array([4, 0, 2, 2, 1]), False),
            ("hidden test 3 (logits near 1000)", 1000 + g.normal(size=(4, 3)), np.array([2, 0, 1, 1]), False),
            ("hidden test 4 (one sample)", g.normal(size=(1, 4)), np.array([3]), False),
        ]
        for case, Z, y, shown in cases:
            inputs = dict(Z=Z, y=y)
            where = _describe(inputs, shown)
            got = _call_on(cross_entropy_from_logits, name, inputs, where,
                           warning_hint="compute log p with the log-softmax, z - max - log(sum(exp(z - max))) "
                                        "per row, not as np.log of the softmax: a probability that underflows to 0 "
                                        "gives log(0) = -inf")
            expected = float(loss(y, Z))
            a = _as_array(got, name, "the loss")
            if a.size != 1:
                hint = ("that is one loss per sample: return their mean" if a.shape in ((len(y),), (len(y), 1))
                        else "return the mean over the samples, a single number")
                raise _Failure(f"{name} returned an array of shape {a.shape} on {case}; expected one number",
                               where + [hint])
            if a.ndim != 0:
                raise _Failure(f"{name} returned an array of shape {a.shape} on {case}; expected a float",
                               where + ["take the number out of the array: float(...) or .item()"])
            value = float(a.reshape(-1)[0])
            if not np.isfinite(value):
                raise _Failure(f"the loss is {value} on {case}", where + [f"expected {expected:.4f}"])
            if not np.isclose(value, expected, rtol=RTOL, atol=ATOL):
                hints = where + [f"expected {expected:.4f}, got {value:.4f}"]
                n, k = Z.shape
                log_p = SoftmaxCrossEntropy.log_softmax(Z)
                picked = log_p[np.arange(n), y]
                known = [
                    (expected / k, f"that is the mean over all n * k entries; average over the n samples only "
                                   f"(here k = {k} classes)"),
                    (expected * n, "that is the sum over the samples; return their mean"),
                    (-expected, "the sign is wrong: the loss is minus the mean log-probability"),
                    (float(-np.mean(log_p[:, y])), "p[:, y] picks whole columns (an n x n table); pick one entry "
                                                   "per row: p[np.arange(n), y]"),
                    (float(-np.mean(Z[np.arange(n), y])), "the logits are not log-probabilities: subtract the "
                                                          "log-sum-exp of each row"),
                    (float(-np.mean(np.exp(picked))), "take the log of the probabilities"),
                ]
                hints += [msg for v, msg in known if not np.isclose(v, expected, rtol=1e-9)
                          and np.isclose(value, v, rtol=1e-9, atol=1e-12)][:1]
                raise _Failure(f"wrong loss on {case}", hints)
        return len(cases)

    return body()


@exercise("ex-09-confusion-matrix", answers=("confusion_matrix",),
          forbidden=("nnlib.metrics.confusion_matrix", "sklearn.metrics.confusion_matrix",))
def check_confusion_matrix(confusion_matrix: Callable[[np.ndarray, np.ndarray, int], np.ndarray]) -> int:
    """Check ``confusion_matrix(y_true, y_pred, k)``: counts of (true class, predicted class) pairs.

    Parameters
    ----------
    confusion_matrix : callable
        ``confusion_matrix(y_true, y_pred, k)`` with integer labels
        ``y_true`` and ``y_pred`` of shape ``(n,)`` in ``0 .. k-1``, returning a
        ``(k, k)`` array whose entry ``[i, j]`` counts the samples of true
        class ``i`` predicted as ``j``.

    Returns
    -------
    None

    Notes
    -----
    Five inputs (three hidden), among them a class that never occurs (the
    matrix must still be ``k`` by ``k``) and many repeated pairs (a fancy-indexed
    ``C[y_true, y_pred] += 1`` counts each pair only once). A wrong answer is
    compared with the transposed matrix and with row-normalised fractions.
    """
    name = "confusion_matrix"

    def reference(y_true, y_pred, k):
        # pair (i, j) as the single number i * k + j, counted with bincount
        return np.bincount(np.asarray(y_true) * k + np.asarray(y_pred), minlength=k * k).reshape(k, k)

    def body() -> int:
        g = _gen(703)
        y_big = g.integers(0, 10, size=200)
        p_big = np.where(g.random(200) < 0.8, y_big, g.integers(0, 10, size=200))
        cases = [
            ("the first example", np.array([0, 0, 1, 2, 2, 2]), np.array([0, 1, 1, 2, 0, 2]), 3, True),
            ("a class that never occurs", np.array([0, 1, 1, 0]), np.array([1, 1, 0, 0]), 3, True),
            ("hidden test 1 (200 samples, 10 classes)", y_big, p_big, 10, False),
            ("hidden test 2", np.array([1, 0, 1, 1, 0, 1, 1]), np.array([0, 0, 0, 1, 1, 0, 1]), 2, False),
            ("hidden test 3", np.array([3, 3, 1, 0, 2, 3]), np.array([2, 3, 3, 0, 1, 1]), 4, False),
        ]
        for case, y_true, y_pred, k, shown in cases:
            inputs = dict(y_true=y_true, y_pred=y_pred, k=k)
            where = _describe(inputs, shown)
            got = _call_on(confusion_matrix, name, inputs, where)
            expected = reference(y_true, y_pred, k)
            if not isinstance(got, np.ndarray):
                raise _Failure(f"{name} returned a {type(got).__name__} on {case}; expected a NumPy array",
                               where + ["build the counts in an array, np.zeros((k, k), dtype=int), and return it"])

            def fancy(y_true=y_true, y_pred=y_pred, k=k):
                C = np.zeros((k, k))
                C[y_true, y_pred] += 1
                return C

            def shape_hint(shape, k=k):
                if len(shape) == 2 and shape[0] == shape[1] and shape[0] < k:
                    return (f"the matrix is k by k with k = {k}, even when a class never occurs: "
                            "size it with k, not with the largest label")
                return f"one row and one column per class: ({k}, {k})"

            _check_array(
                got, expected.astype(np.float64), name=name, what="the confusion matrix", case=case, where=where,
                shown=shown, shape_hint=shape_hint,
                candidates=[
                    (lambda e=expected: e.T, "the matrix is transposed: rows are the true classes (y_true), "
                                             "columns the predicted ones (y_pred)"),
                    (fancy, "C[y_true, y_pred] += 1 counts a repeated pair only once (fancy indexing does not "
                            "accumulate): count the samples one at a time, with a loop or with np.add.at, "
                            "which accumulates"),
                    (lambda e=expected: e / np.maximum(e.sum(axis=1, keepdims=True), 1),
                     "return the counts, not the fractions of each row"),
                ],
            )
        return len(cases)

    return body()



# ---------------------------------------------------------------------------------------------
# The experiment: a small network for the digits
# ---------------------------------------------------------------------------------------------
@exercise("ex-09-experiment", answers=("train_digits",), forbidden=())
def check_small_digits(train_digits: Callable[[np.ndarray, np.ndarray], Any]) -> int:
    """Check ``train_digits(X, y)``: a trained digits classifier with at most 1,000 parameters.

    Parameters
    ----------
    train_digits : callable
        ``train_digits(X, y)`` with 1200 images of ``load_digits`` (pixels
        divided by 16, shape ``(1200, 64)``) and their integer labels,
        returning a trained :class:`nnlib.Model` with 64 inputs, 10 outputs
        (logits or probabilities) and at most 1,000 trainable parameters.

    Returns
    -------
    None

    Notes
    -----
    Two random splits of the 1797 images (1200 to train on, the other 597
    held out), drawn afresh by the class checker. Each returned model is
    believed only as data: a fresh ``nnlib`` model is rebuilt from its layers'
    types, settings and parameters (:func:`coursework._experiment.rebuilt_model`),
    and the checker measures it on the held-out images. The accuracy over the
    2 x 597 held-out images must reach 0.95.
    """
    from sklearn.datasets import load_digits

    from ._experiment import check_inputs, measured_accuracy, rebuilt_model

    name = "train_digits"
    n_train, n_splits, limit, target = 1200, 2, 1000, 0.95

    def body() -> int:
        digits = load_digits()
        X_all, y_all = digits.data / 16.0, digits.target
        correct = total = 0
        sizes = []
        for k in range(n_splits):
            order = _gen(930 + k).permutation(len(y_all))
            train, held_out = order[:n_train], order[n_train:]
            where = [f"split {k + 1} of {n_splits}: {n_train} training images, {len(held_out)} held out"]
            returned = _call(train_digits, name, (X_all[train].copy(), y_all[train].copy()), where)
            model = rebuilt_model(returned, f"the model {name} returned")
            check_inputs(model, 64, 10, f"the model {name} returned")
            if model.n_params > limit:
                raise _Failure(f"the model has {model.n_params:,} trainable parameters (limit {limit:,})",
                               where + ["the chapter's 64-128-10 network has 9,610: think about how wide a "
                                        "hidden layer the digits need, or whether they need one at all"])
            sizes.append(model.n_params)
            accuracy = measured_accuracy(model, X_all[held_out], y_all[held_out])
            correct += round(accuracy * len(held_out))
            total += len(held_out)
        mean = correct / total
        measured = (f"accuracy {mean:.3f} on {total} held-out images (target {target}), "
                    f"{max(sizes):,} parameters (limit {limit:,})")
        if mean < target:
            raise _Failure(measured, ["a narrow hidden layer loses information the ten classes need; "
                                      "train longer, or change the width or the learning rate"])
        return Measured(n_splits, measured)
    return body()
