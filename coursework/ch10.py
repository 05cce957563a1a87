"""Checkers of chapter 10's coding exercises (generalisation: weight decay, dropout, a small model).

Each checker is registered with its exercise's label, the names of the answer
functions and the library functions an answer must not call (see
:mod:`coursework.registry`). The check cells call them; so does the class
checker, on answers run in a sandbox.
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np

from nnlib import Model, Sigmoid

from ._checking import _Failure, _as_array, _call, _check_array, _fmt, _gen
from ._experiment import check_inputs, rebuilt_model
from .registry import exercise

# The chapter's data: 80 training points, 200 validation points (see the chapter's first section).
NOISE = 0.35
# The small-model exercise's target, on fresh data drawn by the checker.
TARGET_ACCURACY = 0.86
MAX_PARAMETERS = 1500
# the layers the exercise allows (a Softmax, for one, is not one of them)
ALLOWED_LAYERS = ("Dense", "ReLU", "Tanh", "Sigmoid", "Dropout")
HIDDEN_POINTS = 10_000


def chapter_data() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The chapter's training and validation sets, ``(X_train, y_train, X_val, y_val)``, drawn as it draws them."""
    from sklearn.datasets import make_moons
    from sklearn.model_selection import train_test_split

    X_all, y_all = make_moons(n_samples=2280, noise=NOISE, random_state=0)
    y_all = y_all.astype(float)
    X_train, X_rest, y_train, y_rest = train_test_split(X_all, y_all, train_size=80, random_state=1)
    X_val, _, y_val, _ = train_test_split(X_rest, y_rest, train_size=200, random_state=2)
    return X_train, y_train, X_val, y_val


# ---------------------------------------------------------------------------------------------
# L2 weight decay
# ---------------------------------------------------------------------------------------------
@exercise("ex-10-l2-penalty", answers=("l2_penalty_and_grad",),
          forbidden=("nnlib.model.Model.penalty", "nnlib.model.Model._add_penalty"))
