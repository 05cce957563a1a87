"""Checkers of chapter 2's coding exercises (layers).

Each checker is registered with its exercise's label, the names of the answer
functions and the library functions an answer must not call (see
:mod:`coursework.registry`). The check cells call them; so does the class
checker, on answers run in a sandbox.
"""

from __future__ import annotations

from typing import Any, Callable, Sequence

import numpy as np

from nnlib import Dense, ReLU

from ._checking import (Measured, _Failure, _call, _call_on, _check_array, _describe, _fmt, _as_array, _gen, _layers_text,
                        _salted)
from ._experiment import rebuilt_model
from .registry import exercise


_X_CHAPTER2 = np.array([[1.0, 2.0, 0.0], [0.0, 1.0, 1.0], [2.0, 0.0, 1.0], [1.0, 1.0, 1.0]])
_W_CHAPTER2 = np.array([[0.5, -1.0], [0.25, 0.5], [-0.5, 1.0]])
_B_CHAPTER2 = np.array([0.1, -0.2])


@exercise("ex-02-dense-forward", answers=("dense_forward",),
          forbidden=("nnlib.layers.Dense.forward", "nnlib.layers.Dense._forward",))
def check_dense_forward(dense_forward: Callable[[np.ndarray, np.ndarray, np.ndarray], np.ndarray]) -> int:
    """Check ``dense_forward(X, W, b)``: a Dense layer's output ``X @ W + b``.

    Parameters
    ----------
    dense_forward : callable
        ``dense_forward(X, W, b)`` with ``X`` of shape ``(n, n_in)``, ``W`` of
        shape ``(n_in, n_out)`` and ``b`` of shape ``(n_out,)``, returning shape
        ``(n, n_out)``.

    Returns
    -------
    None

    Notes
    -----
    Five inputs: the chapter's batch and four hidden ones, among them a square
    ``W`` (which exposes a transposed weight matrix) and a single sample.
    """
    name = "dense_forward"

    def body() -> int:
        g = _gen(201)
        cases = [
            ("the chapter's batch", dict(X=_X_CHAPTER2, W=_W_CHAPTER2, b=_B_CHAPTER2), True),
            ("hidden test 1", dict(X=g.normal(size=(6, 5)), W=g.normal(size=(5, 3)), b=g.normal(size=3)), False),
            ("hidden test 2", dict(X=g.normal(size=(3, 4)), W=g.normal(size=(4, 4)), b=g.normal(size=4)), False),
            ("hidden test 3", dict(X=g.normal(size=(1, 3)), W=g.normal(size=(3, 2)), b=g.normal(size=2)), False),
            ("hidden test 4", dict(X=g.normal(size=(10, 2)), W=g.normal(size=(2, 1)), b=g.normal(size=1)), False),
        ]
        for case, inputs, shown in cases:
            X, W, b = inputs["X"], inputs["W"], inputs["b"]
            where = _describe(inputs, shown)
            got = _call_on(dense_forward, name, inputs, where)
            expected = X @ W + b

            def shape_hint(shape, expected=expected):
                if shape == expected.shape[::-1]:
                    return ("that is one column per sample (source B's layout); this book keeps one row "
                            "per sample: Z = X @ W + b")
                return f"the output has one row per sample and one column per neuron: {expected.shape}"

            _check_array(
                got, expected, name=name, what="the output", case=case, where=where, shown=shown,
                shape_hint=shape_hint,
                candidates=[
                    (lambda X=X, W=W: X @ W, "the bias b is missing"),
                    (lambda X=X, W=W, b=b: X @ W.T + b, "W is used transposed; it has one row per input and "
                                                       "one column per neuron, so Z = X @ W + b"),
                    (lambda X=X, W=W, b=b: X @ W - b, "b must be added, not subtracted"),
                ],
            )
        return len(cases)

    return body()


@exercise("ex-02-count-parameters", answers=("count_parameters",),
          forbidden=("nnlib.layers.Layer.n_params", "nnlib.model.Model.n_params", "nnlib.model.Model.summary",))
