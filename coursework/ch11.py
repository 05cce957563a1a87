"""Checkers of chapter 11's coding exercises (when training fails).

Each checker is registered with its exercise's label, the names of the answer
functions and the library functions an answer must not call (see
:mod:`coursework.registry`). The check cells call them; so does the class
checker, on answers run in a sandbox.
"""

from __future__ import annotations

import math
from typing import Any, Callable

import numpy as np

from nnlib import (MSE, SGD, BinaryCrossEntropy, Dense, Model, ReLU, Sigmoid, Tanh, TrainingDivergedError,
                   accuracy)

from ._checking import _Failure, _as_array, _call_on, _check_array, _describe, _gen
from .registry import exercise


def _reference_standardize(X_train: np.ndarray, X_test: np.ndarray):
    mean = X_train.mean(axis=0)
    spread = X_train.std(axis=0)
    spread[spread == 0] = 1.0
    return (X_train - mean) / spread, (X_test - mean) / spread, mean, spread


@exercise("ex-11-standardize", answers=("standardize",),
          forbidden=("sklearn.preprocessing.scale", "sklearn.preprocessing.StandardScaler.partial_fit",))
def check_standardize(standardize: Callable[[np.ndarray, np.ndarray], Any]) -> int:
    """Check ``standardize(X_train, X_test)``: both sets scaled with the training set's statistics.

    Parameters
    ----------
    standardize : callable
        ``standardize(X_train, X_test)`` returning ``(X_train_s, X_test_s,
        mean, std)``: the per-feature mean and standard deviation of
        ``X_train`` (a standard deviation of 0 replaced by 1), and both sets
        with that mean subtracted and divided by that standard deviation.

    Returns
    -------
    None

    Notes
    -----
    Five inputs (three hidden): a small example, a constant feature (dividing
    by its standard deviation 0 warns, a FAIL), features of very different
    scales whose test set comes from another distribution (so that the test
    set's own statistics give other values), a single feature, and a single
    test sample. The inputs must come back unchanged.
    """
    name = "standardize"

    def body() -> int:
        g = _gen(1101)
        scales = np.array([1.0, 100.0, 0.01, 5.0])
        shifts = np.array([0.0, 300.0, -2.0, 7.0])
        cases = [
            ("a small example", np.array([[1.0, 10.0], [2.0, 30.0], [3.0, 20.0], [6.0, 40.0]]),
             np.array([[0.0, 25.0], [4.0, 5.0]]), True),
            ("a constant feature", np.array([[1.0, 5.0], [2.0, 5.0], [4.0, 5.0]]),
             np.array([[3.0, 5.0], [0.0, 6.0]]), True),
            ("hidden test 1 (four features of very different scales)", g.normal(size=(30, 4)) * scales + shifts,
             g.normal(size=(10, 4)) * 2 * scales + shifts + scales, False),
            ("hidden test 2 (one feature)", 3 * g.normal(size=(12, 1)) + 1, g.normal(size=(5, 1)), False),
            ("hidden test 3 (one test sample)", g.normal(size=(8, 3)), g.normal(size=(1, 3)), False),
        ]
        for case, X_train, X_test, shown in cases:
            inputs = dict(X_train=X_train, X_test=X_test)
            where = _describe(inputs, shown)
            got = _call_on(standardize, name, inputs, where,
                           warning_hint="a feature that is the same in every training sample has standard "
                                        "deviation 0: divide by 1 instead")
            if not isinstance(got, (tuple, list)) or len(got) != 4:
                what = f"a {type(got).__name__}" + (f" of length {len(got)}" if isinstance(got, (tuple, list)) else "")
                raise _Failure(f"{name} returned {what} on {case}; expected a tuple (X_train_s, X_test_s, mean, std)",
                               where)
            expected = _reference_standardize(X_train, X_test)
            X_tr_s, X_te_s, mean, std = expected
            own_std = X_test.std(axis=0)
            own_std[own_std == 0] = 1.0
            own = (X_test - X_test.mean(axis=0)) / own_std
            std1 = X_train.std(axis=0, ddof=1) if len(X_train) > 1 else std
            std1[std1 == 0] = 1.0
            names = ("X_train_s", "X_test_s", "mean", "std")
            candidates = {
                "X_train_s": [(lambda: (X_train - mean) / std1, "that is the standard deviation with ddof=1; use "
                                                                "np.std's default, ddof=0")],
                "X_test_s": [(lambda: own, "the test set is scaled with its own mean and standard deviation: use "
                                           "the training set's, as the model will never see test statistics"),
                             (lambda: (X_test - mean) / std1, "that is the standard deviation with ddof=1; use "
                                                              "np.std's default, ddof=0")],
                "mean": [(lambda: X_train.mean(axis=1), "the mean of every sample, not of every feature: axis=0"),
                         (lambda: X_train.mean(), "one mean for the whole array: one mean per feature, axis=0")],
                "std": [(lambda: std1, "that is the standard deviation with ddof=1; use np.std's default, ddof=0"),
                        (lambda: X_train.std(axis=0), "a standard deviation of 0 must be replaced by 1")],
            }
            for part, value, exp in zip(names, got, expected):
                def shape_hint(shape, part=part, exp=exp):
                    return f"{part} has shape {exp.shape}" + (": one value per feature (column)"
                                                               if part in ("mean", "std") else "")
                _check_array(value, exp, name=name, what=part, case=case, where=where, shown=shown,
                             shape_hint=shape_hint, candidates=candidates[part])
        return len(cases)

    return body()