def check_l2_penalty_and_grad(l2_penalty_and_grad: Callable[..., tuple]) -> int:
    """Check ``l2_penalty_and_grad(weights, lam)``: the weight-decay penalty and its gradients.

    Parameters
    ----------
    l2_penalty_and_grad : callable
        ``l2_penalty_and_grad(weights, lam)`` with ``weights`` a list of
        weight matrices, returning ``(penalty, grads)``: the number
        :math:`\\tfrac{\\lambda}{2}\\sum_k \\lVert W_k \\rVert^2` and a list
        with :math:`\\lambda W_k` for every matrix, as new arrays.

    Returns
    -------
    None

    Notes
    -----
    Four cases (three hidden: three matrices of different shapes, a single
    matrix with ``lam = 0``, a large ``lam``); the penalty and every
    gradient are compared with the formulas above. A wrong
    answer is compared with the classic mistakes: the factor 1/2 missing, the
    norm instead of its square, the gradient ``2 lam W``.
    """
    name = "l2_penalty_and_grad"

    def body() -> int:
        g_ = _gen(1001)
        cases = [
            ("the first example", [np.array([[1.0, -2.0], [0.5, 0.0]]), np.array([[3.0], [-1.0]])], 0.1, True),
            ("hidden test 1 (three matrices)", [g_.normal(size=(2, 5)), g_.normal(size=(5, 4)),
                                                g_.normal(size=(4, 1))], 0.01, False),
            ("hidden test 2 (lam = 0)", [g_.normal(size=(3, 3))], 0.0, False),
            ("hidden test 3 (large lam)", [g_.normal(size=(6, 2)), g_.normal(size=(2, 2))], 2.5, False),
        ]
        for case, weights, lam, shown in cases:
            shapes = ", ".join(str(W.shape) for W in weights)
            where = ([f"input: weights = {[_fmt(W) for W in weights]}, lam = {lam}"] if shown
                     else [f"input: {len(weights)} matrices of shapes {shapes}, lam = {lam}"])
            given = [W.copy() for W in weights]
            result = _call(l2_penalty_and_grad, name, (given, lam), where)
            if any(not np.array_equal(a, b) for a, b in zip(given, weights)) or len(given) != len(weights):
                raise _Failure(f"{name} modified the weights it was given; return new arrays", where)
            if not isinstance(result, (tuple, list)) or len(result) != 2:
                got = f"{len(result)} values" if isinstance(result, (tuple, list)) else f"a {type(result).__name__}"
                raise _Failure(f"{name} must return a pair (penalty, grads), got {got}", where + ["return a tuple: the penalty, then the list of gradients"])
            penalty_raw, grads = result
            penalty = _as_array(penalty_raw, name, "the penalty")
            if penalty.size != 1:
                raise _Failure(f"the penalty has shape {penalty.shape} on {case}, expected a single number",
                               where + ["add up the squares of every matrix into one number"])
            penalty = float(penalty.reshape(-1)[0])
            squares = sum(float(np.sum(W * W)) for W in weights)
            expected = 0.5 * lam * squares
            if not np.isclose(penalty, expected, rtol=1e-7, atol=1e-10):
                hints = where + [f"expected penalty = {expected:.6g}", f"got      penalty = {penalty:.6g}"]
                if np.isclose(penalty, lam * squares, rtol=1e-7) and lam:
                    hints.append("twice the expected value: the penalty is (lam / 2) * sum of squares")
                elif np.isclose(penalty, 0.5 * lam * sum(float(np.sqrt(np.sum(W * W))) for W in weights), rtol=1e-7):
                    hints.append("that is the norm, not its square: sum the squared entries, without a square root")
                elif np.isclose(penalty, 0.5 * lam * sum(float(np.sum(W)) for W in weights), rtol=1e-7):
                    hints.append("the entries are summed without squaring them")
                raise _Failure(f"wrong penalty on {case}", hints)
            if not isinstance(grads, (list, tuple)) or len(grads) != len(weights):
                got = f"{len(grads)} arrays" if isinstance(grads, (list, tuple)) else f"a {type(grads).__name__}"
                raise _Failure(f"grads must be a list of {len(weights)} arrays, one per matrix, got {got} on {case}",
                               where)
            for k, (W, gW) in enumerate(zip(weights, grads)):
                _check_array(gW, lam * W, name=name, what=f"grads[{k}]", case=case, where=where, shown=shown,
                             shape_hint=lambda shape, s=W.shape: f"each gradient has the shape of its matrix, {s}",
                             candidates=[
                                 (lambda W=W: 2 * lam * W, "the gradient of (lam / 2) * W**2 is lam * W, not 2 lam W"),
                                 (lambda W=W: 0.5 * lam * W, "the gradient of (lam / 2) * W**2 is lam * W: "
                                                              "the 2 of the square cancels the 1/2"),
                                 (lambda W=W: W * (1 - lam), "that is the decayed weight after a step, "
                                                             "not the gradient lam * W"),
                             ])
        return len(cases)

    return body()


# ---------------------------------------------------------------------------------------------
# Inverted dropout
# ---------------------------------------------------------------------------------------------
def _pair(result: Any, name: str, where: list[str]) -> tuple[Any, Any]:
    if not isinstance(result, (tuple, list)) or len(result) != 2:
        got = f"{len(result)} values" if isinstance(result, (tuple, list)) else f"a {type(result).__name__}"
        raise _Failure(f"{name} must return a pair (output, mask), got {got}", where + ["return a tuple: the output, then the 0/1 mask"])
    return result[0], result[1]


@exercise("ex-10-dropout-forward", answers=("dropout_forward",),
          forbidden=("nnlib.layers.Dropout._forward", "nnlib.layers.Dropout.forward"))