def check_count_parameters(count_parameters: Callable[[Sequence[int]], int]) -> int:
    """Check ``count_parameters(layer_sizes)``: the number of weights and biases of a Dense network.

    Parameters
    ----------
    count_parameters : callable
        ``count_parameters(layer_sizes)`` for a list such as ``[4, 8, 1]``
        (4 inputs, a layer of 8 neurons, a layer of 1), returning an int.

    Returns
    -------
    None

    Notes
    -----
    Six networks, four of them hidden. The count is
    :math:`\\sum_l (n_{l-1} n_l + n_l)`.
    """
    name = "count_parameters"
    networks = [
        ("source A's 4-8-1 network", [4, 8, 1], True),
        ("source B's 2-4-6-6-4-1 network", [2, 4, 6, 6, 4, 1], True),
        ("hidden test 1", [2, 64, 32, 16, 1], False),
        ("hidden test 2", [784, 128, 10], False),
        ("hidden test 3", [3, 3], False),
        ("hidden test 4", [1, 1, 1, 1], False),
    ]

    def body() -> int:
        for case, sizes, shown in networks:
            where = [f"input: layer_sizes = {sizes}" if shown else f"input: {case}"]
            got = _call(count_parameters, name, (list(sizes),), where)
            expected = sum(a * b + b for a, b in zip(sizes[:-1], sizes[1:]))
            if isinstance(got, (bool, np.bool_)) or not isinstance(got, (int, float, np.integer, np.floating)):
                raise _Failure(f"{name} must return a single whole number, got a {type(got).__name__} for {case}",
                               where)
            if not np.isfinite(got) or float(got) != round(float(got)):
                raise _Failure(f"{name} returned {_fmt(got)} for {case}; a count is a whole number", where)
            if int(got) != expected:
                hints = where + [f"expected {expected}, got {int(got)}"]
                weights = sum(a * b for a, b in zip(sizes[:-1], sizes[1:]))
                if int(got) == weights:
                    hints.append("that counts the weights only; every neuron also has a bias")
                elif int(got) == expected + sizes[0]:
                    hints.append("the inputs have no biases: only the layers' neurons do")
                elif int(got) == sum(a * b + a for a, b in zip(sizes[:-1], sizes[1:])):
                    hints.append("a Dense(n_in, n_out) layer has n_out biases, one per neuron, not n_in")
                raise _Failure(f"wrong count for {case}", hints)
        return len(networks)

    return body()


def _ks_distance(z: np.ndarray) -> float:
    """Largest distance between the empirical distribution function of ``z`` and the standard normal one."""
    import math
    z = np.sort(z)
    phi = np.frompyfunc(lambda v: 0.5 * (1.0 + math.erf(v / math.sqrt(2.0))), 1, 1)(z).astype(np.float64)
    n = z.size
    above = np.arange(1, n + 1) / n - phi
    below = phi - np.arange(0, n) / n
    return float(max(above.max(), below.max()))


@exercise("ex-02-he-init", answers=("he_init",),
          forbidden=("nnlib.initializers.he",))