def _gradient_cases():
    g = _gen(1102)
    X1 = g.normal(size=(6, 2))
    y1 = (g.random(6) > 0.5).astype(float)
    X2, y2 = g.normal(size=(9, 3)), g.normal(size=(9, 2))
    X3 = g.normal(size=(7, 4))
    y3 = (g.random(7) > 0.5).astype(float)
    X4, y4 = g.normal(size=(5, 2)), g.normal(size=(5, 1))

    def deep():
        layers = [Dense(4, 8, init="normal", rng=40), Tanh()]
        for i in range(3):
            layers += [Dense(8, 8, init="normal", rng=41 + i), Tanh()]
        return Model(layers + [Dense(8, 1, rng=45), Sigmoid()])

    return [
        ("a 2-4-1 sigmoid network (binary cross-entropy)",
         lambda: Model([Dense(2, 4, rng=1), Sigmoid(), Dense(4, 1, rng=2), Sigmoid()]), X1, y1,
         BinaryCrossEntropy(), True),
        ("hidden test 1 (a ReLU network with two outputs, MSE)",
         lambda: Model([Dense(3, 5, init="he", rng=10), ReLU(), Dense(5, 5, init="he", rng=11), ReLU(),
                        Dense(5, 2, rng=12)]), X2, y2, MSE(), False),
        ("hidden test 2 (five tanh layers, standard normal weights)", deep, X3, y3, BinaryCrossEntropy(), False),
        ("hidden test 3 (one Dense layer)", lambda: Model([Dense(2, 1, rng=30)]), X4, y4, MSE(), False),
    ]