def check_dropout_forward(dropout_forward: Callable[..., tuple]) -> int:
    """Check ``dropout_forward(x, rate, rng)``: inverted dropout while training.

    Parameters
    ----------
    dropout_forward : callable
        ``dropout_forward(x, rate, rng)`` returning ``(out, mask)``: ``mask``
        of the shape of ``x``, 1 where an entry is kept (probability
        ``1 - rate``, drawn from the generator ``rng``) and 0 where it is
        dropped, and ``out = x * mask / (1 - rate)``.

    Returns
    -------
    None

    Notes
    -----
    The mask must hold only zeros and ones and the output must equal
    ``x * mask / (1 - rate)`` (so the backward pass, ``grad * mask / (1 - rate)``,
    follows from it); on 200,000 entries the fraction dropped must be within
    0.01 of ``rate`` and the mean of ``dropout_forward(ones)`` within 0.01 of
    1, and no row or column of the mask may be all kept or all dropped (one
    draw per entry); rate 0 must give ``x`` back; the same seed must give the same mask and
    another seed another mask (the draws come from ``rng``, not NumPy's global
    generator); ``x`` must stay unchanged.
    """
    name = "dropout_forward"

    def call(x: np.ndarray, rate: float, seed: Any, where: list[str]) -> tuple[np.ndarray, np.ndarray]:
        given = x.copy()
        out_raw, mask_raw = _pair(_call(dropout_forward, name, (given, rate, np.random.default_rng(seed)), where),
                                  name, where)
        if not np.array_equal(given, x):
            raise _Failure(f"{name} modified its input x in place; return a new array", where)
        out = _as_array(out_raw, name, "the output")
        mask = _as_array(mask_raw, name, "the mask")
        for what, a in (("the output", out), ("the mask", mask)):
            if a.shape != x.shape:
                raise _Failure(f"{what} has shape {a.shape}, expected {x.shape}, the shape of x", where)
        if not np.all((mask == 0) | (mask == 1)):
            hint = ("the mask holds other values than 0 and 1" +
                    (": return the 0/1 mask, not the mask already divided by (1 - rate)"
                     if rate and np.allclose(mask[mask != 0], 1 / (1 - rate)) else ""))
            raise _Failure("the mask must hold only 0 (dropped) and 1 (kept)", where + [hint])
        _check_array(out, x * mask / (1 - rate), name=name, what="the output", case="this input", where=where,
                     shown=False,
                     candidates=[(lambda: x * mask, "the kept entries must be divided by 1 - rate (inverted "
                                                    "dropout), so that their expected value stays x"),
                                 (lambda: x * mask * (1 - rate), "divide by 1 - rate, do not multiply"),
                                 (lambda: x * (1 - mask) / (1 - rate), "the mask is 1 where an entry is KEPT")])
        return (out, mask)

    def body() -> int:
        g_ = _gen(1002)
        checks = 0
        # small cases: shapes, the formula, x unchanged
        for shape, rate in (((4, 3), 0.5), ((7,), 0.2), ((5, 2, 3), 0.9)):
            x = g_.normal(size=shape)
            call(x, rate, int(g_.integers(2**31)), [f"input: x of shape {shape}, rate = {rate}"])
            checks += 1
        # the statistics, on many entries
        for rate in (0.3, 0.5):
            where = [f"input: x = np.ones((1000, 200)), rate = {rate}"]
            x = np.ones((1000, 200))
            out, mask = call(x, rate, int(g_.integers(2**31)), where)
            # one draw per entry: not one per sample (a whole row kept or dropped) or per feature
            # (a whole column); for 200 or 1000 independent draws an all-equal line never happens
            for axis, line in ((1, "sample (row)"), (0, "feature (column)")):
                if 0 < mask.mean() < 1 and np.mean(np.all(mask == mask.take([0], axis=axis), axis=axis)) > 0.5:
                    raise _Failure(f"the mask keeps or drops each {line} as a whole",
                                   where + ["draw one value per entry, for a mask of the shape of x: "
                                            "rng.random(x.shape) >= rate"])
            dropped = 1.0 - float(mask.mean())
            if abs(dropped - rate) > 0.01:
                raise _Failure(f"{dropped:.3f} of the entries were dropped, expected about rate = {rate}",
                               where + ["each entry is dropped with probability rate, kept with 1 - rate"])
            if abs(float(out.mean()) - 1.0) > 0.01:
                raise _Failure(f"the mean of the output is {float(out.mean()):.3f}, expected about 1 (the mean of x)",
                               where)
            checks += 1
        # rate 0: nothing dropped
        x = g_.normal(size=(6, 5))
        where = ["input: x of shape (6, 5), rate = 0"]
        out, mask = call(x, 0.0, 5, where)
        if not np.all(mask == 1) or not np.allclose(out, x, rtol=1e-12, atol=0):
            raise _Failure("with rate 0 nothing is dropped: the mask is all ones and the output is x", where)
        checks += 1
        # the draws come from rng: the same seed, the same mask; another seed, another mask
        x = g_.normal(size=(50, 40))
        where = ["input: x of shape (50, 40), rate = 0.5, two generators with the same seed"]
        seed = int(g_.integers(2**31))
        _, mask_a = call(x, 0.5, seed, where)
        _, mask_b = call(x, 0.5, seed, where)
        if not np.array_equal(mask_a, mask_b):
            raise _Failure("two generators with the same seed gave different masks",
                           where + ["draw the mask from the generator rng you are given (rng.random(...)), "
                                    "not from np.random"])
        _, mask_c = call(x, 0.5, seed + 1, ["input: x of shape (50, 40), rate = 0.5, another seed"])
        if np.array_equal(mask_a, mask_c):
            raise _Failure("generators with different seeds gave the same mask",
                           where + ["draw the mask from the generator rng you are given"])
        checks += 2
        return checks

    return body()