def check_he_init(he_init: Callable[[int, int, np.random.Generator], np.ndarray]) -> int:
    """Check ``he_init(fan_in, fan_out, rng)``: weights drawn from :math:`\\mathcal N(0, 2/\\text{fan\\_in})`.

    Parameters
    ----------
    he_init : callable
        ``he_init(fan_in, fan_out, rng)`` returning an array of shape
        ``(fan_in, fan_out)`` drawn with the generator ``rng``.

    Returns
    -------
    None

    Notes
    -----
    Random weights cannot be compared number by number with one right answer,
    so this checks, with fixed seeds (hence always the same verdict): the
    shape; that the same seed gives the same weights and another seed other
    weights (so every number comes from ``rng``); and, on three large draws
    whose fan-in and fan-out differ, that the mean is 0, that the standard
    deviation is :math:`\\sqrt{2/\\text{fan\\_in}}` within 3 %, that about
    4.6 % of the weights lie beyond two standard deviations, as for a normal
    distribution (a uniform distribution has none there), and that the
    120,000 weights of the three draws, divided by that deviation, follow the
    standard normal distribution as a whole: their largest distance from its
    cumulative distribution function (the Kolmogorov-Smirnov statistic) is
    below 0.01, which a right answer exceeds about once in a million draws and
    a distribution that only matches the mean and the spread (a Laplace or a
    Student's t, say) does not reach.
    """
    name = "he_init"

    def draw(fan_in: int, fan_out: int, seed: int) -> np.ndarray:
        where = [f"input: fan_in = {fan_in}, fan_out = {fan_out}, rng = np.random.default_rng({seed})"]
        W = _as_array(_call(he_init, name, (fan_in, fan_out, np.random.default_rng(seed)), where), name,
                      "the weights")
        if W.shape != (fan_in, fan_out):
            hint = ("rows and columns are swapped" if W.shape == (fan_out, fan_in)
                    else "one row per input, one column per neuron")
            raise _Failure(f"the weights have shape {W.shape}, expected ({fan_in}, {fan_out})", where + [hint])
        if not np.all(np.isfinite(W)):
            raise _Failure("the weights contain NaN or infinity", where)
        return W

    def body() -> int:
        draw(3, 2, 0)
        first, again = draw(4, 3, 42), draw(4, 3, 42)
        if not np.array_equal(first, again):
            raise _Failure("two generators made from the same seed gave different weights",
                           ["draw every random number from rng (e.g. rng.standard_normal(...)), "
                            "never from np.random.* directly"])
        other = draw(4, 3, 43)
        if np.array_equal(first, other) or np.ptp(first) == 0:
            raise _Failure("the weights do not depend on rng (different seeds gave the same weights)",
                           ["draw the numbers from the generator rng you are given"])
        standardised = []
        for fan_in, fan_out, seed in ((500, 80, 1), (40, 1000, 2), (200, 200, 3)):
            if _salted():   # the class checker's draws: seeds nobody saw before
                seed = int(_gen(seed).integers(2**31))
            W = draw(fan_in, fan_out, seed)
            target = np.sqrt(2.0 / fan_in)
            where = [f"input: fan_in = {fan_in}, fan_out = {fan_out}, rng = np.random.default_rng({seed})"]
            mean, std = float(W.mean()), float(W.std())
            if abs(mean) > 0.05 * target:
                raise _Failure(f"the weights' mean is {mean:.4f}, expected about 0", where)
            if abs(std / target - 1.0) > 0.03:
                hints = where + [f"standard deviation {std:.4f}, expected sqrt(2 / fan_in) = {target:.4f}"]
                known = [
                    (1.0 / np.sqrt(fan_in), "that is sqrt(1 / fan_in); He doubles the variance for ReLU: 2 / fan_in"),
                    (2.0 / fan_in, "2 / fan_in is the variance; scale a standard normal by its square root"),
                    (np.sqrt(2.0 / fan_out), "fan_out used instead of fan_in"),
                    (np.sqrt(2.0 / (fan_in + fan_out)), "that is Xavier's variance 2 / (fan_in + fan_out)"),
                    (1.0, "unscaled standard normal: multiply by sqrt(2 / fan_in)"),
                ]
                hints += [msg for value, msg in known if abs(std / value - 1.0) < 0.03][:1]
                raise _Failure("the weights have the wrong spread", hints)
            tail = float(np.mean(np.abs(W) > 2 * target))
            if not 0.035 <= tail <= 0.057:
                raise _Failure("the weights are not normally distributed",
                               where + [f"{tail:.1%} of the weights lie beyond two standard deviations; for a "
                                        "normal distribution about 4.6 % do (a uniform one has none there)"])
            standardised.append((W / target).ravel())
        distance = _ks_distance(np.concatenate(standardised))
        if distance >= 0.01:
            raise _Failure("the weights are not normally distributed",
                           [f"the three large draws, divided by sqrt(2 / fan_in), are up to {distance:.3f} away from "
                            "the standard normal distribution (Kolmogorov-Smirnov distance; a normal draw of this "
                            "size stays below 0.01): draw with rng.normal or rng.standard_normal"])
        return 6

    return body()




# ---------------------------------------------------------------------------------------------
# Experiment: a deep ReLU stack whose signal neither fades nor explodes
# ---------------------------------------------------------------------------------------------
STACK_INPUTS, STACK_SAMPLES, STACK_DEPTH, STACK_WIDTH = 100, 1000, 10, 32
STACK_RANGE = (0.1, 10.0)
_STACK_MAX_PARAMS = 2_000_000


def signal_spread(a: np.ndarray) -> float:
    """How much the activations ``a`` (samples x units) vary over the samples: the standard deviation of
    every unit over the samples, as a root mean square over the units. A constant (a bias) adds nothing."""
    spread = float(np.sqrt(np.mean(np.var(a, axis=0))))
    return 0.0 if spread < 1e-12 else spread      # rounding noise of a constant is no signal


def hidden_activations(model: Any, X: np.ndarray) -> list[np.ndarray]:
    """The output of every ReLU of ``model`` (a rebuilt one) on ``X``, in order."""
    outputs, out = [], X
    with np.errstate(all="ignore"):
        for layer in model.layers:
            out = layer.forward(out)
            if isinstance(layer, ReLU):
                outputs.append(out)
    return outputs