@exercise("ex-11-gradient-norms", answers=("layer_gradient_norms",))
def check_layer_gradient_norms(layer_gradient_norms: Callable[..., Any]) -> int:
    """Check ``layer_gradient_norms(model, X, y, loss)``: the Frobenius norm of every Dense layer's dL/dW.

    Parameters
    ----------
    layer_gradient_norms : callable
        ``layer_gradient_norms(model, X, y, loss)`` returning a list with one
        float per Dense layer of ``model``, in order: the Frobenius norm
        :math:`\\lVert \\partial L/\\partial W \\rVert` of its weight gradient for
        the batch ``(X, y)``.

    Returns
    -------
    None

    Notes
    -----
    Four models (three hidden), each built afresh for the answer and for the
    reference: sigmoid, ReLU, deep tanh with standard normal weights, a
    single Dense layer; binary cross-entropy and MSE. A wrong answer is
    compared with the squared norms, with norms that include the biases and
    with the mean absolute gradient.
    """
    name = "layer_gradient_norms"

    def body() -> int:
        cases = _gradient_cases()
        for case, build, X, y, loss, shown in cases:
            inputs = dict(model=build(), X=X, y=y, loss=loss)
            where = _describe(dict(X=X, y=y), shown)
            where = [f"model: {case.split(' (')[0] if shown else 'a hidden model'}"] + where
            got = _call_on(layer_gradient_norms, name, inputs, where)
            reference = build()
            reference.compute_gradients(X, y, loss)
            dense = [layer for layer in reference.layers if isinstance(layer, Dense)]
            expected = np.array([np.linalg.norm(layer.grads["W"]) for layer in dense])

            def shape_hint(shape, k=len(dense)):
                return f"one number per Dense layer: {k} of them (activation layers have no weights)"

            _check_array(
                got, expected, name=name, what="the gradient norms", case=case, where=where, shown=shown,
                shape_hint=shape_hint,
                candidates=[
                    (lambda: expected**2, "those are the squared norms: take the square root"),
                    (lambda: np.array([math.sqrt(np.sum(d.grads["W"] ** 2) + np.sum(d.grads["b"] ** 2))
                                       for d in dense]), "the biases are included: the norm of dW alone"),
                    (lambda: np.array([np.linalg.norm(d.grads["b"]) for d in dense]),
                     "those are the norms of the bias gradients, grads['b']: use grads['W']"),
                    (lambda: np.array([np.mean(np.abs(d.grads["W"])) for d in dense]),
                     "that is the mean absolute gradient: the Frobenius norm is the square root of the sum "
                     "of squares"),
                    (lambda: np.array([np.linalg.norm(d.params["W"]) for d in dense]),
                     "those are the norms of the weights themselves, params['W']: use grads['W']"),
                ],
            )
        return len(cases)

    return body()


# -- the open-ended exercise: a recipe that trains badly scaled data -------------------------------------------
RECIPE_SCALE = np.array([1.0, 100.0])
RECIPE_SHIFT = np.array([0.0, 300.0])
RECIPE_EPOCHS, RECIPE_BATCH, RECIPE_TARGET = 10, 32, 0.90