# ---------------------------------------------------------------------------------------------
# A small model that generalises
# ---------------------------------------------------------------------------------------------
def _rebuild(model: Any) -> tuple[Model, int]:
    """A fresh copy of ``model`` (see :func:`coursework._experiment.rebuilt_model`) and its parameter count.

    Nothing of the given object is called: only nnlib's own layers are rebuilt,
    from their settings and copies of their parameter arrays, so the copy
    predicts with nnlib's code alone.
    """
    fresh = rebuilt_model(model, "the returned model")
    check_inputs(fresh, 2, 1, "the returned model")
    other = sorted({type(layer).__name__ for layer in fresh.layers} - set(ALLOWED_LAYERS))
    if other:
        raise _Failure(f"the model uses {', '.join(other)}, which the exercise does not allow",
                       [f"use only nnlib's {', '.join(ALLOWED_LAYERS)} layers"])
    if type(fresh.layers[-1]) is not Sigmoid:
        raise _Failure("the model must end with Dense(..., 1) and Sigmoid(): one probability per point",
                       [f"its layers: {', '.join(type(layer).__name__ for layer in fresh.layers)}"])
    return fresh, fresh.n_params


@exercise("ex-10-small-model", answers=("train_small_model",))
def check_small_model(train_small_model: Callable[..., Any]) -> int:
    """Check ``train_small_model(X_train, y_train, X_val, y_val)``: a small model that generalises.

    Parameters
    ----------
    train_small_model : callable
        ``train_small_model(X_train, y_train, X_val, y_val)``, given the
        chapter's 80 training and 200 validation points, returning a trained
        :class:`nnlib.Model` of at most ``MAX_PARAMETERS`` (1,500) parameters
        that ends with ``Sigmoid()``.

    Returns
    -------
    None

    Notes
    -----
    The returned model is not trusted: its type and its layers' types must be
    exactly ``nnlib``'s, and among ``ALLOWED_LAYERS``, and a fresh model is built from the layers' sizes and
    copies of their parameter arrays (see :func:`_rebuild`), so none of the
    reader's code runs while it is scored. The copy must classify at least
    ``TARGET_ACCURACY`` (86 %) of 10,000 fresh points drawn from the same
    distribution as the chapter's data, with a seed taken from the checker's
    hidden generator.
    """
    name = "train_small_model"

    def body() -> int:
        from sklearn.datasets import make_moons

        X_train, y_train, X_val, y_val = chapter_data()
        where = ["input: the chapter's X_train, y_train, X_val, y_val (80 and 200 points)"]
        model = _call(train_small_model, name, (X_train.copy(), y_train.copy(), X_val.copy(), y_val.copy()), where)
        fresh, n_params = _rebuild(model)
        if n_params > MAX_PARAMETERS:
            raise _Failure(f"the model has {n_params} parameters, more than the {MAX_PARAMETERS} allowed",
                           ["make it smaller: fewer or narrower layers"])
        seed = int(_gen(1003).integers(2**31 - 1))
        X_new, y_new = make_moons(n_samples=HIDDEN_POINTS, noise=NOISE, random_state=seed)
        with np.errstate(all="ignore"):
            p = fresh.predict(X_new)
        if not np.isfinite(p).all():
            raise _Failure("the model's output contains NaN or infinity on fresh data", [])
        correct = int(np.sum((p.reshape(-1) > 0.5) == (y_new == 1)))
        if correct < TARGET_ACCURACY * HIDDEN_POINTS:
            raise _Failure(f"the model classifies {correct / HIDDEN_POINTS:.1%} of {HIDDEN_POINTS} fresh points "
                           f"correctly, below the target of {TARGET_ACCURACY:.0%}",
                           [f"it has {n_params} parameters (at most {MAX_PARAMETERS} allowed)",
                            "choose its size and regularisation on the validation data"])
        return 3

    return body()