def _stack_structure(model: Any, where: list[str]) -> int:
    """FAIL unless ``model`` is Dense, ReLU, ..., Dense (+ an optional output activation); return its Dense count."""
    kinds = [type(layer).__name__ for layer in model.layers]
    if kinds[-1] != "Dense":
        kinds = kinds[:-1]      # an output activation after the last Dense is allowed
    expected = ["Dense", "ReLU"] * (len(kinds) // 2) + ["Dense"]
    if kinds != expected:
        raise _Failure(f"the returned model is {_layers_text(model)}; a stack alternates Dense and ReLU layers "
                       "(Dense, ReLU, Dense, ReLU, ..., Dense, optionally one output activation)", where)
    dense = [layer for layer in model.layers if isinstance(layer, Dense)]
    if model.in_features != STACK_INPUTS:
        raise _Failure(f"the returned model takes {model.in_features} inputs; it must take {STACK_INPUTS}", where)
    if len(dense) < STACK_DEPTH:
        raise _Failure(f"the returned model has {len(dense)} Dense layers; the experiment needs at least "
                       f"{STACK_DEPTH}", where)
    narrow = [layer.out_features for layer in dense[:-1] if layer.out_features < STACK_WIDTH]
    if narrow:
        raise _Failure(f"a hidden layer has {narrow[0]} units; every hidden layer needs at least {STACK_WIDTH}",
                       where)
    if model.n_params > _STACK_MAX_PARAMS:
        raise _Failure(f"the returned model has {model.n_params} parameters; keep it below {_STACK_MAX_PARAMS} "
                       "(width 1000 is plenty to see the effect)", where)
    return len(dense)


@exercise("ex-02-deep-stack", answers=("deep_stack",), forbidden=())
def check_deep_stack(deep_stack: Callable[[np.random.Generator], Any]) -> int:
    """Check ``deep_stack(rng)``: an untrained deep ReLU stack whose signal keeps its size.

    Parameters
    ----------
    deep_stack : callable
        ``deep_stack(rng)`` returning an untrained ``nnlib.Model`` with 100
        inputs: at least 10 Dense layers, each hidden one at least 32 units
        wide and followed by a ReLU, every random number drawn from ``rng``.

    Returns
    -------
    None

    Notes
    -----
    Three hidden generators. Each returned model counts only as its layers and
    parameters (:func:`coursework._experiment.rebuilt_model`). On 1000 hidden
    standard-normal inputs the checker runs it layer by layer and measures the
    spread of the last ReLU's outputs over the samples (:func:`signal_spread`),
    which must lie between 0.1 and 10: the inputs' spread is 1.
    """
    name = "deep_stack"

    def body() -> int:
        spreads, depths = [], []
        for case in (1, 2, 3):
            where = [f"input: hidden generator {case} of 3"]
            model = rebuilt_model(_call(deep_stack, name, (np.random.default_rng(_gen(220 + case).integers(2**32)),),
                                        where), "the returned model")
            depths.append(_stack_structure(model, where))
            X = _gen(230 + case).standard_normal((STACK_SAMPLES, STACK_INPUTS))
            layers = [signal_spread(a) for a in hidden_activations(model, X)]
            spread = layers[-1]
            low, high = STACK_RANGE
            if not (low <= spread <= high):      # NaN fails too
                hints = where + ["spread of the ReLU outputs, layer by layer: "
                                 + " ".join(f"{s:.3g}" for s in layers)]
                if spread < low:
                    hints.append("the signal fades: every layer shrinks it by a similar factor; ReLU zeroes half "
                                 "of its inputs, so the weights' variance has to make up for it")
                else:
                    hints.append("the signal explodes: every layer multiplies it; scale the weights' variance with "
                                 "the number of inputs of the layer")
                raise _Failure(f"the spread of the last hidden layer's outputs is {spread:.3g} on hidden inputs with "
                               f"spread 1 (target between {low:g} and {high:g})", hints)
            spreads.append(spread)
        shown = ", ".join(f"{s:.2f}" for s in spreads)
        layers_text = f"{min(depths)}" if min(depths) == max(depths) else f"{min(depths)} to {max(depths)}"
        return Measured(3, f"spread of the last hidden layer {shown} for inputs of spread 1 (target between "
                           f"{STACK_RANGE[0]:g} and {STACK_RANGE[1]:g}), {layers_text} Dense layers")

    return body()