def recipe_data(seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Badly scaled two moons: 600 training and 400 test points, the second feature times 100, plus 300."""
    from sklearn.datasets import make_moons

    X, y = make_moons(n_samples=1000, noise=0.2, random_state=int(seed))
    X = X * RECIPE_SCALE + RECIPE_SHIFT
    y = y.astype(float)
    return X[:600], y[:600], X[600:], y[600:]


def recipe_network(seed: int) -> Model:
    """The network the recipe's checker trains: 2-16-16-1, ReLU, He initialisation."""
    return Model([Dense(2, 16, init="he", rng=seed), ReLU(), Dense(16, 16, init="he", rng=seed + 1), ReLU(),
                  Dense(16, 1, rng=seed + 2), Sigmoid()])


def recipe_accuracy(X_train, y_train, X_test, y_test, mean, std, lr, seed) -> float | None:
    """Train the fixed network with the recipe; return its test accuracy, or None if training diverged."""
    model = recipe_network(seed)
    try:
        with np.errstate(all="ignore"):
            model.fit((X_train - mean) / std, y_train, loss=BinaryCrossEntropy(), optimizer=SGD(lr=lr),
                      epochs=RECIPE_EPOCHS, batch_size=RECIPE_BATCH, rng=seed)
            return float(accuracy(y_test, model.predict((X_test - mean) / std)))
    except TrainingDivergedError:
        return None


def _recipe_numbers(got: Any, case: str, where: list[str]) -> tuple[np.ndarray, np.ndarray, float]:
    """The recipe's plain numbers, or a FAIL saying what is wrong with them."""
    name = "scaling_recipe"
    if not isinstance(got, dict) or set(got) != {"mean", "std", "lr"}:
        keys = sorted(map(str, got)) if isinstance(got, dict) else None
        raise _Failure(f"{name} returned " + (f"a dict with keys {keys}" if keys is not None
                                               else f"a {type(got).__name__}")
                       + f" on {case}; expected a dict with the keys 'mean', 'std' and 'lr'", where)
    mean = _as_array(got["mean"], name, "the mean")
    std = _as_array(got["std"], name, "the standard deviation")
    for what, a in (("mean", mean), ("std", std)):
        if a.shape != (2,):
            raise _Failure(f"{what} has shape {a.shape} on {case}; expected (2,), one value per feature", where)
        if not np.all(np.isfinite(a)):
            raise _Failure(f"{what} contains NaN or infinity on {case}", where)
    if not np.all(std > 0):
        raise _Failure(f"std must be positive on {case}", where)
    lr = got["lr"]
    if isinstance(lr, bool) or not isinstance(lr, (int, float, np.integer, np.floating)):
        raise _Failure(f"lr is a {type(lr).__name__} on {case}; expected a number", where)
    lr = float(lr)
    if not (math.isfinite(lr) and 0 < lr <= 100):
        raise _Failure(f"lr = {lr:g} on {case}; choose a learning rate between 0 and 100", where)
    return mean, std, lr


@exercise("ex-11-scaling-recipe", answers=("scaling_recipe",))
def check_scaling_recipe(scaling_recipe: Callable[[np.ndarray, np.ndarray], Any]) -> int:
    """Check ``scaling_recipe(X_train, y_train)`` by training with it: 90 % test accuracy within 10 epochs.

    Parameters
    ----------
    scaling_recipe : callable
        ``scaling_recipe(X_train, y_train)`` returning a dict ``{"mean":
        ..., "std": ..., "lr": ...}``: the two features' shift and scale
        (arrays of shape ``(2,)``) and a learning rate for plain SGD.

    Returns
    -------
    None

    Notes
    -----
    The answer only chooses numbers; the checker does the training itself,
    so no code of the answer runs after it returns. On three badly scaled
    two-moons data sets (one shown, two hidden, from :func:`recipe_data`) it
    trains :func:`recipe_network` on ``(X_train - mean) / std`` with
    ``SGD(lr)``, batches of 32, for 10 epochs, and measures the accuracy on
    400 test points the answer never sees. Each must reach 90 %.
    """
    name = "scaling_recipe"

    def body() -> int:
        g = _gen(1103)
        seeds = [("the data set of the exercise (seed 11)", 11, True)]
        seeds += [(f"hidden test {i}", int(g.integers(1000, 2**31 - 1)), False) for i in (1, 2)]
        for case, seed, shown in seeds:
            X_train, y_train, X_test, y_test = recipe_data(seed)
            where = [f"input: {case}" if shown else "input: a hidden data set made like the exercise's"]
            got = _call_on(scaling_recipe, name, dict(X_train=X_train, y_train=y_train), where)
            mean, std, lr = _recipe_numbers(got, case, where)
            acc = recipe_accuracy(X_train, y_train, X_test, y_test, mean, std, lr, seed=seed % 1000)
            if acc is None:
                raise _Failure(f"training diverged with lr = {lr:g} on {case}",
                               where + ["the steps were too large: a smaller learning rate, or better scaled "
                                        "inputs"])
            if acc < RECIPE_TARGET:
                raise _Failure(f"test accuracy {acc:.1%} after {RECIPE_EPOCHS} epochs on {case}, below "
                               f"{RECIPE_TARGET:.0%}",
                               where + [f"lr = {lr:g}, mean = {np.round(mean, 4).tolist()}, "
                                        f"std = {np.round(std, 4).tolist()}",
                                        "are both features on the same scale after (X - mean) / std? Is the "
                                        "learning rate in the window of the chapter's sweep?"])
        return len(seeds)

    return body()
